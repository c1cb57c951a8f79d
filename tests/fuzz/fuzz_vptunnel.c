/*
 * Fuzz target: the tunnel and stream state machines of both roles
 * (vptunnel), stateful. A client tunnel and a server tunnel are joined
 * by two in-memory links of bounded room; the input is a program of
 * operations: move bytes along a link, inject hostile bytes or a
 * crafted frame (any type, flags, stream id, length; gzip members
 * including a small bomb) into either end, open streams, send data /
 * FIN / RST, consume, release, let time pass, GOAWAY, drop a link.
 *
 * Invariants after every operation, for both ends:
 *  - the stream list is consistent (prev/next, count = vpt_nstreams,
 *    unique ids, no stream in REAL_CLOSED or an unknown state, every
 *    stream DEAD once the tunnel is DEAD);
 *  - the program's view agrees with the callbacks (reset and FIN and
 *    SYN-ACK at most once a stream, DEAD after a reset);
 *  - memory within the configured bounds: buffered bytes = the sum of
 *    the streams' buffers; extended mode: a stream's buffer within its
 *    window, all buffers within 1.5 tunnel windows; plain mode: within
 *    plain_buf and plain_total;
 *  - vpt_send_room() never exceeds the frame limit, and vpt_send()
 *    within it succeeds;
 *  - what a tunnel writes to its link always decodes as valid frames,
 *    and nothing follows a GOAWAY;
 *  - while no hostile byte reached either end: bytes arrive in order
 *    and none are lost (each stream sends a known pattern; at FIN the
 *    receiver has every byte sent before it).
 * ASan checks that no stream is used after it was freed.
 *
 * FUZZ_TRACE=1 in the environment prints one line per operation.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "vpframe.h"
#include "vptunnel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINKMAX	65536
#define MAXID	4096

struct link {
	uint8_t		buf[LINKMAX];
	size_t		len, cap;
	struct vpf_dec	mon;		/* checks what the tunnel wrote */
	int		goaway;		/* the monitor saw a GOAWAY */
	int		down;
};

struct end {
	struct vptun	*t;
	struct vpt_config cfg;
	struct link	*out;		/* where this end writes */
	int		 tainted;	/* hostile bytes were fed to it */
	size_t		 take;		/* deliver() takes at most this */
	int		 refuse;	/* accept() refuses */
	struct end	*peer;
	/* per stream id: bytes sent, and the count when FIN was sent */
	uint32_t	 sent[MAXID];
	int64_t		 finat[MAXID];
};

struct sstate {
	uint32_t	id;
	uint32_t	got;		/* pattern bytes received in order */
	int		resets, fins, estab;
};

static struct link links[2];
static struct end ends[2];
static uint8_t bomb[512], small[128];
static size_t bomblen, smalllen;
static int debug = -1;

static uint8_t
pat(uint32_t id, uint32_t off)
{
	return (uint8_t)((off + id * 7) % 251);
}

static size_t
cb_room(void *arg)
{
	struct end *e = arg;

	if (e->out->down)
		return 0;
	return e->out->cap > e->out->len ? e->out->cap - e->out->len : 0;
}

static ssize_t
cb_output(void *arg, const void *p, size_t n)
{
	struct end *e = arg;
	struct link *l = e->out;
	struct vpf_event ev;
	size_t room = cb_room(arg), u, used;

	if (room == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, p, n);
	/* Whatever a tunnel writes must be well-formed frames. */
	for (u = 0; u < n; u += used) {
		used = vpf_dec_feed(&l->mon, (const uint8_t *)p + u, n - u, &ev);
		if (ev.kind == VPF_EV_ERROR)
			abort();
		if (ev.kind == VPF_EV_NONE)
			break;
		if (ev.kind == VPF_EV_DATA && ev.first &&
		    ev.h.len > e->cfg.send_frame)
			abort();
		/* GOAWAY is the last frame a tunnel ever writes. */
		if (l->goaway && (ev.kind == VPF_EV_CTL || ev.first))
			abort();
		if (ev.kind == VPF_EV_CTL && ev.h.type == VPF_GOAWAY)
			l->goaway = 1;
	}
	l->len += n;
	return (ssize_t)n;
}

static void
check_bytes(struct end *e, struct vpt_stream *s, const uint8_t *p, size_t n)
{
	struct sstate *st = s->user;
	size_t i;

	if (st == NULL)
		abort();
	if (e->tainted || e->peer->tainted || s->id >= MAXID)
		return;
	for (i = 0; i < n; i++)
		if (p[i] != pat(s->id, st->got + (uint32_t)i))
			abort();
	st->got += (uint32_t)n;
}

static int
cb_accept(void *arg, struct vpt_stream *s)
{
	struct end *e = arg;
	struct sstate *st;

	if (e->refuse)
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->id = s->id;
	s->user = st;
	return 0;
}

