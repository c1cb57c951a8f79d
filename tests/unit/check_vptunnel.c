/*
 * Unit tests for vptunnel: the stream state table (every event in every
 * state, both roles), the tunnel handshake (plain, extended, refused),
 * frames where they are not expected, flow control, keepalive timing on
 * a fake clock, limits -> GOAWAY.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "vpframe.h"
#include "vptunnel.h"

/* ---- a fake link end: frames go into a buffer */

struct end {
	uint8_t	 out[1 << 21];
	size_t	 len;
	size_t	 limit;		/* room cap */
	int	 accept_ret;
	int	 deliver_stall;	/* deliver takes nothing */
	size_t	 pending;	/* bytes the fake link has not sent */
	uint8_t	 got[1 << 21];	/* delivered/consumed bytes, all streams */
	size_t	 ngot;
	int	 accepted, established, fins, resets;
	char	 why[128];
	struct vpt_stream *last;
};

static size_t
room(void *arg)
{
	struct end *e = arg;

	return e->limit > e->len ? e->limit - e->len : 0;
}

static ssize_t
output(void *arg, const void *p, size_t n)
{
	struct end *e = arg;

	if (n > room(e))
		n = room(e);
	memcpy(e->out + e->len, p, n);
	e->len += n;
	return n;
}

static size_t
cb_pending(void *arg)
{
	return ((struct end *)arg)->pending;
}

static int
cb_accept(void *arg, struct vpt_stream *s)
{
	struct end *e = arg;

	e->accepted++;
	e->last = s;
	return e->accept_ret;
}

static void
cb_established(void *arg, struct vpt_stream *s)
{
	((struct end *)arg)->established++;
}

#define STALL	((void *)&stall_mark)	/* a stream's user: its reader stalls */
static int stall_mark;

static size_t
cb_deliver(void *arg, struct vpt_stream *s, const uint8_t *p, size_t n)
{
	struct end *e = arg;

	if (e->deliver_stall || s->user == STALL)
		return 0;
	memcpy(e->got + e->ngot, p, n);
	e->ngot += n;
	return n;
}

static void
cb_fin(void *arg, struct vpt_stream *s)
{
	((struct end *)arg)->fins++;
}

static void
cb_reset(void *arg, struct vpt_stream *s, const char *why)
{
	struct end *e = arg;

	e->resets++;
	snprintf(e->why, sizeof(e->why), "%s", why);
}

static int credited;

static void
on_credit(void *arg, struct vpt_stream *s)
{
	credited++;
}

static struct end *ce, *se;
static struct vptun *ct, *st;
static int64_t now;

static struct vptun *
mk(struct end *e, enum vpt_role role, int ext, struct vpt_config *over)
{
	struct vpt_config c;
	struct vpt_cb cb = { e, room, output, cb_accept, cb_established,
	    cb_deliver, cb_fin, cb_reset, NULL, cb_pending };

	memset(e, 0, sizeof(*e));
	e->limit = sizeof(e->out);
	vpt_config_default(&c, role);
	c.extended = ext;
	if (over != NULL) {
		over->role = role;
		c = *over;
	}
	return vpt_new(&c, &cb, now);
}

/* Moves everything a side wrote into the other. Returns -1 if one died. */
static int
pump(void)
{
	int r = 0, i;

	for (i = 0; i < 64 && (ce->len > 0 || se->len > 0); i++) {
		size_t n;

		vpt_flush(ct);
		vpt_flush(st);
		if ((n = ce->len) > 0) {
			ce->len = 0;
			if (vpt_input(st, ce->out, n, now) == -1)
				r = -1;
		}
		if ((n = se->len) > 0) {
			se->len = 0;
			if (vpt_input(ct, se->out, n, now) == -1)
				r = -1;
		}
	}
	return r;
}

static void
setup(void)
{
	ce = calloc(1, sizeof(*ce));
	se = calloc(1, sizeof(*se));
	now = 1000000;
	ct = st = NULL;
}

static void
teardown(void)
{
	vpt_free(ct);
	vpt_free(st);
	free(ce);
	free(se);
}

static void
pair(int cext, int sext)
{
	ct = mk(ce, VPT_CLIENT, cext, NULL);
	st = mk(se, VPT_SERVER, sext, NULL);
	ck_assert_int_eq(vpt_state(ct), VPT_HANDSHAKE_SENT);
	ck_assert_int_eq(vpt_state(st), VPT_INIT);
	pump();
}

/* Feeds raw hex frames into t. */
static int
feed(struct vptun *t, const char *hex)
{
	uint8_t b[512];
	size_t n = 0;
	unsigned v;

	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		ck_assert(sscanf(hex, "%2x", &v) == 1);
		b[n++] = (uint8_t)v;
		hex += 2;
	}
	return vpt_input(t, b, n, now);
}

/* The first frame an end wrote: type, flags, sid. */
static int
has_frame(struct end *e, uint8_t type, uint8_t flags, uint32_t sid)
{
	struct vpf_hdr h;
	size_t off = 0;

	while (off + VPF_HDRLEN <= e->len) {
		vpf_hdr_parse(e->out + off, &h);
		if (h.type == type && h.flags == flags && h.sid == sid)
			return 1;
		off += VPF_HDRLEN + h.len;
	}
	return 0;
}

static const char *
goaway_reason(struct end *e, char *buf, size_t n)
{
	struct vpf_hdr h;
	size_t off = 0;

	buf[0] = '\0';
	while (off + VPF_HDRLEN <= e->len) {
		vpf_hdr_parse(e->out + off, &h);
		if (h.type == VPF_GOAWAY && h.len >= 8) {
			snprintf(buf, n, "%.*s", (int)(h.len - 8),
			    (char *)e->out + off + VPF_HDRLEN + 8);
			return buf;
		}
		off += VPF_HDRLEN + h.len;
	}
	return buf;
}

/* ---- the state table */

#define O(x)	(VPS_OK | (x) << 8)
#define I	VPS_IGNORE
#define R	VPS_RESET
#define B	VPS_BUG

