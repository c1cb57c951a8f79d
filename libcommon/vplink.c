/*
 * vplink: the byte-stream link (tcp, unix, exec, stdio) and the
 * transport table. See vplink.h for the contract.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vplink.h"
#include "vplisten.h"
#include "vpnet.h"
#include "vplink_kcp.h"
#include "vpresolve.h"
#include "vpspawn.h"

#define SNDBUF_DEFAULT	(256 * 1024)
#define UNIX_RETRY_MS	100	/* a unix listener's full backlog: retry */

struct dialaddr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

struct vpstream {
	int	 rfd, wfd;
	uint8_t	*buf;		/* output queue: buf[off .. off+len) */
	size_t	 off, len, cap;
	int	 err;		/* 0 or the errno that killed the link */
	int	 eof;		/* peer's end of stream seen */
	int	 shut;		/* shutdown_write asked */
	int	 shut_done;

	/* A dial in progress (tcp:, unix:): rfd = wfd = -1 until it wins. */
	int	 connecting;
	struct dialaddr *addrs;	/* in the order to try */
	size_t	 naddr, nextaddr;
	int	 afd[VPLINK_MAXFDS];	/* attempts in flight, -1: free */
	int	 nfly;
	int64_t	 deadline;	/* of the whole dial */
	int64_t	 next_at;	/* no new attempt before */
	int	 besterr;	/* most telling failure so far */
};

static void	stream_flush(struct vpstream *);

/* Closes every attempt in flight and drops the address list. */
static void
dial_end(struct vpstream *s)
{
	int k;

	for (k = 0; k < VPLINK_MAXFDS; k++)
		if (s->afd[k] != -1) {
			(void)close(s->afd[k]);
			s->afd[k] = -1;
		}
	s->nfly = 0;
	free(s->addrs);
	s->addrs = NULL;
	s->naddr = s->nextaddr = 0;
	s->connecting = 0;
}

static void
dial_fail(struct vpstream *s, int e)
{
	if (s->besterr == 0 || vpnet_err_rank(e) > vpnet_err_rank(s->besterr))
		s->besterr = e;
}

/* fd connected: it becomes the link. */
static void
dial_win(struct vpstream *s, int fd)
{
	int k, one = 1;

	for (k = 0; k < VPLINK_MAXFDS; k++)
		if (s->afd[k] == fd)
			s->afd[k] = -1;
	dial_end(s);
	s->rfd = s->wfd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	stream_flush(s);
}

/* Starts one connect to the next address (a unix one is retried). */
static void
dial_start(struct vpstream *s, int64_t now)
{
	const struct dialaddr *a = &s->addrs[s->nextaddr];
	int fd, k, e, isunix = a->ss.ss_family == AF_UNIX;

	s->next_at = now;
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		dial_fail(s, errno);
		s->nextaddr++;
		return;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
		for (k = 0; k < VPLINK_MAXFDS && s->afd[k] != -1; k++)
			;
		s->afd[k] = fd;		/* dial_start runs with a free slot */
		dial_win(s, fd);
		return;
	}
	e = errno;
	if (e == EINPROGRESS || e == EINTR) {
		for (k = 0; k < VPLINK_MAXFDS && s->afd[k] != -1; k++)
			;
		s->afd[k] = fd;
		s->nfly++;
		s->nextaddr++;
		s->next_at = now + VPNET_STAGGER_MS;
		return;
	}
	(void)close(fd);
	if (isunix && e == EAGAIN) {
		/* The listener's backlog is full: try again shortly. */
		s->next_at = now + UNIX_RETRY_MS;
		dial_fail(s, ETIMEDOUT);
		return;
	}
	dial_fail(s, e);
	s->nextaddr++;
}

/* Moves a dial on: new attempts, the deadline, running out of addresses. */
static void
dial_step(struct vpstream *s, int64_t now)
{
	while (s->connecting && s->err == 0 && s->nextaddr < s->naddr &&
	    s->nfly < VPLINK_MAXFDS && now >= s->next_at)
		dial_start(s, now);
	if (!s->connecting || s->err != 0)
		return;
	if (now >= s->deadline) {
		s->err = ETIMEDOUT;
		dial_end(s);
	} else if (s->nfly == 0 && s->nextaddr >= s->naddr) {
		s->err = s->besterr != 0 ? s->besterr : ECONNREFUSED;
		dial_end(s);
	}
}