static void
cb_established(void *arg, struct vpt_stream *s)
{
	struct sstate *st = s->user;

	if (st == NULL || st->estab++ > 0)
		abort();
}

static size_t
cb_deliver(void *arg, struct vpt_stream *s, const uint8_t *p, size_t n)
{
	struct end *e = arg;
	size_t k = n < e->take ? n : e->take;

	if (s->rlen != 0)
		abort();	/* only while nothing is buffered */
	check_bytes(e, s, p, k);
	return k;
}

static void
cb_fin(void *arg, struct vpt_stream *s)
{
	struct end *e = arg;
	struct sstate *st = s->user;

	if (st == NULL || st->fins++ > 0)
		abort();
	/* Every byte sent before the FIN is here (delivered or buffered). */
	if (!e->tainted && !e->peer->tainted && s->id < MAXID &&
	    e->peer->finat[s->id] >= 0 &&
	    (int64_t)st->got + s->rlen != e->peer->finat[s->id])
		abort();
}

static void
cb_reset(void *arg, struct vpt_stream *s, const char *why)
{
	struct sstate *st = s->user;

	if (st == NULL || why == NULL || st->resets++ > 0 ||
	    s->state != VPS_DEAD)
		abort();
}

static void
cb_notice(void *arg, const char *msg)
{
	if (msg == NULL)
		abort();
}

static void
invariants(struct end *e)
{
	struct vpt_stream *s, *prev = NULL, *o;
	const struct vpt_config *c = &e->cfg;
	size_t n = 0, sum = 0;
	enum vpt_tstate ts = vpt_state(e->t);

	if (ts > VPT_DEAD || (ts == VPT_DEAD && vpt_reason(e->t)[0] == '\0'))
		abort();
	for (s = vpt_first(e->t); s != NULL; prev = s, s = s->next) {
		if (s->prev != prev || s->state >= VPS_REAL_CLOSED ||
		    s->user == NULL || ((struct sstate *)s->user)->id != s->id)
			abort();
		if (ts == VPT_DEAD && s->state != VPS_DEAD)
			abort();
		if (((struct sstate *)s->user)->resets > 0 &&
		    s->state != VPS_DEAD)
			abort();
		if (s->rlen > 0 && (s->rbuf == NULL ||
		    (uint64_t)s->roff + s->rlen > s->rcap))
			abort();
		for (o = vpt_first(e->t); o != s; o = o->next)
			if (o->id == s->id)
				abort();
		if (vpt_extended(e->t)) {
			if (s->rlen > c->stream_window)
				abort();
		} else if (s->rlen > c->plain_buf)
			abort();
		sum += s->rlen;
		n++;
	}
	if (n != vpt_nstreams(e->t) || sum != vpt_buffered(e->t))
		abort();
	if (vpt_extended(e->t)) {
		if (sum > (size_t)c->tunnel_window + c->tunnel_window / 2)
			abort();
	} else if (sum > c->plain_total)
		abort();
}

static void
trace(uint8_t op)
{
	struct vpt_stream *s;
	int k;

	fprintf(stderr, "op %2d end %d:", (op >> 1) % 13, op & 1);
	for (k = 0; k < 2; k++) {
		fprintf(stderr, " [%s%s buf %zu link %zu:", vpt_tstate_name(
		    vpt_state(ends[k].t)), vpt_extended(ends[k].t) ? " ext" : "",
		    vpt_buffered(ends[k].t), links[k].len);
		for (s = vpt_first(ends[k].t); s != NULL; s = s->next)
			fprintf(stderr, " %u:%s/%u", s->id,
			    vpt_sstate_name(s->state), s->rlen);
		fprintf(stderr, "]");
	}
	fprintf(stderr, " %s|%s\n", vpt_reason(ends[0].t),
	    vpt_reason(ends[1].t));
}

/* The i-th stream of e, or NULL. */
static struct vpt_stream *
nth(struct end *e, unsigned i)
{
	struct vpt_stream *s;
	unsigned n = vpt_nstreams(e->t);

	if (n == 0)
		return NULL;
	i %= n;
	for (s = vpt_first(e->t); s != NULL && i > 0; s = s->next)
		i--;
	return s;
}

static void
release(struct end *e, struct vpt_stream *s)
{
	struct sstate *st = s->user;

	vpt_release(e->t, s);
	free(st);
}

