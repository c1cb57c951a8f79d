/*
 * Fuzz target: vpframe's incremental decoder and the SETTINGS parser.
 *
 * Input: a byte choosing the decoder's maxlen, a byte seeding the chunk
 * sizes, then the byte stream from the link. The stream is decoded
 * three ways: whole, one byte at a time, and in pseudo-random chunks.
 * Invariants: a feed consumes at most what it was given and, unless it
 * reports an event, all of it; DATA pieces point into the input given;
 * a control payload is at most VPF_CTLMAX bytes; after an error the
 * decoder consumes nothing; the decoded sequence (frame headers, whole
 * DATA payloads, control payloads, the error) is the same whatever the
 * chunking; every control frame's header matches the bytes; SETTINGS
 * payloads parse to at most the room given; the builders' frames decode
 * back to what was built.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct log {
	uint8_t	*p;
	size_t	 n, cap;
};

static void
lput(struct log *l, const void *p, size_t n)
{
	if (l->n + n > l->cap) {
		size_t cap = (l->n + n) * 2 + 64;

		if ((l->p = realloc(l->p, cap)) == NULL)
			abort();
		l->cap = cap;
	}
	memcpy(l->p + l->n, p, n);
	l->n += n;
}

static void
lhdr(struct log *l, char tag, const struct vpf_hdr *h)
{
	lput(l, &tag, 1);
	lput(l, &h->len, sizeof(h->len));
	lput(l, &h->type, 1);
	lput(l, &h->flags, 1);
	lput(l, &h->sid, sizeof(h->sid));
}

/*
 * Decodes in[0..n) in chunks (chunk(i) gives the size of the i-th
 * chunk; 0 means the rest) into a canonical log.
 */
static void
decode(uint32_t maxlen, const uint8_t *in, size_t n, unsigned seed,
    int mode, struct log *l)
{
	struct vpf_dec d;
	struct vpf_event ev;
	uint16_t ids[VPF_SETTINGS_MAX];
	uint32_t vals[VPF_SETTINGS_MAX];
	size_t off = 0, c, u, used;
	uint8_t *chunk;
	int k;

	vpf_dec_init(&d, maxlen);
	while (off < n) {
		if (mode == 0)
			c = n - off;
		else if (mode == 1)
			c = 1;
		else {
			seed = seed * 1103515245u + 12345u;
			c = 1 + (seed >> 16) % 64;
			if (c > n - off)
				c = n - off;
		}
		/* Each chunk in its own exact-size allocation. */
		if ((chunk = malloc(c)) == NULL)
			abort();
		memcpy(chunk, in + off, c);
		u = 0;
		for (;;) {
			used = vpf_dec_feed(&d, chunk + u, c - u, &ev);
			if (used > c - u)
				abort();
			u += used;
			if (ev.kind == VPF_EV_NONE) {
				if (u != c)
					abort();
				break;
			}
			if (ev.kind == VPF_EV_ERROR) {
				if (d.err == VPF_OK ||
				    vpf_strerror(d.err) == NULL)
					abort();
				lput(l, "E", 1);
				lput(l, &d.err, sizeof(d.err));
				/* Stays in error, consumes nothing. */
				if (vpf_dec_feed(&d, chunk, c, &ev) != 0 ||
				    ev.kind != VPF_EV_ERROR)
					abort();
				free(chunk);
				return;
			}
			if (ev.kind == VPF_EV_DATA) {
				if (ev.h.type != VPF_DATA || ev.n > c ||
				    (ev.n > 0 && (ev.p < chunk ||
				    ev.p + ev.n > chunk + c)))
					abort();
				if (ev.first)
					lhdr(l, 'D', &ev.h);
				lput(l, ev.p, ev.n);
				if (ev.last)
					lput(l, "d", 1);
			} else if (ev.kind == VPF_EV_CTL) {
				if (ev.n > VPF_CTLMAX || ev.h.type == VPF_DATA ||
				    !ev.first || !ev.last ||
				    (ev.n != ev.h.len && ev.n != VPF_CTLMAX))
					abort();
				lhdr(l, 'C', &ev.h);
				lput(l, ev.p, ev.n);
				(void)vpf_typename(ev.h.type);
				if (ev.h.type == VPF_SETTINGS) {
					k = vpf_parse_settings(ev.p, ev.n, ids,
					    vals, VPF_SETTINGS_MAX);
					/* (a payload cut at VPF_CTLMAX may not
					 * be a multiple of 6) */
					if ((k == -1) != (ev.n % 6 != 0) ||
					    (k != -1 && (size_t)k != (ev.n / 6 <
					    VPF_SETTINGS_MAX ? ev.n / 6 :
					    VPF_SETTINGS_MAX)))
						abort();
				}
			} else
				abort();
		}
		free(chunk);
		off += c;
	}
	lput(l, "N", 1);
	lput(l, &d.hlen, sizeof(d.hlen));
}