static void
stream_flush(struct vpstream *s)
{
	ssize_t r;

	while (s->err == 0 && s->len > 0) {
		r = write(s->wfd, s->buf + s->off, s->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			if (errno != EAGAIN)
				s->err = errno;
			break;
		}
		s->off += r;
		s->len -= r;
	}
	if (s->len == 0)
		s->off = 0;
	if (s->err == 0 && s->len == 0 && s->shut && !s->shut_done) {
		s->shut_done = 1;
		if (s->rfd == s->wfd)
			(void)shutdown(s->wfd, SHUT_WR);
		else {
			(void)close(s->wfd);
			s->wfd = -1;
		}
	}
}

static int
stream_pollfds(struct vplink *l, struct pollfd *p, int max, int want_read)
{
	struct vpstream *s = l->ctx;
	int n = 0, k;

	if (s->connecting) {
		for (k = 0; k < VPLINK_MAXFDS && n < max; k++)
			if (s->afd[k] != -1) {
				p[n].fd = s->afd[k];
				p[n].events = POLLOUT;
				p[n++].revents = 0;
			}
		return n;
	}
	if (s->err != 0 || max < 2)
		return 0;
	if (s->rfd == s->wfd || s->wfd == -1) {
		p[0].fd = s->rfd;
		p[0].events = (want_read && !s->eof ? POLLIN : 0) |
		    (s->len > 0 && s->wfd != -1 ? POLLOUT : 0);
		p[0].revents = 0;
		return 1;
	}
	p[n].fd = s->rfd;
	p[n].events = want_read && !s->eof ? POLLIN : 0;
	p[n++].revents = 0;
	p[n].fd = s->wfd;
	p[n].events = s->len > 0 ? POLLOUT : 0;
	p[n++].revents = 0;
	return n;
}

static int
stream_events(struct vplink *l, const struct pollfd *p, int n, int64_t now)
{
	struct vpstream *s = l->ctx;
	int i, k, soerr;
	socklen_t sl;

	for (i = 0; i < n && s->connecting; i++) {
		if (p[i].revents == 0 || p[i].fd < 0)
			continue;
		for (k = 0; k < VPLINK_MAXFDS && s->afd[k] != p[i].fd; k++)
			;
		if (k == VPLINK_MAXFDS)
			continue;
		sl = sizeof(soerr);
		if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr == 0) {
			dial_win(s, p[i].fd);
			break;
		}
		dial_fail(s, soerr);
		(void)close(s->afd[k]);
		s->afd[k] = -1;
		s->nfly--;
		s->next_at = now;	/* the next address at once */
	}
	if (s->connecting)
		dial_step(s, now);
	for (i = 0; i < n && !s->connecting; i++) {
		if (p[i].fd == s->wfd && (p[i].revents & (POLLOUT | POLLERR)))
			stream_flush(s);
	}
	if (s->err != 0) {
		errno = s->err;
		return -1;
	}
	return 0;
}

static int64_t
stream_next_timeout(struct vplink *l, int64_t now)
{
	struct vpstream *s = l->ctx;
	int64_t at;

	if (!s->connecting)
		return -1;
	at = s->deadline;
	if (s->nextaddr < s->naddr && s->nfly < VPLINK_MAXFDS &&
	    s->next_at < at)
		at = s->next_at;
	return at <= now ? 0 : at - now;
}

static void
stream_tick(struct vplink *l, int64_t now)
{
	struct vpstream *s = l->ctx;

	if (s->connecting)
		dial_step(s, now);
}

static int
stream_connecting(struct vplink *l)
{
	struct vpstream *s = l->ctx;

	return s->connecting;
}

