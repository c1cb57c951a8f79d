/*
 * Unit tests for vpkcp: two engines joined by a simulated link (loss,
 * duplication, reordering, delay; a seeded random source) must deliver
 * exactly what was sent; sequence and clock wrap-around; zero window
 * and probing; packing; hostile segments.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpkcp.h"

/* --- a simulated link ------------------------------------------------ */

#define QMAX	20000

struct dgram {
	uint32_t	at;		/* delivery time */
	uint32_t	seq;		/* tie-break: send order */
	size_t		len;
	uint8_t		buf[1500];
};

struct link {
	struct dgram	*q;
	size_t		n;
	uint32_t	seq;
	int		loss, dup, reorder;	/* percent */
	int		delay, jitter;		/* ms */
	int		down;			/* drop everything */
	uint64_t	rng;
	uint32_t	*now;
	/* observations */
	size_t		sent, maxlen, multi, wask, wins;
};

static uint32_t
rnd(struct link *l)
{
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	return (uint32_t)(l->rng >> 11);
}

static void
link_put(struct link *l, const uint8_t *buf, size_t len)
{
	struct dgram *d;
	int copies = 1, i;

	if (l->down || (int)(rnd(l) % 100) < l->loss)
		return;
	if ((int)(rnd(l) % 100) < l->dup)
		copies = 2;
	for (i = 0; i < copies && l->n < QMAX; i++) {
		d = &l->q[l->n++];
		d->at = *l->now + l->delay;
		if (l->jitter > 0)
			d->at += rnd(l) % l->jitter;
		if ((int)(rnd(l) % 100) < l->reorder)
			d->at += 1 + rnd(l) % 30;
		d->seq = l->seq++;
		d->len = len;
		memcpy(d->buf, buf, len);
	}
}

/* Pops the earliest datagram due at *now; 1 if one was copied. */
static int
link_get(struct link *l, struct dgram *out)
{
	size_t i, best = SIZE_MAX;

	for (i = 0; i < l->n; i++) {
		if ((int32_t)(l->q[i].at - *l->now) > 0)
			continue;
		if (best == SIZE_MAX || (int32_t)(l->q[i].at - l->q[best].at) < 0 ||
		    (l->q[i].at == l->q[best].at && l->q[i].seq < l->q[best].seq))
			best = i;
	}
	if (best == SIZE_MAX)
		return 0;
	*out = l->q[best];
	l->q[best] = l->q[--l->n];
	return 1;
}

static void
observe(struct link *l, const uint8_t *buf, size_t len)
{
	size_t off = 0, segs = 0;
	uint32_t sl;

	l->sent++;
	if (len > l->maxlen)
		l->maxlen = len;
	while (len - off >= VPKCP_OVERHEAD) {
		if (buf[off + 4] == VPKCP_CMD_WASK)
			l->wask++;
		if (buf[off + 4] == VPKCP_CMD_WINS)
			l->wins++;
		memcpy(&sl, buf + off + 20, 4);
		off += VPKCP_OVERHEAD + le32toh(sl);
		segs++;
	}
	if (segs > 1)
		l->multi++;
}

static void
out_cb(const uint8_t *buf, size_t len, void *arg)
{
	struct link *l = arg;

	observe(l, buf, len);
	link_put(l, buf, len);
}

static uint32_t now;

struct end {
	struct vpkcp	*k;
	const uint8_t	*src;
	size_t		srclen, sent;
	uint8_t		*dst;
	size_t		dstlen, got;
	int		reading;
};

static void
setup_link(struct link *l, uint64_t seed)
{
	memset(l, 0, sizeof(*l));
	l->q = calloc(QMAX, sizeof(*l->q));
	ck_assert_ptr_nonnull(l->q);
	l->rng = seed ? seed : 1;
	l->now = &now;
}

static uint8_t *
pattern(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
	return p;
}

static void
pump_end(struct end *e, struct link *in)
{
	struct dgram d;
	size_t n;

	while (link_get(in, &d))
		ck_assert_int_ge(vpkcp_input(e->k, d.buf, d.len, now), 0);
	vpkcp_flush(e->k, now);
	if (e->sent < e->srclen) {
		n = vpkcp_send(e->k, e->src + e->sent, e->srclen - e->sent);
		e->sent += n;
		if (n > 0)
			vpkcp_flush(e->k, now);
	}
	if (e->reading) {
		while ((n = vpkcp_recv(e->k, e->dst + e->got,
		    e->dstlen - e->got)) > 0)
			e->got += n;
		ck_assert_uint_le(e->got, e->dstlen);
	}
	vpkcp_update(e->k, now);
}