/* Moves up to n bytes along the link that feeds e. */
static void
carry(struct end *e, size_t n, int64_t now)
{
	struct link *l = e->peer->out;
	uint8_t *chunk;

	if (n > l->len)
		n = l->len;
	if (n == 0 && l->len > 0)
		n = 1;
	if ((chunk = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	memcpy(chunk, l->buf, n);
	memmove(l->buf, l->buf + n, l->len - n);
	l->len -= n;
	(void)vpt_input(e->t, chunk, n, now);
	free(chunk);
	(void)vpt_flush(e->peer->t);
}

static void
inject_frame(struct end *e, const uint8_t *a, int64_t now)
{
	static const uint8_t types[] = { VPF_DATA, VPF_HEADERS, VPF_SETTINGS,
	    VPF_PING, VPF_GOAWAY, VPF_WINDOW_UPDATE, VPF_DATA, 0x3 };
	uint8_t f[VPF_HDRLEN + 512];
	uint8_t type = types[a[0] & 7], flags = a[1];
	uint32_t sid = a[2] < 240 ? a[2] : ((uint32_t)a[2] << 23 | a[3]);
	size_t len = a[3], i;
	const uint8_t *pl = NULL;

	if (type == VPF_DATA && (flags & VPF_F_GZIP)) {
		pl = a[0] & 8 ? bomb : small;
		len = a[0] & 8 ? bomblen : smalllen;
		if (a[0] & 16)
			len /= 2;	/* a truncated member */
	}
	if (type == VPF_WINDOW_UPDATE && !(a[0] & 32))
		len = 4;
	if (type == VPF_SETTINGS && !(a[0] & 32))
		len -= len % 6;
	for (i = 0; i < len; i++)
		f[VPF_HDRLEN + i] = pl != NULL ? pl[i] :
		    type == VPF_DATA && sid < MAXID ?
		    pat(sid, e->peer->sent[sid] + (uint32_t)i) : a[4 + i % 4];
	vpf_hdr_put(f, (uint32_t)len, type, flags, sid);
	e->tainted = 1;
	(void)vpt_input(e->t, f, VPF_HDRLEN + len, now);
}

static void
send_data(struct end *e, struct vpt_stream *s, size_t want)
{
	uint8_t f[VPF_HDRLEN + 4096];
	size_t room = vpt_send_room(e->t, s), i;
	uint32_t off;

	/* (checked here: vpt_send_room() flushes, so not in invariants()) */
	if (room > e->cfg.send_frame)
		abort();
	if (want > room)
		want = room;
	if (want > sizeof(f) - VPF_HDRLEN)
		want = sizeof(f) - VPF_HDRLEN;
	if (want == 0 || s->id >= MAXID || e->finat[s->id] >= 0)
		return;
	off = e->sent[s->id];
	for (i = 0; i < want; i++)
		f[VPF_HDRLEN + i] = pat(s->id, off + (uint32_t)i);
	if (vpt_send(e->t, s, f, want) != 0)
		abort();	/* within vpt_send_room() it must work */
	e->sent[s->id] += (uint32_t)want;
}

static void
make_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
}

/* A small member, and a bomb: 256 KiB of zeros in a few hundred bytes. */
static void
setup_gzip(void)
{
	static uint8_t zeros[256 * 1024];
	uint8_t txt[40];
	size_t i;

	if (bomblen != 0)
		return;
	for (i = 0; i < sizeof(txt); i++)
		txt[i] = pat(1, (uint32_t)i);
	make_gzip(zeros, sizeof(zeros), bomb, sizeof(bomb), &bomblen);
	make_gzip(txt, sizeof(txt), small, sizeof(small), &smalllen);
}

static void
config(struct vpt_config *c, enum vpt_role role, unsigned b)
{
	static const uint32_t wins[] = { 1024, 4096, 65536, 300000 };

	vpt_config_default(c, role);
	c->extended = b & 1;
	c->stream_window = wins[(b >> 1) & 3];
	c->tunnel_window = wins[(b >> 1) & 3] * ((b >> 3 & 1) + 2);
	c->max_streams = 1 + (b >> 4 & 3) * 3;
	c->max_frame = b & 0x40 ? 1024 : 0;
	c->send_frame = b & 0x80 ? 1024 : 512;
	c->plain_buf = 2048;
	c->plain_total = 8192;
	c->handshake_ms = 3000;
	c->ka_interval_ms = 1000;
	c->ka_idle_ms = 500;
	c->ka_timeout_ms = 700;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vpt_cb base = { .room = cb_room,
	    .output = cb_output, .accept = cb_accept,
	    .established = cb_established, .deliver = cb_deliver,
	    .fin = cb_fin, .reset = cb_reset, .notice = cb_notice };
	struct vpt_cb cb;
	struct vpt_stream *s;
	struct sstate *st;
	struct end *e;
	const uint8_t *p = data, *end = data + size, *a, *q;
	uint8_t raw[256], args[8];
	int64_t now = 1000000;
	size_t n;
	int k;

	if (size < 4)
		return 0;
	if (debug == -1)
		debug = getenv("FUZZ_TRACE") != NULL;
	setup_gzip();
	memset(links, 0, sizeof(links));
	memset(ends, 0, sizeof(ends));
	for (k = 0; k < 2; k++) {
		e = &ends[k];
		e->out = &links[k];
		e->peer = &ends[1 - k];
		links[k].cap = 256 + (size_t)p[2] * 256;
		vpf_dec_init(&links[k].mon, VPF_LENMAX);
		memset(e->finat, 0xff, sizeof(e->finat));
		e->take = p[3] & 1 ? (size_t)-1 : (size_t)(p[3] >> 1);
		config(&e->cfg, k == 0 ? VPT_CLIENT : VPT_SERVER, p[k]);
	}
	for (k = 0; k < 2; k++) {
		cb = base;
		cb.arg = &ends[k];
		if (p[3] & 0x80)
			cb.deliver = NULL;
		if ((ends[k].t = vpt_new(&ends[k].cfg, &cb, now)) == NULL)
			abort();
	}
	p += 4;

	while (end - p >= 2) {
		uint8_t op = *p++;

		e = &ends[op & 1];
		/* argument bytes, zero past the end of the input */
		memset(args, 0, sizeof(args));
		memcpy(args, p, (size_t)(end - p) < sizeof(args) ?
		    (size_t)(end - p) : sizeof(args));
		a = args;
		switch ((op >> 1) % 13) {
		case 0:		/* carry bytes to e */
			carry(e, (size_t)a[0] * 8, now);
			p += 1;
			break;
		case 1:		/* carry everything both ways, a few rounds */
			for (k = 0; k < 8 && (links[0].len > 0 ||
			    links[1].len > 0); k++) {
				carry(e, LINKMAX, now);
				carry(e->peer, LINKMAX, now);
			}
			p += 1;
			break;
		case 2:		/* hostile raw bytes */
			n = a[0];
			p += 1;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			memcpy(raw, p, n);
			p += n;
			e->tainted = 1;
			(void)vpt_input(e->t, raw, n, now);
			break;
		case 3:		/* a crafted frame */
			inject_frame(e, a, now);
			p += 8;
			break;
		case 4:		/* client opens a stream */
			if ((st = calloc(1, sizeof(*st))) == NULL)
				abort();
			if ((s = vpt_open(ends[0].t, st)) == NULL)
				free(st);
			else
				st->id = s->id;
			p += 1;
			break;
		case 5:		/* send data */
			if ((s = nth(e, a[0])) != NULL)
				send_data(e, s, (size_t)a[1] * 16 + 1);
			p += 2;
			break;
		case 6:		/* FIN */
			if ((s = nth(e, a[0])) != NULL && s->id < MAXID &&
			    vpt_send_fin(e->t, s) == 0)
				e->finat[s->id] = e->sent[s->id];
			p += 1;
			break;
		case 7:		/* RST */
			if ((s = nth(e, a[0])) != NULL)
				vpt_send_rst(e->t, s);
			p += 1;
			break;
		case 8:		/* the program writes buffered bytes out */
			if ((s = nth(e, a[0])) != NULL) {
				n = vpt_peek(s, &q);
				if (n > (size_t)a[1] * 32)
					n = (size_t)a[1] * 32;
				check_bytes(e, s, q, n);
				vpt_consume(e->t, s, n);
			}
			p += 2;
			break;
		case 9:		/* the program closes its side */
			if ((s = nth(e, a[0])) != NULL)
				release(e, s);
			p += 1;
			break;
		case 10:	/* time passes */
			now += (int64_t)a[0] * 20;
			for (k = 0; k < 2; k++) {
				if (vpt_next_timeout(ends[k].t, now) < -1)
					abort();
				vpt_tick(ends[k].t, now);
			}
			p += 1;
			break;
		case 11:	/* knobs */
			e->take = a[0] & 1 ? (size_t)-1 : a[0];
			e->refuse = a[0] >> 7;
			e->out->cap = 256 + (size_t)(a[0] & 0x7f) * 512;
			(void)vpt_flush(e->t);
			p += 1;
			break;
		default:	/* the end gives up, or its link breaks */
			if (a[0] & 1)
				vpt_goaway(e->t, "fuzz");
			else {
				e->peer->out->down = a[0] & 2;
				vpt_link_down(e->t, "link down");
			}
			p += 1;
			break;
		}
		if (p > end)
			p = end;
		invariants(&ends[0]);
		invariants(&ends[1]);
		if (debug)
			trace(op);
	}
	for (k = 0; k < 2; k++) {
		for (s = vpt_first(ends[k].t); s != NULL; s = s->next) {
			free(s->user);
			s->user = NULL;
		}
		vpt_free(ends[k].t);
	}
	return 0;
}
