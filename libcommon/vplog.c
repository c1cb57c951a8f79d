/*
 * vplog: stderr logging in the DESIGN.md format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vplog.h"

int vplog_level = VPLOG_WARN;
static const char *vplog_prog;
static int vplog_fd = 2;

void
vplog_init(const char *prog)
{
	const char *p;

	if (prog != NULL && (p = strrchr(prog, '/')) != NULL)
		prog = p + 1;
	vplog_prog = prog;
}

void
vplog_set_fd(int fd)
{
	vplog_fd = fd;
}

const char *
vplog_safe(char *buf, size_t n, const char *s)
{
	size_t i;

	if (n == 0)
		return buf;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < n; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ?
		    '?' : s[i];
	buf[i] = '\0';
	return buf;
}

void
vplog_vline(int level, const char *word, int err, const char *fmt, va_list ap)
{
	char line[1024];
	int n, m;
	size_t i;

	if (level > vplog_level || vplog_fd < 0)
		return;
	if (vplog_prog == NULL)
		vplog_prog = getprogname();
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ",
	    vplog_prog ? vplog_prog : "vp", (long)getpid(), word);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (err != 0) {
		m = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(err));
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(line) - 1)
			n = sizeof(line) - 2;
	}
	/* one line per event: no embedded newlines or control bytes */
	for (i = 0; i < (size_t)n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = '?';
	line[n++] = '\n';
	(void)!write(vplog_fd, line, n);
}

#define VPLOG_BODY(level, word, err) do {		\
	va_list ap;					\
	va_start(ap, fmt);				\
	vplog_vline(level, word, err, fmt, ap);		\
	va_end(ap);					\
} while (0)

void
vplog_die(int status, const char *fmt, ...)
{
	VPLOG_BODY(VPLOG_QUIET, "fatal", 0);
	exit(status);
}

void
vplog_die_errno(int status, const char *fmt, ...)
{
	int e = errno;

	VPLOG_BODY(VPLOG_QUIET, "fatal", e);
	exit(status);
}

void
vplog_warn(const char *fmt, ...)
{
	VPLOG_BODY(VPLOG_WARN, "warning", 0);
}

void
vplog_warn_errno(const char *fmt, ...)
{
	int e = errno;

	VPLOG_BODY(VPLOG_WARN, "warning", e);
}

void
vplog_info(const char *fmt, ...)
{
	VPLOG_BODY(VPLOG_INFO, "info", 0);
}

void
vplog_debug(const char *fmt, ...)
{
	VPLOG_BODY(VPLOG_DEBUG, "debug", 0);
}

int
vp_exit_for(int err)
{
	switch (err) {
	case 0:
		return 0;
	case ECONNREFUSED:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ECONNRESET:
	case EADDRNOTAVAIL:
	case ENETDOWN:
	case EHOSTDOWN:
		return EX_UNAVAILABLE;
	case ETIMEDOUT:
	case EAGAIN:
	case EINTR:
		return EX_TEMPFAIL;
	case ENOENT:
	case EACCES:
	case EPERM:
	case ENOTSOCK:
		return EX_UNAVAILABLE;
	case EPROTO:
	case EBADMSG:
		return EX_PROTOCOL;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
		return EX_OSERR;
	default:
		return EX_OSERR;
	}
}

void
vplog_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vplog_vline(VPLOG_QUIET, "fatal", 0, fmt, ap);
	va_end(ap);
}