/*
 * Runs both ends until each has received everything or maxms pass.
 * Returns the simulated milliseconds used.
 */
static uint32_t
run(struct end *a, struct end *b, struct link *ab, struct link *ba,
    uint32_t maxms)
{
	uint32_t start = now;

	while (now - start < maxms) {
		pump_end(a, ba);
		pump_end(b, ab);
		if (a->got == a->dstlen && b->got == b->dstlen &&
		    vpkcp_waitsnd(a->k) == 0 && vpkcp_waitsnd(b->k) == 0)
			break;
		now++;
	}
	return now - start;
}

static void
transfer(struct vpkcp_config *c, int loss, int dup, int reorder, int delay,
    size_t n, uint64_t seed, uint32_t t0, uint32_t sn0)
{
	struct link ab, ba;
	struct end a, b;
	uint8_t *pa = pattern(n, 1), *pb = pattern(n, 2);
	uint32_t used;

	now = t0;
	setup_link(&ab, seed);
	setup_link(&ba, seed * 7 + 3);
	ab.loss = ba.loss = loss;
	ab.dup = ba.dup = dup;
	ab.reorder = ba.reorder = reorder;
	ab.delay = ba.delay = delay;
	ab.jitter = ba.jitter = delay / 4 + 1;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.k = vpkcp_new(0x11223344, c, out_cb, &ab, now);
	b.k = vpkcp_new(0x11223344, c, out_cb, &ba, now);
	ck_assert_ptr_nonnull(a.k);
	ck_assert_ptr_nonnull(b.k);
	vpkcp_set_seq(a.k, sn0, sn0 + 7);
	vpkcp_set_seq(b.k, sn0 + 7, sn0);
	a.src = pa; a.srclen = n;
	b.src = pb; b.srclen = n;
	a.dst = malloc(n); a.dstlen = n; a.reading = 1;
	b.dst = malloc(n); b.dstlen = n; b.reading = 1;
	used = run(&a, &b, &ab, &ba, 600000);
	if (getenv("VPKCP_VERBOSE") != NULL)
		fprintf(stderr, "%zu bytes each way in %u ms, %zu+%zu datagrams\n",
		    n, used, ab.sent, ba.sent);
	ck_assert_msg(b.got == n && a.got == n,
	    "incomplete after %u ms: %zu and %zu of %zu", used, b.got, a.got, n);
	ck_assert(memcmp(b.dst, pa, n) == 0);
	ck_assert(memcmp(a.dst, pb, n) == 0);
	ck_assert(!vpkcp_dead(a.k) && !vpkcp_dead(b.k));
	ck_assert_uint_le(ab.maxlen, (size_t)c->mtu);
	ck_assert_uint_le(ba.maxlen, (size_t)c->mtu);
	vpkcp_free(a.k);
	vpkcp_free(b.k);
	free(pa); free(pb); free(a.dst); free(b.dst);
	free(ab.q); free(ba.q);
}

START_TEST(clean_both_ways)
{
	struct vpkcp_config c;

	vpkcp_config_default(&c);
	transfer(&c, 0, 0, 0, 5, 2 << 20, 1, 1000, 0);
}
END_TEST

START_TEST(lossy_profiles)
{
	static const char *prof[] = { "fast3", "fast2", "fast", "normal" };
	struct vpkcp_config c;

	vpkcp_config_default(&c);
	ck_assert_int_eq(vpkcp_config_profile(&c, prof[_i]), 0);
	transfer(&c, 10, 5, 20, 20, 300 << 10, 42 + _i, 5, 0);
}
END_TEST

START_TEST(lossy_cwnd_small_windows)
{
	struct vpkcp_config c;

	vpkcp_config_default(&c);
	c.nc = 0;
	c.sndwnd = 32;
	c.rcvwnd = 32;
	c.mtu = 500;
	transfer(&c, 15, 10, 30, 10, 200 << 10, 7, 5, 0);
}
END_TEST