/* [role-1][state][event]: expected action, and next state for OK. */
static const int table[2][VPS_NSTATES][VPS_NEVENTS] = {
    { /* client. events: SEND_SYN RECV_SYN RECV_SYNACK SEND_DATA RECV_DATA
	 SEND_FIN RECV_FIN SEND_RST RECV_RST CLOSE */
	/* none */	{ O(VPS_SYN_SENT), I, I, B, I, B, I, B, I, O(VPS_REAL_CLOSED) },
	/* syn_sent */	{ B, I, O(VPS_ESTABLISHED), O(VPS_SYN_SENT), R,
			  O(VPS_DEAD), O(VPS_DEAD), O(VPS_DEAD), O(VPS_DEAD),
			  O(VPS_REAL_CLOSED) },
	/* estab */	{ B, I, I, O(VPS_ESTABLISHED), O(VPS_ESTABLISHED),
			  O(VPS_FIN_SENT), O(VPS_FIN_RECV), O(VPS_DEAD),
			  O(VPS_DEAD), O(VPS_REAL_CLOSED) },
	/* fin_sent */	{ B, I, I, B, O(VPS_FIN_SENT), B, O(VPS_DEAD),
			  O(VPS_DEAD), O(VPS_DEAD), O(VPS_REAL_CLOSED) },
	/* fin_recv */	{ B, I, I, O(VPS_FIN_RECV), R, O(VPS_DEAD), I,
			  O(VPS_DEAD), O(VPS_DEAD), O(VPS_REAL_CLOSED) },
	/* dead */	{ B, I, I, B, I, B, I, B, I, O(VPS_REAL_CLOSED) },
	/* closed */	{ B, B, B, B, B, B, B, B, B, B },
    },
    { /* server */
	/* none */	{ B, O(VPS_ESTABLISHED), I, B, I, B, I, B, I,
			  O(VPS_REAL_CLOSED) },
	/* syn_sent */	{ B, I, O(VPS_ESTABLISHED), O(VPS_SYN_SENT), R,
			  O(VPS_DEAD), O(VPS_DEAD), O(VPS_DEAD), O(VPS_DEAD),
			  O(VPS_REAL_CLOSED) },
	/* estab */	{ B, I, I, O(VPS_ESTABLISHED), O(VPS_ESTABLISHED),
			  O(VPS_FIN_SENT), O(VPS_FIN_RECV), O(VPS_DEAD),
			  O(VPS_DEAD), O(VPS_REAL_CLOSED) },
	/* fin_sent */	{ B, I, I, B, O(VPS_FIN_SENT), B, O(VPS_DEAD),
			  O(VPS_DEAD), O(VPS_DEAD), O(VPS_REAL_CLOSED) },
	/* fin_recv */	{ B, I, I, O(VPS_FIN_RECV), R, O(VPS_DEAD), I,
			  O(VPS_DEAD), O(VPS_DEAD), O(VPS_REAL_CLOSED) },
	/* dead */	{ B, I, I, B, I, B, I, B, I, O(VPS_REAL_CLOSED) },
	/* closed */	{ B, B, B, B, B, B, B, B, B, B },
    },
};

START_TEST(state_table)
{
	int role, s, e, want;
	enum vpt_sstate next;
	enum vpt_act a;

	for (role = 0; role < 2; role++)
		for (s = 0; s < VPS_NSTATES; s++)
			for (e = 0; e < VPS_NEVENTS; e++) {
				next = 99;
				a = vpt_stream_next(role + 1, s, e, &next);
				want = table[role][s][e];
				ck_assert_msg((int)a == (want & 0xff),
				    "role %d state %s event %d: action %d, "
				    "want %d", role + 1, vpt_sstate_name(s), e,
				    a, want & 0xff);
				if (a == VPS_OK)
					ck_assert_msg((int)next == want >> 8,
					    "role %d state %s event %d: next %s",
					    role + 1, vpt_sstate_name(s), e,
					    vpt_sstate_name(next));
				else
					ck_assert_int_eq(next, 99);
			}
	ck_assert_str_eq(vpt_sstate_name(VPS_FIN_RECV), "fin_recv");
	ck_assert_str_eq(vpt_tstate_name(VPT_HANDSHAKE_SENT), "handshake_sent");
}
END_TEST

/* ---- handshake */

START_TEST(handshake_plain)
{
	pair(0, 1);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	ck_assert_int_eq(vpt_state(st), VPT_READY);
	ck_assert(!vpt_extended(ct) && !vpt_extended(st));
}
END_TEST

START_TEST(handshake_extended)
{
	pair(1, 1);
	ck_assert(vpt_extended(ct) && vpt_extended(st));
}
END_TEST

START_TEST(handshake_refused)
{
	char buf[128];

	ct = mk(ce, VPT_CLIENT, 1, NULL);
	st = mk(se, VPT_SERVER, 0, NULL);	/* behaves like vproxy */
	pump();
	ck_assert_int_eq(vpt_state(st), VPT_DEAD);
	ck_assert_int_eq(vpt_state(ct), VPT_DEAD);
	ck_assert(vpt_ext_refused(ct));
	ck_assert(vpt_peer_goaway(ct));
	ck_assert_str_eq(vpt_reason(st), "handshake message is invalid");
	ck_assert(strstr(vpt_reason(ct), "handshake message is invalid") != NULL);
	(void)buf;
}
END_TEST

START_TEST(handshake_bad_first_frame)
{
	char buf[128];

	st = mk(se, VPT_SERVER, 1, NULL);
	ck_assert_int_eq(feed(st, "000000010000000001"), -1);
	ck_assert_str_eq(goaway_reason(se, buf, sizeof(buf)),
	    "handshake message is invalid");
	vpt_free(st);
	st = mk(se, VPT_SERVER, 1, NULL);
	ck_assert_int_eq(feed(st, "474554202f20485454"), -1);
	ck_assert_str_eq(vpt_reason(st), "handshake message is invalid");
	/* A client gets a non-empty SETTINGS it did not ask for. */
	ct = mk(ce, VPT_CLIENT, 0, NULL);
	ck_assert_int_eq(feed(ct, "00000604000000000000030000000a"), -1);
	ck_assert_str_eq(vpt_reason(ct), "unexpected SETTINGS parameters");
}
END_TEST

