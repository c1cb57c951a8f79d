/*
 * vpinbound: server-side SOCKS5/SOCKS4/HTTP proxy request parsers.
 * See vpinbound.h for the calling convention.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vpendpoint.h"
#include "vpinbound.h"

static int
bad(struct vpin_req *req, enum vpin_err e, const char *why)
{
	req->err = e;
	req->reason = why;
	return VPIN_BAD;
}

enum vpin_proto
vpin_detect(const unsigned char *buf, size_t len)
{
	if (len == 0)
		return VPIN_UNKNOWN;
	if (buf[0] == 0x05)
		return VPIN_SOCKS5;
	if (buf[0] == 0x04)
		return VPIN_SOCKS4;
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		return VPIN_HTTP;
	return VPIN_UNKNOWN;
}

int
vpin_socks5_greeting(const unsigned char *buf, size_t len, size_t *used,
    unsigned *methods, struct vpin_req *req)
{
	size_t i, n;

	*methods = 0;
	if (len < 1)
		return VPIN_MORE;
	if (buf[0] != 0x05)
		return bad(req, VPIN_E_VERSION, "not a SOCKS5 greeting");
	if (len < 2)
		return VPIN_MORE;
	n = buf[1];
	if (n == 0)
		return bad(req, VPIN_E_NOMETHOD, "SOCKS5 greeting offers no method");
	if (len < 2 + n)
		return VPIN_MORE;
	for (i = 0; i < n; i++)
		if (buf[2 + i] < 32)
			*methods |= 1u << buf[2 + i];
	*used = 2 + n;
	req->proto = VPIN_SOCKS5;
	return VPIN_DONE;
}

int
vpin_socks5_auth(const unsigned char *buf, size_t len, size_t *used,
    struct vpin_req *req)
{
	size_t ul, pl;

	if (len < 1)
		return VPIN_MORE;
	if (buf[0] != 0x01)
		return bad(req, VPIN_E_VERSION, "bad RFC 1929 version");
	if (len < 2)
		return VPIN_MORE;
	ul = buf[1];
	if (ul == 0)
		return bad(req, VPIN_E_PROTO, "empty user name");
	if (len < 2 + ul + 1)
		return VPIN_MORE;
	pl = buf[2 + ul];
	if (len < 3 + ul + pl)
		return VPIN_MORE;
	if (memchr(buf + 2, '\0', ul) != NULL ||
	    memchr(buf + 3 + ul, '\0', pl) != NULL)
		return bad(req, VPIN_E_PROTO, "NUL in user name or password");
	memcpy(req->user, buf + 2, ul);
	req->user[ul] = '\0';
	memcpy(req->pass, buf + 3 + ul, pl);
	req->pass[pl] = '\0';
	req->has_auth = 1;
	*used = 3 + ul + pl;
	return VPIN_DONE;
}

int
vpin_socks5_request(const unsigned char *buf, size_t len, size_t *used,
    struct vpin_req *req)
{
	size_t alen, off;
	int cmd;

	if (len < 1)
		return VPIN_MORE;
	if (buf[0] != 0x05)
		return bad(req, VPIN_E_VERSION, "bad SOCKS5 request version");
	if (len < 4)
		return VPIN_MORE;
	cmd = buf[1];
	switch (buf[3]) {
	case 0x01:
		alen = 4;
		off = 4;
		break;
	case 0x04:
		alen = 16;
		off = 4;
		break;
	case 0x03:
		if (len < 5)
			return VPIN_MORE;
		alen = buf[4];
		off = 5;
		if (alen == 0)
			return bad(req, VPIN_E_PROTO, "empty SOCKS5 host name");
		break;
	default:
		return bad(req, VPIN_E_ATYP, "unsupported SOCKS5 address type");
	}
	if (len < off + alen + 2)
		return VPIN_MORE;
	*used = off + alen + 2;
	req->proto = VPIN_SOCKS5;
	if (cmd != 0x01)
		return bad(req, VPIN_E_CMD, cmd == 0x02 ? "SOCKS5 BIND not supported" :
		    cmd == 0x03 ? "SOCKS5 UDP ASSOCIATE not supported" :
		    "unknown SOCKS5 command");
	if (buf[2] != 0x00)
		return bad(req, VPIN_E_PROTO, "SOCKS5 reserved byte not zero");
	if (buf[3] == 0x01) {
		inet_ntop(AF_INET, buf + 4, req->host, sizeof(req->host));
		req->host_is_name = 0;
	} else if (buf[3] == 0x04) {
		inet_ntop(AF_INET6, buf + 4, req->host, sizeof(req->host));
		req->host_is_name = 0;
	} else {
		if (memchr(buf + 5, '\0', alen) != NULL)
			return bad(req, VPIN_E_PROTO, "NUL in SOCKS5 host name");
		memcpy(req->host, buf + 5, alen);
		req->host[alen] = '\0';
		req->host_is_name = 1;
	}
	req->port = (unsigned)buf[off + alen] << 8 | buf[off + alen + 1];
	if (req->port == 0)
		return bad(req, VPIN_E_PROTO, "SOCKS5 port 0");
	return VPIN_DONE;
}

int
vpin_socks4(const unsigned char *buf, size_t len, size_t *used,
    struct vpin_req *req)
{
	const unsigned char *nul, *hn;
	size_t off, hl;
	int is4a;

	if (len < 1)
		return VPIN_MORE;
	if (buf[0] != 0x04)
		return bad(req, VPIN_E_VERSION, "not a SOCKS4 request");
	if (len < 8)
		return VPIN_MORE;
	req->proto = VPIN_SOCKS4;
	/* USERID, NUL-terminated, at most 255 bytes. */
	nul = memchr(buf + 8, '\0', len - 8);
	if (nul == NULL) {
		if (len - 8 > VPIN_NAMEMAX)
			return bad(req, VPIN_E_TOOBIG, "SOCKS4 user id too long");
		return VPIN_MORE;
	}
	if ((size_t)(nul - (buf + 8)) > VPIN_NAMEMAX)
		return bad(req, VPIN_E_TOOBIG, "SOCKS4 user id too long");
	off = (size_t)(nul - buf) + 1;
	is4a = buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] != 0;
	hn = NULL;
	hl = 0;
	if (is4a) {
		hn = buf + off;
		nul = memchr(hn, '\0', len - off);
		if (nul == NULL) {
			if (len - off > VPIN_NAMEMAX)
				return bad(req, VPIN_E_TOOBIG,
				    "SOCKS4a host name too long");
			return VPIN_MORE;
		}
		hl = (size_t)(nul - hn);
		if (hl > VPIN_NAMEMAX)
			return bad(req, VPIN_E_TOOBIG, "SOCKS4a host name too long");
		off += hl + 1;
	}
	*used = off;
	if (buf[1] != 0x01)
		return bad(req, VPIN_E_CMD, "SOCKS4 command not supported");
	req->port = (unsigned)buf[2] << 8 | buf[3];
	if (req->port == 0)
		return bad(req, VPIN_E_PROTO, "SOCKS4 port 0");
	if (is4a) {
		if (hl == 0)
			return bad(req, VPIN_E_PROTO, "empty SOCKS4a host name");
		memcpy(req->host, hn, hl);
		req->host[hl] = '\0';
		req->host_is_name = 1;
	} else {
		if (buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0)
			return bad(req, VPIN_E_PROTO, "SOCKS4 address 0.0.0.0");
		inet_ntop(AF_INET, buf + 4, req->host, sizeof(req->host));
		req->host_is_name = 0;
	}
	/* The user id is SOCKS4's only identity; keep it as the user. */
	hl = strlen((const char *)buf + 8);
	memcpy(req->user, buf + 8, hl);
	req->user[hl] = '\0';
	return VPIN_DONE;
}