static ssize_t
stream_read(struct vplink *l, void *buf, size_t len)
{
	struct vpstream *s = l->ctx;
	ssize_t r;

	if (s->err != 0) {
		errno = s->err;
		return -1;
	}
	if (s->connecting) {
		errno = EAGAIN;
		return -1;
	}
	if (s->eof)
		return 0;
	for (;;) {
		r = read(s->rfd, buf, len);
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	if (r == 0)
		s->eof = 1;
	else if (r == -1 && errno != EAGAIN)
		s->err = errno;
	return r;
}

static size_t
stream_writable(struct vplink *l)
{
	struct vpstream *s = l->ctx;

	if (s->err != 0 || s->shut || s->connecting)
		return 0;
	return s->cap - s->len;
}

static ssize_t
stream_write(struct vplink *l, const void *buf, size_t len)
{
	struct vpstream *s = l->ctx;

	if (s->err != 0 || s->shut) {
		errno = s->err != 0 ? s->err : EPIPE;
		return -1;
	}
	if (len > s->cap - s->len)
		len = s->cap - s->len;
	if (len == 0 || s->connecting)
		return 0;
	if (s->off + s->len + len > s->cap) {
		memmove(s->buf, s->buf + s->off, s->len);
		s->off = 0;
	}
	memcpy(s->buf + s->off + s->len, buf, len);
	s->len += len;
	/* Hand bytes to the kernel once enough are queued or the queue was empty. */
	stream_flush(s);
	return len;
}

static size_t
stream_pending(struct vplink *l)
{
	struct vpstream *s = l->ctx;

	return s->err != 0 ? 0 : s->len;
}

static void
stream_shutdown_write(struct vplink *l)
{
	struct vpstream *s = l->ctx;

	s->shut = 1;
	if (!s->connecting)
		stream_flush(s);
}

static int
stream_error(struct vplink *l)
{
	struct vpstream *s = l->ctx;

	return s->err;
}

/*
 * Closes fd, but a standard descriptor (a stdio link) is pointed at
 * /dev/null instead: closed, 0 or 1 would go to the next socket the
 * program makes, which would then be taken for the link. If /dev/null
 * cannot be opened the fd stays as it is.
 */
static void
close_fd(int fd)
{
	int n;

	if (fd > STDERR_FILENO) {
		(void)close(fd);
		return;
	}
	if ((n = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return;
	if (n != fd) {
		(void)dup2(n, fd);
		(void)close(n);
	}
}

static void
stream_close(struct vplink *l)
{
	struct vpstream *s = l->ctx;

	dial_end(s);
	if (s->wfd != -1 && s->wfd != s->rfd)
		close_fd(s->wfd);
	if (s->rfd != -1)
		close_fd(s->rfd);
	free(s->buf);
	free(s);
	free(l);
}

static const struct vplink_ops stream_ops = {
	.pollfds = stream_pollfds,
	.events = stream_events,
	.next_timeout = stream_next_timeout,
	.tick = stream_tick,
	.read = stream_read,
	.writable = stream_writable,
	.write = stream_write,
	.pending = stream_pending,
	.shutdown_write = stream_shutdown_write,
	.error = stream_error,
	.close = stream_close,
	.connecting = stream_connecting,
};

struct vplink *
vplink_stream_new(int rfd, int wfd, size_t sndbuf, const char *kind,
    const char *peer)
{
	struct vplink *l;
	struct vpstream *s;
	int one = 1, i;

	if (sndbuf == 0)
		sndbuf = SNDBUF_DEFAULT;
	l = calloc(1, sizeof(*l));
	s = calloc(1, sizeof(*s));
	if (l == NULL || s == NULL || (s->buf = malloc(sndbuf)) == NULL) {
		free(l);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->rfd = rfd;
	s->wfd = wfd;
	s->cap = sndbuf;
	for (i = 0; i < VPLINK_MAXFDS; i++)
		s->afd[i] = -1;
	if (rfd != -1) {
		(void)vpio_set_nonblock(rfd, 1);
		(void)vpio_set_nonblock(wfd, 1);
		(void)vpio_set_cloexec(rfd, 1);
		(void)vpio_set_cloexec(wfd, 1);
		/* Frames are small and latency matters more than segment count. */
		(void)setsockopt(wfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	}
	l->ops = &stream_ops;
	l->ctx = s;
	l->kind = kind != NULL ? kind : "stream";
	(void)snprintf(l->peer, sizeof(l->peer), "%s", peer != NULL ? peer : "");
	return l;
}

static int
fail(char *err, size_t errlen, int e, const char *what, const char *arg)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s%s%s: %s", what,
		    arg[0] != '\0' ? " " : "", arg, strerror(e));
	errno = e;
	return -1;
}

/*
 * The addresses of res, in the order to try (vpnet's interleaving).
 * Returns how many (> 0), or -1 with errno.
 */
static int
res_addrs(const struct addrinfo *res, struct dialaddr **out)
{
	const struct addrinfo *order[VPNET_MAXADDR];
	struct dialaddr *a;
	size_t n, i;

	n = vpnet_interleave(res, order, VPNET_MAXADDR);
	if (n == 0 || (a = calloc(n, sizeof(*a))) == NULL) {
		errno = n == 0 ? VPNET_ENONAME : ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++) {
		memcpy(&a[i].ss, order[i]->ai_addr, order[i]->ai_addrlen);
		a[i].len = order[i]->ai_addrlen;
	}
	*out = a;
	return (int)n;
}

/*
 * The addresses of a unix: endpoint, or of a tcp: one whose host is an
 * address (names are looked up off the loop, see resolving_dial()).
 * Returns how many (> 0), or -1 with errno and err.
 */
static int
dial_addrs(const struct vpendpoint *ep, struct dialaddr **out, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_un *sun;
	struct dialaddr *a;
	char port[8];
	size_t plen;
	int gai, n;

	if (ep->kind == VPEP_UNIX) {
		plen = strlen(ep->path);
		if (plen == 0 || plen >= sizeof(sun->sun_path)) {
			errno = plen == 0 ? EINVAL : ENAMETOOLONG;
			goto fail;
		}
		if ((a = calloc(1, sizeof(*a))) == NULL)
			goto fail;
		sun = (struct sockaddr_un *)&a->ss;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, ep->path, plen);
		a->len = offsetof(struct sockaddr_un, sun_path) + plen;
		if (ep->path[0] == '@')
			sun->sun_path[0] = '\0';	/* abstract: no NUL */
		else
			a->len++;
		*out = a;
		return 1;
	}
	(void)snprintf(port, sizeof(port), "%u", ep->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	errno = 0;
	if ((gai = getaddrinfo(ep->host, port, &hints, &res)) != 0) {
		errno = vpnet_gai_errno(gai, errno);
		goto fail;
	}
	n = res_addrs(res, out);
	freeaddrinfo(res);
	if (n != -1)
		return n;
fail:
	if (err != NULL)
		(void)snprintf(err, errlen, "connect %s: %s",
		    ep->kind == VPEP_UNIX ? ep->path : ep->host,
		    vpnet_strerror(errno));
	return -1;
}

/*
 * Starts a dial of a tcp: or unix: endpoint: a link that is connecting
 * (or already connected, or NULL with errno and err when every address
 * failed at once, as a unix path with nobody listening does).
 */
static struct vplink *
dial_link(const struct vpendpoint *ep, struct dialaddr *a, int n, char *err,
    size_t errlen)
{
	struct vplink *l;
	struct vpstream *s;
	char peer[128];
	int e;

	(void)vpep_format(ep, peer, sizeof(peer));
	if ((l = vplink_stream_new(-1, -1, 0,
	    ep->kind == VPEP_TCP ? "tcp" : "unix", peer)) == NULL) {
		free(a);
		(void)fail(err, errlen, ENOMEM, "link", "");
		return NULL;
	}
	s = l->ctx;
	s->connecting = 1;
	s->addrs = a;
	s->naddr = (size_t)n;
	s->next_at = vpio_now_ms();
	s->deadline = s->next_at + VPLINK_DIAL_MS;
	dial_step(s, s->next_at);
	if (s->err != 0) {
		e = s->err;
		if (err != NULL)
			(void)snprintf(err, errlen, "connect %s: %s",
			    ep->kind == VPEP_UNIX ? ep->path : ep->host,
			    vpnet_strerror(e));
		stream_close(l);
		errno = e;
		return NULL;
	}
	return l;
}

/*
 * A dial whose host name is being looked up off the loop (vplookup): a
 * link that is connecting until the lookup ends, then hands every
 * operation to the link dial_res made with the addresses found, or has
 * the lookup's error. VPLINK_DIAL_MS bounds the lookup too.
 */
typedef struct vplink *resdial_fn(const struct vpendpoint *,
    const struct addrinfo *, char *, size_t);

struct resolving {
	struct vplookup	*lk;
	struct vpendpoint ep;
	resdial_fn	*dial_res;
	struct vplink	*in;		/* once dialled */
	int		 err;
	int64_t		 deadline;
};

/* The lookup's result: dial, or fail with its error. */
static void
res_done(struct vplink *l)
{
	struct resolving *r = l->ctx;
	struct addrinfo *res;
	char err[256];
	int gai, sys;

	if (r->lk == NULL || !vplookup_take(r->lk, &res, &gai, &sys))
		return;
	vplookup_free(r->lk);
	r->lk = NULL;
	if (gai != 0) {
		r->err = vpnet_gai_errno(gai, sys);
		return;
	}
	errno = 0;
	r->in = r->dial_res(&r->ep, res, err, sizeof(err));
	freeaddrinfo(res);
	if (r->in == NULL) {
		r->err = errno != 0 ? errno : EHOSTUNREACH;
		return;
	}
	l->kind = r->in->kind;
	memcpy(l->peer, r->in->peer, sizeof(l->peer));
	l->child = r->in->child;
}

static int
res_pollfds(struct vplink *l, struct pollfd *pfd, int max, int want_read)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		return r->in->ops->pollfds(r->in, pfd, max, want_read);
	if (r->lk == NULL || max < 1)
		return 0;
	pfd[0].fd = vplookup_fd(r->lk);
	pfd[0].events = POLLIN;
	return 1;
}

static int
res_events(struct vplink *l, const struct pollfd *pfd, int n, int64_t now)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		return r->in->ops->events(r->in, pfd, n, now);
	res_done(l);
	if (r->err != 0) {
		errno = r->err;
		return -1;
	}
	return 0;
}

static int64_t
res_next_timeout(struct vplink *l, int64_t now)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		return r->in->ops->next_timeout(r->in, now);
	if (r->err != 0)
		return -1;
	return r->deadline > now ? r->deadline - now : 0;
}

