/*
 * Fuzz target: vphttpbody, the request-body framer that decides where a
 * plain HTTP request forwarded by vp-dispatch and vp-listen's engine
 * ends (Content-Length or chunked), fed a hostile client's bytes in
 * pieces whose sizes the input decides, each piece an exact-size heap
 * copy (a read past it is caught).
 *
 * Input: a flags byte, four bytes seeding the piece sizes and what is
 * done with each piece, for Content-Length framing the length (2 or 8
 * bytes), for padding (a long run of one byte, to reach the line and
 * trailer bounds from a small input) its offset, count and byte, then
 * the client's bytes. Flags: bits 0-1 the framing (none, Content-Length,
 * chunked, or 3: a proxy request head parsed by vpin_http() decides it,
 * as vp-dispatch does, and the bytes after the head are the body), bit
 * 2 an 8-byte length, bit 3 padding.
 *
 * Invariants: a feed takes 0..n bytes, all n unless the request is
 * complete after them; done and failed are final (then 0 and -1 for any
 * feed, nothing raw) and never both; vphb_raw() is the Content-Length
 * left, and skipping raw bytes is the same as feeding them; a trial
 * feed on a copy of the state leaves the original as it was and gives
 * what the real feed then gives; the outcome and the request's length
 * are the same fed whole, in pieces and through vphb_begin() (whose
 * "more" is set iff bytes follow a complete request), and agree with a
 * model written from RFC 9112 7.1 and vphttpbody.h's bounds: chunk-size
 * 1*HEXDIG <= 2^60, white space then ';' extensions without control
 * bytes, CRLF, data, CRLF; a last chunk of size 0 then trailer field
 * lines (a token name, ':', a value without control bytes) and a final
 * CRLF; a size line over VPHB_LINEMAX or trailer section over
 * VPHB_TRAILMAX bytes is malformed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vphttpbody.h"
#include "vpinbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { M_MORE, M_DONE, M_BAD };

#define PADMAX	(VPHB_TRAILMAX + 2048)

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A tchar (RFC 9110 5.6.2): a field name's bytes. */
static int
token(uint8_t c)
{
	static const char sym[] = "!#$%&'*+-.^_`|~";

	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || (c != 0 && memchr(sym, c,
	    sizeof(sym) - 1) != NULL);
}

