/*
 * vpinbound: server-side proxy request parsers (SOCKS5 + RFC 1929,
 * SOCKS4/4a, HTTP CONNECT and absolute-form plain HTTP).
 *
 * Every parser is incremental in the simplest way: it is given the
 * whole buffer received so far and re-parses it from the start. It
 * returns VPIN_MORE (need more bytes; every byte seen so far belongs
 * to the request), VPIN_DONE (*used = the request's length, bytes past
 * it are the client's early data) or VPIN_BAD (req->err says why and
 * which reply class to answer). Nothing here allocates except the
 * rewritten plain-HTTP head, exits, or logs.
 */
#ifndef VPINBOUND_H
#define VPINBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "vphttpbody.h"

#define VPIN_NAMEMAX	255		/* host, user, password */
#define VPIN_HEADMAX	16384		/* HTTP header section */
#define VPIN_HDRCOUNT	100		/* HTTP header lines */

enum vpin_status {
	VPIN_BAD = -1,
	VPIN_MORE = 0,
	VPIN_DONE = 1
};

enum vpin_proto {
	VPIN_UNKNOWN = 0,
	VPIN_SOCKS5,
	VPIN_SOCKS4,
	VPIN_HTTP
};

/* Why a request was refused: decides the reply. */
enum vpin_err {
	VPIN_E_NONE = 0,
	VPIN_E_PROTO,		/* malformed: SOCKS5 01, SOCKS4 5B, HTTP 400 */
	VPIN_E_VERSION,		/* not this protocol: close */
	VPIN_E_CMD,		/* BIND/UDP: SOCKS5 07, SOCKS4 5B, HTTP 405 */
	VPIN_E_ATYP,		/* unknown address type: SOCKS5 08 */
	VPIN_E_TOOBIG,		/* field or header section too long: 01 / 431 */
	VPIN_E_NOMETHOD		/* no acceptable SOCKS5 method: 05 FF */
};

struct vpin_req {
	enum vpin_proto	proto;
	char		host[VPIN_NAMEMAX + 1];
	unsigned	port;
	int		host_is_name;	/* a name, not an IP literal */
	int		http_connect;	/* HTTP: 1 CONNECT, 0 plain request */
	int		has_auth;	/* user/pass were given */
	char		user[VPIN_NAMEMAX + 1];
	char		pass[VPIN_NAMEMAX + 1];
	char		method[32];	/* HTTP method */
	int		http_minor;	/* HTTP/1.x */
	char	       *head;		/* plain HTTP: rewritten head (malloc) */
	size_t		headlen;
	enum vphb_frame	body;		/* plain HTTP: the body's framing */
	uint64_t	bodylen;	/* its Content-Length (VPHB_LENGTH) */
	enum vpin_err	err;
	const char     *reason;		/* static text for VPIN_BAD */
};

/*
 * vpin_detect(): the protocol a client speaks from its first byte:
 * 0x05 SOCKS5, 0x04 SOCKS4, an uppercase letter HTTP. VPIN_UNKNOWN for
 * anything else (or len 0).
 */
enum vpin_proto vpin_detect(const unsigned char *buf, size_t len);

/*
 * vpin_socks5_greeting(): parses "05 NMETHODS METHODS...". On DONE,
 * *methods has bit m set for each offered method m < 32 (bit 0 = no
 * auth, bit 2 = user/pass).
 */
int	vpin_socks5_greeting(const unsigned char *buf, size_t len,
	    size_t *used, unsigned *methods, struct vpin_req *req);

/* vpin_socks5_auth(): parses RFC 1929 "01 ULEN UNAME PLEN PASSWD". */
int	vpin_socks5_auth(const unsigned char *buf, size_t len, size_t *used,
	    struct vpin_req *req);

/*
 * vpin_socks5_request(): parses "05 CMD 00 ATYP ADDR PORT". CONNECT
 * only; BIND and UDP ASSOCIATE are VPIN_E_CMD, unknown ATYP VPIN_E_ATYP
 * (both after the whole request has arrived when the length is known).
 */
int	vpin_socks5_request(const unsigned char *buf, size_t len,
	    size_t *used, struct vpin_req *req);

/* vpin_socks4(): parses SOCKS4 and SOCKS4a CONNECT requests. */
int	vpin_socks4(const unsigned char *buf, size_t len, size_t *used,
	    struct vpin_req *req);

/*
 * vpin_http(): parses an HTTP/1.x proxy request head (CONNECT
 * authority-form, or absolute-form "http://..."). For a plain request
 * it builds req->head: origin-form request line, Host from the URL,
 * hop-by-hop headers removed, "Connection: close" added. Proxy-
 * Authorization Basic credentials land in user/pass. Caller frees
 * with vpin_free(). A plain request's body framing lands in body and
 * bodylen (Content-Length: 1*DIGIT, equal repeats allowed; Transfer-
 * Encoding ending in chunked); conflicting or bad Content-Length, both
 * headers, or a Transfer-Encoding not ending in chunked is VPIN_E_PROTO
 * (400). CL and TE are forwarded to the origin unchanged.
 */
int	vpin_http(const unsigned char *buf, size_t len, size_t *used,
	    struct vpin_req *req);

/* Frees what a parser allocated and wipes the password. */
void	vpin_free(struct vpin_req *req);

/*
 * vpin_b64decode(): decodes standard base64 (with padding) into out.
 * Returns the decoded length, or -1 on bad input or overflow.
 */
long	vpin_b64decode(const char *in, size_t inlen, unsigned char *out,
	    size_t outlen);

#endif