/* Every builder's frame decodes back to what was built. */
static void
builders(const uint8_t *data, size_t size)
{
	uint8_t out[VPF_HDRLEN + 600];
	uint16_t ids[3] = { VPF_SET_VERSION, VPF_SET_STREAM_WINDOW, 7 };
	uint32_t vals[3] = { 1, 0, 0xffffffffu }, sid = 1;
	struct vpf_dec d;
	struct vpf_event ev;
	size_t n, pl = size > 500 ? 500 : size;
	char reason[64];

	if (size >= 4)
		sid = vpf_get32(data) & VPF_SIDMAX;
	if (sid == 0)
		sid = 1;
	vals[1] = sid;
	n = vpf_put_data(out, sizeof(out), sid, data, pl, size & 1);
	vpf_dec_init(&d, VPF_LENMAX);
	if (n != VPF_HDRLEN + pl ||
	    vpf_dec_feed(&d, out, n, &ev) != n || ev.kind != VPF_EV_DATA ||
	    ev.n != pl || !ev.first || !ev.last || ev.h.sid != sid ||
	    (pl > 0 && memcmp(ev.p, data, pl) != 0))
		abort();
	if (vpf_put_data(out, VPF_HDRLEN + pl - 1, sid, data, pl, 0) != 0)
		abort();
	n = vpf_put_window(out, sizeof(out), sid, (uint32_t)size + 1);
	vpf_dec_init(&d, VPF_LENMAX);
	if (vpf_dec_feed(&d, out, n, &ev) != n || ev.kind != VPF_EV_CTL ||
	    ev.h.type != VPF_WINDOW_UPDATE ||
	    vpf_get32(ev.p) != (uint32_t)size + 1)
		abort();
	n = vpf_put_settings(out, sizeof(out), ids, vals, 3);
	vpf_dec_init(&d, 1024);
	if (vpf_dec_feed(&d, out, n, &ev) != n || ev.kind != VPF_EV_CTL ||
	    ev.n != 18)
		abort();
	memset(reason, 0, sizeof(reason));
	memcpy(reason, data, size < sizeof(reason) - 1 ? size :
	    sizeof(reason) - 1);
	n = vpf_put_goaway(out, sizeof(out), reason);
	vpf_dec_init(&d, 1024);
	if (n == 0 || vpf_dec_feed(&d, out, n, &ev) != n ||
	    ev.kind != VPF_EV_CTL || ev.h.type != VPF_GOAWAY)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxlens[] = { VPF_LENMAX, 16384, 1024, 8, 0,
	    65535, 2048, 9 };
	struct log a = { 0 }, b = { 0 }, c = { 0 };
	uint32_t maxlen;
	unsigned seed;

	if (size < 2)
		return 0;
	maxlen = maxlens[data[0] & 7];
	seed = data[1];
	data += 2;
	size -= 2;
	decode(maxlen, data, size, seed, 0, &a);
	decode(maxlen, data, size, seed, 1, &b);
	decode(maxlen, data, size, seed, 2, &c);
	if (a.n != b.n || a.n != c.n || memcmp(a.p, b.p, a.n) != 0 ||
	    memcmp(a.p, c.p, a.n) != 0)
		abort();
	free(a.p);
	free(b.p);
	free(c.p);
	builders(data, size);
	return 0;
}