/* A control byte other than HTAB (RFC 9110 field-vchar/obs-text else). */
static int
ctl(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * A chunk-size line s[0..k): M_DONE with its size and the offset of its
 * CR, M_MORE while it may still become one, else M_BAD. Only the first
 * VPHB_LINEMAX bytes (CR included) may be the line.
 */
static int
model_size_line(const uint8_t *s, size_t k, uint64_t *size, size_t *cr)
{
	size_t lim = k < VPHB_LINEMAX ? k : VPHB_LINEMAX, d, i;
	uint64_t v = 0;
	int h;

	for (i = 0; i < lim && s[i] != '\r'; i++)
		;
	*cr = i;
	for (d = 0; d < i && (h = hexval(s[d])) >= 0; d++) {
		if (v > (VPHB_SIZEMAX - (uint64_t)h) / 16)
			return M_BAD;
		v = v * 16 + (uint64_t)h;
	}
	if (d == 0 && (i > 0 || i < lim))
		return M_BAD;		/* no digit before another byte */
	while (d < i && (s[d] == ' ' || s[d] == '\t'))
		d++;
	if (d < i) {
		if (s[d] != ';')
			return M_BAD;
		for (d++; d < i; d++)
			if (ctl(s[d]))
				return M_BAD;
	}
	*size = v;
	if (i < lim)
		return M_DONE;
	return k > VPHB_LINEMAX ? M_BAD : M_MORE;
}

/* The trailer section s[0..k): M_DONE with its length, M_MORE, M_BAD. */
static int
model_trailers(const uint8_t *s, size_t k, size_t *end)
{
	size_t lim = k < VPHB_TRAILMAX ? k : VPHB_TRAILMAX, i = 0;
	int cut = k > VPHB_TRAILMAX;

	for (;;) {
		if (i == lim)
			return cut ? M_BAD : M_MORE;
		if (s[i] == '\r') {		/* the final CRLF */
			if (++i == lim)
				return cut ? M_BAD : M_MORE;
			if (s[i] != '\n')
				return M_BAD;
			*end = i + 1;
			return M_DONE;
		}
		/* a field line: token ":" value (no fold, no empty name) */
		if (!token(s[i]))
			return M_BAD;
		for (i++; i < lim && s[i] != ':'; i++)
			if (!token(s[i]))
				return M_BAD;
		if (i == lim)
			return cut ? M_BAD : M_MORE;
		for (i++; i < lim && s[i] != '\r'; i++)
			if (ctl(s[i]))
				return M_BAD;
		if (i == lim)
			return cut ? M_BAD : M_MORE;
		if (++i == lim)
			return cut ? M_BAD : M_MORE;
		if (s[i++] != '\n')
			return M_BAD;
	}
}

/* Where a body with framing f ends in p[0..n) (M_DONE: *end). */
static int
model(enum vphb_frame f, uint64_t len, const uint8_t *p, size_t n,
    size_t *end)
{
	size_t pos = 0, cr, t;
	uint64_t size;
	int r;

	if (f == VPHB_NONE) {
		*end = 0;
		return M_DONE;
	}
	if (f == VPHB_LENGTH) {
		if ((uint64_t)n < len)
			return M_MORE;
		*end = (size_t)len;
		return M_DONE;
	}
	for (;;) {
		if ((r = model_size_line(p + pos, n - pos, &size, &cr)) !=
		    M_DONE)
			return r;
		pos += cr + 1;
		if (pos == n)
			return M_MORE;
		if (p[pos++] != '\n')
			return M_BAD;
		if (size == 0)
			break;
		if ((uint64_t)(n - pos) < size)
			return M_MORE;
		pos += (size_t)size;
		if (pos == n)
			return M_MORE;
		if (p[pos++] != '\r')
			return M_BAD;
		if (pos == n)
			return M_MORE;
		if (p[pos++] != '\n')
			return M_BAD;
	}
	if ((r = model_trailers(p + pos, n - pos, &t)) == M_DONE)
		*end = pos + t;
	return r;
}

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Fields equal (the struct may be copied; its padding is not compared). */
static int
same(const struct vphb *a, const struct vphb *b)
{
	return a->state == b->state && a->left == b->left &&
	    a->line == b->line && a->trail == b->trail &&
	    a->digits == b->digits;
}

/* Checks what holds of every state of a body framed f. */
static void
check_state(const struct vphb *b, enum vphb_frame f)
{
	if (vphb_done(b) && vphb_failed(b))
		abort();
	if ((vphb_done(b) || vphb_failed(b)) && vphb_raw(b) != 0)
		abort();
	if ((f == VPHB_NONE && !vphb_done(b)) ||
	    (f == VPHB_LENGTH && vphb_failed(b)) ||
	    (f == VPHB_CHUNKED && vphb_raw(b) > VPHB_SIZEMAX))
		abort();
}

/*
 * One feed of p[0..k) (an exact-size copy): checks the answer against
 * the state before it; returns it.
 */
static ssize_t
feed(struct vphb *b, enum vphb_frame f,
    const uint8_t *p, size_t k)
{
	struct vphb before = *b;
	uint8_t *c;
	ssize_t r;

	if ((c = malloc(k)) == NULL && k > 0)
		abort();
	if (k > 0)
		memcpy(c, p, k);
	r = vphb_feed(b, c, k);
	free(c);
	if (r < -1 || r > (ssize_t)k)
		abort();
	if (vphb_failed(&before) && (r != -1 || !same(&before, b)))
		abort();			/* failed is final */
	if (vphb_done(&before) && (r != 0 || !same(&before, b)))
		abort();			/* done is final */
	if ((r == -1) != vphb_failed(b))
		abort();
	if (r >= 0 && (size_t)r < k && !vphb_done(b))
		abort();			/* bytes left only when done */
	if (r == 0 && k > 0 && !vphb_done(&before))
		abort();			/* progress unless done */
	check_state(b, f);
	return r;
}

/* Checks a final state and length against the model's answer. */
static void
agree(const struct vphb *b, int m, size_t end, size_t took, size_t n,
    int bad)
{
	switch (m) {
	case M_DONE:
		if (!vphb_done(b) || bad || took != end)
			abort();
		break;
	case M_MORE:
		if (vphb_done(b) || vphb_failed(b) || bad || took != n)
			abort();
		break;
	default:
		if (!vphb_failed(b) || !bad)
			abort();
		break;
	}
}

/*
 * The body p[0..n) with framing f fed in pieces the seed decides, the
 * first piece sometimes through vphb_begin() (bytes read with the head).
 */
static void
pieces(enum vphb_frame f, uint64_t len, const uint8_t *p, size_t n,
    uint32_t seed, int m, size_t end)
{
	struct vphb b, t;
	size_t off = 0, k, took = 0, steps = 0;
	uint64_t raw;
	ssize_t r, tr;
	uint32_t x;
	uint8_t *c;
	int bad = 0, more;

	x = rnd(&seed);
	if (x & 1) {
		/* the first k bytes came with the head: vphb_begin() */
		k = (x >> 1) % (n + 1);
		if ((c = malloc(k)) == NULL && k > 0)
			abort();
		if (k > 0)
			memcpy(c, p, k);
		more = -1;
		took = vphb_begin(&b, f, len, c, k, &more);
		free(c);
		check_state(&b, f);
		if (took > k || more != (vphb_done(&b) && took < k) ||
		    (vphb_failed(&b) && took != 0) ||
		    (!vphb_done(&b) && !vphb_failed(&b) && took != k))
			abort();
		bad = vphb_failed(&b);
		off = k;
	} else
		vphb_init(&b, f, len);
	check_state(&b, f);
	while (off < n) {
		x = rnd(&seed);
		if (++steps > 4 * n + 64)
			k = n - off;		/* bounded: the rest at once */
		else
			switch (x & 7) {
			case 0:
				k = 0;
				break;
			case 1: case 2: case 3: case 4:
				k = 1 + (x >> 8) % 4;
				break;
			case 5:
				k = 1 + (x >> 8) % 64;
				break;
			case 6:
				k = (x >> 8) % 2048;
				break;
			default:
				k = n - off;
				break;
			}
		if (k > n - off)
			k = n - off;
		raw = vphb_raw(&b);
		if (f == VPHB_LENGTH && !vphb_done(&b) &&
		    raw != len - (uint64_t)took)
			abort();
		if ((x >> 3 & 3) == 0 && raw > 0) {
			/* the relay's splice path: counted, never looked at */
			if (k > raw)
				k = (size_t)raw;
			vphb_skip(&b, k);
			if (vphb_raw(&b) != raw - k || vphb_failed(&b) ||
			    (vphb_done(&b) && (f != VPHB_LENGTH || raw != k)))
				abort();
			check_state(&b, f);
			took += k;
			off += k;
			continue;
		}
		if ((x >> 3 & 3) == 1) {
			/* a trial on a copy, then the real feed */
			t = b;
			tr = feed(&t, f, p + off, k);
			r = feed(&b, f, p + off, k);
			if (r != tr || !same(&t, &b))
				abort();
		} else
			r = feed(&b, f, p + off, k);
		if (r == -1) {
			bad = 1;
			off += k;
			continue;
		}
		took += (size_t)r;
		off += k;
	}
	/* nothing more changes a final state; vphb_skip() past raw is clamped */
	if (vphb_done(&b) || vphb_failed(&b)) {
		t = b;
		vphb_skip(&b, UINT64_MAX);
		if (!same(&t, &b))
			abort();
		(void)feed(&b, f, (const uint8_t *)"0\r\n\r\n", 5);
	}
	agree(&b, m, end, took, n, bad);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vpin_req req;
	struct vphb b;
	enum vphb_frame f;
	uint64_t len = 0;
	uint32_t seed;
	size_t off, n, end = 0, used, padat = 0, padn = 0, i;
	uint8_t flags, padc = 0, *buf, *head;
	const uint8_t *p;
	ssize_t r;
	int m, more;

	if (size < 5)
		return 0;
	flags = data[0];
	seed = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
	    (uint32_t)data[3] << 8 | data[4];
	if (seed == 0)
		seed = 1;
	off = 5;
	f = (enum vphb_frame)(flags & 3);
	if (f == VPHB_LENGTH) {
		for (i = 0; i < (flags & 4 ? 8u : 2u); i++) {
			if (off == size)
				return 0;
			len = len << 8 | data[off++];
		}
	}
	if (flags & 8) {
		if (size - off < 5)
			return 0;
		padat = (size_t)data[off] << 8 | data[off + 1];
		padn = ((size_t)data[off + 2] << 8 | data[off + 3]) % PADMAX;
		padc = data[off + 4];
		off += 5;
	}

	/* the client's bytes, with the padding run inserted */
	n = size - off + padn;
	if (padat > size - off)
		padat = size - off;
	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(buf, data + off, padat);
	memset(buf + padat, padc, padn);
	memcpy(buf + padat + padn, data + off + padat, size - off - padat);
	p = buf;

	if ((flags & 3) == 3) {
		/* a proxy request head decides the framing, as in vp-dispatch */
		if ((head = malloc(n > 0 ? n : 1)) == NULL)
			abort();
		memcpy(head, buf, n);
		memset(&req, 0, sizeof(req));
		used = 0;
		m = vpin_http(head, n, &used, &req);
		free(head);
		if (m != VPIN_DONE || req.http_connect) {
			vpin_free(&req);
			free(buf);
			return 0;
		}
		if (used > n || req.head == NULL)
			abort();
		f = req.body;
		len = req.bodylen;
		if (f != VPHB_NONE && f != VPHB_LENGTH && f != VPHB_CHUNKED)
			abort();
		if (f != VPHB_LENGTH && len != 0)
			abort();
		vpin_free(&req);
		p += used;
		n -= used;
	}

	m = model(f, len, p, n, &end);
	if (m == M_DONE && end > n)
		abort();

	/* whole */
	vphb_init(&b, f, len);
	r = feed(&b, f, p, n);
	agree(&b, m, end, r < 0 ? 0 : (size_t)r, n, r == -1);

	/* byte at a time is one of the piece plans; so is the whole */
	pieces(f, len, p, n, seed, m, end);

	/* vphb_begin(): the bytes read with the head */
	if ((head = malloc(n)) == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(head, p, n);
	more = -1;
	used = vphb_begin(&b, f, len, head, n, &more);
	free(head);
	check_state(&b, f);
	if (more != (m == M_DONE && end < n))
		abort();
	agree(&b, m, end, used, n, vphb_failed(&b));
	if (m == M_BAD && used != 0)
		abort();

	free(buf);
	return 0;
}