START_TEST(handshake_timeout)
{
	char buf[128];

	st = mk(se, VPT_SERVER, 1, NULL);
	ck_assert_int_eq(vpt_next_timeout(st, now), 5000);
	now += 4999;
	vpt_tick(st, now);
	ck_assert_int_eq(vpt_state(st), VPT_INIT);
	now += 1;
	ck_assert_int_eq(vpt_next_timeout(st, now), 0);
	vpt_tick(st, now);
	ck_assert_int_eq(vpt_state(st), VPT_DEAD);
	ck_assert_str_eq(goaway_reason(se, buf, sizeof(buf)), "handshake timeout");
}
END_TEST

START_TEST(settings_after_handshake)
{
	pair(0, 1);
	ck_assert_int_eq(feed(st, "000000040000000000"), -1);
	ck_assert_str_eq(vpt_reason(st), "SETTINGS after the handshake");
}
END_TEST

/* ---- streams */

static struct vpt_stream *
open_one(void)
{
	struct vpt_stream *s = vpt_open(ct, NULL);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->state, VPS_SYN_SENT);
	pump();
	ck_assert_int_eq(s->state, VPS_ESTABLISHED);
	return s;
}

static void
send_bytes(struct vptun *t, struct vpt_stream *s, const char *p, size_t n)
{
	uint8_t f[VPF_HDRLEN + 65536];

	memcpy(f + VPF_HDRLEN, p, n);
	ck_assert_int_eq(vpt_send(t, s, f, n), 0);
}

START_TEST(stream_lifecycle)
{
	struct vpt_stream *c, *s;

	pair(1, 1);
	ck_assert_ptr_null(vpt_open(st, NULL));		/* servers never open */
	c = open_one();
	ck_assert_uint_eq(c->id, 1);
	ck_assert_int_eq(se->accepted, 1);
	ck_assert_int_eq(ce->established, 1);
	s = se->last;
	send_bytes(ct, c, "hello", 5);
	send_bytes(st, s, "world!", 6);
	pump();
	ck_assert_uint_eq(se->ngot, 5);
	ck_assert_uint_eq(ce->ngot, 6);
	ck_assert(memcmp(ce->got, "world!", 6) == 0);
	/* half-close one way, data still flows the other */
	ck_assert_int_eq(vpt_send_fin(ct, c), 0);
	pump();
	ck_assert_int_eq(c->state, VPS_FIN_SENT);
	ck_assert_int_eq(s->state, VPS_FIN_RECV);
	ck_assert_int_eq(se->fins, 1);
	ck_assert_uint_eq(vpt_send_room(ct, c), 0);
	send_bytes(st, s, "more", 4);
	pump();
	ck_assert_uint_eq(ce->ngot, 10);
	ck_assert_int_eq(vpt_send_fin(st, s), 0);
	pump();
	ck_assert_int_eq(c->state, VPS_DEAD);
	ck_assert_int_eq(s->state, VPS_DEAD);
	ck_assert_int_eq(vpt_send_fin(st, s), -1);
	vpt_release(ct, c);
	vpt_release(st, s);
	ck_assert_uint_eq(vpt_nstreams(ct), 0);
	ck_assert_uint_eq(vpt_nstreams(st), 0);
	/* the next stream gets id 3 */
	c = open_one();
	ck_assert_uint_eq(c->id, 3);
}
END_TEST

/* A client may send before the SYN-ACK: the server has the stream. */
START_TEST(stream_pipelined)
{
	struct vpt_stream *c;

	pair(1, 1);
	c = vpt_open(ct, NULL);
	ck_assert_int_eq(c->state, VPS_SYN_SENT);
	ck_assert_uint_gt(vpt_send_room(ct, c), 0);
	send_bytes(ct, c, "early", 5);
	pump();
	ck_assert_int_eq(se->accepted, 1);
	ck_assert_uint_eq(se->ngot, 5);
	ck_assert(memcmp(se->got, "early", 5) == 0);
	ck_assert_int_eq(c->state, VPS_ESTABLISHED);
}
END_TEST

START_TEST(stream_rst)
{
	struct vpt_stream *c;

	pair(0, 1);
	c = open_one();
	vpt_release(st, se->last);		/* server side closes: RST */
	pump();
	ck_assert_int_eq(c->state, VPS_DEAD);
	ck_assert_int_eq(ce->resets, 1);
	ck_assert_str_eq(ce->why, "reset by peer");
	/* an echoed RST and late DATA for a dead stream are ignored */
	ck_assert_int_eq(feed(ct, "000000010100000001"), 0);
	ck_assert_int_eq(feed(ct, "000002000000000001 6869"), 0);
	ck_assert_int_eq(ce->resets, 1);
	ck_assert_uint_eq(ce->ngot, 0);
	vpt_release(ct, c);
	ck_assert_uint_eq(ce->len, 0);		/* dead: no RST sent again */
}
END_TEST

START_TEST(server_refuses)
{
	pair(0, 1);
	se->accept_ret = -1;
	(void)vpt_open(ct, NULL);
	pump();
	ck_assert_int_eq(ce->resets, 1);
	ck_assert_uint_eq(vpt_nstreams(st), 0);
}
END_TEST