/*
 * Many seeds and harsh links with small windows and a small MTU, where
 * rare orderings show up; VPKCP_SOAK=N runs N seeds (default 24).
 */
START_TEST(soak)
{
	struct vpkcp_config c;
	const char *e = getenv("VPKCP_SOAK");
	int n = e != NULL ? atoi(e) : 24, i;

	for (i = 0; i < n; i++) {
		vpkcp_config_default(&c);
		c.sndwnd = 8 + i % 40;
		c.rcvwnd = 8 + (i * 7) % 50;
		c.mtu = 100 + (i * 37) % 1300;
		c.nodelay = i % 3;
		c.nc = i % 2;
		c.resend = i % 4;
		c.interval = 1 + i % 30;
		transfer(&c, 5 + i % 25, i % 15, i % 50, i % 30, 40000 + i * 101,
		    1000 + i, (uint32_t)i * 0x9E3779B9u, (uint32_t)i * 0x7F4A7C15u);
	}
}
END_TEST

START_TEST(wrap_sn_and_ts)
{
	struct vpkcp_config c;

	vpkcp_config_default(&c);
	c.sndwnd = c.rcvwnd = 64;
	/* sn crosses 2^32 and the clock wraps during the transfer. */
	transfer(&c, 5, 5, 20, 10, 400 << 10, 9, 0xFFFFF000u, 0xFFFFFF00u);
	transfer(&c, 0, 0, 0, 1, 100 << 10, 9, 0xFFFFFFF0u, 0xFFFFFFFEu);
}
END_TEST

/* Builds one segment. */
static size_t
seg(uint8_t *p, uint32_t conv, uint8_t cmd, uint16_t wnd, uint32_t ts,
    uint32_t sn, uint32_t una, uint32_t len, const char *data)
{
	uint32_t v[4] = { htole32(ts), htole32(sn), htole32(una), htole32(len) };
	uint32_t cv = htole32(conv);
	uint16_t w = htole16(wnd);

	memcpy(p, &cv, 4);
	p[4] = cmd;
	p[5] = 0;
	memcpy(p + 6, &w, 2);
	memcpy(p + 8, v, 16);
	if (data != NULL)
		memcpy(p + 24, data, len);
	return 24 + (data ? len : 0);
}

static uint8_t lastout[2048];
static size_t lastlen, nout;

static void
cap_cb(const uint8_t *buf, size_t len, void *arg)
{
	memcpy(lastout, buf, len);
	lastlen = len;
	nout++;
}