/* ---- HTTP */

static const char b64tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long
vpin_b64decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen)
{
	unsigned v = 0;
	size_t i, o = 0, pad = 0;
	int bits = 0;
	const char *p;

	if (inlen % 4 != 0)
		return -1;
	for (i = 0; i < inlen; i++) {
		if (in[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || in[i] == '\0' ||
		    (p = strchr(b64tab, in[i])) == NULL)
			return -1;
		v = (v << 6) | (unsigned)(p - b64tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (pad > 2)
		return -1;
	return (long)o;
}

/* Case-insensitive "is token t (length tl) in the comma list s?" */
static int
list_has(const char *s, size_t sl, const char *t, size_t tl)
{
	size_t i = 0, b, e;

	while (i < sl) {
		while (i < sl && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		b = i;
		while (i < sl && s[i] != ',')
			i++;
		e = i;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (e - b == tl && strncasecmp(s + b, t, tl) == 0)
			return 1;
	}
	return 0;
}

struct hline {
	const char *name, *val;
	size_t nl, vl;		/* name and value lengths */
	size_t start, end;	/* whole line incl. CRLF, offsets in head */
};

static int
hdr_is(const struct hline *h, const char *name)
{
	return h->nl == strlen(name) && strncasecmp(h->name, name, h->nl) == 0;
}

/* Appends n bytes to the growing head; -1 if it would pass the cap. */
static int
put(char *dst, size_t *off, size_t cap, const char *s, size_t n)
{
	if (n > cap - *off)
		return -1;
	memcpy(dst + *off, s, n);
	*off += n;
	return 0;
}

static int
parse_basic(const char *v, size_t vl, struct vpin_req *req)
{
	unsigned char dec[2 * VPIN_NAMEMAX + 2];
	const unsigned char *colon;
	long n;
	size_t ul;

	if (vl < 6 || strncasecmp(v, "Basic ", 6) != 0)
		return -1;
	v += 6;
	vl -= 6;
	while (vl > 0 && *v == ' ') {
		v++;
		vl--;
	}
	if ((n = vpin_b64decode(v, vl, dec, sizeof(dec))) < 0)
		return -1;
	if ((colon = memchr(dec, ':', (size_t)n)) == NULL ||
	    memchr(dec, '\0', (size_t)n) != NULL)
		return -1;
	ul = (size_t)(colon - dec);
	if (ul == 0 || ul > VPIN_NAMEMAX || (size_t)n - ul - 1 > VPIN_NAMEMAX)
		return -1;
	memcpy(req->user, dec, ul);
	req->user[ul] = '\0';
	memcpy(req->pass, colon + 1, (size_t)n - ul - 1);
	req->pass[(size_t)n - ul - 1] = '\0';
	req->has_auth = 1;
	explicit_bzero(dec, sizeof(dec));
	return 0;
}

/* Is s an IPv4 or IPv6 literal? */
static int
is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Is c a token character (RFC 9110 tchar)? */
static int
tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * te_codings(): walks Transfer-Encoding value s (length sl), a comma
 * list of codings, on from *chunked (1: the codings so far ended in
 * chunked). Returns 0, or -1 for an empty element or a coding after
 * chunked (chunked must be the final coding, applied once).
 */
static int
te_codings(const char *s, size_t sl, int *chunked)
{
	size_t i = 0, b, e;

	while (i <= sl) {
		b = i;
		while (i < sl && s[i] != ',')
			i++;
		e = i++;
		while (b < e && (s[b] == ' ' || s[b] == '\t'))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (e == b || *chunked)
			return -1;
		*chunked = e - b == 7 && strncasecmp(s + b, "chunked", 7) == 0;
	}
	return 0;
}

/*
 * http_framing(): a plain request's body framing from its Content-Length
 * and Transfer-Encoding headers (RFC 9112 6.1, 6.3): NULL, or why the
 * request is refused (400).
 */
static const char *
http_framing(const struct hline *h, size_t nh, struct vpin_req *req)
{
	uint64_t len = 0, v;
	size_t i, j;
	int cl = 0, te = 0, chunked = 0;

	for (i = 0; i < nh; i++) {
		if (hdr_is(&h[i], "Content-Length")) {
			if (h[i].vl == 0)
				return "bad Content-Length";
			for (v = 0, j = 0; j < h[i].vl; j++) {
				if (h[i].val[j] < '0' || h[i].val[j] > '9')
					return "bad Content-Length";
				if (v > (UINT64_MAX - 9) / 10)
					return "Content-Length too large";
				v = v * 10 + (uint64_t)(h[i].val[j] - '0');
			}
			if (cl && v != len)
				return "conflicting Content-Length headers";
			cl = 1;
			len = v;
		} else if (hdr_is(&h[i], "Transfer-Encoding")) {
			if (te_codings(h[i].val, h[i].vl, &chunked) == -1)
				return "bad Transfer-Encoding";
			te = 1;
		}
	}
	if (te && cl)
		return "both Transfer-Encoding and Content-Length";
	if (te && req->http_minor == 0)
		return "Transfer-Encoding in an HTTP/1.0 request";
	if (te && !chunked)
		return "Transfer-Encoding does not end in chunked";
	req->body = te ? VPHB_CHUNKED : cl ? VPHB_LENGTH : VPHB_NONE;
	req->bodylen = cl ? len : 0;
	return NULL;
}

int
vpin_http(const unsigned char *ubuf, size_t len, size_t *used,
    struct vpin_req *req)
{
	const char *buf = (const char *)ubuf, *p, *eol, *sp1, *sp2, *t;
	struct hline h[VPIN_HDRCOUNT];
	size_t nh = 0, i, end, lineend, hl, tl, off;
	const char *conn = NULL, *pconn = NULL;
	size_t connl = 0, pconnl = 0;
	char authority[VPIN_NAMEMAX + 16], path_start;
	const char *path, *why;
	size_t pathl;
	char *out;

	/* Find the end of the header section (CRLF CRLF, or LF LF). */
	end = 0;
	for (i = 0; i < len && i < VPIN_HEADMAX; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n') {
			end = i + 1;
			break;
		}
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') {
			end = i + 1;
			break;
		}
	}
	if (end == 0) {
		if (len >= VPIN_HEADMAX)
			return bad(req, VPIN_E_TOOBIG, "HTTP header section too large");
		/* Fail early on a first line that cannot be HTTP. */
		for (i = 0; i < len && buf[i] != ' '; i++)
			if (i >= 31 || !tchar((unsigned char)buf[i]))
				return bad(req, VPIN_E_PROTO, "not an HTTP request");
		return VPIN_MORE;
	}
	req->proto = VPIN_HTTP;
	*used = end;

	/* Request line: METHOD SP TARGET SP HTTP/1.x */
	eol = memchr(buf, '\n', end);
	lineend = (size_t)(eol - buf);
	hl = lineend;
	if (hl > 0 && buf[hl - 1] == '\r')
		hl--;
	if (memchr(buf, '\0', end) != NULL)
		return bad(req, VPIN_E_PROTO, "NUL in HTTP head");
	sp1 = memchr(buf, ' ', hl);
	if (sp1 == NULL || sp1 == buf || (size_t)(sp1 - buf) >= sizeof(req->method))
		return bad(req, VPIN_E_PROTO, "bad HTTP request line");
	for (p = buf; p < sp1; p++)
		if (!tchar((unsigned char)*p))
			return bad(req, VPIN_E_PROTO, "bad HTTP method");
	memcpy(req->method, buf, (size_t)(sp1 - buf));
	req->method[sp1 - buf] = '\0';
	sp2 = memchr(sp1 + 1, ' ', hl - (size_t)(sp1 + 1 - buf));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return bad(req, VPIN_E_PROTO, "bad HTTP request line");
	if ((size_t)(buf + hl - (sp2 + 1)) != 8 ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return bad(req, VPIN_E_PROTO, "not HTTP/1.0 or HTTP/1.1");
	req->http_minor = sp2[8] - '0';
	t = sp1 + 1;
	tl = (size_t)(sp2 - t);

	/* Header lines. */
	p = eol + 1;
	while (p < buf + end) {
		const char *le = memchr(p, '\n', (size_t)(buf + end - p));
		const char *colon, *v, *ve;

		hl = (size_t)(le - p);
		if (hl > 0 && p[hl - 1] == '\r')
			hl--;
		if (hl == 0)
			break;
		if (*p == ' ' || *p == '\t')
			return bad(req, VPIN_E_PROTO, "obsolete header folding");
		/* A bare CR could end the line at the origin (RFC 9112 2.2). */
		if (memchr(p, '\r', hl) != NULL)
			return bad(req, VPIN_E_PROTO, "bare CR in HTTP header");
		if (nh == VPIN_HDRCOUNT)
			return bad(req, VPIN_E_TOOBIG, "too many HTTP header lines");
		colon = memchr(p, ':', hl);
		if (colon == NULL || colon == p)
			return bad(req, VPIN_E_PROTO, "bad HTTP header line");
		for (v = p; v < colon; v++)
			if (!tchar((unsigned char)*v))
				return bad(req, VPIN_E_PROTO, "bad HTTP header name");
		v = colon + 1;
		ve = p + hl;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		h[nh].name = p;
		h[nh].nl = (size_t)(colon - p);
		h[nh].val = v;
		h[nh].vl = (size_t)(ve - v);
		h[nh].start = (size_t)(p - buf);
		h[nh].end = (size_t)(le + 1 - buf);
		if (hdr_is(&h[nh], "Connection")) {
			conn = v;
			connl = h[nh].vl;
		} else if (hdr_is(&h[nh], "Proxy-Connection")) {
			pconn = v;
			pconnl = h[nh].vl;
		} else if (hdr_is(&h[nh], "Proxy-Authorization")) {
			/*
			 * Only Basic is understood. Another scheme (NTLM,
			 * Negotiate, Bearer) or a malformed one is no
			 * credential: ignored without users, answered 407
			 * (Basic) with them. Stripped either way.
			 */
			(void)parse_basic(v, h[nh].vl, req);
		}
		nh++;
		p = le + 1;
	}
	(void)pconn;
	(void)pconnl;

	if (strcmp(req->method, "CONNECT") == 0) {
		if (tl > VPIN_NAMEMAX + 8)
			return bad(req, VPIN_E_TOOBIG, "CONNECT authority too long");
		memcpy(authority, t, tl);
		authority[tl] = '\0';
		if (vpep_split_hostport(authority, req->host, sizeof(req->host),
		    &req->port, 1) == -1 || req->port == 0 || req->host[0] == '\0')
			return bad(req, VPIN_E_PROTO, "bad CONNECT authority");
		req->http_connect = 1;
		req->host_is_name = !is_ip(req->host);
		return VPIN_DONE;
	}

	/* Absolute form: http://authority[/path] */
	if (tl < 7 || strncasecmp(t, "http://", 7) != 0)
		return bad(req, VPIN_E_PROTO,
		    "not an absolute-form http:// proxy request");
	t += 7;
	tl -= 7;
	for (i = 0; i < tl && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++)
		;
	if (i == 0 || i > VPIN_NAMEMAX + 8 || memchr(t, '@', i) != NULL)
		return bad(req, VPIN_E_PROTO, "bad URL authority");
	memcpy(authority, t, i);
	authority[i] = '\0';
	/*
	 * The authority goes into the Host header as it is: no control
	 * bytes (the port parser skips leading white space, CR included).
	 */
	for (p = authority; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return bad(req, VPIN_E_PROTO, "bad URL authority");
	if (vpep_split_hostport(authority, req->host, sizeof(req->host),
	    &req->port, 0) == -1 || req->host[0] == '\0')
		return bad(req, VPIN_E_PROTO, "bad URL authority");
	if (req->port == 0) {
		/* no port in the URL: 80; an empty or zero one: refused */
		p = authority[0] == '[' ? strchr(authority, ']') : authority;
		if (p == NULL || strchr(p, ':') != NULL)
			return bad(req, VPIN_E_PROTO, "bad URL port");
		req->port = 80;
	}
	req->host_is_name = !is_ip(req->host);
	path = t + i;
	pathl = tl - i;
	if ((why = http_framing(h, nh, req)) != NULL)
		return bad(req, VPIN_E_PROTO, why);
	path_start = pathl > 0 ? path[0] : '\0';
	for (i = 0; i < pathl; i++)
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
			return bad(req, VPIN_E_PROTO, "bad URL path");

	/* Rewrite: origin form, Host from the URL, no hop-by-hop headers. */
	if ((out = malloc(VPIN_HEADMAX + 512)) == NULL)
		return bad(req, VPIN_E_PROTO, "out of memory");
	off = 0;
	if (put(out, &off, VPIN_HEADMAX + 512, req->method,
	    strlen(req->method)) == -1 ||
	    put(out, &off, VPIN_HEADMAX + 512, " ", 1) == -1 ||
	    (path_start != '/' && put(out, &off, VPIN_HEADMAX + 512, "/", 1) == -1) ||
	    put(out, &off, VPIN_HEADMAX + 512, path, pathl) == -1 ||
	    put(out, &off, VPIN_HEADMAX + 512, req->http_minor ?
	    " HTTP/1.1\r\nHost: " : " HTTP/1.0\r\nHost: ", 17) == -1 ||
	    put(out, &off, VPIN_HEADMAX + 512, authority, strlen(authority)) == -1 ||
	    put(out, &off, VPIN_HEADMAX + 512, "\r\n", 2) == -1)
		goto toobig;
	for (i = 0; i < nh; i++) {
		if (hdr_is(&h[i], "Host") || hdr_is(&h[i], "Connection") ||
		    hdr_is(&h[i], "Proxy-Connection") ||
		    hdr_is(&h[i], "Keep-Alive") ||
		    hdr_is(&h[i], "Proxy-Authorization") ||
		    hdr_is(&h[i], "Proxy-Authenticate") ||
		    hdr_is(&h[i], "TE") || hdr_is(&h[i], "Trailer") ||
		    hdr_is(&h[i], "Upgrade"))
			continue;
		/* Headers the client named in Connection are hop-by-hop too. */
		if (conn != NULL && !hdr_is(&h[i], "Transfer-Encoding") &&
		    !hdr_is(&h[i], "Content-Length") &&
		    list_has(conn, connl, h[i].name, h[i].nl))
			continue;
		if (put(out, &off, VPIN_HEADMAX + 512, h[i].name, h[i].nl) == -1 ||
		    put(out, &off, VPIN_HEADMAX + 512, ": ", 2) == -1 ||
		    put(out, &off, VPIN_HEADMAX + 512, h[i].val, h[i].vl) == -1 ||
		    put(out, &off, VPIN_HEADMAX + 512, "\r\n", 2) == -1)
			goto toobig;
	}
	if (put(out, &off, VPIN_HEADMAX + 512, "Connection: close\r\n\r\n",
	    21) == -1)
		goto toobig;
	req->head = out;
	req->headlen = off;
	req->http_connect = 0;
	return VPIN_DONE;
toobig:
	free(out);
	return bad(req, VPIN_E_TOOBIG, "rewritten HTTP head too large");
}

void
vpin_free(struct vpin_req *req)
{
	free(req->head);
	req->head = NULL;
	req->headlen = 0;
	explicit_bzero(req->pass, sizeof(req->pass));
}
