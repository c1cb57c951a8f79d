/*
 * vpnet: outbound connects (happy eyeballs), unix connects, address
 * text.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <linux/sockios.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpnet.h"

int
vpnet_is_ip(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return 6;
	return 0;
}

const char *
vpnet_strerror(int err)
{
	switch (err) {
	case VPNET_ENONAME:
		return "name not found";
	case VPNET_EAGAIN:
		return "temporary name resolution failure";
	case ETIMEDOUT:
		return "timed out";
	case ECONNREFUSED:
		return "connection refused";
	case ENETUNREACH:
		return "network unreachable";
	case EHOSTUNREACH:
		return "host unreachable";
	case EACCES:
	case EPERM:
		return "not allowed (permission denied)";
	default:
		return strerror(err);
	}
}

int
vpnet_addr_ip(const struct sockaddr *sa, char *buf, size_t n,
    unsigned *port)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, buf, n) == NULL)
			return -1;
		if (port != NULL)
			*port = ntohs(sin->sin_port);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf, n) == NULL)
			return -1;
		if (port != NULL)
			*port = ntohs(sin6->sin6_port);
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

const char *
vpnet_addr_str(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t n)
{
	const struct sockaddr_un *sun;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	size_t plen;
	int r = -1;

	if (n == 0)
		return buf;
	if (sa == NULL) {
		strlcpy(buf, "?", n);
		return buf;
	}
	switch (sa->sa_family) {
	case AF_INET:
	case AF_INET6:
		if (vpnet_addr_ip(sa, ip, sizeof(ip), &port) == -1)
			break;
		r = snprintf(buf, n, sa->sa_family == AF_INET6 ?
		    "[%s]:%u" : "%s:%u", ip, port);
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)(const void *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path)) {
			r = snprintf(buf, n, "unix:");
			break;
		}
		plen = len - offsetof(struct sockaddr_un, sun_path);
		if (plen > sizeof(sun->sun_path))
			plen = sizeof(sun->sun_path);
		if (sun->sun_path[0] == '\0')	/* abstract: @name */
			r = snprintf(buf, n, "unix:@%.*s", (int)(plen - 1),
			    sun->sun_path + 1);
		else
			r = snprintf(buf, n, "unix:%.*s",
			    (int)strnlen(sun->sun_path, plen), sun->sun_path);
		break;
	default:
		break;
	}
	if (r < 0)
		strlcpy(buf, "?", n);
	/* a truncated result is still a useful prefix */
	return buf;
}

/* Resolver error -> errno or pseudo-errno. */
int
vpnet_gai_errno(int gai, int sys)
{
	switch (gai) {
	case EAI_AGAIN:
		return VPNET_EAGAIN;
	case EAI_MEMORY:
		return ENOMEM;
	case EAI_SYSTEM:
		return sys != 0 ? sys : EIO;
	case EAI_FAMILY:
		return EAFNOSUPPORT;
	default:	/* EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY, EAI_FAIL */
		return VPNET_ENONAME;
	}
}

/*
 * How telling an error is when every address failed: a refusal says
 * the host is there, unreachable says less, a family the machine does
 * not have says least.
 */
int
vpnet_err_rank(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return 4;
	case ETIMEDOUT:
		return 3;
	case EHOSTUNREACH:
	case ECONNRESET:
		return 2;
	case ENETUNREACH:
	case EAFNOSUPPORT:
	case EADDRNOTAVAIL:
		return 0;
	default:
		return 1;
	}
}

/* Starts a non-blocking connect; returns fd (pending or done) or -1. */
static int
vpnet_start(const struct addrinfo *ai, int *done)
{
	int fd;

	*done = 0;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*done = 1;
		return fd;
	}
	if (errno == EINPROGRESS || errno == EINTR)
		return fd;
	close(fd);
	return -1;
}

