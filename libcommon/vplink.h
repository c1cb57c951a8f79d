/*
 * vplink: the transport under vp-tunnel's frame layer.
 *
 * A link is a reliable, ordered, full-duplex byte stream between two
 * tunnel ends: a TCP or unix socket, a child's stdin/stdout (exec:),
 * our own stdin/stdout (stdio), or KCP over UDP (vplink_kcp, written
 * against this header). The frame layer (vptunnel) never sees fds: it
 * only calls the functions below, so any transport that can offer these
 * operations can carry a tunnel.
 *
 * One event loop drives everything. Per iteration the program:
 *
 *   1. n = link->ops->pollfds(link, pfd, max, want_read)
 *        The link fills up to max pollfd slots with its fds and the
 *        events it wants now (POLLIN for arriving bytes only when
 *        want_read is nonzero or the transport must read anyway, as a
 *        UDP transport must to see ACKs; POLLOUT while it holds
 *        unsent bytes). Returns the slots used (>= 0).
 *   2. t = link->ops->next_timeout(link, now)
 *        Milliseconds until the link needs tick() (0: now), or -1 if it
 *        has no timer. The program polls for at most that long.
 *   3. poll(2)
 *   4. link->ops->events(link, pfd, n, now)
 *        Hands back the revents of the link's own slots (the same n
 *        slots it filled). The link does its I/O: sends queued bytes,
 *        receives datagrams, runs its ARQ. Returns 0, or -1 with errno
 *        when the link has failed (then it is dead, see error()).
 *   5. link->ops->tick(link, now)   when the timeout has expired.
 *   6. link->ops->read(link, buf, len) until it returns -1/EAGAIN
 *        Bytes that arrived from the peer, in order. Returns > 0 bytes,
 *        0 at end of stream (the peer closed its sending side after its
 *        last byte), or -1 with errno: EAGAIN nothing now, anything else
 *        the link is dead.
 *   7. link->ops->writable(link) / link->ops->write(link, buf, len)
 *        writable() is how many bytes write() accepts right now (the
 *        transport's backpressure; 0 when full or dead). write() queues
 *        up to len bytes, never more than writable() said, and returns
 *        how many it took (possibly 0), or -1 with errno if dead. The
 *        frame layer only writes whole frames: it asks writable() first
 *        and writes a frame only when it fits entirely, so a link must
 *        accept a full write() of <= writable() bytes. Queued bytes go
 *        out from write() itself when possible, else from events().
 *
 * pending(): bytes accepted by write() but not yet handed to the kernel
 * or acknowledged by the peer (a graceful close waits for 0, bounded).
 * shutdown_write(): no more writes will come; the link sends its end of
 * stream after the pending bytes (TCP FIN, closing a child's stdin).
 * error(): 0 while the link is usable, else the errno that killed it
 * (EPIPE, ECONNRESET, ETIMEDOUT for a dead ARQ peer, ...).
 * close(): releases every resource (closes fds, reaps nothing: the
 * program owns child processes) and frees the link. Always valid.
 * connecting() (NULL: never): 1 while a dial is still in progress. Such
 * a link takes part in the loop like any other (pollfds/events/
 * next_timeout/tick), but read() says EAGAIN and writable() 0 until it
 * is connected; a failed or timed-out connect makes events()/tick()
 * leave error() set (ECONNREFUSED, ETIMEDOUT, ...).
 *
 * No function here blocks, exits or logs. The clock is vpio_now_ms().
 */
#ifndef VPLINK_H
#define VPLINK_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vplink;

struct vplink_ops {
	int	(*pollfds)(struct vplink *, struct pollfd *, int max,
		    int want_read);
	int	(*events)(struct vplink *, const struct pollfd *, int n,
		    int64_t now);
	int64_t	(*next_timeout)(struct vplink *, int64_t now);
	void	(*tick)(struct vplink *, int64_t now);
	ssize_t	(*read)(struct vplink *, void *buf, size_t len);
	size_t	(*writable)(struct vplink *);
	ssize_t	(*write)(struct vplink *, const void *buf, size_t len);
	size_t	(*pending)(struct vplink *);
	void	(*shutdown_write)(struct vplink *);
	int	(*error)(struct vplink *);
	void	(*close)(struct vplink *);
	int	(*connecting)(struct vplink *);
};

/* Most slots any link fills in pollfds(). */
#define VPLINK_MAXFDS	4

struct vplink {
	const struct vplink_ops	*ops;
	void			*ctx;		/* the transport's state */
	const char		*kind;		/* "tcp", "unix", "exec", "udp" */
	char			 peer[128];	/* for log lines */
	pid_t			 child;		/* exec: the command's pid, else 0;
						   the program reaps it */
};