/* Frames where they are not expected, on a client. */
START_TEST(unexpected_client)
{
	struct vpt_stream *c;

	ct = mk(ce, VPT_CLIENT, 0, NULL);
	ck_assert_int_eq(feed(ct, "000000040000000000"), 0);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	c = vpt_open(ct, NULL);
	ce->len = 0;
	/* DATA before SYN-ACK: the stream is reset */
	ck_assert_int_eq(feed(ct, "000002000000000001 6869"), 0);
	ck_assert_int_eq(c->state, VPS_DEAD);
	ck_assert(has_frame(ce, VPF_HEADERS, VPF_F_END, 1));
	ck_assert_str_eq(ce->why, "unexpected DATA");
	vpt_release(ct, c);
	/* SYN-ACK for an unknown stream, DATA/FIN/RST for one: dropped */
	ce->len = 0;
	ck_assert_int_eq(feed(ct, "000000010000000007"), 0);
	ck_assert_int_eq(feed(ct, "000002000000000007 6869"), 0);
	ck_assert_int_eq(feed(ct, "000000000100000007"), 0);
	ck_assert_int_eq(feed(ct, "000000010100000007"), 0);
	ck_assert_uint_eq(ce->len, 0);
	/* established stream: duplicate SYN-ACK ignored; FIN; duplicate FIN;
	 * then DATA after FIN resets */
	c = vpt_open(ct, NULL);
	ck_assert_int_eq(feed(ct, "000000010000000003"), 0);
	ck_assert_int_eq(c->state, VPS_ESTABLISHED);
	ck_assert_int_eq(feed(ct, "000000010000000003"), 0);
	ck_assert_int_eq(ce->established, 1);
	ck_assert_int_eq(feed(ct, "000000000100000003"), 0);
	ck_assert_int_eq(c->state, VPS_FIN_RECV);
	ck_assert_int_eq(feed(ct, "000000000100000003"), 0);
	ck_assert_int_eq(c->state, VPS_FIN_RECV);
	ck_assert_int_eq(ce->fins, 1);
	ce->len = 0;
	ck_assert_int_eq(feed(ct, "000002000000000003 6869"), 0);
	ck_assert_int_eq(c->state, VPS_DEAD);
	ck_assert(has_frame(ce, VPF_HEADERS, VPF_F_END, 3));
	/* PSH-FIN: data and FIN in one frame */
	c = vpt_open(ct, NULL);
	ck_assert_int_eq(feed(ct, "000000010000000005 000003000100000005 616263"), 0);
	ck_assert_int_eq(c->state, VPS_FIN_RECV);
	ck_assert_uint_eq(ce->ngot, 3);
}
END_TEST

/* vproxy gzips DATA payloads over 1 KiB (flag 0x4): they are inflated. */
START_TEST(gzip_data)
{
	static uint8_t plain[50000], frame[VPF_HDRLEN + 60000];
	z_stream z;
	struct vpt_stream *c;
	size_t n, i, off;
	int k;

	for (i = 0; i < sizeof(plain); i++)
		plain[i] = "vproxy tunnel "[i % 14] + (i / 1000) % 3;
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = plain;
	z.avail_in = sizeof(plain);
	z.next_out = frame + VPF_HDRLEN;
	z.avail_out = sizeof(frame) - VPF_HDRLEN;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	ck_assert_uint_lt(n, sizeof(plain));
	vpf_hdr_put(frame, n, VPF_DATA, VPF_F_GZIP, 1);

	ct = mk(ce, VPT_CLIENT, 0, NULL);
	feed(ct, "000000040000000000");
	c = vpt_open(ct, NULL);
	feed(ct, "000000010000000001");
	/* Twice, in odd-sized pieces: the inflater is reused per frame. */
	for (k = 0; k < 2; k++) {
		for (off = 0; off < VPF_HDRLEN + n; off += 7)
			ck_assert_int_eq(vpt_input(ct, frame + off,
			    off + 7 > VPF_HDRLEN + n ? VPF_HDRLEN + n - off : 7,
			    now), 0);
		ck_assert_uint_eq(ce->ngot, (k + 1) * sizeof(plain));
		ck_assert(memcmp(ce->got + k * sizeof(plain), plain,
		    sizeof(plain)) == 0);
	}
	/* Trailing bytes after the member: fatal. */
	frame[2] = (n + 1) & 0xff;
	frame[1] = (n + 1) >> 8;
	frame[VPF_HDRLEN + n] = 0;
	ck_assert_int_eq(vpt_input(ct, frame, VPF_HDRLEN + n + 1, now), -1);
	ck_assert_str_eq(vpt_reason(ct), "bad compressed DATA");
	ck_assert_int_eq(c->state, VPS_DEAD);
	/* A member cut short or not gzip at all: fatal. */
	vpt_free(ct);
	ct = mk(ce, VPT_CLIENT, 0, NULL);
	feed(ct, "000000040000000000");
	(void)vpt_open(ct, NULL);
	feed(ct, "000000010000000001");
	ck_assert_int_eq(feed(ct, "000002000400000001 1f8b"), -1);
	ck_assert_str_eq(vpt_reason(ct), "bad compressed DATA");
	vpt_free(ct);
	ct = mk(ce, VPT_CLIENT, 0, NULL);
	feed(ct, "000000040000000000");
	(void)vpt_open(ct, NULL);
	feed(ct, "000000010000000001");
	ck_assert_int_eq(feed(ct, "000004000400000001 68656c6c"), -1);
}
END_TEST

/* Extended mode: a gzip member inflating past the stream window (fuzz). */
START_TEST(gzip_bomb_extended)
{
	static uint8_t zeros[256 * 1024], frame[VPF_HDRLEN + 4096];
	struct vpt_config c;
	z_stream z;
	size_t n;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zeros;
	z.avail_in = sizeof(zeros);
	z.next_out = frame + VPF_HDRLEN;
	z.avail_out = sizeof(frame) - VPF_HDRLEN;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	vpf_hdr_put(frame, n, VPF_DATA, VPF_F_GZIP, 1);
	vpt_config_default(&c, VPT_SERVER);
	c.stream_window = 4096;
	st = mk(se, VPT_SERVER, 1, &c);
	se->deliver_stall = 1;
	ck_assert_int_eq(feed(st, "00000c040000000000 f0e100000001 f0e200010000"), 0);
	ck_assert(vpt_extended(st));
	ck_assert_int_eq(feed(st, "000000010000000001"), 0);
	ck_assert_int_eq(vpt_input(st, frame, VPF_HDRLEN + n, now), 0);
	ck_assert_uint_le(vpt_buffered(st), 4096);
	ck_assert_int_eq(se->resets, 1);
	ck_assert_str_eq(se->why, "receive buffer limit exceeded");
}
END_TEST