START_TEST(wire_vector)
{
	/* wire-spec 3.1: vproxy's first PUSH carrying the handshake. */
	static const uint8_t push[] = {
		0, 0, 0, 0, 0x51, 0, 0x00, 0x04, 0x64, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0,
	};
	static const uint8_t ack_head[] = {
		0, 0, 0, 0, 0x52, 0,
	};
	static const uint8_t ack_tail[] = {
		0x64, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	struct vpkcp_config c;
	struct vpkcp *k;
	uint8_t buf[16];

	vpkcp_config_default(&c);
	k = vpkcp_new(0, &c, cap_cb, NULL, 100);
	vpkcp_update(k, 100);
	nout = 0;
	ck_assert_int_eq(vpkcp_input(k, push, sizeof(push), 101), 0);
	vpkcp_flush(k, 101);
	ck_assert_uint_eq(nout, 1);
	ck_assert_uint_eq(lastlen, 24);
	ck_assert(memcmp(lastout, ack_head, 6) == 0);
	ck_assert(memcmp(lastout + 8, ack_tail, 16) == 0);
	/* wnd = 1024 - 1 unread segment */
	ck_assert_uint_eq(lastout[6] | lastout[7] << 8, 1023);
	ck_assert_uint_eq(vpkcp_recv(k, buf, sizeof(buf)), 9);
	ck_assert(memcmp(buf, push + 24, 9) == 0);
	/* Our own PUSH: conv 0, sn 0, una 1, LE lengths. */
	ck_assert_uint_eq(vpkcp_send(k, "hi", 2), 2);
	vpkcp_flush(k, 102);
	ck_assert_uint_eq(lastlen, 26);
	ck_assert_uint_eq(lastout[4], 0x51);
	ck_assert_uint_eq(lastout[8], 102);
	ck_assert_uint_eq(lastout[16], 1);
	ck_assert_uint_eq(lastout[20], 2);
	ck_assert(memcmp(lastout + 24, "hi", 2) == 0);
	vpkcp_free(k);
}
END_TEST

/* resend_now: every unacknowledged segment again, at once, RTO kept. */
START_TEST(resend_now)
{
	struct vpkcp_config c;
	struct vpkcp_stats st0, st1;
	struct vpkcp *k;
	uint8_t ack[24], *data = pattern(3 * 76, 1);
	uint32_t sn;

	vpkcp_config_default(&c);
	c.mtu = 100;		/* one 76-byte segment per datagram */
	k = vpkcp_new(5, &c, cap_cb, NULL, 100);
	vpkcp_update(k, 100);
	vpkcp_resend_now(k, 100);	/* nothing in flight: nothing sent */
	nout = 0;
	ck_assert_uint_eq(vpkcp_send(k, data, 3 * 76), 3 * 76);
	free(data);
	vpkcp_flush(k, 101);
	ck_assert_uint_eq(nout, 3);
	/* the peer ACKs sn 1 only */
	memset(ack, 0, sizeof(ack));
	ack[0] = 5;
	ack[4] = VPKCP_CMD_ACK;
	ack[6] = 0; ack[7] = 4;		/* wnd 1024 */
	ack[8] = 101;			/* ts */
	ack[12] = 1;			/* sn 1 */
	ck_assert_int_eq(vpkcp_input(k, ack, sizeof(ack), 110), 0);
	vpkcp_get_stats(k, &st0);
	nout = 0;
	vpkcp_resend_now(k, 120);
	ck_assert_uint_eq(nout, 2);	/* sn 0 and 2 */
	sn = (uint32_t)lastout[12] | (uint32_t)lastout[13] << 8;
	ck_assert_uint_eq(sn, 2);
	ck_assert_uint_eq(lastout[8], 120);	/* ts: now */
	vpkcp_get_stats(k, &st1);
	ck_assert_uint_eq(st1.retrans, st0.retrans + 2);
	ck_assert_uint_eq(st1.lost, st0.lost);
	ck_assert_int_eq(st1.rto, st0.rto);
	ck_assert_int_eq(vpkcp_dead(k), 0);
	/* nothing more is due right away */
	nout = 0;
	vpkcp_flush(k, 121);
	ck_assert_uint_eq(nout, 0);
	vpkcp_free(k);
}
END_TEST

START_TEST(hostile_segments)
{
	struct vpkcp_config c;
	struct vpkcp *k;
	uint8_t d[4096];
	size_t n, i, j;
	uint8_t buf[64];
	uint64_t r = 12345;

	vpkcp_config_default(&c);
	k = vpkcp_new(7, &c, cap_cb, NULL, 0);
	vpkcp_update(k, 0);
	/* short datagram */
	ck_assert_int_eq(vpkcp_input(k, d, 10, 1), VPKCP_ESHORT);
	/* bad conv: first segment applied, the rest dropped */
	n = seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 0, 0, 1, "a");
	n += seg(d + n, 8, VPKCP_CMD_PUSH, 10, 1, 1, 0, 1, "b");
	ck_assert_int_eq(vpkcp_input(k, d, n, 1), VPKCP_ECONV);
	ck_assert_uint_eq(vpkcp_readable(k), 1);
	/* len beyond the datagram */
	n = seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 1, 0, 1000, NULL);
	ck_assert_int_eq(vpkcp_input(k, d, n + 10, 1), VPKCP_ELEN);
	n = seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 1, 0, 0xFFFFFFFF, NULL);
	ck_assert_int_eq(vpkcp_input(k, d, n + 10, 1), VPKCP_ELEN);
	/* unknown cmd */
	n = seg(d, 7, 99, 10, 1, 1, 0, 0, NULL);
	ck_assert_int_eq(vpkcp_input(k, d, n, 1), VPKCP_ECMD);
	n = seg(d, 7, 0, 10, 1, 1, 0, 0, NULL);
	ck_assert_int_eq(vpkcp_input(k, d, n, 1), VPKCP_ECMD);
	/* a trailing remnant < 24 bytes is ignored */
	n = seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 1, 0, 1, "b");
	ck_assert_int_eq(vpkcp_input(k, d, n + 23, 1), 0);
	ck_assert_uint_eq(vpkcp_readable(k), 2);
	/* PUSH beyond the receive window: dropped and not acked */
	vpkcp_flush(k, 2);
	nout = 0;
	n = seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 5000, 0, 1, "z");
	ck_assert_int_eq(vpkcp_input(k, d, n, 2), 0);
	vpkcp_flush(k, 2);
	ck_assert_uint_eq(nout, 0);
	/* PUSH far behind: a duplicate, acked again, not delivered */
	n = seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 0xFFFFFF00u, 0, 1, "z");
	ck_assert_int_eq(vpkcp_input(k, d, n, 2), 0);
	vpkcp_flush(k, 2);
	ck_assert_uint_eq(nout, 1);
	ck_assert_uint_eq(vpkcp_readable(k), 2);
	/* PUSH larger than any slot: dropped */
	memset(d + 24, 'x', 2000);
	seg(d, 7, VPKCP_CMD_PUSH, 10, 1, 2, 0, 2000, NULL);
	ck_assert_int_eq(vpkcp_input(k, d, 2024, 2), 0);
	ck_assert_uint_eq(vpkcp_readable(k), 2);
	/* huge wnd, una and acks out of range: the send window still rules */
	n = seg(d, 7, VPKCP_CMD_WINS, 65535, 1, 0, 0x7FFFFFFF, 0, NULL);
	n += seg(d + n, 7, VPKCP_CMD_ACK, 65535, 0xFFFFFFFF, 12345, 99, 0, NULL);
	ck_assert_int_eq(vpkcp_input(k, d, n, 3), 0);
	memset(d, 'y', 4096);
	for (i = 0; i < 100; i++)
		vpkcp_send(k, d, sizeof(d));
	nout = 0;
	vpkcp_update(k, 20);
	ck_assert_uint_le(nout, (size_t)c.sndwnd + 2);
	ck_assert_uint_eq(vpkcp_recv(k, buf, sizeof(buf)), 2);
	ck_assert(memcmp(buf, "ab", 2) == 0);
	/* ACKs echoing a ts from 2^31 ms ago: RTT samples stay bounded */
	{
		struct vpkcp_stats st;

		for (i = 0; i < 3; i++) {
			n = seg(d, 7, VPKCP_CMD_ACK, 10, 25u - 0x7FFFFFF0u, 0, 0,
			    0, NULL);
			ck_assert_int_eq(vpkcp_input(k, d, n, 25), 0);
		}
		vpkcp_get_stats(k, &st);
		ck_assert_int_le(st.rto, 60000);
		ck_assert_int_ge(st.srtt, 1);
	}
	/* random bytes: never crashes, never delivers garbage for conv 7 */
	for (i = 0; i < 20000; i++) {
		n = 1 + (r % 200);
		for (j = 0; j < n; j++) {
			r ^= r << 13; r ^= r >> 7; r ^= r << 17;
			d[j] = r;
		}
		if (i & 1)
			memcpy(d, "\x07\0\0\0", 4);
		(void)vpkcp_input(k, d, n, 30 + i);
		vpkcp_recv(k, buf, sizeof(buf));
	}
	vpkcp_free(k);
}
END_TEST

