/*
 * vpnet: outbound connects and address text.
 *
 * TCP: every address of a name is tried, IPv6 and IPv4 interleaved
 * with a 250 ms stagger (happy eyeballs, RFC 8305 section 5), under one
 * overall deadline. Unix stream sockets: a path or "@abstract".
 *
 * Failures are -1 with errno set. Besides the usual connect errnos,
 * two pseudo-errnos (outside the errno range) tell resolver failures
 * apart: VPNET_ENONAME (the name does not exist / has no address) and
 * VPNET_EAGAIN (temporary resolver failure). vpnet_strerror() knows
 * them; vpreply_class_errno() maps all of them to an outcome class.
 *
 * Nothing here exits or logs.
 */
#ifndef VPNET_H
#define VPNET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define VPNET_ENONAME	0x10001	/* name not found */
#define VPNET_EAGAIN	0x10002	/* resolver: temporary failure */

/* Enough for "[v6%scope]:65535" and "unix:" + a 108-byte path. */
#define VPNET_ADDRSTRLEN	128

/* Per-address stagger of the happy-eyeballs race, milliseconds. */
#define VPNET_STAGGER_MS	250
/* At most this many addresses of one name are tried. */
#define VPNET_MAXADDR		16

/*
 * vpnet_dial_tcp(): connects to host (a name or an IP literal) and
 * port. family is AF_UNSPEC, AF_INET or AF_INET6. timeout_ms bounds
 * the whole attempt, resolution excluded (<= 0: no limit). On success
 * returns the connected fd (O_NONBLOCK, FD_CLOEXEC, TCP_NODELAY,
 * SO_KEEPALIVE) and,
 * if peer is not NULL, writes the address connected to into peer
 * (vpnet_addr_str form). Returns -1 with errno set on failure: the
 * error of the most telling address (refused beats unreachable), or
 * ETIMEDOUT when the deadline passed, or VPNET_ENONAME/VPNET_EAGAIN.
 */
int	vpnet_dial_tcp(const char *host, unsigned port, int family,
	    int timeout_ms, char *peer, size_t peerlen);

struct addrinfo;

/*
 * vpnet_dial_ai(): the happy-eyeballs race of vpnet_dial_tcp() over an
 * already resolved list (SOCK_STREAM entries). Same results; an empty
 * list is VPNET_ENONAME.
 */
int	vpnet_dial_ai(const struct addrinfo *res, int timeout_ms, char *peer,
	    size_t peerlen);

/*
 * vpnet_interleave(): the order vpnet_dial_ai() tries res in: IPv6 and
 * IPv4 alternating, starting with the family of the first entry, at
 * most max (<= VPNET_MAXADDR) entries. Returns how many were stored.
 */
size_t	vpnet_interleave(const struct addrinfo *res,
	    const struct addrinfo **order, size_t max);

/*
 * vpnet_dial_unix(): connects to a unix stream socket; path "@name" is
 * the abstract name "name". Waits for backlog room at most timeout_ms
 * (<= 0: no limit). Returns the fd (O_NONBLOCK, FD_CLOEXEC), or -1 with
 * errno set (ENOENT nothing there, ECONNREFUSED nobody listening,
 * ETIMEDOUT backlog stayed full, ENAMETOOLONG path too long).
 */
int	vpnet_dial_unix(const char *path, int timeout_ms);

/*
 * vpnet_addr_str(): "1.2.3.4:80", "[::1]:80", "unix:/path",
 * "unix:@name" or "unix:" (unnamed) for sa into buf (n bytes, at most
 * VPNET_ADDRSTRLEN needed). Returns buf; "?" for an unknown family.
 */
const char *vpnet_addr_str(const struct sockaddr *sa, socklen_t len,
	    char *buf, size_t n);

/*
 * vpnet_addr_ip(): the numeric host ("1.2.3.4", "::1") and port of an
 * AF_INET/AF_INET6 address. Returns 0, or -1 (EAFNOSUPPORT/ENOSPC).
 */
int	vpnet_addr_ip(const struct sockaddr *sa, char *buf, size_t n,
	    unsigned *port);

