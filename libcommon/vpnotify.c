/*
 * vpnotify: readiness on NOTIFY_SOCKET, a notification fd, or stdout.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpnotify.h"

int
vpnotify_send(const char *state, int unset)
{
	struct sockaddr_un sun;
	const char *path;
	size_t plen, slen = strlen(state);
	socklen_t len;
	ssize_t r;
	int fd, e;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen < 2 ||
	    plen >= sizeof(sun.sun_path)) {
		errno = EINVAL;	/* vsock: and relative paths: not handled */
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '@' ? 0 : 1));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	r = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len);
	e = errno;
	close(fd);
	errno = e;
	if (r != (ssize_t)slen) {
		if (r >= 0)
			errno = EMSGSIZE;
		goto out;
	}
	if (unset)
		unsetenv("NOTIFY_SOCKET");
	return 1;
out:
	e = errno;
	if (unset)
		unsetenv("NOTIFY_SOCKET");
	errno = e;
	return -1;
}

int
vpnotify_ready(int unset)
{
	return vpnotify_send("READY=1", unset);
}

int
vpnotify_fd(int fd)
{
	int r = 0, e;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (vpio_writeall(fd, "\n", 1) != 1)
		r = -1;
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int
vpnotify_stdout(unsigned port)
{
	char buf[16];
	int n, fd, e;

	if (port != 0)
		n = snprintf(buf, sizeof(buf), "%u\n", port);
	else
		n = snprintf(buf, sizeof(buf), "\n");
	if (vpio_writeall(STDOUT_FILENO, buf, (size_t)n) != (size_t)n)
		return -1;
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (dup2(fd, STDOUT_FILENO) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}
