/*
 * vpsniff: TLS SNI and HTTP Host sniffers over a peeked buffer.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "vpendpoint.h"
#include "vpsniff.h"

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int
set_name(char *name, size_t namelen, const unsigned char *s, size_t n)
{
	if (n == 0 || n >= namelen || memchr(s, '\0', n) != NULL) {
		name[0] = '\0';
		return VPSNIFF_FOUND;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	if (!vpep_host_ok(name))
		name[0] = '\0';
	return VPSNIFF_FOUND;
}

int
vpsniff_tls(const unsigned char *buf, size_t len, char *name, size_t namelen)
{
	const unsigned char *p, *e, *ext, *exte;
	size_t rlen, hlen;

	name[0] = '\0';
	if (len >= 1 && buf[0] != 0x16)
		return VPSNIFF_NOT;
	if (len >= 2 && buf[1] != 0x03)
		return VPSNIFF_NOT;
	if (len >= 6 && buf[5] != 0x01)
		return VPSNIFF_NOT;
	if (len < 5)
		return VPSNIFF_MORE;
	rlen = be16(buf + 3);
	if (rlen < 4 || rlen > 16384 + 2048)
		return VPSNIFF_NOT;
	if (len < 9)
		return VPSNIFF_MORE;
	hlen = (size_t)buf[6] << 16 | (size_t)buf[7] << 8 | buf[8];
	if (hlen < 38)
		return VPSNIFF_NOT;
	/* Only the part of the hello inside the first record is parsed. */
	if (len < 5 + rlen)
		return VPSNIFF_MORE;
	p = buf + 9;
	e = buf + 5 + rlen;
	if ((size_t)(e - p) > hlen)
		e = p + hlen;
	/* version(2) random(32) */
	if (e - p < 34)
		return VPSNIFF_NOT;
	p += 34;
	/* session id */
	if (e - p < 1 || (size_t)(e - p) < 1 + (size_t)p[0])
		return VPSNIFF_NOT;
	p += 1 + p[0];
	/* cipher suites */
	if (e - p < 2 || (size_t)(e - p) < 2 + be16(p))
		return VPSNIFF_NOT;
	p += 2 + be16(p);
	/* compression methods */
	if (e - p < 1 || (size_t)(e - p) < 1 + (size_t)p[0])
		return VPSNIFF_NOT;
	p += 1 + p[0];
	if (e - p < 2)
		return VPSNIFF_FOUND;	/* no extensions: TLS, no name */
	exte = p + 2 + be16(p);
	if (exte > e)
		exte = e;
	ext = p + 2;
	while (exte - ext >= 4) {
		unsigned type = be16(ext), elen = be16(ext + 2);
		const unsigned char *d = ext + 4, *l, *le;

		if ((size_t)(exte - d) < elen)
			break;
		if (type == 0x0000) {
			/* server_name_list: len(2) { type(1) len(2) name } */
			if (elen < 2)
				return VPSNIFF_FOUND;
			l = d + 2;
			le = d + 2 + be16(d);
			if (le > d + elen)
				le = d + elen;
			while (le - l >= 3) {
				unsigned nl = be16(l + 1);

				if ((size_t)(le - l - 3) < nl)
					break;
				if (l[0] == 0)
					return set_name(name, namelen, l + 3, nl);
				l += 3 + nl;
			}
			return VPSNIFF_FOUND;
		}
		ext = d + elen;
	}
	return VPSNIFF_FOUND;
}

int
vpsniff_http(const unsigned char *buf, size_t len, char *name, size_t namelen)
{
	static const char *methods[] = {
		"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
		"PATCH ", "TRACE ", "CONNECT ",
	};
	const unsigned char *p, *le, *e;
	size_t i, ml, n;
	int any = 0;

	name[0] = '\0';
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		ml = strlen(methods[i]);
		n = len < ml ? len : ml;
		if (memcmp(buf, methods[i], n) == 0) {
			any = 1;
			break;
		}
	}
	if (!any)
		return VPSNIFF_NOT;
	if (len < ml)
		return VPSNIFF_MORE;
	e = buf + (len < VPSNIFF_MAX ? len : VPSNIFF_MAX);
	le = memchr(buf, '\n', (size_t)(e - buf));
	if (le == NULL)
		return len >= VPSNIFF_MAX ? VPSNIFF_NOT : VPSNIFF_MORE;
	if (le - buf < 10 || memcmp(le - (le[-1] == '\r' ? 9 : 8),
	    "HTTP/1.", 7) != 0)
		return VPSNIFF_NOT;
	p = le + 1;
	for (;;) {
		const unsigned char *v, *ve;

		le = memchr(p, '\n', (size_t)(e - p));
		if (le == NULL)
			return len >= VPSNIFF_MAX ? VPSNIFF_FOUND : VPSNIFF_MORE;
		ve = le;
		if (ve > p && ve[-1] == '\r')
			ve--;
		if (ve == p)
			return VPSNIFF_FOUND;	/* end of head, no Host */
		if (ve - p > 5 && strncasecmp((const char *)p, "Host:", 5) == 0) {
			v = p + 5;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (v < ve && *v == '[') {
				const unsigned char *rb = memchr(v, ']', (size_t)(ve - v));

				if (rb == NULL)
					return VPSNIFF_FOUND;
				return set_name(name, namelen, v + 1,
				    (size_t)(rb - v - 1));
			}
			for (n = 0; v + n < ve && v[n] != ':'; n++)
				;
			return set_name(name, namelen, v, n);
		}
		p = le + 1;
	}
}

int
vpsniff(const unsigned char *buf, size_t len, char *name, size_t namelen,
    const char **proto)
{
	int t, h;

	*proto = NULL;
	t = vpsniff_tls(buf, len, name, namelen);
	if (t == VPSNIFF_FOUND) {
		*proto = VPSNIFF_TLS;
		return t;
	}
	h = vpsniff_http(buf, len, name, namelen);
	if (h == VPSNIFF_FOUND) {
		*proto = VPSNIFF_HTTP;
		return h;
	}
	if (t == VPSNIFF_MORE || h == VPSNIFF_MORE)
		return VPSNIFF_MORE;
	return VPSNIFF_NOT;
}