size_t
vpnet_interleave(const struct addrinfo *res, const struct addrinfo **order,
    size_t max)
{
	const struct addrinfo *v6[VPNET_MAXADDR], *v4[VPNET_MAXADDR];
	const struct addrinfo *ai;
	size_t n6 = 0, n4 = 0, n = 0, a, b;
	int first6;

	if (res == NULL || max == 0)
		return 0;
	if (max > VPNET_MAXADDR)
		max = VPNET_MAXADDR;
	first6 = res->ai_family == AF_INET6;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET6 && n6 < max)
			v6[n6++] = ai;
		else if (ai->ai_family == AF_INET && n4 < max)
			v4[n4++] = ai;
	}
	/* one of the first family, one of the other, and so on */
	for (a = b = 0; n < max && (a < n6 || b < n4);) {
		if (first6 ? a < n6 : b >= n4)
			order[n++] = v6[a++];
		else
			order[n++] = v4[b++];
		if (n < max && (first6 ? b < n4 : a < n6))
			order[n++] = first6 ? v4[b++] : v6[a++];
	}
	return n;
}

int
vpnet_dial_tcp(const char *host, unsigned port, int family, int timeout_ms,
    char *peer, size_t peerlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[8];
	int gai, fd, e;

	if (host == NULL || *host == '\0' || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	if (vpnet_is_ip(host))
		hints.ai_flags |= AI_NUMERICHOST;
	errno = 0;
	if ((gai = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		errno = vpnet_gai_errno(gai, errno);
		return -1;
	}
	fd = vpnet_dial_ai(res, timeout_ms, peer, peerlen);
	e = errno;
	freeaddrinfo(res);
	errno = e;
	return fd;
}

int
vpnet_dial_ai(const struct addrinfo *res, int timeout_ms, char *peer,
    size_t peerlen)
{
	const struct addrinfo *order[VPNET_MAXADDR];
	const struct addrinfo *pai[VPNET_MAXADDR], *ai;
	struct pollfd pfd[VPNET_MAXADDR];
	size_t n, next = 0, npend = 0, i;
	int64_t deadline, next_at = 0, now;
	int fd, done, besterr = 0, err, one = 1, wait, r;
	socklen_t elen;

	if ((n = vpnet_interleave(res, order, VPNET_MAXADDR)) == 0) {
		errno = VPNET_ENONAME;
		return -1;
	}
	deadline = timeout_ms > 0 ? vpio_now_ms() + timeout_ms : -1;
	fd = -1;
	for (;;) {
		now = vpio_now_ms();
		/* Start the next address when it is due, or nothing runs. */
		while (next < n && (npend == 0 || now >= next_at)) {
			ai = order[next++];
			r = vpnet_start(ai, &done);
			if (r == -1) {
				err = errno;
				if (besterr == 0 || vpnet_err_rank(err) >
				    vpnet_err_rank(besterr))
					besterr = err;
				continue;
			}
			if (done) {
				fd = r;
				pai[0] = ai;
				goto won;
			}
			pfd[npend].fd = r;
			pfd[npend].events = POLLOUT;
			pai[npend] = ai;
			npend++;
			next_at = now + VPNET_STAGGER_MS;
			break;
		}
		if (npend == 0 && next >= n)
			break;
		if (deadline >= 0 && now >= deadline) {
			besterr = ETIMEDOUT;
			break;
		}
		wait = vpio_remaining(deadline);
		if (next < n && npend > 0) {
			int64_t w = next_at - now;

			if (w < 0)
				w = 0;
			if (wait < 0 || w < wait)
				wait = (int)w;
		}
		r = poll(pfd, npend, wait);
		if (r == -1 && errno != EINTR) {
			besterr = errno;
			break;
		}
		if (r <= 0)
			continue;
		for (i = 0; i < npend;) {
			if (pfd[i].revents == 0) {
				i++;
				continue;
			}
			err = 0;
			elen = sizeof(err);
			if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err,
			    &elen) == -1)
				err = errno;
			if (err == 0) {
				fd = pfd[i].fd;
				pai[0] = pai[i];
				pfd[i] = pfd[npend - 1];
				npend--;
				goto won;
			}
			if (besterr == 0 || vpnet_err_rank(err) >
			    vpnet_err_rank(besterr))
				besterr = err;
			close(pfd[i].fd);
			pfd[i] = pfd[npend - 1];
			pai[i] = pai[npend - 1];
			npend--;
		}
	}
	for (i = 0; i < npend; i++)
		close(pfd[i].fd);
	errno = besterr != 0 ? besterr : ECONNREFUSED;
	return -1;

won:
	for (i = 0; i < npend; i++)
		close(pfd[i].fd);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* with no idle timeout, a vanished peer is still found, eventually */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (peer != NULL)
		vpnet_addr_str(pai[0]->ai_addr, pai[0]->ai_addrlen, peer,
		    peerlen);
	return fd;
}