/*
 * Two engines A and B joined by links ab/ba with the given delay; A
 * sends n bytes of pattern, B has room for them.
 */
static uint8_t *
pair(const struct vpkcp_config *c, struct link *ab, struct link *ba,
    struct end *a, struct end *b, int delay, size_t n)
{
	uint8_t *pa = pattern(n, 5);

	now = 1;
	setup_link(ab, 3);
	setup_link(ba, 4);
	ab->delay = ba->delay = delay;
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->k = vpkcp_new(1, c, out_cb, ab, now);
	b->k = vpkcp_new(1, c, out_cb, ba, now);
	ck_assert_ptr_nonnull(a->k);
	ck_assert_ptr_nonnull(b->k);
	a->src = pa;
	a->srclen = n;
	b->dst = malloc(n ? n : 1);
	b->dstlen = n;
	b->reading = 1;
	return pa;
}

START_TEST(zero_window_probe)
{
	struct vpkcp_config c;
	struct link ab, ba;
	struct end a, b;
	size_t n = 200 << 10;
	uint8_t *pa;
	uint32_t i;

	vpkcp_config_default(&c);
	c.sndwnd = c.rcvwnd = 16;
	pa = pair(&c, &ab, &ba, &a, &b, 2, n);
	b.reading = 0;
	/* B does not read: its window fills and A stops and probes. */
	for (i = 0; i < 3000; i++, now++) {
		pump_end(&a, &ba);
		pump_end(&b, &ab);
	}
	ck_assert_uint_eq(vpkcp_readable(b.k), 16 * (size_t)(c.mtu - 24));
	ck_assert_uint_gt(ab.wask, 0);		/* A asked */
	ck_assert_uint_gt(ba.wins, 0);		/* B told (wnd 0) */
	ck_assert_uint_eq(vpkcp_writable(a.k), 0);
	/* B reads: WINS reopens the window and everything arrives. */
	b.reading = 1;
	run(&a, &b, &ab, &ba, 100000);
	ck_assert_uint_eq(b.got, n);
	ck_assert(memcmp(b.dst, pa, n) == 0);
	vpkcp_free(a.k); vpkcp_free(b.k);
	free(pa); free(b.dst); free(ab.q); free(ba.q);
}
END_TEST