/* A GOAWAY after a control frame the link took only part of (fuzz). */
START_TEST(goaway_after_partial_frame)
{
	struct vpt_stream *c;
	struct vpf_dec d;
	struct vpf_event ev;
	size_t off = 0, used;
	int frames = 0;

	pair(1, 1);
	c = open_one();
	ce->len = 0;
	ce->limit = 5;			/* the FIN is queued, 5 bytes go out */
	ck_assert_int_eq(vpt_send_fin(ct, c), 0);
	vpt_flush(ct);
	ck_assert_uint_eq(ce->len, 5);
	vpt_goaway(ct, "bye");
	ce->limit = sizeof(ce->out);
	vpt_flush(ct);
	vpf_dec_init(&d, VPF_LENMAX);
	while (off < ce->len) {
		used = vpf_dec_feed(&d, ce->out + off, ce->len - off, &ev);
		off += used;
		ck_assert_int_ne(ev.kind, VPF_EV_ERROR);
		if (ev.kind == VPF_EV_NONE)
			break;
		frames++;
	}
	ck_assert_int_eq(frames, 2);		/* FIN, then GOAWAY */
	ck_assert_int_eq(ev.h.type, VPF_GOAWAY);
}
END_TEST

/* Frames where they are not expected, on a server. */
START_TEST(unexpected_server)
{
	char buf[128];

	st = mk(se, VPT_SERVER, 1, NULL);
	ck_assert_int_eq(feed(st, "000000040000000000"), 0);
	ck_assert_int_eq(feed(st, "000000010000000001"), 0);
	ck_assert_int_eq(se->accepted, 1);
	se->len = 0;
	/* duplicate SYN: ignored, no second SYN-ACK */
	ck_assert_int_eq(feed(st, "000000010000000001"), 0);
	ck_assert_uint_eq(se->len, 0);
	ck_assert_int_eq(se->accepted, 1);
	/* RST for unknown ignored */
	ck_assert_int_eq(feed(st, "000000010100000009"), 0);
	ck_assert_uint_eq(se->len, 0);
	/* a stream id going backwards */
	ck_assert_int_eq(feed(st, "000000010000000005"), 0);
	ck_assert_int_eq(feed(st, "000000010000000003"), -1);
	ck_assert_str_eq(goaway_reason(se, buf, sizeof(buf)),
	    "SYN with a stream id not above the last");
	ck_assert_int_eq(se->resets, 2);	/* both streams reset */
}
END_TEST

START_TEST(window_update_plain_fatal)
{
	pair(0, 1);
	ck_assert_int_eq(feed(st, "000004080000000000 00001000"), -1);
	ck_assert_str_eq(vpt_reason(st), "unexpected frame type");
}
END_TEST

START_TEST(goaway_received)
{
	struct vpt_stream *a, *b;

	pair(1, 1);
	a = open_one();
	b = open_one();
	ck_assert_int_eq(feed(ct, "00000b070000000000 ffffffffffffffff 627965"), -1);
	ck_assert(vpt_peer_goaway(ct));
	ck_assert_str_eq(vpt_reason(ct), "peer sent GOAWAY: bye");
	ck_assert_int_eq(a->state, VPS_DEAD);
	ck_assert_int_eq(b->state, VPS_DEAD);
	ck_assert_int_eq(ce->resets, 2);
	ck_assert_uint_eq(ce->len, 0);		/* no reply to a GOAWAY */
	ck_assert_ptr_null(vpt_open(ct, NULL));
	/* short GOAWAY */
	ck_assert_int_eq(feed(st, "000000070000000000"), -1);
	ck_assert_str_eq(vpt_reason(st), "peer sent GOAWAY");
}
END_TEST

/* ---- flow control */

START_TEST(flow_stalled_reader)
{
	struct vpt_stream *c, *c2, *s;
	uint8_t f[VPF_HDRLEN + 65536];
	size_t sent = 0, r, win = 512 * 1024;
	int i;

	pair(1, 1);
	c = open_one();
	s = se->last;
	se->deliver_stall = 1;
	/* The sender stops at exactly one stream window. */
	for (i = 0; i < 1000 && (r = vpt_send_room(ct, c)) > 0; i++) {
		memset(f + VPF_HDRLEN, 'a', r);
		ck_assert_int_eq(vpt_send(ct, c, f, r), 0);
		sent += r;
		pump();
	}
	ck_assert_uint_eq(sent, win);
	ck_assert(vpt_send_ok(ct));		/* the tunnel could, the stream not */
	ck_assert_uint_eq(vpt_send_room(ct, c), 0);
	credited = 0;
	vpt_on_credit(ct, on_credit);
	ck_assert_uint_eq(vpt_buffered(st), win);
	ck_assert_uint_eq(s->rlen, win);
	/* Another stream is not blocked by the stalled one. */
	se->deliver_stall = 0;
	c2 = open_one();
	se->deliver_stall = 1;
	ck_assert_uint_gt(vpt_send_room(ct, c2), 0);
	/* Consuming returns credit. */
	vpt_consume(st, s, win);
	ck_assert_ptr_null(s->rbuf);		/* freed when empty */
	pump();
	ck_assert_uint_gt(vpt_send_room(ct, c), 0);
	ck_assert_int_eq(credited, 1);		/* told once, when it came back */
	ce->limit = ce->len + 5;
	ck_assert(!vpt_send_ok(ct));		/* no link room */
	ce->limit = sizeof(ce->out);
	(void)c2;
}
END_TEST

/* Fills c until its stream credit runs out; returns the bytes sent. */
static size_t
fill_stream(struct vpt_stream *c, size_t max)
{
	uint8_t f[VPF_HDRLEN + 65536];
	size_t sent = 0, r;
	int i;

	for (i = 0; i < 10000 && sent < max &&
	    (r = vpt_send_room(ct, c)) > 0; i++) {
		if (r > max - sent)
			r = max - sent;
		memset(f + VPF_HDRLEN, 'b', r);
		ck_assert_int_eq(vpt_send(ct, c, f, r), 0);
		sent += r;
		ck_assert_int_eq(pump(), 0);
	}
	return sent;
}

