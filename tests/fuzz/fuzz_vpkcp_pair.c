/*
 * Fuzz target: two KCP endpoints (vpkcp) talking through a lossy
 * network the input controls. Datagrams are queued per direction; the
 * input is a program of operations: deliver, drop, duplicate, reorder
 * or replay an old datagram, inject a hostile one or corrupt one in
 * flight, the applications write and read, time passes.
 *
 * Invariants after every operation: a datagram never exceeds the MTU
 * nor is shorter than a header; vpkcp_send() takes exactly
 * min(len, vpkcp_writable()); vpkcp_recv() returns at most what was
 * asked and what vpkcp_readable() said; the readable bytes never exceed
 * the receive ring (pow2(rcvwnd) slots of max(mss, 1476)) and the segments
 * waiting to be sent never exceed the send ring, whatever a peer
 * advertises or replays. While nothing hostile was injected (loss,
 * duplication, reordering and replays are not hostile): the bytes read
 * are the bytes written, in order; and at the end, with the network
 * made reliable and the clock run until vpkcp_check() has nothing left,
 * every byte written arrives (unless a link was declared dead).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpkcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QMAX	64
#define HIST	16
#define DGMAX	400

struct dgram {
	uint16_t	len;
	uint8_t		b[DGMAX];
};

struct dir {
	struct dgram	q[QMAX];
	size_t		qn;
	struct dgram	hist[HIST];
	size_t		nhist;
};

struct side {
	struct vpkcp	*k;
	struct vpkcp_config c;
	struct dir	*out;		/* datagrams this side sent */
	uint64_t	sent, got;	/* pattern bytes written / read */
};

static struct dir dirs[2];
static struct side sides[2];
static int tainted;

static uint8_t
pat(int from, uint64_t off)
{
	return (uint8_t)((off * 7 + (uint64_t)from * 13) % 251);
}

static void
out(const uint8_t *buf, size_t len, void *arg)
{
	struct side *s = arg;
	struct dir *d = s->out;

	if (len > (size_t)s->c.mtu || len < VPKCP_OVERHEAD || len > DGMAX)
		abort();
	if (d->qn == QMAX)
		return;		/* the network drops it */
	d->q[d->qn].len = (uint16_t)len;
	memcpy(d->q[d->qn].b, buf, len);
	d->qn++;
}

static void
input(struct side *to, const uint8_t *b, size_t len, uint32_t now)
{
	uint8_t *copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, b, len);
	(void)vpkcp_input(to->k, copy, len, now);
	free(copy);
}

/* Delivers the first datagram from side i to the other side. */
static void
deliver(int i, int pop, uint32_t now)
{
	struct dir *d = &dirs[i];
	struct dgram g;

	if (d->qn == 0)
		return;
	g = d->q[0];
	if (pop) {
		memmove(&d->q[0], &d->q[1], (d->qn - 1) * sizeof(d->q[0]));
		d->qn--;
	}
	d->hist[d->nhist++ % HIST] = g;
	input(&sides[1 - i], g.b, g.len, now);
}

static void
app_send(struct side *s, int from, size_t n)
{
	uint8_t buf[2048];
	size_t w = vpkcp_writable(s->k), r, i;

	if (n > sizeof(buf))
		n = sizeof(buf);
	for (i = 0; i < n; i++)
		buf[i] = pat(from, s->sent + i);
	r = vpkcp_send(s->k, buf, n);
	if (r != (n < w ? n : w))
		abort();
	s->sent += r;
}

static void
app_recv(struct side *s, int from, size_t n)
{
	uint8_t buf[4096];
	size_t avail = vpkcp_readable(s->k), r, i;

	if (n > sizeof(buf))
		n = sizeof(buf);
	r = vpkcp_recv(s->k, buf, n);
	if (r > n || r > avail)
		abort();
	if (!tainted)
		for (i = 0; i < r; i++)
			if (buf[i] != pat(from, s->got + i))
				abort();
	s->got += r;
}

static void
invariants(void)
{
	struct side *s;
	size_t ring, slot;
	int i;

	for (i = 0; i < 2; i++) {
		s = &sides[i];
		/*
		 * The receive ring: pow2(rcvwnd) slots of max(mss, 1476)
		 * bytes (a peer's segments may be longer than ours).
		 */
		for (ring = 1; ring < (size_t)s->c.rcvwnd; ring <<= 1)
			;
		slot = (size_t)s->c.mtu - VPKCP_OVERHEAD;
		if (slot < 1500 - VPKCP_OVERHEAD)
			slot = 1500 - VPKCP_OVERHEAD;
		if (vpkcp_readable(s->k) > ring * slot)
			abort();
		/* the send ring: pow2(2 sndwnd) slots, < 4 sndwnd */
		if (vpkcp_waitsnd(s->k) > 4 * (size_t)s->c.sndwnd)
			abort();
		if (!tainted && s->got > sides[1 - i].sent)
			abort();
	}
}

static void
config(struct vpkcp_config *c, uint8_t b, uint8_t w)
{
	static const int mtus[] = { 64, 100, 200, 400 };

	vpkcp_config_default(c);
	c->nodelay = b % 3;
	c->interval = 1 + (b >> 2 & 3) * 10;
	c->resend = b >> 4 & 3;
	c->nc = b >> 6 & 1;
	c->mtu = mtus[w & 3];
	c->sndwnd = 1 + (w >> 2 & 7) * 4;
	c->rcvwnd = 1 + (w >> 5 & 7) * 4;
	c->minrto = 10;
	c->maxrto = 400;
	c->deadlink = b & 0x80 ? 3 : 20;
}