START_TEST(packing)
{
	struct vpkcp_config c;
	struct link ab, ba;
	struct end a, b;
	size_t n = 64 << 10;
	uint8_t *pa = pattern(n, 5);

	vpkcp_config_default(&c);
	c.mtu = 1400;
	now = 1;
	setup_link(&ab, 3);
	setup_link(&ba, 4);
	ab.delay = ba.delay = 3;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.k = vpkcp_new(1, &c, out_cb, &ab, now);
	b.k = vpkcp_new(1, &c, out_cb, &ba, now);
	vpkcp_update(a.k, now);
	vpkcp_update(b.k, now);
	/* Many small writes coalesce into full segments. */
	for (size_t off = 0; off < n; off += 100)
		a.sent += vpkcp_send(a.k, pa + off, n - off < 100 ? n - off : 100);
	a.src = pa; a.srclen = n;
	b.dst = malloc(n); b.dstlen = n; b.reading = 1;
	run(&a, &b, &ab, &ba, 10000);
	ck_assert_uint_eq(b.got, n);
	ck_assert(memcmp(b.dst, pa, n) == 0);
	/* full data segments; ACKs for a burst share datagrams */
	ck_assert_uint_le(ab.sent, n / (1400 - 24) + 3);
	ck_assert_uint_gt(ba.multi, 0);
	ck_assert_uint_lt(ba.sent, ab.sent);
	ck_assert_uint_le(ba.maxlen, 1400);
	vpkcp_free(a.k); vpkcp_free(b.k);
	free(pa); free(b.dst); free(ab.q); free(ba.q);
}
END_TEST

START_TEST(dead_link)
{
	struct vpkcp_config c;
	struct link ab, ba;
	struct end a, b;
	uint8_t *pa = pattern(10000, 5);
	uint32_t i;

	vpkcp_config_default(&c);
	c.deadlink = 5;
	c.maxrto = 1000;
	now = 1;
	setup_link(&ab, 3);
	setup_link(&ba, 4);
	ab.down = 1;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.k = vpkcp_new(1, &c, out_cb, &ab, now);
	b.k = vpkcp_new(1, &c, out_cb, &ba, now);
	a.src = pa; a.srclen = 10000;
	for (i = 0; i < 60000 && !vpkcp_dead(a.k); i++, now++) {
		pump_end(&a, &ba);
		pump_end(&b, &ab);
	}
	ck_assert(vpkcp_dead(a.k));
	ck_assert(!vpkcp_dead(b.k));
	vpkcp_free(a.k); vpkcp_free(b.k);
	free(pa); free(ab.q); free(ba.q);
}
END_TEST

START_TEST(outage_recovers)
{
	struct vpkcp_config c;
	struct link ab, ba;
	struct end a, b;
	size_t n = 300 << 10;
	uint8_t *pa;
	uint32_t i;

	vpkcp_config_default(&c);
	pa = pair(&c, &ab, &ba, &a, &b, 5, n);
	for (i = 0; i < 20; i++, now++) {
		pump_end(&a, &ba);
		pump_end(&b, &ab);
	}
	ab.down = ba.down = 1;		/* 10 s of total loss */
	for (i = 0; i < 10000; i++, now++) {
		pump_end(&a, &ba);
		pump_end(&b, &ab);
	}
	ab.down = ba.down = 0;
	ck_assert(!vpkcp_dead(a.k));
	run(&a, &b, &ab, &ba, 30000);
	ck_assert_uint_eq(b.got, n);
	ck_assert(memcmp(b.dst, pa, n) == 0);
	vpkcp_free(a.k); vpkcp_free(b.k);
	free(pa); free(b.dst); free(ab.q); free(ba.q);
}
END_TEST