/* Opens a stream whose server-side reader stalls and fills it. */
static struct vpt_stream *
open_stalled(struct vpt_stream **srv)
{
	struct vpt_stream *c = open_one();

	*srv = se->last;
	(*srv)->user = STALL;
	ck_assert_uint_eq(fill_stream(c, SIZE_MAX), 64 * 1024);
	return c;
}

/*
 * Stalled readers block the other streams only once their buffers hold
 * the whole tunnel window; closing them gives the credit back (their
 * unread bytes count as consumed), or the tunnel stalled for good.
 */
START_TEST(flow_stalled_many)
{
	struct vpt_config c;
	struct vpt_stream *srv[4], *a;
	int i;

	vpt_config_default(&c, VPT_SERVER);
	c.stream_window = 64 * 1024;
	c.tunnel_window = 256 * 1024;
	ct = mk(ce, VPT_CLIENT, 1, NULL);
	st = mk(se, VPT_SERVER, 1, &c);
	ck_assert_int_eq(pump(), 0);
	for (i = 0; i < 3; i++)
		(void)open_stalled(&srv[i]);
	ck_assert_uint_eq(vpt_buffered(st), 3 * 64 * 1024);
	/* Three of four windows stalled: another stream moves 1 MiB. */
	a = open_one();
	ck_assert_uint_eq(fill_stream(a, 1024 * 1024), 1024 * 1024);
	ck_assert_uint_eq(se->ngot, 1024 * 1024);
	vpt_release(ct, a);
	ck_assert_int_eq(pump(), 0);
	vpt_release(st, se->last);
	ck_assert_int_eq(pump(), 0);
	/* A fourth fills the tunnel window: now everything waits. */
	(void)open_stalled(&srv[3]);
	ck_assert_uint_eq(vpt_buffered(st), 256 * 1024);
	a = open_one();
	ck_assert_uint_eq(vpt_send_room(ct, a), 0);
	/* The stalled readers go away: their buffers' credit comes back. */
	for (i = 0; i < 4; i++)
		vpt_release(st, srv[i]);
	ck_assert_int_eq(pump(), 0);
	ck_assert_uint_eq(vpt_buffered(st), 0);
	se->ngot = 0;
	ck_assert_uint_eq(fill_stream(a, 1024 * 1024), 1024 * 1024);
	ck_assert_uint_eq(se->ngot, 1024 * 1024);
}
END_TEST

/* Ids run out: ENOSPC, the tunnel itself stays usable (the program moves on). */
START_TEST(sids_exhausted)
{
	struct vpt_config c;
	struct vpt_stream *a;

	vpt_config_default(&c, VPT_CLIENT);
	c.first_sid = VPF_SIDMAX - 2;
	ct = mk(ce, VPT_CLIENT, 1, &c);
	st = mk(se, VPT_SERVER, 1, NULL);
	ck_assert_int_eq(pump(), 0);
	a = open_one();
	ck_assert_uint_eq(a->id, VPF_SIDMAX - 2);
	ck_assert_uint_eq(open_one()->id, VPF_SIDMAX);
	errno = 0;
	ck_assert_ptr_null(vpt_open(ct, NULL));
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	send_bytes(ct, a, "x", 1);
	ck_assert_int_eq(pump(), 0);
	ck_assert_uint_eq(se->ngot, 1);
}
END_TEST

START_TEST(flow_overrun_fatal)
{
	struct vpt_config c;
	char buf[128];

	vpt_config_default(&c, VPT_SERVER);
	c.stream_window = 4096;
	st = mk(se, VPT_SERVER, 1, &c);
	ck_assert_int_eq(feed(st, "00000c040000000000 f0e100000001 f0e200010000"), 0);
	ck_assert(vpt_extended(st));
	ck_assert_int_eq(feed(st, "000000010000000001"), 0);
	se->len = 0;
	ck_assert_int_eq(feed(st, "002000000000000001 00"), -1);
	ck_assert_str_eq(goaway_reason(se, buf, sizeof(buf)),
	    "stream flow-control window exceeded");
}
END_TEST

START_TEST(plain_buffer_cap)
{
	struct vpt_stream *c;
	uint8_t f[VPF_HDRLEN + 65536];
	size_t r;
	int i;

	pair(0, 1);
	c = open_one();
	se->deliver_stall = 1;
	/* Plain mode: no credit, the sender is limited by the link only. */
	for (i = 0; i < 100 && c->state == VPS_ESTABLISHED; i++) {
		r = vpt_send_room(ct, c);
		ck_assert_uint_gt(r, 0);
		ck_assert_int_eq(vpt_send(ct, c, f, r), 0);
		pump();
	}
	ck_assert_int_eq(c->state, VPS_DEAD);
	ck_assert_int_eq(se->resets, 1);
	ck_assert_str_eq(se->why, "receive buffer limit exceeded");
	ck_assert_uint_le(vpt_buffered(st), 2 * 1024 * 1024);
}
END_TEST

/* ---- limits */

START_TEST(limit_streams)
{
	struct vpt_config c;
	struct vpt_stream *a;

	vpt_config_default(&c, VPT_SERVER);
	c.max_streams = 2;
	ct = mk(ce, VPT_CLIENT, 1, NULL);
	st = mk(se, VPT_SERVER, 1, &c);
	pump();
	a = open_one();
	(void)open_one();
	/* The client honours the peer's limit. */
	ck_assert_ptr_null(vpt_open(ct, NULL));
	/* A dead stream no longer counts. */
	vpt_send_rst(ct, a);
	pump();
	ck_assert_ptr_nonnull(vpt_open(ct, NULL));
	/* Raw: a peer ignoring the limit gets GOAWAY. */
	vpt_free(st);
	st = mk(se, VPT_SERVER, 1, &c);
	feed(st, "00000c040000000000 f0e100000001 f0e200010000");
	feed(st, "000000010000000001 000000010000000003");
	ck_assert_int_eq(feed(st, "000000010000000005"), -1);
	ck_assert_str_eq(vpt_reason(st), "too many concurrent streams");
	/* Plain mode: the extra stream gets RST, the tunnel lives. */
	vpt_free(st);
	st = mk(se, VPT_SERVER, 1, &c);
	feed(st, "000000040000000000 000000010000000001 000000010000000003");
	se->len = 0;
	ck_assert_int_eq(feed(st, "000000010000000005"), 0);
	ck_assert(has_frame(se, VPF_HEADERS, VPF_F_END, 5));
}
END_TEST