/*
 * Makes the network reliable and runs the clock (in steps of at least
 * 10 ms) until all is read. Aborts when nothing arrives for 60 s of
 * clock while bytes are missing and neither side declared the link
 * dead; gives up quietly after 20000 rounds that all made progress.
 */
static void
drain(uint32_t now)
{
	uint32_t t0, t1, next, last = now;
	uint64_t before;
	int round, i;

	for (round = 0; round < 20000; round++) {
		before = sides[0].got + sides[1].got;
		for (i = 0; i < 2; i++) {
			while (dirs[i].qn > 0)
				deliver(i, 1, now);
			app_recv(&sides[i], 1 - i, 4096);
		}
		if (sides[0].got == sides[1].sent &&
		    sides[1].got == sides[0].sent)
			return;
		if (vpkcp_dead(sides[0].k) || vpkcp_dead(sides[1].k))
			return;
		if (sides[0].got + sides[1].got != before)
			last = now;
		else if ((int32_t)(now - last) > 60000)
			break;
		t0 = vpkcp_check(sides[0].k, now);
		t1 = vpkcp_check(sides[1].k, now);
		next = (int32_t)(t0 - t1) < 0 ? t0 : t1;
		if ((int32_t)(next - now) < 10)
			next = now + 10;
		now = next;
		vpkcp_update(sides[0].k, now);
		vpkcp_update(sides[1].k, now);
	}
	if (round == 20000)
		return;
	if (getenv("FUZZ_TRACE") != NULL) {
		struct vpkcp_stats st;

		for (i = 0; i < 2; i++) {
			vpkcp_get_stats(sides[i].k, &st);
			fprintf(stderr, "side %d: sent %llu got %llu waitsnd %zu "
			    "readable %zu writable %zu rto %d rmt_wnd %d cwnd %d "
			    "retrans %llu now %u check %u\n", i,
			    (unsigned long long)sides[i].sent,
			    (unsigned long long)sides[i].got,
			    vpkcp_waitsnd(sides[i].k),
			    vpkcp_readable(sides[i].k),
			    vpkcp_writable(sides[i].k), st.rto, st.rmt_wnd,
			    st.cwnd, (unsigned long long)st.retrans, now,
			    vpkcp_check(sides[i].k, now));
		}
	}
	abort();	/* a reliable network did not carry the bytes */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	uint8_t args[4], hostile[DGMAX];
	uint32_t now;
	struct dir *d;
	struct dgram tmp;
	size_t n;
	int i;

	if (size < 5)
		return 0;
	memset(dirs, 0, sizeof(dirs));
	memset(sides, 0, sizeof(sides));
	tainted = 0;
	now = 0xfffff000u + p[4];	/* the clock wraps during a run */
	for (i = 0; i < 2; i++) {
		sides[i].out = &dirs[i];
		config(&sides[i].c, p[0], p[1 + i]);
		if ((sides[i].k = vpkcp_new(0x1234, &sides[i].c, out,
		    &sides[i], now)) == NULL)
			abort();
		vpkcp_update(sides[i].k, now);
	}
	p += 5;
	while (end - p >= 1) {
		uint8_t op = *p++;
		struct side *s = &sides[op & 1];

		memset(args, 0, sizeof(args));
		memcpy(args, p, (size_t)(end - p) < sizeof(args) ?
		    (size_t)(end - p) : sizeof(args));
		d = &dirs[op & 1];
		switch ((op >> 1) % 12) {
		case 0:		/* deliver */
			deliver(op & 1, 1, now);
			break;
		case 1:		/* lose */
			if (d->qn > 0) {
				memmove(&d->q[0], &d->q[1],
				    (d->qn - 1) * sizeof(d->q[0]));
				d->qn--;
			}
			break;
		case 2:		/* duplicate */
			deliver(op & 1, 0, now);
			break;
		case 3:		/* reorder */
			if (d->qn > 1) {
				n = 1 + args[0] % (d->qn - 1);
				tmp = d->q[0];
				d->q[0] = d->q[n];
				d->q[n] = tmp;
			}
			p += 1;
			break;
		case 4:		/* replay an old datagram */
			if (d->nhist > 0) {
				n = d->nhist < HIST ? d->nhist : HIST;
				tmp = d->hist[args[0] % n];
				input(&sides[1 - (op & 1)], tmp.b, tmp.len, now);
			}
			p += 1;
			break;
		case 5:		/* the application writes */
			app_send(s, op & 1, (size_t)args[0] * 8);
			p += 1;
			break;
		case 6:		/* the application reads */
			app_recv(s, 1 - (op & 1), (size_t)args[0] * 8);
			p += 1;
			break;
		case 7:		/* time passes */
			now += args[0];
			vpkcp_update(sides[0].k, now);
			vpkcp_update(sides[1].k, now);
			p += 1;
			break;
		case 8:
			vpkcp_flush(s->k, now);
			break;
		case 9:		/* a hostile datagram */
			n = args[0] % DGMAX;
			p += 1;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			memcpy(hostile, p, n);
			p += n;
			tainted = 1;
			input(s, hostile, n, now);
			break;
		case 10:	/* corrupted in flight */
			if (d->qn > 0) {
				d->q[0].b[args[0] % d->q[0].len] ^=
				    args[1] | 1;
				tainted = 1;
				deliver(op & 1, 1, now);
			}
			p += 2;
			break;
		default:	/* everything in flight arrives */
			for (i = 0; i < 2; i++)
				while (dirs[i].qn > 0)
					deliver(i, 1, now);
			break;
		}
		if (p > end)
			p = end;
		invariants();
	}
	if (!tainted)
		drain(now);
	invariants();
	vpkcp_free(sides[0].k);
	vpkcp_free(sides[1].k);
	return 0;
}