static void
res_tick(struct vplink *l, int64_t now)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL) {
		r->in->ops->tick(r->in, now);
		return;
	}
	res_done(l);
	if (r->in == NULL && r->err == 0 && now >= r->deadline)
		r->err = ETIMEDOUT;
}

static ssize_t
res_read(struct vplink *l, void *buf, size_t len)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		return r->in->ops->read(r->in, buf, len);
	errno = r->err != 0 ? r->err : EAGAIN;
	return -1;
}

static size_t
res_writable(struct vplink *l)
{
	struct resolving *r = l->ctx;

	return r->in != NULL ? r->in->ops->writable(r->in) : 0;
}

static ssize_t
res_write(struct vplink *l, const void *buf, size_t len)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		return r->in->ops->write(r->in, buf, len);
	if (r->err != 0) {
		errno = r->err;
		return -1;
	}
	return 0;
}

static size_t
res_pending(struct vplink *l)
{
	struct resolving *r = l->ctx;

	return r->in != NULL ? r->in->ops->pending(r->in) : 0;
}

static void
res_shutdown_write(struct vplink *l)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		r->in->ops->shutdown_write(r->in);
}

static int
res_error(struct vplink *l)
{
	struct resolving *r = l->ctx;

	return r->in != NULL ? r->in->ops->error(r->in) : r->err;
}