START_TEST(limit_frame)
{
	struct vpt_config c;

	vpt_config_default(&c, VPT_SERVER);
	c.max_frame = 16384;
	st = mk(se, VPT_SERVER, 1, &c);
	feed(st, "000000040000000000 000000010000000001");
	ck_assert_int_eq(feed(st, "004001000000000001"), -1);
	ck_assert_str_eq(vpt_reason(st), "frame too large");
}
END_TEST

/* ---- keepalive on a fake clock (vproxy's rules) */

START_TEST(keepalive_fresh_fails_first_loss)
{
	char buf[128];

	pair(0, 1);
	ck_assert_int_eq(vpt_next_timeout(ct, now), 10000);
	now += 10000;
	vpt_tick(ct, now);
	ck_assert(has_frame(ce, VPF_PING, 0, 0));
	ck_assert_int_eq(vpt_next_timeout(ct, now), 5000);
	ce->len = 0;				/* the PING is lost */
	now += 5000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_DEAD);
	ck_assert_str_eq(goaway_reason(ce, buf, sizeof(buf)),
	    "keepalive response timeout");
}
END_TEST

START_TEST(keepalive_no_ping_when_busy)
{
	pair(0, 1);
	now += 10000;
	/* Something was read 1 s ago: not idle, no PING. */
	feed(ct, "000008060000000000 0000000000000063");
	ce->len = 0;
	now += 0;
	vpt_tick(ct, now);
	ck_assert(!has_frame(ce, VPF_PING, 0, 0));
}
END_TEST

/*
 * Plain mode, a bulk upload over a slow link: nothing is read back, but
 * the link still holds data to send: a PING would wait behind it and
 * miss its deadline, so none goes until the link has drained.
 */
START_TEST(keepalive_no_ping_while_link_busy)
{
	pair(0, 1);
	ce->len = 0;
	ce->pending = 4 * 1024 * 1024;
	now += 10000;
	vpt_tick(ct, now);
	ck_assert(!has_frame(ce, VPF_PING, 0, 0));
	now += 10000;
	vpt_tick(ct, now);
	ck_assert(!has_frame(ce, VPF_PING, 0, 0));
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	/* Drained: the next tick pings. */
	ce->pending = 0;
	now += 10000;
	vpt_tick(ct, now);
	ck_assert(has_frame(ce, VPF_PING, 0, 0));
}
END_TEST

/*
 * A link that takes nothing while bytes wait for it (a peer that stopped
 * reading, or a dead one behind a full window) gets no PING, so the
 * stall itself ends the tunnel: a period plus the keepalive timeout
 * after the first tick that saw it. Progress in between starts over.
 */
START_TEST(keepalive_stalled_link_fails)
{
	pair(0, 1);
	ce->len = 0;
	ce->pending = 65536;
	now += 10000;
	vpt_tick(ct, now);			/* the stall seen */
	now += 10000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	/* the link moved: the count starts over */
	send_bytes(ct, open_one(), "x", 1);
	now += 10000;
	vpt_tick(ct, now);
	now += 10000;
	vpt_tick(ct, now);			/* seen again */
	now += 10000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	now += 10000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_DEAD);
	ck_assert_str_eq(vpt_reason(ct), "link stalled: the peer takes nothing");
}
END_TEST

/*
 * A PING whose answer is late while the link keeps taking our bytes is
 * queued behind them, not lost: its deadline moves. Once the link stops
 * taking bytes, a fresh tunnel fails on it. And a tunnel that wrote
 * since the last tick is not idle: no PING.
 */
START_TEST(keepalive_slow_link_extends)
{
	struct vpt_stream *c;

	pair(0, 1);
	c = open_one();
	now += 10000;
	send_bytes(ct, c, "x", 1);
	ce->len = 0;
	vpt_tick(ct, now);
	ck_assert(!has_frame(ce, VPF_PING, 0, 0));	/* wrote: not idle */
	now += 10000;
	vpt_tick(ct, now);
	ck_assert(has_frame(ce, VPF_PING, 0, 0));
	ce->len = 0;					/* the answer is late */
	send_bytes(ct, c, "y", 1);
	ce->len = 0;
	now += 5000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);	/* link moving */
	now += 5000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_DEAD);	/* stuck: lost */
	ck_assert_str_eq(vpt_reason(ct), "keepalive response timeout");
}
END_TEST

START_TEST(keepalive_warm_survives_two_losses)
{
	int i;

	pair(0, 1);
	/* Two answered PINGs warm the tunnel up (success = 2). */
	for (i = 0; i < 2; i++) {
		now += 10000;
		vpt_tick(ct, now);
		pump();				/* server answers */
	}
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	/* Now the peer goes silent: lost PINGs 1 and 2 are survived. */
	for (i = 0; i < 2; i++) {
		now += 10000;
		vpt_tick(ct, now);
		ce->len = 0;
		now += 5000;
		vpt_tick(ct, now);
		ck_assert_int_eq(vpt_state(ct), VPT_READY);
		now -= 5000;
	}
	now += 10000;
	vpt_tick(ct, now);
	ce->len = 0;
	now += 5000;
	vpt_tick(ct, now);
	ck_assert_int_eq(vpt_state(ct), VPT_DEAD);
	ck_assert_str_eq(vpt_reason(ct), "keepalive response timeout");
}
END_TEST

