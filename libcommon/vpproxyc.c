/*
 * vpproxyc: SOCKS5 / SOCKS4a / HTTP CONNECT client handshakes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vpnet.h"
#include "vpproxyc.h"

/* RFC 1928 section 3-6, RFC 1929 section 2. */
#define SOCKS5_VER		0x05
#define SOCKS5_M_NONE		0x00
#define SOCKS5_M_USERPASS	0x02
#define SOCKS5_M_NOACCEPT	0xff
#define SOCKS5_CMD_CONNECT	0x01
#define SOCKS5_ATYP_V4		0x01
#define SOCKS5_ATYP_NAME	0x03
#define SOCKS5_ATYP_V6		0x04
#define SOCKS5_AUTH_VER		0x01
#define SOCKS4_VER		0x04
#define SOCKS4_CMD_CONNECT	0x01

/* pxfail(err, errlen, fmt, ...): a reason, errno EINVAL, -1. */
#define pxfail(err, errlen, ...) vpio_errf(err, errlen, EINVAL, __VA_ARGS__)

/* Percent-decodes s[0..n) into out (cap bytes). 0 or -1. */
static int
pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	int h, l;

	for (i = 0; i < n; i++) {
		if (o + 1 >= cap)
			return -1;
		if (s[i] == '%') {
			if (i + 2 >= n)
				return -1;
			if ((h = vpio_hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = vpio_hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			if (h == 0 && l == 0)
				return -1;	/* no NUL in credentials */
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return 0;
}

void
vpproxyc_clear(struct vpproxy *px)
{
	explicit_bzero(px->user, sizeof(px->user));
	explicit_bzero(px->pass, sizeof(px->pass));
	px->auth = 0;
}

int
vpproxyc_parse(const char *url, struct vpproxy *px, char *err, size_t errlen)
{
	const char *rest, *at, *colon;
	char hp[512];
	size_t n;

	memset(px, 0, sizeof(*px));
	if (url == NULL)
		return pxfail(err, errlen, "no proxy URL");
	if (strncmp(url, "socks5://", 9) == 0)
		px->kind = VPPX_SOCKS5, rest = url + 9;
	else if (strncmp(url, "socks5h://", 10) == 0)
		px->kind = VPPX_SOCKS5, rest = url + 10;
	else if (strncmp(url, "socks4a://", 10) == 0)
		px->kind = VPPX_SOCKS4A, rest = url + 10;
	else if (strncmp(url, "socks4://", 9) == 0)
		px->kind = VPPX_SOCKS4A, rest = url + 9;
	else if (strncmp(url, "http://", 7) == 0)
		px->kind = VPPX_HTTP, rest = url + 7;
	else
		return pxfail(err, errlen, "unknown proxy scheme (want "
		    "socks5://, socks4a:// or http://)");

	/*
	 * userinfo ends at the last '@', or for a unix socket (whose path
	 * may hold '@': abstract names) at the '@' before "unix:"
	 */
	if (strncmp(rest, "unix:", 5) == 0)
		at = NULL;
	else if ((at = strstr(rest, "@unix:")) == NULL)
		at = strrchr(rest, '@');
	if (at != NULL) {
		colon = memchr(rest, ':', at - rest);
		if (colon == NULL)
			colon = at;
		if (colon == rest)
			return pxfail(err, errlen, "empty proxy user name");
		if (px->kind == VPPX_SOCKS4A && colon != at)
			return pxfail(err, errlen, "SOCKS4a has no password "
			    "(use socks4a://USER@HOST:PORT)");
		if (pct_decode(rest, colon - rest, px->user,
		    sizeof(px->user)) == -1)
			goto badcred;
		if (colon != at && pct_decode(colon + 1, at - colon - 1,
		    px->pass, sizeof(px->pass)) == -1)
			goto badcred;
		/* socks5://USER@ with no password: the caller supplies it */
		if (px->kind == VPPX_SOCKS5 && colon != at &&
		    px->pass[0] == '\0')
			goto badcred;	/* RFC 1929: PLEN 1..255 */
		px->auth = 1;
		rest = at + 1;
	}
	if (strncmp(rest, "unix:", 5) == 0) {
		rest += 5;
		n = strlen(rest);
		if (n == 0 || n >= sizeof(px->path)) {
			vpproxyc_clear(px);
			return pxfail(err, errlen, n == 0 ?
			    "empty unix socket path" :
			    "unix socket path too long");
		}
		memcpy(px->path, rest, n + 1);
		return 0;
	}
	n = strlen(rest);
	if (n > 0 && rest[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(hp)) {
		vpproxyc_clear(px);
		return pxfail(err, errlen, "expected HOST:PORT after the "
		    "scheme");
	}
	memcpy(hp, rest, n);
	hp[n] = '\0';
	if (vpep_split_hostport(hp, px->host, sizeof(px->host), &px->port,
	    1) == -1 || px->host[0] == '\0' || px->port == 0) {
		vpproxyc_clear(px);
		return pxfail(err, errlen, "expected HOST:PORT after the "
		    "scheme");
	}
	if (!vpep_host_ok(px->host)) {
		vpproxyc_clear(px);
		return pxfail(err, errlen, "bad proxy host name");
	}
	return 0;
badcred:
	vpproxyc_clear(px);
	return pxfail(err, errlen, "bad proxy credentials (1-255 bytes each, "
	    "%%XX escapes, no NUL)");
}

const char *
vpproxyc_str(const struct vpproxy *px, char *buf, size_t n)
{
	const char *scheme = px->kind == VPPX_SOCKS5 ? "socks5" :
	    px->kind == VPPX_SOCKS4A ? "socks4a" : "http";
	char user[64];
	int r;

	user[0] = '\0';
	if (px->auth) {
		size_t i, j = 0;

		for (i = 0; px->user[i] != '\0' && j + 2 < sizeof(user); i++)
			user[j++] = ((unsigned char)px->user[i] < 0x21 ||
			    px->user[i] == 0x7f) ? '?' : px->user[i];
		user[j++] = '@';
		user[j] = '\0';
	}
	if (px->path[0] != '\0')
		r = snprintf(buf, n, "%s://%sunix:%s", scheme, user, px->path);
	else {
		r = snprintf(buf, n, strchr(px->host, ':') != NULL ?
		    "%s://%s[%s]:%u" : "%s://%s%s:%u", scheme, user, px->host,
		    px->port);
	}
	if (r < 0 && n > 0)
		buf[0] = '\0';
	return buf;
}

/* ---- request builders */

ssize_t
vpproxyc_socks5_greeting(const struct vpproxy *px, void *buf, size_t n)
{
	unsigned char *p = buf;

	if (n < 4) {
		errno = ENOSPC;
		return -1;
	}
	p[0] = SOCKS5_VER;
	if (px->auth) {
		p[1] = 2;
		p[2] = SOCKS5_M_NONE;
		p[3] = SOCKS5_M_USERPASS;
		return 4;
	}
	p[1] = 1;
	p[2] = SOCKS5_M_NONE;
	return 3;
}

ssize_t
vpproxyc_socks5_authreq(const struct vpproxy *px, void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t ul = strlen(px->user), pl = strlen(px->pass);

	if (ul == 0 || ul > 255 || pl == 0 || pl > 255) {
		errno = EINVAL;
		return -1;
	}
	if (n < 3 + ul + pl) {
		errno = ENOSPC;
		return -1;
	}
	p[0] = SOCKS5_AUTH_VER;
	p[1] = (unsigned char)ul;
	memcpy(p + 2, px->user, ul);
	p[2 + ul] = (unsigned char)pl;
	memcpy(p + 3 + ul, px->pass, pl);
	return 3 + ul + pl;
}

ssize_t
vpproxyc_socks5_request(const char *host, unsigned port, void *buf, size_t n)
{
	unsigned char *p = buf;
	struct in6_addr a6;
	struct in_addr a4;
	size_t hl = strlen(host), len;

	if (port > 65535 || hl == 0 || hl > 255) {
		errno = EINVAL;
		return -1;
	}
	if (n < 4 + 1 + hl + 2 || n < 22) {
		errno = ENOSPC;
		return -1;
	}
	p[0] = SOCKS5_VER;
	p[1] = SOCKS5_CMD_CONNECT;
	p[2] = 0x00;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		p[3] = SOCKS5_ATYP_V4;
		memcpy(p + 4, &a4, 4);
		len = 8;
	} else if (inet_pton(AF_INET6, host, &a6) == 1) {
		p[3] = SOCKS5_ATYP_V6;
		memcpy(p + 4, &a6, 16);
		len = 20;
	} else {
		p[3] = SOCKS5_ATYP_NAME;
		p[4] = (unsigned char)hl;
		memcpy(p + 5, host, hl);
		len = 5 + hl;
	}
	p[len] = (unsigned char)(port >> 8);
	p[len + 1] = (unsigned char)(port & 0xff);
	return len + 2;
}

ssize_t
vpproxyc_socks4a_request(const struct vpproxy *px, const char *host,
    unsigned port, void *buf, size_t n)
{
	unsigned char *p = buf;
	const char *user = px != NULL && px->auth ? px->user : "";
	size_t hl = strlen(host), ul = strlen(user), len;
	struct in_addr a4;
	int ip = inet_pton(AF_INET, host, &a4) == 1;

	if (port > 65535 || hl == 0 || hl > 255 || ul > 255 ||
	    vpnet_is_ip(host) == 6) {
		errno = EINVAL;
		return -1;
	}
	len = 8 + ul + 1 + (ip ? 0 : hl + 1);
	if (n < len) {
		errno = ENOSPC;
		return -1;
	}
	p[0] = SOCKS4_VER;
	p[1] = SOCKS4_CMD_CONNECT;
	p[2] = (unsigned char)(port >> 8);
	p[3] = (unsigned char)(port & 0xff);
	if (ip)
		memcpy(p + 4, &a4, 4);
	else {
		p[4] = p[5] = p[6] = 0;		/* 0.0.0.1: SOCKS4a */
		p[7] = 1;
	}
	memcpy(p + 8, user, ul);
	p[8 + ul] = '\0';
	if (!ip) {
		memcpy(p + 9 + ul, host, hl);
		p[9 + ul + hl] = '\0';
	}
	return len;
}

static size_t
b64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		v = in[i] << 16;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		v = in[i] << 16 | in[i + 1] << 8;
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

ssize_t
vpproxyc_http_request(const struct vpproxy *px, const char *host,
    unsigned port, void *buf, size_t n)
{
	char auth[1024], cred[520], hp[300];
	size_t cl;
	int r;

	if (port > 65535 || *host == '\0' || strlen(host) > 255 ||
	    strpbrk(host, " \t\r\n[]/@") != NULL) {
		errno = EINVAL;
		return -1;
	}
	r = snprintf(hp, sizeof(hp), vpnet_is_ip(host) == 6 ? "[%s]:%u" :
	    "%s:%u", host, port);
	if (r < 0 || (size_t)r >= sizeof(hp)) {
		errno = EINVAL;
		return -1;
	}
	auth[0] = '\0';
	if (px != NULL && px->auth) {
		r = snprintf(cred, sizeof(cred), "%s:%s", px->user, px->pass);
		if (r < 0 || (size_t)r >= sizeof(cred)) {
			errno = EINVAL;
			return -1;
		}
		cl = (size_t)r;
		memcpy(auth, "Proxy-Authorization: Basic ", 27);
		cl = b64((unsigned char *)cred, cl, auth + 27);
		memcpy(auth + 27 + cl, "\r\n", 3);
		explicit_bzero(cred, sizeof(cred));
	}
	r = snprintf(buf, n, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", hp,
	    hp, auth);
	explicit_bzero(auth, sizeof(auth));
	if (r < 0 || (size_t)r >= n) {
		errno = ENOSPC;
		return -1;
	}
	return r;
}

/* ---- reply parsers */

static void
reply_init(struct vppx_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->code = -1;
}

ssize_t
vpproxyc_socks5_method_parse(const void *buf, size_t len,
    struct vppx_reply *r)
{
	const unsigned char *p = buf;

	reply_init(r);
	if (len >= 1 && p[0] != SOCKS5_VER)
		return VPPX_BAD;
	if (len < 2)
		return VPPX_NEEDMORE;
	r->code = p[1];
	return 2;
}

ssize_t
vpproxyc_socks5_auth_parse(const void *buf, size_t len, struct vppx_reply *r)
{
	const unsigned char *p = buf;

	reply_init(r);
	if (len >= 1 && p[0] != SOCKS5_AUTH_VER && p[0] != SOCKS5_VER)
		return VPPX_BAD;
	if (len < 2)
		return VPPX_NEEDMORE;
	r->code = p[1];
	return 2;
}

ssize_t
vpproxyc_socks5_reply_parse(const void *buf, size_t len,
    struct vppx_reply *r)
{
	const unsigned char *p = buf;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	size_t need;

	reply_init(r);
	if (len >= 1 && p[0] != SOCKS5_VER)
		return VPPX_BAD;
	if (len >= 2)
		r->code = p[1];
	if (len >= 3 && p[2] != 0x00)
		return VPPX_BAD;
	if (len < 4)
		return VPPX_NEEDMORE;
	switch (p[3]) {
	case SOCKS5_ATYP_V4:
		need = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_V6:
		need = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_NAME:
		if (len < 5)
			return VPPX_NEEDMORE;
		if (p[4] == 0)
			return VPPX_BAD;
		need = 4 + 1 + p[4] + 2;
		break;
	default:
		return VPPX_BAD;
	}
	if (len < need)
		return VPPX_NEEDMORE;
	if (p[3] == SOCKS5_ATYP_V4) {
		sin = (struct sockaddr_in *)&r->bound;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, p + 4, 4);
		memcpy(&sin->sin_port, p + 8, 2);
	} else if (p[3] == SOCKS5_ATYP_V6) {
		sin6 = (struct sockaddr_in6 *)&r->bound;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, p + 4, 16);
		memcpy(&sin6->sin6_port, p + 20, 2);
	}
	return (ssize_t)need;
}

ssize_t
vpproxyc_socks4_reply_parse(const void *buf, size_t len,
    struct vppx_reply *r)
{
	const unsigned char *p = buf;

	reply_init(r);
	if (len >= 1 && p[0] != 0x00 && p[0] != SOCKS4_VER)
		return VPPX_BAD;
	if (len >= 2) {
		if (p[1] < VPR_SOCKS4_GRANTED ||
		    p[1] > VPR_SOCKS4_IDENTMISMATCH)
			return VPPX_BAD;
		r->code = p[1];
	}
	if (len < 8)
		return VPPX_NEEDMORE;
	return 8;
}

ssize_t
vpproxyc_http_reply_parse(const void *buf, size_t len, struct vppx_reply *r)
{
	const char *p = buf, *end = NULL, *sp;
	static const char pre[] = "HTTP/1.";
	size_t i, k, hlen;

	reply_init(r);
	/* the status line must look right from its first byte on */
	k = len < sizeof(pre) - 1 ? len : sizeof(pre) - 1;
	if (memcmp(p, pre, k) != 0)
		return VPPX_BAD;
	if (len >= 8 && (p[7] < '0' || p[7] > '9'))
		return VPPX_BAD;
	if (len >= 9 && p[8] != ' ')
		return VPPX_BAD;
	for (i = 9; i < 12 && i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return VPPX_BAD;
	if (len >= 13 && p[12] != ' ' && p[12] != '\r' && p[12] != '\n')
		return VPPX_BAD;
	if (len >= 12)
		r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 +
		    (p[11] - '0');
	/* end of the head: CRLF CRLF (or a bare LF LF) */
	for (i = 0; i < len && i < VPPX_HTTP_MAX; i++) {
		if (p[i] == '\0')
			return VPPX_BAD;
		if (p[i] != '\n')
			continue;
		if (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n') {
			end = p + i + 1;
			break;
		}
		if (i >= 1 && p[i - 1] == '\n') {
			end = p + i + 1;
			break;
		}
	}
	if (end == NULL)
		return len >= VPPX_HTTP_MAX ? VPPX_BAD : VPPX_NEEDMORE;
	hlen = end - p;
	if (hlen < 14 || len < 12)
		return VPPX_BAD;
	/* reason phrase: from after the status to the end of line */
	sp = p + 12;
	if (*sp == ' ')
		sp++;
	for (i = 0; sp + i < end && sp[i] != '\r' && sp[i] != '\n' &&
	    i + 1 < sizeof(r->reason); i++)
		r->reason[i] = ((unsigned char)sp[i] < 0x20 ||
		    sp[i] == 0x7f) ? '?' : sp[i];
	r->reason[i] = '\0';
	return (ssize_t)hlen;
}

/* ---- the handshake */

typedef ssize_t (*vppx_parser)(const void *, size_t, struct vppx_reply *);

/*
 * Reads one reply with parse, never past its end: peeks, and consumes
 * only bytes that belong to the reply. Returns the reply length, 0 at
 * EOF, -1 with errno (ETIMEDOUT, EBADMSG for a malformed reply).
 * *got is how many bytes were seen.
 */
static ssize_t
read_reply(int fd, vppx_parser parse, struct vppx_reply *r, char *acc,
    size_t cap, size_t *got, int64_t deadline)
{
	size_t have = 0;
	ssize_t k, res;
	int w, peek = 1;

	*got = 0;
	for (;;) {
		w = vpio_wait(fd, POLLIN, vpio_remaining(deadline));
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (peek) {
			k = recv(fd, acc + have, cap - have, MSG_PEEK);
			if (k == -1 && errno == ENOTSOCK) {
				peek = 0;
				continue;
			}
		} else
			k = read(fd, acc + have, 1);
		if (k == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k == -1)
			return -1;
		if (k == 0)
			return 0;
		res = parse(acc, have + k, r);
		*got = have + k;
		if (res == VPPX_BAD) {
			errno = EBADMSG;
			return -1;
		}
		if (res > 0) {
			/* consume exactly the reply's remaining bytes */
			if (peek && vpio_readall(fd, acc + have,
			    (size_t)res - have) != (size_t)res - have)
				return -1;
			return res;
		}
		/* every byte seen belongs to the reply */
		if (peek && vpio_readall(fd, acc + have, (size_t)k) !=
		    (size_t)k)
			return -1;
		have += k;
		if (have >= cap) {
			errno = EBADMSG;
			return -1;
		}
	}
}

/* Sends all of buf before the deadline. 0 or -1. */
static int
send_all(int fd, const void *buf, size_t n, int64_t deadline)
{
	const char *p = buf;
	size_t off = 0;
	ssize_t r;
	int w;

	while (off < n) {
		r = send(fd, p + off, n - off, MSG_NOSIGNAL);
		if (r == -1 && errno == ENOTSOCK)
			r = write(fd, p + off, n - off);
		if (r > 0) {
			off += r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno != EAGAIN)
			return -1;
		w = vpio_wait(fd, POLLOUT, vpio_remaining(deadline));
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

static const char *
socks5_rep_str(int rep)
{
	switch (rep) {
	case 0x01:
		return "general failure";
	case 0x02:
		return "not allowed by ruleset";
	case 0x03:
		return "network unreachable";
	case 0x04:
		return "host unreachable";
	case 0x05:
		return "connection refused";
	case 0x06:
		return "TTL expired";
	case 0x07:
		return "command not supported";
	case 0x08:
		return "address type not supported";
	default:
		return "unassigned code";
	}
}

/* A failed read_reply() as a class and sentence. */
static int
io_fail(enum vpr_class *cls, char *err, size_t errlen, ssize_t r,
    size_t got, const char *what)
{
	if (r == 0)
		return vpreply_fail(cls, VPR_PROTO, err, errlen,
		    "bad proxy reply: "
		    "connection closed after %zu bytes of the %s", got, what);
	if (errno == ETIMEDOUT)
		return vpreply_fail(cls, VPR_TIMEOUT, err, errlen,
		    "proxy timed out waiting for the %s", what);
	if (errno == EBADMSG)
		return vpreply_fail(cls, VPR_PROTO, err, errlen,
		    "bad proxy reply: malformed %s", what);
	return vpreply_fail(cls, vpreply_class_errno(errno), err, errlen,
	    "proxy: %s reading the %s", vpnet_strerror(errno), what);
}

static int
send_fail(enum vpr_class *cls, char *err, size_t errlen, const char *what)
{
	if (errno == ETIMEDOUT)
		return vpreply_fail(cls, VPR_TIMEOUT, err, errlen,
		    "proxy timed out accepting the %s", what);
	return vpreply_fail(cls, vpreply_class_errno(errno), err, errlen,
	    "proxy: %s sending the %s", vpnet_strerror(errno), what);
}

static int
hs_socks5(int fd, const struct vpproxy *px, const char *host, unsigned port,
    int64_t deadline, enum vpr_class *cls, char *err, size_t errlen)
{
	unsigned char msg[600];
	char acc[600];
	struct vppx_reply r;
	ssize_t n, k;
	size_t got;

	if ((n = vpproxyc_socks5_greeting(px, msg, sizeof(msg))) < 0 ||
	    send_all(fd, msg, n, deadline) == -1)
		return send_fail(cls, err, errlen, "SOCKS5 greeting");
	k = read_reply(fd, vpproxyc_socks5_method_parse, &r, acc, sizeof(acc),
	    &got, deadline);
	if (k <= 0)
		return io_fail(cls, err, errlen, k, got,
		    "SOCKS5 method selection");
	if (r.code == SOCKS5_M_NOACCEPT)
		return vpreply_fail(cls, VPR_AUTH, err, errlen,
		    "proxy refused: no acceptable authentication method%s",
		    px->auth ? "" :
		    " (it wants credentials: socks5://USER:PASS@...)");
	if (r.code == SOCKS5_M_USERPASS && px->auth) {
		if (px->pass[0] == '\0')
			return vpreply_fail(cls, VPR_AUTH, err, errlen,
			    "no password for SOCKS5 user %s", px->user);
		n = vpproxyc_socks5_authreq(px, msg, sizeof(msg));
		if (n < 0 || send_all(fd, msg, n, deadline) == -1) {
			explicit_bzero(msg, sizeof(msg));
			return send_fail(cls, err, errlen,
			    "SOCKS5 credentials");
		}
		explicit_bzero(msg, sizeof(msg));
		k = read_reply(fd, vpproxyc_socks5_auth_parse, &r, acc,
		    sizeof(acc), &got, deadline);
		if (k <= 0)
			return io_fail(cls, err, errlen, k, got,
			    "SOCKS5 authentication status");
		if (r.code != 0)
			return vpreply_fail(cls, VPR_AUTH, err, errlen, "proxy "
			    "refused: authentication failed (status %d)",
			    r.code);
	} else if (r.code != SOCKS5_M_NONE)
		return vpreply_fail(cls, VPR_PROTO, err, errlen,
		    "bad proxy reply: SOCKS5 method 0x%02x was not offered",
		    r.code);
	if ((n = vpproxyc_socks5_request(host, port, msg, sizeof(msg))) < 0)
		return vpreply_fail(cls, VPR_ATYPUNSUPP, err, errlen,
		    "destination cannot be sent over SOCKS5");
	if (send_all(fd, msg, n, deadline) == -1)
		return send_fail(cls, err, errlen, "SOCKS5 request");
	k = read_reply(fd, vpproxyc_socks5_reply_parse, &r, acc, sizeof(acc),
	    &got, deadline);
	if (k <= 0 && got >= 2 && r.code > 0)	/* short failure reply */
		k = got;
	else if (k <= 0)
		return io_fail(cls, err, errlen, k, got, "SOCKS5 reply");
	if (r.code != VPR_SOCKS5_SUCCEEDED)
		return vpreply_fail(cls, vpreply_socks5_class(r.code), err,
		    errlen, "proxy refused: %s (SOCKS5 reply %02x)",
		    socks5_rep_str(r.code), r.code);
	return 0;
}

static int
hs_socks4a(int fd, const struct vpproxy *px, const char *host, unsigned port,
    int64_t deadline, enum vpr_class *cls, char *err, size_t errlen)
{
	unsigned char msg[600];
	char acc[16];
	struct vppx_reply r;
	ssize_t n, k;
	size_t got;

	if ((n = vpproxyc_socks4a_request(px, host, port, msg,
	    sizeof(msg))) < 0)
		return vpreply_fail(cls, VPR_ATYPUNSUPP, err, errlen, "SOCKS4a "
		    "cannot carry this destination (IPv6 or too long)");
	if (send_all(fd, msg, n, deadline) == -1)
		return send_fail(cls, err, errlen, "SOCKS4a request");
	k = read_reply(fd, vpproxyc_socks4_reply_parse, &r, acc, sizeof(acc),
	    &got, deadline);
	if (k <= 0)
		return io_fail(cls, err, errlen, k, got, "SOCKS4 reply");
	switch (r.code) {
	case VPR_SOCKS4_GRANTED:
		return 0;
	case VPR_SOCKS4_REJECTED:
		return vpreply_fail(cls, VPR_GENERAL, err, errlen,
		    "proxy refused: "
		    "request rejected or failed (SOCKS4 reply 5b)");
	default:
		return vpreply_fail(cls, VPR_AUTH, err, errlen,
		    "proxy refused: identd check failed (SOCKS4 reply %02x)",
		    r.code);
	}
}

static int
hs_http(int fd, const struct vpproxy *px, const char *host, unsigned port,
    int64_t deadline, enum vpr_class *cls, char *err, size_t errlen)
{
	char msg[1400], *acc;
	struct vppx_reply r;
	ssize_t n, k;
	size_t got;
	int ret;

	n = vpproxyc_http_request(px, host, port, msg, sizeof(msg));
	if (n < 0)
		return vpreply_fail(cls, VPR_ATYPUNSUPP, err, errlen,
		    "destination cannot be sent in a CONNECT request");
	if (send_all(fd, msg, n, deadline) == -1) {
		explicit_bzero(msg, sizeof(msg));
		return send_fail(cls, err, errlen, "CONNECT request");
	}
	explicit_bzero(msg, sizeof(msg));
	if ((acc = malloc(VPPX_HTTP_MAX)) == NULL)
		return vpreply_fail(cls, VPR_INTERNAL, err, errlen,
		    "out of memory");
	k = read_reply(fd, vpproxyc_http_reply_parse, &r, acc, VPPX_HTTP_MAX,
	    &got, deadline);
	free(acc);
	if (k <= 0)
		return io_fail(cls, err, errlen, k, got, "CONNECT reply");
	ret = 0;
	if (r.status < 200 || r.status > 299)
		ret = vpreply_fail(cls, vpreply_http_class(r.status), err,
		    errlen, "proxy refused: HTTP %d %s", r.status, r.reason);
	return ret;
}

int
vpproxyc_handshake(int fd, const struct vpproxy *px, const char *host,
    unsigned port, int timeout_ms, enum vpr_class *cls, char *err,
    size_t errlen)
{
	int64_t deadline = timeout_ms > 0 ? vpio_now_ms() + timeout_ms : -1;
	enum vpr_class dummy;

	if (cls == NULL)
		cls = &dummy;
	*cls = VPR_OK;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	switch (px->kind) {
	case VPPX_SOCKS5:
		return hs_socks5(fd, px, host, port, deadline, cls, err,
		    errlen);
	case VPPX_SOCKS4A:
		return hs_socks4a(fd, px, host, port, deadline, cls, err,
		    errlen);
	case VPPX_HTTP:
		return hs_http(fd, px, host, port, deadline, cls, err, errlen);
	default:
		return vpreply_fail(cls, VPR_INTERNAL, err, errlen,
		    "unknown proxy kind");
	}
}
