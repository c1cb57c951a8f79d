/*
 * vphttpbody: an HTTP/1.1 request body's end, see vphttpbody.h.
 */
#include <string.h>

#include "vphttpbody.h"
#include "vpio.h"

enum {
	S_DONE = 0,
	S_LENGTH,	/* Content-Length data */
	S_SIZE,		/* chunk-size hex digits */
	S_EXTWS,	/* white space after the size, before ';' */
	S_EXT,		/* chunk extensions */
	S_SIZE_LF,	/* the size line's LF */
	S_DATA,		/* chunk data */
	S_DATA_CR,	/* CRLF after the chunk data */
	S_DATA_LF,
	S_TRAIL,	/* start of a trailer line (or the final CRLF) */
	S_TRAIL_NAME,	/* a trailer field name, up to its ':' */
	S_TRAIL_LINE,	/* a trailer field value */
	S_TRAIL_LF,	/* a trailer line's LF */
	S_END_LF,	/* the final LF */
	S_ERR
};

void
vphb_init(struct vphb *b, enum vphb_frame f, uint64_t len)
{
	b->left = 0;
	b->line = b->trail = 0;
	b->digits = 0;
	switch (f) {
	case VPHB_LENGTH:
		b->state = len > 0 ? S_LENGTH : S_DONE;
		b->left = len;
		break;
	case VPHB_CHUNKED:
		b->state = S_SIZE;
		break;
	default:
		b->state = S_DONE;
		break;
	}
}

/* A byte no field line or extension may hold (HTAB is fine). */
static int
ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* A byte of a field name (RFC 9110 5.6.2 tchar). */
static int
tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static ssize_t
fail(struct vphb *b)
{
	b->state = S_ERR;
	return -1;
}

ssize_t
vphb_feed(struct vphb *b, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	size_t i = 0, k;
	int h;

	while (i < n) {
		switch (b->state) {
		case S_DONE:
			return (ssize_t)i;
		case S_ERR:
			return -1;
		case S_LENGTH:
		case S_DATA:
			k = n - i;
			if ((uint64_t)k > b->left)
				k = (size_t)b->left;
			vphb_skip(b, k);
			i += k;
			continue;
		default:
			break;
		}
		/* framing bytes: one at a time */
		switch (b->state) {
		case S_SIZE:
		case S_EXTWS:
		case S_EXT:
			if (++b->line > VPHB_LINEMAX)
				return fail(b);
			break;
		case S_TRAIL:
		case S_TRAIL_NAME:
		case S_TRAIL_LINE:
		case S_TRAIL_LF:
		case S_END_LF:
			if (++b->trail > VPHB_TRAILMAX)
				return fail(b);
			break;
		default:
			break;
		}
		switch (b->state) {
		case S_SIZE:
			if ((h = vpio_hexval(p[i])) >= 0) {
				if (b->left > (VPHB_SIZEMAX >> 4))
					return fail(b);
				b->left = b->left << 4 | (uint64_t)h;
				if (b->left > VPHB_SIZEMAX)
					return fail(b);
				b->digits++;
			} else if (b->digits == 0)
				return fail(b);
			else if (p[i] == '\r')
				b->state = S_SIZE_LF;
			else if (p[i] == ';')
				b->state = S_EXT;
			else if (p[i] == ' ' || p[i] == '\t')
				b->state = S_EXTWS;
			else
				return fail(b);
			break;
		case S_EXTWS:
			if (p[i] == ';')
				b->state = S_EXT;
			else if (p[i] == '\r')
				b->state = S_SIZE_LF;
			else if (p[i] != ' ' && p[i] != '\t')
				return fail(b);
			break;
		case S_EXT:
			if (p[i] == '\r')
				b->state = S_SIZE_LF;
			else if (ctl(p[i]))
				return fail(b);
			break;
		case S_SIZE_LF:
			if (p[i] != '\n')
				return fail(b);
			b->line = 0;
			b->digits = 0;
			b->state = b->left == 0 ? S_TRAIL : S_DATA;
			break;
		case S_DATA_CR:
			if (p[i] != '\r')
				return fail(b);
			b->state = S_DATA_LF;
			break;
		case S_DATA_LF:
			if (p[i] != '\n')
				return fail(b);
			b->state = S_SIZE;
			break;
		case S_TRAIL:
			/*
			 * A field line (RFC 9112 5): a token name, so no
			 * folding, no empty name, and no request line an
			 * origin that mishandles trailers could take for
			 * the next request.
			 */
			if (p[i] == '\r')
				b->state = S_END_LF;
			else if (tchar(p[i]))
				b->state = S_TRAIL_NAME;
			else
				return fail(b);
			break;
		case S_TRAIL_NAME:
			if (p[i] == ':')
				b->state = S_TRAIL_LINE;
			else if (!tchar(p[i]))
				return fail(b);
			break;
		case S_TRAIL_LINE:
			if (p[i] == '\r')
				b->state = S_TRAIL_LF;
			else if (ctl(p[i]))
				return fail(b);
			break;
		case S_TRAIL_LF:
			if (p[i] != '\n')
				return fail(b);
			b->state = S_TRAIL;
			break;
		case S_END_LF:
			if (p[i] != '\n')
				return fail(b);
			b->state = S_DONE;
			break;
		default:
			return fail(b);
		}
		i++;
	}
	return b->state == S_ERR ? -1 : (ssize_t)i;
}

size_t
vphb_begin(struct vphb *b, enum vphb_frame f, uint64_t len,
    const void *buf, size_t n, int *more)
{
	ssize_t k;

	vphb_init(b, f, len);
	k = n > 0 ? vphb_feed(b, buf, n) : 0;
	*more = k >= 0 && (size_t)k < n;
	return k > 0 ? (size_t)k : 0;
}

uint64_t
vphb_raw(const struct vphb *b)
{
	return b->state == S_LENGTH || b->state == S_DATA ? b->left : 0;
}

void
vphb_skip(struct vphb *b, uint64_t n)
{
	if (n > vphb_raw(b))
		n = vphb_raw(b);
	b->left -= n;
	if (b->left == 0) {
		if (b->state == S_LENGTH)
			b->state = S_DONE;
		else if (b->state == S_DATA)
			b->state = S_DATA_CR;
	}
}

int
vphb_done(const struct vphb *b)
{
	return b->state == S_DONE;
}

int
vphb_failed(const struct vphb *b)
{
	return b->state == S_ERR;
}