int
vpnet_dial_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sun;
	struct timeval tv = { 0, 0 };
	socklen_t len;
	size_t plen;
	int fd, e;

	if (path == NULL || *path == '\0') {
		errno = EINVAL;
		return -1;
	}
	plen = strlen(path);
	if (plen >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	len = offsetof(struct sockaddr_un, sun_path) + plen;
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract: no trailing NUL */
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/*
	 * A unix connect blocks while the listener's backlog is full, for
	 * at most SO_SNDTIMEO; with O_NONBLOCK it would fail at once.
	 */
	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	while (connect(fd, (struct sockaddr *)&sun, len) == -1) {
		if (errno == EINTR)
			continue;
		e = errno == EAGAIN ? ETIMEDOUT : errno;
		close(fd);
		errno = e;
		return -1;
	}
	tv.tv_sec = tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (vpio_set_nonblock(fd, 1) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

ssize_t
vpnet_sendmsg_fd(int sock, int fd, const void *data, size_t len, int flags)
{
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
}

int
vpnet_send_fd(int sock, int fd)
{
	char c = '\0';
	ssize_t r;

	for (;;) {
		r = vpnet_sendmsg_fd(sock, fd, &c, 1, 0);
		if (r == 1)
			return 0;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN) {
			if (vpio_wait(sock, POLLOUT, -1) == -1)
				return -1;
			continue;
		}
		if (r >= 0)
			errno = EIO;
		return -1;
	}
}

int
vpnet_loopback_bufs(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int type;
	socklen_t tl = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 ||
	    type != SOCK_STREAM ||
	    getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    !vpnet_sa_loopback((struct sockaddr *)&ss))
		return 0;
	return vpnet_set_bufs(fd, VPNET_LOOPBUF) == 0;
}

int
vpnet_sa_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET)
		return ((const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr)[0] == 127;
	if (sa->sa_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)sa;
	return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
	    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
	    s6->sin6_addr.s6_addr[12] == 127);
}

int
vpnet_set_bufs(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) == -1)
		return -1;
	return 0;
}

int
vpnet_unsent(int fd)
{
	int n;

	if (ioctl(fd, SIOCOUTQ, &n) == -1)
		return -1;
	return n;
}

void
vplinger_start(struct vplinger *l, int64_t now)
{
	l->start = l->last = now;
	l->reads = 0;
}

void
vplinger_read(struct vplinger *l, int64_t now)
{
	l->last = now;
	l->reads++;
}

int64_t
vplinger_until(const struct vplinger *l, int fd, int64_t now)
{
	int64_t end = l->last + VPLINGER_IDLE_MS;

	if (end > l->start + VPLINGER_MAX_MS)
		end = l->start + VPLINGER_MAX_MS;
	if (now >= end)
		return 0;
	/* all of it delivered, and the client goes on sending */
	if (l->reads >= VPLINGER_READS && vpnet_unsent(fd) == 0)
		return 0;
	return end;
}

void
vpnet_linger(int in, int out, int only_unsent)
{
	char junk[16384];
	struct vplinger l;
	int64_t end, now;
	ssize_t n;

	if ((only_unsent && vpnet_unsent(out) <= 0) ||
	    shutdown(out, SHUT_WR) == -1)
		return;
	vplinger_start(&l, vpio_now_ms());
	for (;;) {
		now = vpio_now_ms();
		if ((end = vplinger_until(&l, out, now)) == 0 ||
		    vpio_wait(in, POLLIN, (int)(end - now)) != 1)
			return;
		n = recv(in, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
		if (n > 0)
			vplinger_read(&l, vpio_now_ms());
	}
}