static void
res_close(struct vplink *l)
{
	struct resolving *r = l->ctx;

	vplink_close(r->in);
	vplookup_free(r->lk);	/* a lookup still running is abandoned */
	free(r);
	free(l);
}

static int
res_connecting(struct vplink *l)
{
	struct resolving *r = l->ctx;

	if (r->in != NULL)
		return vplink_connecting(r->in);
	return r->err == 0;
}

static const struct vplink_ops res_ops = {
	res_pollfds, res_events, res_next_timeout, res_tick, res_read,
	res_writable, res_write, res_pending, res_shutdown_write, res_error,
	res_close, res_connecting
};

struct vplink *
vplink_unwrap(struct vplink *l)
{
	if (l != NULL && l->ops == &res_ops)
		return ((struct resolving *)l->ctx)->in;
	return l;
}

static struct vplink *
resolving_dial(const struct vpendpoint *ep, resdial_fn *dial_res, char *err,
    size_t errlen)
{
	struct vplink *l;
	struct resolving *r;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		free(l);
		(void)fail(err, errlen, ENOMEM, "link", "");
		return NULL;
	}
	if ((r->lk = vplookup_start(ep->host, ep->port)) == NULL) {
		int e = errno;

		free(r);
		free(l);
		(void)fail(err, errlen, e, "lookup", ep->host);
		return NULL;
	}
	r->ep = *ep;
	r->dial_res = dial_res;
	r->deadline = vpio_now_ms() + VPLINK_DIAL_MS;
	l->ops = &res_ops;
	l->ctx = r;
	l->kind = ep->kind == VPEP_UDP ? "udp" : "tcp";
	(void)vpep_format(ep, l->peer, sizeof(l->peer));
	return l;
}