/*
 * vpnet_send_fd(): passes fd over the unix socket sock (SCM_RIGHTS,
 * with one data byte, as ssh's ProxyUseFdpass expects). Returns 0, or
 * -1 with errno set (ENOTSOCK: sock is no socket).
 */
int	vpnet_send_fd(int sock, int fd);

/*
 * vpnet_sendmsg_fd(): one sendmsg(2) of len bytes of data with fd
 * attached (SCM_RIGHTS), flags as for sendmsg (MSG_NOSIGNAL added).
 * Returns what sendmsg returns.
 */
ssize_t	vpnet_sendmsg_fd(int sock, int fd, const void *data, size_t len,
	    int flags);

/* vpnet_is_ip(): 4 or 6 if s is an IPv4/IPv6 literal, else 0. */
int	vpnet_is_ip(const char *s);

/* vpnet_strerror(): text for err, including the pseudo-errnos. */
const char *vpnet_strerror(int err);

/*
 * vpnet_gai_errno(): a getaddrinfo() result (gai, with errno's value sys
 * for EAI_SYSTEM) as an errno or VPNET_ pseudo-errno.
 */
int	vpnet_gai_errno(int gai, int sys);

/*
 * vpnet_err_rank(): how telling a failed connect's errno is, when every
 * address failed (higher: more telling; refused beats unreachable).
 */
int	vpnet_err_rank(int err);

/* Socket buffers for a relay's loopback TCP sockets, see below. */
#define VPNET_LOOPBUF	(256 * 1024)

/*
 * vpnet_loopback_bufs(): when fd is a TCP socket whose peer is a
 * loopback address (127.0.0.0/8, ::1, v4-mapped 127/8), fixes its send
 * and receive buffers at VPNET_LOOPBUF. On loopback there is no delay
 * for autotuning to cover, and buffers that stay small keep a relay's
 * data in cache: here it moves 40-60% more per second. Other sockets
 * keep autotuning (a fixed buffer would cap a long path). Returns 1 if
 * set, 0 if not a loopback TCP socket (or on error).
 */
int	vpnet_loopback_bufs(int fd);

/*
 * A lingering close: after our last bytes (a reply, a response) and a
 * shutdown(SHUT_WR), the client is read and what it sends discarded, so
 * that unread bytes do not turn the close into a reset that destroys
 * what is still on its way to it. It ends at the client's EOF or error,
 * when it has sent nothing for VPLINGER_IDLE_MS, once everything we sent
 * is acknowledged (SIOCOUTQ 0) and VPLINGER_READS reads were taken, or at
 * VPLINGER_MAX_MS whatever happens (a client that neither reads nor
 * stops sending).
 */
#define VPLINGER_IDLE_MS	500
#define VPLINGER_MAX_MS		30000
#define VPLINGER_READS		64
struct vplinger {
	int64_t		 start, last;
	unsigned	 reads;
};

/* vplinger_start(): a lingering close begins at now (ms). */
void	vplinger_start(struct vplinger *l, int64_t now);

/* vplinger_read(): a read from the client at now returned bytes. */
void	vplinger_read(struct vplinger *l, int64_t now);

/*
 * vplinger_until(): when lingering on socket fd is to end: 0 for now,
 * else the time (ms, the clock of now) up to which to wait for more.
 */
int64_t	vplinger_until(const struct vplinger *l, int fd, int64_t now);

/*
 * vpnet_linger(): a lingering close in a blocking program: shuts down
 * out (a socket) for writing and reads in, discarding, as vplinger says.
 * With only_unsent, only when out holds bytes its peer has not
 * acknowledged (after a relay that failed, say): otherwise returns at
 * once. Does not close either.
 */
void	vpnet_linger(int in, int out, int only_unsent);

/*
 * vpnet_unsent(): bytes written to fd that its peer has not acknowledged
 * yet (SIOCOUTQ; a TCP FIN counts one); -1 on error.
 */
int	vpnet_unsent(int fd);

/* vpnet_sa_loopback(): 1 if sa is a loopback IPv4/IPv6 address. */
int	vpnet_sa_loopback(const struct sockaddr *sa);

/* vpnet_set_bufs(): sets fd's send and receive buffers to size. 0/-1. */
int	vpnet_set_bufs(int fd, int size);

#endif