/*
 * Message mode through a lossy, reordering link: every message arrives
 * whole, in order, with its boundaries, whatever its size (0 bytes to
 * several segments).
 */
START_TEST(messages)
{
	struct vpkcp_config c;
	struct link ab, ba;
	struct end a, b;
	uint8_t msg[4 * 1400], got[4 * 1400], small[10];
	size_t sizes[300], mss, nsent = 0, nrecv = 0, i, j;
	uint32_t t;
	long r;

	vpkcp_config_default(&c);
	c.mtu = 500;
	c.sndwnd = c.rcvwnd = 64;
	mss = (size_t)c.mtu - VPKCP_OVERHEAD;
	for (i = 0; i < 300; i++)
		sizes[i] = (i * 331) % (3 * mss + 50);	/* 0 .. ~3 segments */
	free(pair(&c, &ab, &ba, &a, &b, 5, 0));
	b.reading = 0;		/* messages are read below, not as a stream */
	ab.loss = ba.loss = 10;
	ab.reorder = 30;
	ab.dup = 5;
	for (t = 0; t < 120000 && nrecv < 300; t++, now++) {
		while (nsent < 300) {
			for (j = 0; j < sizes[nsent]; j++)
				msg[j] = (uint8_t)(nsent * 7 + j);
			if (vpkcp_send_msg(a.k, msg, sizes[nsent]) == -1) {
				ck_assert_int_eq(errno, EAGAIN);
				break;
			}
			nsent++;
		}
		vpkcp_flush(a.k, now);
		pump_end(&a, &ba);
		pump_end(&b, &ab);
		while (nrecv < 300) {
			if (sizes[nrecv] > 0) {
				/* too small a buffer: refused, message kept */
				r = vpkcp_recv_msg(b.k, small, 0);
				if (r == -1 && errno == EAGAIN)
					break;
				ck_assert_int_eq(r, -1);
				ck_assert_int_eq(errno, EMSGSIZE);
			}
			r = vpkcp_recv_msg(b.k, got, sizeof(got));
			if (r == -1) {
				ck_assert_int_eq(errno, EAGAIN);
				break;
			}
			ck_assert_int_eq(r, (long)sizes[nrecv]);
			for (j = 0; j < sizes[nrecv]; j++)
				ck_assert_uint_eq(got[j], (uint8_t)(nrecv * 7 + j));
			nrecv++;
		}
	}
	ck_assert_uint_eq(nrecv, 300);
	/* more than 255 fragments */
	{
		uint8_t *big = calloc(256, mss);

		ck_assert_int_eq(vpkcp_send_msg(a.k, big, 256 * mss), -1);
		ck_assert_int_eq(errno, EMSGSIZE);
		ck_assert_int_eq(vpkcp_send_msg(a.k, big, 0), 0);
		free(big);
	}
	/* a stream write never tops up a message's last segment */
	ck_assert_int_eq(vpkcp_send_msg(a.k, "ab", 2), 0);
	ck_assert_uint_eq(vpkcp_send(a.k, "cd", 2), 2);
	vpkcp_free(a.k); vpkcp_free(b.k);
	free(b.dst); free(ab.q); free(ba.q);
}
END_TEST

