/*
 * vpreply: the outcome of an outbound connection, and the bytes that
 * tell a waiting SOCKS5, SOCKS4 or HTTP CONNECT client about it
 * (DESIGN.md "Hand-off and the pending reply").
 *
 * One enum of outcome classes is shared by the whole project: vp-dial
 * and vpdial_run() produce it, vp-dispatch answers its own clients with
 * the same encoders, and the class -> exit status and errno -> class
 * tables live here, once.
 *
 * Nothing here exits, logs or allocates.
 */
#ifndef VPREPLY_H
#define VPREPLY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

enum vpr_class {
	VPR_OK = 0,		/* connected */
	VPR_GENERAL,		/* general failure (SOCKS5 01) */
	VPR_NOTALLOWED,		/* not allowed by rules (02, HTTP 403) */
	VPR_NETUNREACH,		/* network unreachable (03) */
	VPR_HOSTUNREACH,	/* host unreachable (04) */
	VPR_REFUSED,		/* connection refused (05) */
	VPR_TIMEOUT,		/* timed out / TTL expired (06, HTTP 504) */
	VPR_CMDUNSUPP,		/* command not supported (07) */
	VPR_ATYPUNSUPP,		/* address type not supported (08) */
	VPR_NONAME,		/* name not found (04, HTTP 502, exit 68) */
	VPR_PROTO,		/* bad reply from an upstream proxy (exit 65) */
	VPR_BADREQ,		/* malformed client request (HTTP 400) */
	VPR_AUTH,		/* authentication required/failed (HTTP 407) */
	VPR_INTERNAL,		/* local resource/OS failure (exit 71) */
	VPR_NCLASS
};

/* The client protocol waiting for an answer (VP_REPLY). */
enum vpr_proto {
	VPRP_NONE = 0,		/* VP_REPLY unset or empty: nobody waits */
	VPRP_SOCKS5,
	VPRP_SOCKS4,
	VPRP_HTTP
};

/* Longest reply any encoder writes (HTTP 407 with a 64-byte realm). */
#define VPREPLY_MAX	256

/* SOCKS5 REP field values, RFC 1928 section 6. */
#define VPR_SOCKS5_SUCCEEDED	0x00
#define VPR_SOCKS5_GENERAL	0x01
#define VPR_SOCKS5_NOTALLOWED	0x02
#define VPR_SOCKS5_NETUNREACH	0x03
#define VPR_SOCKS5_HOSTUNREACH	0x04
#define VPR_SOCKS5_REFUSED	0x05
#define VPR_SOCKS5_TTLEXPIRED	0x06
#define VPR_SOCKS5_CMDUNSUPP	0x07
#define VPR_SOCKS5_ATYPUNSUPP	0x08

/* SOCKS4 CD field values in a reply. */
#define VPR_SOCKS4_GRANTED	0x5a
#define VPR_SOCKS4_REJECTED	0x5b
#define VPR_SOCKS4_NOIDENTD	0x5c
#define VPR_SOCKS4_IDENTMISMATCH 0x5d

/*
 * vpreply_proto_parse(): "socks5", "socks4", "http" (or NULL/"" for
 * none) into *p. Returns 0, or -1 for anything else.
 */
int	vpreply_proto_parse(const char *s, enum vpr_proto *p);
/* The name of p ("socks5", ...; "none"). */
const char *vpreply_proto_name(enum vpr_proto p);

/* A short text for c: "connected", "connection refused", ... */
const char *vpreply_class_str(enum vpr_class c);

/*
 * vpreply_class_errno(): the class for a failed connect's errno; also
 * understands the vpnet pseudo-errnos (VPNET_ENONAME -> VPR_NONAME,
 * VPNET_EAGAIN -> VPR_TIMEOUT). 0 -> VPR_OK, unknown -> VPR_GENERAL.
 */
enum vpr_class vpreply_class_errno(int err);

/*
 * vpreply_exit(): the sysexits status for c: OK 0, NONAME 68,
 * TIMEOUT 75, PROTO and BADREQ 65, INTERNAL 71, every other failure
 * (refused, unreachable, not allowed, proxy refused) 69.
 */
int	vpreply_exit(enum vpr_class c);

/* The SOCKS5 REP code for c (VPR_SOCKS5_*). */
int	vpreply_socks5_code(enum vpr_class c);
/* The class for a SOCKS5 REP code from an upstream proxy (00 -> OK). */
enum vpr_class vpreply_socks5_class(int rep);
/* The HTTP status for c: 200, 400, 403, 407, 500, 502 or 504. */
int	vpreply_http_status(enum vpr_class c);
/*
 * The class for an HTTP status from an upstream proxy's CONNECT reply:
 * 2xx -> OK, 403 -> NOTALLOWED, 407 -> AUTH, 504 -> TIMEOUT, 404 ->
 * NONAME, anything else -> GENERAL.
 */
enum vpr_class vpreply_http_class(int status);

/*
 * vpreply_socks5(): writes the SOCKS5 reply "05 REP 00 ATYP BND.ADDR
 * BND.PORT" for c into buf (n bytes). bound is the local address of the
 * outbound connection (IPv4 or IPv6; NULL or any other family gives
 * 0.0.0.0:0). Returns the length (10 or 22), or -1 if n is too small.
 */
ssize_t	vpreply_socks5(enum vpr_class c, const struct sockaddr *bound,
	    char *buf, size_t n);
/*
 * vpreply_socks4(): the 8-byte SOCKS4 reply "00 CD DSTPORT DSTIP"
 * (5A for OK, 5B otherwise; port and IPv4 from bound if it is IPv4,
 * else zero). Returns 8, or -1 if n < 8.
 */
ssize_t	vpreply_socks4(enum vpr_class c, const struct sockaddr *bound,
	    char *buf, size_t n);
/*
 * vpreply_http(): the HTTP/1.1 response head for c: "200 Connection
 * established" for OK; otherwise the failure status with
 * "Content-Length: 0" and "Connection: close", and for VPR_AUTH a
 * 'Proxy-Authenticate: Basic realm="REALM"' header (realm NULL: "vp";
 * quotes, backslashes and control characters are dropped from it).
 * Returns the length, or -1 if n is too small.
 */
ssize_t	vpreply_http(enum vpr_class c, const char *realm, char *buf,
	    size_t n);
/* vpreply_encode(): one of the three above by p; VPRP_NONE gives 0. */
ssize_t	vpreply_encode(enum vpr_proto p, enum vpr_class c,
	    const struct sockaddr *bound, char *buf, size_t n);

/*
 * vpreply_fail(): for functions that fail with a class and a sentence:
 * stores c in *cls, formats fmt into err (errlen bytes; err may be
 * NULL) and returns -1.
 */
int	vpreply_fail(enum vpr_class *cls, enum vpr_class c, char *err,
	    size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/*
 * vpreply_send(): encodes and writes the reply for p/c to fd (whole
 * write, EINTR/EAGAIN retried). Returns 0 (also for VPRP_NONE), or -1
 * with errno set.
 */
int	vpreply_send(int fd, enum vpr_proto p, enum vpr_class c,
	    const struct sockaddr *bound);

#endif