START_TEST(ping_answered)
{
	pair(0, 1);
	se->len = 0;
	ck_assert_int_eq(feed(st, "000008060000000000 0102030405060708"), 0);
	ck_assert_uint_eq(se->len, 17);
	ck_assert(has_frame(se, VPF_PING, VPF_F_ACK, 0));
	ck_assert(memcmp(se->out + 9, "\1\2\3\4\5\6\7\10", 8) == 0);
	/* short PING: consumed and ignored; long: first 8 bytes used */
	se->len = 0;
	ck_assert_int_eq(feed(st, "000004060000000000 01020304"), 0);
	ck_assert_uint_eq(se->len, 0);
	ck_assert_int_eq(feed(st, "00000a060000000000 01020304050607080909"), 0);
	ck_assert_uint_eq(se->len, 17);
	/* unknown ACK id: only a notice */
	ck_assert_int_eq(feed(st, "000008060100000000 0000000000000063"), 0);
	ck_assert_int_eq(vpt_state(st), VPT_READY);
}
END_TEST

/* Output queued while the link is full keeps frame order. */
START_TEST(backpressure_order)
{
	struct vpt_stream *c;

	pair(0, 1);
	c = open_one();
	ce->limit = ce->len + 4;		/* link nearly full */
	ck_assert_uint_eq(vpt_send_room(ct, c), 0);
	ck_assert_int_eq(vpt_send_fin(ct, c), 0);	/* queued */
	ck_assert_uint_eq(vpt_flush(ct), 5);	/* 4 bytes fit */
	ce->limit = sizeof(ce->out);
	ck_assert_uint_eq(vpt_flush(ct), 0);
	pump();
	ck_assert_int_eq(se->fins, 1);
}
END_TEST

/*
 * A peer that stops reading the link: local connect+close in a loop
 * queued a SYN and an RST each, without bound. The control queue
 * stays bounded (vpt_open refuses with ENOBUFS above its cap; the RST
 * of a stream whose SYN never left takes the SYN back), and an
 * established stream's data is intact once the link moves again.
 */
static void
ctlq_bounded(int ext)
{
	static struct vpt_stream *held[20000];
	struct vpt_stream *c, *s;
	size_t nheld = 0, q;
	int i, refused = 0;

	pair(ext, ext);
	c = open_one();
	ce->limit = ce->len;			/* the peer stops reading */
	ck_assert_uint_eq(vpt_send_room(ct, c), 0);
	for (i = 0; i < 200000; i++) {
		if ((s = vpt_open(ct, NULL)) == NULL) {
			ck_assert_int_eq(errno, ENOBUFS);
			refused++;
			continue;
		}
		vpt_release(ct, s);
	}
	q = vpt_flush(ct);
	ck_assert_uint_lt(q, 64 * 1024);
	/* Held open, then closed: their SYNs are not at the tail. */
	for (i = 0; i < 20000; i++) {
		if ((s = vpt_open(ct, NULL)) == NULL) {
			ck_assert_int_eq(errno, ENOBUFS);
			refused++;
			continue;
		}
		held[nheld++] = s;
	}
	ck_assert_int_gt(refused, 0);
	while (nheld > 0)
		vpt_release(ct, held[--nheld]);
	q = vpt_flush(ct);
	ck_assert_uint_lt(q, 128 * 1024);
	/* The link moves again: the established stream still works. */
	ce->limit = sizeof(ce->out);
	ck_assert_int_eq(pump(), 0);
	ck_assert_uint_eq(vpt_flush(ct), 0);
	send_bytes(ct, c, "hello", 5);
	ck_assert_int_eq(pump(), 0);
	ck_assert_uint_eq(se->ngot, 5);
	ck_assert(memcmp(se->got, "hello", 5) == 0);
	ck_assert_int_eq(vpt_state(ct), VPT_READY);
	ck_assert_int_eq(vpt_state(st), VPT_READY);
	ck_assert_ptr_nonnull(s = vpt_open(ct, NULL));
	ck_assert_int_eq(pump(), 0);
	ck_assert_int_eq(s->state, VPS_ESTABLISHED);
}

START_TEST(ctlq_bounded_plain)
{
	ctlq_bounded(0);
}
END_TEST

START_TEST(ctlq_bounded_extended)
{
	ctlq_bounded(1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vptunnel");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, state_table);
	tcase_add_test(tc, handshake_plain);
	tcase_add_test(tc, handshake_extended);
	tcase_add_test(tc, handshake_refused);
	tcase_add_test(tc, handshake_bad_first_frame);
	tcase_add_test(tc, handshake_timeout);
	tcase_add_test(tc, settings_after_handshake);
	tcase_add_test(tc, stream_lifecycle);
	tcase_add_test(tc, stream_pipelined);
	tcase_add_test(tc, stream_rst);
	tcase_add_test(tc, server_refuses);
	tcase_add_test(tc, unexpected_client);
	tcase_add_test(tc, unexpected_server);
	tcase_add_test(tc, gzip_data);
	tcase_add_test(tc, gzip_bomb_extended);
	tcase_add_test(tc, goaway_after_partial_frame);
	tcase_add_test(tc, window_update_plain_fatal);
	tcase_add_test(tc, goaway_received);
	tcase_add_test(tc, flow_stalled_reader);
	tcase_add_test(tc, flow_stalled_many);
	tcase_add_test(tc, sids_exhausted);
	tcase_add_test(tc, flow_overrun_fatal);
	tcase_add_test(tc, plain_buffer_cap);
	tcase_add_test(tc, limit_streams);
	tcase_add_test(tc, limit_frame);
	tcase_add_test(tc, keepalive_fresh_fails_first_loss);
	tcase_add_test(tc, keepalive_no_ping_when_busy);
	tcase_add_test(tc, keepalive_no_ping_while_link_busy);
	tcase_add_test(tc, keepalive_slow_link_extends);
	tcase_add_test(tc, keepalive_stalled_link_fails);
	tcase_add_test(tc, keepalive_warm_survives_two_losses);
	tcase_add_test(tc, ping_answered);
	tcase_add_test(tc, backpressure_order);
	tcase_add_test(tc, ctlq_bounded_plain);
	tcase_add_test(tc, ctlq_bounded_extended);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