/* tcp: with the addresses looked up. */
static struct vplink *
stream_dial_res(const struct vpendpoint *ep, const struct addrinfo *res,
    char *err, size_t errlen)
{
	struct dialaddr *a;
	int n;

	if ((n = res_addrs(res, &a)) == -1) {
		(void)fail(err, errlen, errno, "connect", ep->host);
		return NULL;
	}
	return dial_link(ep, a, n, err, errlen);
}

/* udp: with the addresses looked up: the first, as a literal. */
static struct vplink *
kcp_dial_res(const struct vpendpoint *ep, const struct addrinfo *res,
    char *err, size_t errlen)
{
	struct vpendpoint lit = *ep;

	if (getnameinfo(res->ai_addr, res->ai_addrlen, lit.host,
	    sizeof(lit.host), NULL, 0, NI_NUMERICHOST) != 0) {
		(void)fail(err, errlen, EHOSTUNREACH, "udp", ep->host);
		return NULL;
	}
	return vplink_kcp_dial(&lit, err, errlen);
}

/* The udp: transport's dial: a name is looked up off the loop. */
static struct vplink *
udp_dial(const struct vpendpoint *ep, char *err, size_t errlen)
{
	if (ep->host[0] == '\0' || strcmp(ep->host, "*") == 0 ||
	    vpnet_is_ip(ep->host))
		return vplink_kcp_dial(ep, err, errlen);
	return resolving_dial(ep, kcp_dial_res, err, errlen);
}

struct vplink *
vplink_stream_dial(const struct vpendpoint *ep, char *err, size_t errlen)
{
	struct vplink *l;
	struct dialaddr *a;
	char peer[128];
	int fd, sv[2];
	pid_t pid = 0;

	switch (ep->kind) {
	case VPEP_TCP:
	case VPEP_UNIX:
		if (ep->kind == VPEP_TCP && !vpnet_is_ip(ep->host))
			return resolving_dial(ep, stream_dial_res, err, errlen);
		if ((fd = dial_addrs(ep, &a, err, errlen)) == -1)
			return NULL;
		return dial_link(ep, a, fd, err, errlen);
	case VPEP_EXEC:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
			(void)fail(err, errlen, errno, "socketpair", "");
			return NULL;
		}
		if ((pid = vpspawn_shell(ep->cmd, sv[1], sv[1], NULL)) == -1) {
			int e = errno;

			(void)close(sv[0]);
			(void)close(sv[1]);
			(void)fail(err, errlen, e, "exec", ep->cmd);
			return NULL;
		}
		(void)close(sv[1]);
		fd = sv[0];
		(void)snprintf(peer, sizeof(peer), "exec:%.100s", ep->cmd);
		l = vplink_stream_new(fd, fd, 0, "exec", peer);
		break;
	case VPEP_STDIO:
		l = vplink_stream_new(0, 1, 0, "stdio", "stdio");
		fd = -1;
		break;
	default:
		(void)fail(err, errlen, EINVAL, "not a stream endpoint", "");
		return NULL;
	}
	if (l == NULL) {
		if (fd != -1)
			(void)close(fd);
		(void)fail(err, errlen, ENOMEM, "link", "");
		return NULL;
	}
	l->child = pid;
	return l;
}

/* ---- listener */

struct slisten {
	struct vplisten	 vl;
	int		 ready[VPLISTEN_MAXFDS];
};

