/*
 * vpio: whole reads and writes, fd flags, clocks.
 * Nothing here exits or logs: -1 with errno set on failure.
 */
#ifndef VPIO_H
#define VPIO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Writes all n bytes, retrying EINTR and waiting on EAGAIN.
 * Returns the bytes written; a result < n means failure (errno set,
 * EPIPE at a closed peer).
 */
size_t	vpio_writeall(int fd, const void *buf, size_t n);
/*
 * Reads exactly n bytes unless EOF comes first. Returns the count;
 * errno is 0 at EOF, else the failure.
 */
size_t	vpio_readall(int fd, void *buf, size_t n);
/*
 * One read with a deadline: waits up to timeout_ms (-1 forever) for
 * data. Returns bytes read, 0 at EOF, -1 with errno (ETIMEDOUT on
 * timeout).
 */
ssize_t	vpio_read_timeout(int fd, void *buf, size_t n, int timeout_ms);
/*
 * Waits until fd is ready for events (POLLIN/POLLOUT) or the time
 * runs out. Returns 1 ready, 0 timeout, -1 error.
 */
int	vpio_wait(int fd, short events, int timeout_ms);

int	vpio_set_nonblock(int fd, int on);
int	vpio_set_cloexec(int fd, int on);
/* Opens /dev/null on any of fds 0-2 that are closed. */
void	vpio_sanitise_stdfd(void);
/* Moves fd to target (dup2 + close), clearing close-on-exec. */
int	vpio_move(int fd, int target);

/* Milliseconds on the monotonic clock. */
int64_t	vpio_now_ms(void);
/* Remaining ms until deadline (>= 0), or -1 if deadline < 0 (none). */
int	vpio_remaining(int64_t deadline);

/* The value of hex digit c (either case), or -1. */
int	vpio_hexval(int c);
/* Parses a decimal in [lo, hi]; returns 0 or -1 (errno EINVAL/ERANGE). */
int	vpio_parse_num(const char *s, long long lo, long long hi,
	    long long *out);
/*
 * Parses a duration: a number with optional suffix ms, s, m, h
 * (bare numbers are seconds). Stores milliseconds; 0 or -1.
 */
int	vpio_parse_duration(const char *s, int64_t *ms);

/*
 * vpio_errf(): the library's way to fail with a reason. Writes the
 * formatted reason into err (errlen bytes; nothing if err is NULL), sets
 * errno to e unless e is 0, and returns -1, so a caller can
 * "return vpio_errf(err, errlen, EINVAL, "bad %s", x);".
 */
int	vpio_errf(char *err, size_t errlen, int e, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
int	vpio_verrf(char *err, size_t errlen, int e, const char *fmt,
	    va_list ap) __attribute__((format(printf, 4, 0)));

struct stat;

/*
 * vpio_same_file(): 1 if a and b (stat results) describe the same file
 * in the same state: device, inode, size, modification and status
 * change times (the latter catches chmod and chown). Else 0.
 */
int	vpio_same_file(const struct stat *a, const struct stat *b);

#endif