/*
 * A listener produces links (server side). A stream listener's links
 * are accepted sockets. A datagram transport's listener owns the shared
 * UDP socket and demultiplexes datagrams into its links: those links
 * then fill 0 pollfd slots and still work through events()/tick()/read(),
 * because the listener is polled first and feeds them. The program
 * polls a listener like a link (pollfds/events/next_timeout/tick) and
 * calls accept() until it returns NULL: NULL with errno EAGAIN means
 * nothing now, any other errno a failure worth logging (the listener
 * stays usable unless error() says otherwise).
 */
struct vplink_listener;
struct vplink_listener_ops {
	int	(*pollfds)(struct vplink_listener *, struct pollfd *, int max);
	int	(*events)(struct vplink_listener *, const struct pollfd *,
		    int n, int64_t now);
	int64_t	(*next_timeout)(struct vplink_listener *, int64_t now);
	void	(*tick)(struct vplink_listener *, int64_t now);
	struct vplink *(*accept)(struct vplink_listener *);
	void	(*close)(struct vplink_listener *);
};

struct vplink_listener {
	const struct vplink_listener_ops *ops;
	void			*ctx;
	const char		*kind;
	unsigned		 port;		/* bound port (tcp/udp), for -1 */
};

/* Convenience wrappers (call through ops). */
static inline ssize_t
vplink_read(struct vplink *l, void *buf, size_t len)
{
	return l->ops->read(l, buf, len);
}

static inline ssize_t
vplink_write(struct vplink *l, const void *buf, size_t len)
{
	return l->ops->write(l, buf, len);
}

static inline size_t
vplink_writable(struct vplink *l)
{
	return l->ops->writable(l);
}

/* 1 while l's dial is in progress (see connecting() above), else 0. */
static inline int
vplink_connecting(struct vplink *l)
{
	return l->ops->connecting != NULL && l->ops->connecting(l);
}

/*
 * vplink_unwrap(): the link that carries l's bytes: l itself, or the
 * one a dial by name made once its lookup was in (see below; NULL
 * while looking up). For transport-specific calls (vplink_kcp_stats).
 */
struct vplink *vplink_unwrap(struct vplink *l);

static inline void
vplink_close(struct vplink *l)
{
	if (l != NULL)
		l->ops->close(l);
}

/*
 * The byte-stream link: rfd carries bytes from the peer, wfd to it
 * (the same fd for a socket; a child's stdout/stdin pipes for exec:,
 * 0/1 for stdio). Both are made non-blocking and close-on-exec; close()
 * closes them (once if equal). sndbuf is the most bytes it queues in
 * user space (0: 256 KiB). kind/peer label the link for logs.
 * Returns the link, or NULL with errno (ENOMEM).
 */
struct vplink *vplink_stream_new(int rfd, int wfd, size_t sndbuf,
	    const char *kind, const char *peer);

/*
 * Transports keyed by endpoint kind (vpendpoint.h enum vpep_kind).
 * vp-tunnel looks up the kind of its PEER (client) or LISTEN (server)
 * here and never knows which transport it runs on. dial() returns a
 * connected link, listen() a bound listener; both NULL with errno set
 * and a one-line reason in err. A NULL member means "not for this
 * kind". The table (vplink_transports[], ended by kind 0) lives in
 * vplink.c; the UDP/KCP transport adds its one entry there.
 */
struct vpendpoint;
struct vplink_transport {
	int	kind;			/* VPEP_* */
	const char *name;
	struct vplink *(*dial)(const struct vpendpoint *, char *err,
		    size_t errlen);
	struct vplink_listener *(*listen)(const struct vpendpoint *,
		    char *err, size_t errlen);
};

extern const struct vplink_transport vplink_transports[];

/* The transport for an endpoint kind, or NULL if none carries a tunnel. */
const struct vplink_transport *vplink_transport_for(int kind);

/*
 * Byte-stream dial/listen used by the table: tcp:, unix: (connect or
 * bind+listen, unix listeners honour mode/owner/group), exec: (a
 * socketpair on the command's stdin/stdout; link->child is its pid),
 * stdio (fds 0/1 as one link), fd:N/systemd (an inherited listening
 * socket).
 */
struct vplink *vplink_stream_dial(const struct vpendpoint *, char *err,
	    size_t errlen);
/*
 * The dial of tcp: and unix: does not block on the connect: the link
 * comes back connecting (vplink_connecting()), with every address of
 * the name raced as vpnet does (IPv6/IPv4 interleaved, a new attempt
 * every VPNET_STAGGER_MS, at most VPLINK_MAXFDS at once; a unix
 * listener whose backlog is full is retried every 100 ms), under
 * VPLINK_DIAL_MS overall. A host name is looked up off the loop, on a
 * thread of its own (vplookup, vpresolve.h): the link is connecting
 * meanwhile, and the lookup counts against VPLINK_DIAL_MS too. The udp:
 * transport's dial does the same before its KCP link exists.
 */
#define VPLINK_DIAL_MS	10000
struct vplink_listener *vplink_stream_listen(const struct vpendpoint *,
	    char *err, size_t errlen);

#endif