/* maxrto caps a segment's first RTO too, after a late ACK (fuzz). */
START_TEST(maxrto_caps_first_rto)
{
	struct vpkcp_config c;
	struct vpkcp_stats st;
	struct vpkcp *k;
	uint8_t ack[24];
	uint32_t t;
	size_t n0;

	vpkcp_config_default(&c);
	c.maxrto = 400;
	k = vpkcp_new(0, &c, cap_cb, NULL, 1000);
	vpkcp_update(k, 1000);
	ck_assert_uint_eq(vpkcp_send(k, "a", 1), 1);
	vpkcp_flush(k, 1000);
	/* The ACK comes 30 s late: the RTO estimate passes maxrto. */
	seg(ack, 0, VPKCP_CMD_ACK, 128, 1000, 0, 1, 0, NULL);
	ck_assert_int_eq(vpkcp_input(k, ack, sizeof(ack), 31000), 0);
	vpkcp_get_stats(k, &st);
	ck_assert_int_gt(st.rto, 400);
	vpkcp_update(k, 31000);
	ck_assert_uint_eq(vpkcp_send(k, "b", 1), 1);
	vpkcp_flush(k, 31000);
	n0 = nout;
	for (t = 31000; t <= 31000 + 400 + 2 * (uint32_t)c.interval; t += 5)
		vpkcp_update(k, t);
	ck_assert_uint_gt(nout, n0);		/* retransmitted */
	ck_assert_uint_eq(lastout[4], VPKCP_CMD_PUSH);
	vpkcp_free(k);
}
END_TEST

/*
 * nc=0: while the congestion window holds data back, vpkcp_check() must
 * not say "now" (the program would poll with a 0 timeout: 100% CPU);
 * it agrees with flush about the window.
 */
START_TEST(check_honours_cwnd)
{
	struct vpkcp_config c;
	struct vpkcp *k;
	static uint8_t buf[100 * 1300];
	uint32_t t0 = 1000, at;
	size_t n0;

	vpkcp_config_default(&c);
	c.nc = 0;
	k = vpkcp_new(1, &c, cap_cb, NULL, t0);
	vpkcp_update(k, t0);
	ck_assert_int_gt(vpkcp_send(k, buf, sizeof(buf)), 0);
	vpkcp_update(k, t0);			/* cwnd 1: one segment left */
	n0 = nout;
	ck_assert_uint_gt(n0, 0);
	at = vpkcp_check(k, t0);
	ck_assert_uint_gt(at, t0);		/* nothing may go: wait */
	vpkcp_update(k, t0);
	ck_assert_uint_eq(nout, n0);
	vpkcp_free(k);
	/* nc=1: the same queue goes out up to the windows at once. */
	c.nc = 1;
	k = vpkcp_new(1, &c, cap_cb, NULL, t0);
	vpkcp_update(k, t0);
	ck_assert_int_gt(vpkcp_send(k, buf, sizeof(buf)), 0);
	n0 = nout;
	ck_assert_uint_eq(vpkcp_check(k, t0), t0);
	vpkcp_update(k, t0);
	ck_assert_uint_gt(nout, n0);
	vpkcp_free(k);
}
END_TEST

START_TEST(config)
{
	struct vpkcp_config c;
	char err[100];

	vpkcp_config_default(&c);
	ck_assert_int_eq(vpkcp_config_check(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(vpkcp_config_profile(&c, "turbo"), -1);
	ck_assert_int_eq(vpkcp_config_profile(&c, "normal"), 0);
	ck_assert_int_eq(c.interval, 40);
	ck_assert_int_eq(c.nodelay, 0);
	c.mtu = 10;
	ck_assert_int_eq(vpkcp_config_check(&c, err, sizeof(err)), -1);
	ck_assert(strstr(err, "mtu") != NULL);
	ck_assert_ptr_null(vpkcp_new(0, &c, cap_cb, NULL, 0));
	vpkcp_config_default(&c);
	c.sndwnd = 0;
	ck_assert_int_eq(vpkcp_config_check(&c, err, sizeof(err)), -1);
	vpkcp_config_default(&c);
	c.interval = 0;
	ck_assert_int_eq(vpkcp_config_check(&c, err, sizeof(err)), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpkcp");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, config);
	tcase_add_test(tc, maxrto_caps_first_rto);
	tcase_add_test(tc, check_honours_cwnd);
	tcase_add_test(tc, wire_vector);
	tcase_add_test(tc, hostile_segments);
	tcase_add_test(tc, resend_now);
	tcase_add_test(tc, clean_both_ways);
	tcase_add_loop_test(tc, lossy_profiles, 0, 4);
	tcase_add_test(tc, lossy_cwnd_small_windows);
	tcase_add_test(tc, wrap_sn_and_ts);
	tcase_add_test(tc, soak);
	tcase_add_test(tc, messages);
	tcase_add_test(tc, zero_window_probe);
	tcase_add_test(tc, packing);
	tcase_add_test(tc, dead_link);
	tcase_add_test(tc, outage_recovers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
