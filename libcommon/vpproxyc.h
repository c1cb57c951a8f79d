/*
 * vpproxyc: the client side of upstream proxies, for vp-dial -x.
 *
 *   socks5://[USER:PASS@]HOST:PORT   RFC 1928, RFC 1929 auth; names
 *                                    resolved by the proxy (ATYP 03)
 *   socks5://[USER:PASS@]unix:PATH   the same on a unix socket (@abstract)
 *   socks4a://HOST:PORT              SOCKS4a (SOCKS4 for IPv4 literals)
 *   http://[USER:PASS@]HOST:PORT     HTTP CONNECT, Basic auth
 *
 * USER and PASS may be percent-encoded (%40 for '@'). USER@ without a
 * password parses with auth set and pass empty, for the caller to fill
 * in (vp-dial takes it from VP_PROXY_PASS). socks5h:// and
 * socks4:// are accepted as aliases. Every kind also takes unix:PATH,
 * after the user info if any (which then ends at the '@' before
 * "unix:", so the path may hold '@').
 *
 * Replies are read by incremental parsers over (buf, len) that return
 * VPPX_NEEDMORE (0), VPPX_BAD (-1) or the length of a complete reply
 * (> 0); the handshake reads exactly that many bytes, so no payload
 * byte that follows a reply is ever consumed.
 *
 * Nothing here exits or logs.
 */
#ifndef VPPROXYC_H
#define VPPROXYC_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "vpreply.h"

enum vppx_kind {
	VPPX_SOCKS5 = 1,
	VPPX_SOCKS4A,
	VPPX_HTTP
};

#define VPPX_NEEDMORE	0
#define VPPX_BAD	(-1)

/* Longest HTTP reply head accepted from a proxy. */
#define VPPX_HTTP_MAX	16384

struct vpproxy {
	enum vppx_kind	kind;
	char		host[256];	/* TCP proxy; "" when path is set */
	unsigned	port;
	char		path[108];	/* unix:PATH proxy ("@name" abstract) */
	int		auth;		/* user/pass given */
	char		user[256];
	char		pass[256];
};

/* What a reply parser learnt. */
struct vppx_reply {
	/* SOCKS method/status/REP/CD; -1 unknown */
	int		code;
	int		status;		/* HTTP status */
	char		reason[64];	/* HTTP reason phrase (sanitised) */
	struct sockaddr_storage bound;	/* SOCKS5 BND.ADDR/PORT if IP */
};

/*
 * vpproxyc_parse(): parses url into px. Returns 0, or -1 with a reason
 * in err (no password in it).
 */
int	vpproxyc_parse(const char *url, struct vpproxy *px, char *err,
	    size_t errlen);
/* vpproxyc_str(): px as a URL without the password, for logs. */
const char *vpproxyc_str(const struct vpproxy *px, char *buf, size_t n);
/* vpproxyc_clear(): wipes the credentials in px. */
void	vpproxyc_clear(struct vpproxy *px);

/*
 * Request builders: write the bytes to send into buf (n bytes).
 * Return the length, or -1 (ENOSPC buffer too small, EINVAL a name
 * longer than 255 bytes or a destination the protocol cannot carry:
 * an IPv6 literal over SOCKS4a).
 */
ssize_t	vpproxyc_socks5_greeting(const struct vpproxy *px, void *buf,
	    size_t n);
ssize_t	vpproxyc_socks5_authreq(const struct vpproxy *px, void *buf,
	    size_t n);
ssize_t	vpproxyc_socks5_request(const char *host, unsigned port, void *buf,
	    size_t n);
ssize_t	vpproxyc_socks4a_request(const struct vpproxy *px, const char *host,
	    unsigned port, void *buf, size_t n);
ssize_t	vpproxyc_http_request(const struct vpproxy *px, const char *host,
	    unsigned port, void *buf, size_t n);

/*
 * Reply parsers: NEEDMORE, BAD, or the reply's length. r->code is set
 * as soon as it is known, even while more bytes are needed.
 *   socks5_method: "05 METHOD"        (code = METHOD)
 *   socks5_auth:   "01 STATUS"        (code = STATUS; 05 accepted too)
 *   socks5_reply:  "05 REP 00 ATYP BND.ADDR BND.PORT" (code = REP)
 *   socks4_reply:  "00 CD PORT IP"    (code = CD; VN 04 accepted too)
 *   http_reply:    "HTTP/1.x NNN reason" CRLF headers CRLF CRLF
 *                  (status, reason; at most VPPX_HTTP_MAX bytes)
 */
ssize_t	vpproxyc_socks5_method_parse(const void *buf, size_t len,
	    struct vppx_reply *r);
ssize_t	vpproxyc_socks5_auth_parse(const void *buf, size_t len,
	    struct vppx_reply *r);
ssize_t	vpproxyc_socks5_reply_parse(const void *buf, size_t len,
	    struct vppx_reply *r);
ssize_t	vpproxyc_socks4_reply_parse(const void *buf, size_t len,
	    struct vppx_reply *r);
ssize_t	vpproxyc_http_reply_parse(const void *buf, size_t len,
	    struct vppx_reply *r);

/*
 * vpproxyc_handshake(): asks the proxy on the connected fd px for a
 * tunnel to host:port, all within timeout_ms (<= 0: none). Returns 0
 * when the tunnel is up (fd then carries the payload), or -1 with the
 * outcome class in *cls (the proxy's refusal mapped back: SOCKS5 REP 05
 * -> VPR_REFUSED, 04 -> VPR_HOSTUNREACH, HTTP 504 -> VPR_TIMEOUT, ...;
 * a malformed reply -> VPR_PROTO; no reply in time -> VPR_TIMEOUT;
 * credentials refused -> VPR_AUTH) and a sentence in err.
 */
int	vpproxyc_handshake(int fd, const struct vpproxy *px, const char *host,
	    unsigned port, int timeout_ms, enum vpr_class *cls, char *err,
	    size_t errlen);

#endif
