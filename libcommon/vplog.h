/*
 * vplog: the one place that prints.
 *
 * Lines go to stderr as "prog[pid]: level: message", one per event.
 * Library modules never call these; programs do.
 */
#ifndef VPLOG_H
#define VPLOG_H

#include <stdarg.h>
#include <sysexits.h>

enum vplog_level {
	VPLOG_QUIET = 0,	/* fatal only */
	VPLOG_WARN = 1,		/* + warnings (default) */
	VPLOG_INFO = 2,		/* + one line per connection */
	VPLOG_DEBUG = 3
};

extern int vplog_level;

/* Sets the program name used in every line (default: getprogname()). */
void	vplog_init(const char *prog);
/* Redirects log lines to fd (default 2). -1 discards them. */
void	vplog_set_fd(int fd);

void	vplog_die(int status, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* As vplog_die, appending ": strerror(errno)". */
void	vplog_die_errno(int status, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* A "fatal" line (shown even with -q) without exiting. */
void	vplog_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	vplog_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	vplog_warn_errno(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	vplog_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	vplog_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	vplog_vline(int level, const char *word, int err, const char *fmt,
	    va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * vp_exit_for(): the sysexits status for a failed operation's errno,
 * the one table every program uses (DESIGN.md "Exit status").
 * ECONNREFUSED, ENETUNREACH, EHOSTUNREACH -> 69; ETIMEDOUT, EAGAIN -> 75;
 * ENOENT-like name errors are mapped by the caller to 68.
 */
int	vp_exit_for(int err);

/* Copies s into buf (size n) with control characters replaced by '?'. */
const char *vplog_safe(char *buf, size_t n, const char *s);

#endif
