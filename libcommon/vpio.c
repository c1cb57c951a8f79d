/*
 * vpio: the atomicio contract and fd helpers.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vpio.h"

int
vpio_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd;
	int64_t deadline = timeout_ms < 0 ? -1 : vpio_now_ms() + timeout_ms;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, vpio_remaining(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		return 1;
	}
}

size_t
vpio_writeall(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = write(fd, p + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN) {
			if (vpio_wait(fd, POLLOUT, -1) == -1)
				break;
			continue;
		}
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			break;
		}
		off += r;
	}
	return off;
}

size_t
vpio_readall(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = read(fd, p + off, n - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN) {
			if (vpio_wait(fd, POLLIN, -1) == -1)
				break;
			continue;
		}
		if (r == 0) {
			errno = 0;
			break;
		}
		if (r < 0)
			break;
		off += r;
	}
	return off;
}

ssize_t
vpio_read_timeout(int fd, void *buf, size_t n, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : vpio_now_ms() + timeout_ms;
	ssize_t r;
	int w;

	for (;;) {
		w = vpio_wait(fd, POLLIN, vpio_remaining(deadline));
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = read(fd, buf, n);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		return r;
	}
}

int
vpio_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
vpio_set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

void
vpio_sanitise_stdfd(void)
{
	int fd, nullfd = -1;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (nullfd == -1 &&
		    (nullfd = open("/dev/null", O_RDWR)) == -1)
			return;
		if (nullfd != fd)
			(void)dup2(nullfd, fd);
	}
	if (nullfd > 2)
		close(nullfd);
}

int
vpio_move(int fd, int target)
{
	if (fd == target)
		return vpio_set_cloexec(fd, 0);
	if (dup2(fd, target) == -1)
		return -1;
	close(fd);
	return 0;
}

int64_t
vpio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
vpio_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - vpio_now_ms();
	if (left < 0)
		return 0;
	if (left > INT_MAX)
		return INT_MAX;
	return (int)left;
}

int
vpio_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
vpio_parse_num(const char *s, long long lo, long long hi, long long *out)
{
	const char *errstr = NULL;
	long long v;

	if (s == NULL || *s == '\0') {
		errno = EINVAL;
		return -1;
	}
	v = strtonum(s, lo, hi, &errstr);
	if (errstr != NULL) {
		if (errno == 0)
			errno = EINVAL;
		return -1;
	}
	*out = v;
	return 0;
}

int
vpio_parse_duration(const char *s, int64_t *ms)
{
	char num[32];
	size_t n = 0;
	long long v;
	int64_t mul = 1000;

	if (s == NULL)
		goto bad;
	while (s[n] >= '0' && s[n] <= '9' && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	num[n] = '\0';
	if (n == 0 || n > 12)
		goto bad;
	if (strcmp(s + n, "") == 0 || strcmp(s + n, "s") == 0)
		mul = 1000;
	else if (strcmp(s + n, "ms") == 0)
		mul = 1;
	else if (strcmp(s + n, "m") == 0)
		mul = 60000;
	else if (strcmp(s + n, "h") == 0)
		mul = 3600000;
	else
		goto bad;
	if (vpio_parse_num(num, 0, 100000000000LL, &v) == -1)
		goto bad;
	*ms = (int64_t)v * mul;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
vpio_verrf(char *err, size_t errlen, int e, const char *fmt, va_list ap)
{
	if (err != NULL && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	if (e != 0)
		errno = e;
	return -1;
}

int
vpio_errf(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vpio_verrf(err, errlen, e, fmt, ap);
	va_end(ap);
	return -1;
}

int
vpio_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}