static int
sl_pollfds(struct vplink_listener *ll, struct pollfd *p, int max)
{
	struct slisten *s = ll->ctx;
	int i;

	for (i = 0; i < (int)s->vl.nfds && i < max; i++) {
		p[i].fd = s->vl.fds[i];
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	return i;
}

static int
sl_events(struct vplink_listener *ll, const struct pollfd *p, int n,
    int64_t now)
{
	struct slisten *s = ll->ctx;
	int i;

	for (i = 0; i < n && i < (int)s->vl.nfds; i++)
		s->ready[i] = (p[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
	return 0;
}

static int64_t
sl_next_timeout(struct vplink_listener *ll, int64_t now)
{
	return -1;
}

static void
sl_tick(struct vplink_listener *ll, int64_t now)
{
}

static struct vplink *
sl_accept(struct vplink_listener *ll)
{
	struct slisten *s = ll->ctx;
	struct sockaddr_storage ss;
	char host[64], serv[16], peer[128];
	struct vplink *l;
	socklen_t sl;
	int i, fd;

	for (i = 0; i < (int)s->vl.nfds; i++) {
		if (!s->ready[i])
			continue;
		sl = sizeof(ss);
		fd = accept4(s->vl.fds[i], (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED) {
				s->ready[i] = 0;
				continue;
			}
			return NULL;
		}
		peer[0] = '\0';
		if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
			if (getnameinfo((struct sockaddr *)&ss, sl, host,
			    sizeof(host), serv, sizeof(serv),
			    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
				(void)snprintf(peer, sizeof(peer), "%s:%s",
				    host, serv);
		} else
			(void)snprintf(peer, sizeof(peer), "unix");
		l = vplink_stream_new(fd, fd, 0,
		    ss.ss_family == AF_UNIX ? "unix" : "tcp", peer);
		if (l == NULL)
			(void)close(fd);
		return l;
	}
	errno = EAGAIN;
	return NULL;
}

static void
sl_close(struct vplink_listener *ll)
{
	struct slisten *s = ll->ctx;

	vplisten_close(&s->vl, 1);
	free(s);
	free(ll);
}

static const struct vplink_listener_ops sl_ops = {
	.pollfds = sl_pollfds,
	.events = sl_events,
	.next_timeout = sl_next_timeout,
	.tick = sl_tick,
	.accept = sl_accept,
	.close = sl_close,
};

struct vplink_listener *
vplink_stream_listen(const struct vpendpoint *ep, char *err, size_t errlen)
{
	struct vplink_listener *ll;
	struct slisten *s;

	ll = calloc(1, sizeof(*ll));
	s = calloc(1, sizeof(*s));
	if (ll == NULL || s == NULL) {
		free(ll);
		free(s);
		(void)fail(err, errlen, ENOMEM, "listener", "");
		return NULL;
	}
	if (vplisten_open(&s->vl, ep, 0, err, errlen) == -1) {
		free(ll);
		free(s);
		return NULL;
	}
	ll->ops = &sl_ops;
	ll->ctx = s;
	ll->kind = ep->kind == VPEP_UNIX ? "unix" : "tcp";
	ll->port = vplisten_port(s->vl.fds[0]);
	return ll;
}

/* ---- transport table */

const struct vplink_transport vplink_transports[] = {
	{ VPEP_TCP, "tcp", vplink_stream_dial, vplink_stream_listen },
	{ VPEP_UNIX, "unix", vplink_stream_dial, vplink_stream_listen },
	{ VPEP_EXEC, "exec", vplink_stream_dial, NULL },
	{ VPEP_STDIO, "stdio", vplink_stream_dial, NULL },
	{ VPEP_FD, "fd", NULL, vplink_stream_listen },
	{ VPEP_SYSTEMD, "systemd", NULL, vplink_stream_listen },
	{ VPEP_UDP, "udp", udp_dial, vplink_kcp_listen },
	{ 0, NULL, NULL, NULL }
};

const struct vplink_transport *
vplink_transport_for(int kind)
{
	const struct vplink_transport *t;

	for (t = vplink_transports; t->name != NULL; t++)
		if (t->kind == kind)
			return t;
	return NULL;
}
