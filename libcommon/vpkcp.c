/*
 * vpkcp: KCP written for vp (see vpkcp.h and wire-spec.md Part 2).
 *
 * Send side: a ring of slots indexed by sn & smask.  Bytes given to
 * vpkcp_send() are cut into mss-sized segments that get their sn at
 * once; [snd_una, snd_nxt) have been sent and wait for an ACK,
 * [snd_nxt, snd_end) are queued.  Only the last queued segment is ever
 * topped up, so assigning sn early is the same as ikcp assigning it
 * when the segment enters snd_buf.
 *
 * Message mode (vpkcp_send_msg/vpkcp_recv_msg) uses the same rings:
 * a message's segments are sealed (never topped up) and carry frg
 * counting down to 0; the receiver hands over whole messages.
 *
 * Receive side: a ring indexed by sn & rmask covering
 * [rd_sn, rd_sn + rcvwnd).  [rd_sn, rcv_nxt) is in order and readable
 * (ikcp's rcv_queue), the rest holds out-of-order segments (rcv_buf).
 * The advertised window is rcvwnd - (rcv_nxt - rd_sn), so a peer that
 * honours it never sends past the ring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpkcp.h"

#define RTO_MAX		60000
#define PROBE_INIT	500
#define PROBE_LIMIT	120000
#define THRESH_MIN	2
#define ASK_SEND	1
#define ASK_TELL	2
#define IDLE_CHECK	1000

struct sslot {
	uint32_t	ts;
	uint32_t	resendts;
	uint32_t	rto;
	uint32_t	fastack;
	uint32_t	xmit;
	uint16_t	len;
	uint8_t		acked;
	uint8_t		frg;		/* message mode: fragments to follow */
	uint8_t		sealed;		/* message segment: never topped up */
	uint8_t		*data;
};

struct rslot {
	uint16_t	len;
	uint8_t		present;
	uint8_t		frg;
	uint8_t		*data;
};

struct vpkcp {
	uint32_t	conv;
	struct vpkcp_config cfg;
	uint32_t	mss;
	vpkcp_output_fn	*out;
	void		*arg;

	struct sslot	*snd;
	uint32_t	smask;
	uint32_t	snd_una, snd_nxt, snd_end;
	uint8_t		*sdata;

	struct rslot	*rcv;
	uint32_t	rmask, rslot_size;
	uint32_t	rcv_nxt, rd_sn, rd_off;
	size_t		rq_bytes;
	uint8_t		*rdata;

	uint32_t	(*acks)[2];
	size_t		nacks, ackcap;

	uint32_t	rmt_wnd, cwnd, ssthresh, incr;
	uint32_t	probe, probe_wait, ts_probe;
	int32_t		srtt, rttval;
	uint32_t	rx_rto;
	uint32_t	current, ts_flush;
	uint32_t	next_resend;	/* <= every pending resendts */
	int		have_resend;
	int		updated;
	int		dead;

	uint8_t		*obuf;
	size_t		olen;

	struct vpkcp_stats st;
};

static inline int32_t
diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * vpkcp_config_default()
 * kcptun's fast3 with large windows: nodelay 1, interval 10, resend 2,
 * nc 1, 1024/1024 segments, mtu 1350.
 */
void
vpkcp_config_default(struct vpkcp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->nodelay = 1;
	c->interval = 10;
	c->resend = 2;
	c->nc = 1;
	c->sndwnd = 1024;
	c->rcvwnd = 1024;
	c->mtu = 1350;
	c->minrto = 10;
	c->maxrto = 5000;
	c->deadlink = 20;
	c->fastlimit = 5;
}

/*
 * vpkcp_config_profile()
 * kcptun's modes (wire-spec.md 2.7).  Returns 0 or -1 (unknown name).
 */
int
vpkcp_config_profile(struct vpkcp_config *c, const char *name)
{
	static const struct {
		const char *name;
		int nodelay, interval, resend, nc;
	} p[] = {
		{ "normal", 0, 40, 2, 1 },
		{ "fast", 0, 30, 2, 1 },
		{ "fast2", 1, 20, 2, 1 },
		{ "fast3", 1, 10, 2, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		if (strcmp(name, p[i].name) != 0)
			continue;
		c->nodelay = p[i].nodelay;
		c->interval = p[i].interval;
		c->resend = p[i].resend;
		c->nc = p[i].nc;
		c->minrto = c->nodelay ? 10 : 100;
		return 0;
	}
	return -1;
}

/*
 * vpkcp_config_check()
 * Returns 0 if every knob is in range, else -1 with a reason.
 */
int
vpkcp_config_check(const struct vpkcp_config *c, char *err, size_t errlen)
{
	const char *what = NULL;

	if (c->nodelay < 0 || c->nodelay > 2)
		what = "nodelay must be 0, 1 or 2";
	else if (c->interval < 1 || c->interval > 5000)
		what = "interval must be 1..5000 ms";
	else if (c->resend < 0 || c->resend > 1000)
		what = "resend must be 0..1000";
	else if (c->nc < 0 || c->nc > 1)
		what = "nc must be 0 or 1";
	else if (c->sndwnd < 1 || c->sndwnd > VPKCP_WND_MAX)
		what = "sndwnd must be 1..32768";
	else if (c->rcvwnd < 1 || c->rcvwnd > VPKCP_WND_MAX)
		what = "rcvwnd must be 1..32768";
	else if (c->mtu < VPKCP_MTU_MIN || c->mtu > VPKCP_MTU_MAX)
		what = "mtu must be 64..65000";
	else if (c->minrto < 1 || c->minrto > RTO_MAX)
		what = "minrto must be 1..60000 ms";
	else if (c->maxrto < c->minrto || c->maxrto > RTO_MAX)
		what = "maxrto must be minrto..60000 ms";
	else if (c->deadlink < 1 || c->deadlink > 1000)
		what = "deadlink must be 1..1000";
	if (what == NULL)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", what);
	return -1;
}

/*
 * vpkcp_new()
 * Returns a new engine or NULL (errno EINVAL or ENOMEM).
 */
struct vpkcp *
vpkcp_new(uint32_t conv, const struct vpkcp_config *c, vpkcp_output_fn *out,
    void *arg, uint32_t now)
{
	struct vpkcp *k;
	uint32_t i, ns, nr;

	if (vpkcp_config_check(c, NULL, 0) == -1 || out == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->conv = conv;
	k->cfg = *c;
	k->mss = c->mtu - VPKCP_OVERHEAD;
	k->out = out;
	k->arg = arg;
	ns = pow2_at_least(2 * (uint32_t)c->sndwnd);
	nr = pow2_at_least((uint32_t)c->rcvwnd);
	k->smask = ns - 1;
	k->rmask = nr - 1;
	/* Accept segments from a peer with an MTU up to 1500 too. */
	k->rslot_size = k->mss > 1500 - VPKCP_OVERHEAD ? k->mss :
	    1500 - VPKCP_OVERHEAD;
	k->snd = calloc(ns, sizeof(*k->snd));
	k->rcv = calloc(nr, sizeof(*k->rcv));
	k->sdata = malloc((size_t)ns * k->mss);
	k->rdata = malloc((size_t)nr * k->rslot_size);
	k->ackcap = 2 * (size_t)c->rcvwnd + 128;
	k->acks = calloc(k->ackcap, sizeof(*k->acks));
	k->obuf = malloc(c->mtu);
	if (k->snd == NULL || k->rcv == NULL || k->sdata == NULL ||
	    k->rdata == NULL || k->acks == NULL || k->obuf == NULL) {
		vpkcp_free(k);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < ns; i++)
		k->snd[i].data = k->sdata + (size_t)i * k->mss;
	for (i = 0; i < nr; i++)
		k->rcv[i].data = k->rdata + (size_t)i * k->rslot_size;
	k->rmt_wnd = 32;
	k->cwnd = 1;
	k->ssthresh = THRESH_MIN;
	k->incr = k->mss;
	k->rx_rto = 200;
	k->current = now;
	k->ts_flush = now;
	return k;
}

void
vpkcp_free(struct vpkcp *k)
{
	if (k == NULL)
		return;
	free(k->snd);
	free(k->rcv);
	free(k->sdata);
	free(k->rdata);
	free(k->acks);
	free(k->obuf);
	free(k);
}

uint32_t
vpkcp_conv(const struct vpkcp *k)
{
	return k->conv;
}

int
vpkcp_dead(const struct vpkcp *k)
{
	return k->dead;
}

size_t
vpkcp_waitsnd(const struct vpkcp *k)
{
	return k->snd_end - k->snd_una;
}

/*
 * vpkcp_peek_conv()
 * Returns 0 with the conv of the first segment, -1 if too short.
 */
int
vpkcp_peek_conv(const uint8_t *buf, size_t len, uint32_t *conv)
{
	if (len < VPKCP_OVERHEAD)
		return -1;
	*conv = get32(buf);
	return 0;
}

void
vpkcp_get_stats(const struct vpkcp *k, struct vpkcp_stats *st)
{
	*st = k->st;
	st->srtt = k->srtt;
	st->rttvar = k->rttval;
	st->rto = k->rx_rto;
	st->cwnd = k->cwnd;
	st->rmt_wnd = k->rmt_wnd;
}

void
vpkcp_set_seq(struct vpkcp *k, uint32_t snd, uint32_t rcv)
{
	k->snd_una = k->snd_nxt = k->snd_end = snd;
	k->rcv_nxt = k->rd_sn = rcv;
}

/* Free slots in the receive window, as advertised. */
static uint32_t
wnd_unused(const struct vpkcp *k)
{
	uint32_t used = k->rcv_nxt - k->rd_sn;

	return used < (uint32_t)k->cfg.rcvwnd ? k->cfg.rcvwnd - used : 0;
}

/*
 * vpkcp_writable()
 * Returns the bytes vpkcp_send() accepts now: room in the last queued
 * segment plus free slots (at most the ring minus the window).
 */
size_t
vpkcp_writable(const struct vpkcp *k)
{
	uint32_t used = k->snd_end - k->snd_una;
	uint32_t cap = k->smask + 1;
	size_t n = 0;

	if (k->snd_end != k->snd_nxt &&
	    !k->snd[(k->snd_end - 1) & k->smask].sealed)
		n = k->mss - k->snd[(k->snd_end - 1) & k->smask].len;
	if (used < cap)
		n += (size_t)(cap - used) * k->mss;
	return n;
}

/*
 * vpkcp_send()
 * Returns the bytes accepted (stream mode, at most vpkcp_writable()).
 */
size_t
vpkcp_send(struct vpkcp *k, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0, n;
	struct sslot *s;

	if (k->snd_end != k->snd_nxt &&
	    !k->snd[(k->snd_end - 1) & k->smask].sealed) {
		s = &k->snd[(k->snd_end - 1) & k->smask];
		n = k->mss - s->len;
		if (n > len)
			n = len;
		memcpy(s->data + s->len, p, n);
		s->len += n;
		done += n;
	}
	while (done < len && k->snd_end - k->snd_una <= k->smask) {
		s = &k->snd[k->snd_end & k->smask];
		n = len - done;
		if (n > k->mss)
			n = k->mss;
		memcpy(s->data, p + done, n);
		s->len = n;
		s->frg = 0;
		s->sealed = 0;
		s->acked = 0;
		s->xmit = 0;
		s->fastack = 0;
		k->snd_end++;
		done += n;
	}
	return done;
}

/*
 * vpkcp_send_msg()
 * Returns 0, or -1 with errno EMSGSIZE (more than 255 fragments) or
 * EAGAIN (not enough free slots now).
 */
int
vpkcp_send_msg(struct vpkcp *k, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t count = len == 0 ? 1 : (len + k->mss - 1) / k->mss, i, n;
	struct sslot *s;

	if (count > 255) {
		errno = EMSGSIZE;
		return -1;
	}
	if (count > (size_t)(k->smask + 1 - (k->snd_end - k->snd_una))) {
		errno = EAGAIN;
		return -1;
	}
	for (i = 0; i < count; i++) {
		s = &k->snd[k->snd_end & k->smask];
		n = len - i * k->mss;
		if (n > k->mss)
			n = k->mss;
		if (n > 0)
			memcpy(s->data, p + i * k->mss, n);
		s->len = n;
		s->frg = (uint8_t)(count - 1 - i);
		s->sealed = 1;
		s->acked = 0;
		s->xmit = 0;
		s->fastack = 0;
		k->snd_end++;
	}
	return 0;
}

size_t
vpkcp_readable(const struct vpkcp *k)
{
	return k->rq_bytes;
}

/*
 * vpkcp_recv()
 * Returns the bytes copied (0 if none are in order yet).
 */
size_t
vpkcp_recv(struct vpkcp *k, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0, n;
	int was_full = wnd_unused(k) == 0;
	struct rslot *r;

	if (len == 0)
		return 0;
	while (k->rd_sn != k->rcv_nxt) {
		r = &k->rcv[k->rd_sn & k->rmask];
		n = r->len - k->rd_off;
		if (n > len - done)
			n = len - done;
		memcpy(p + done, r->data + k->rd_off, n);
		done += n;
		k->rd_off += n;
		if (k->rd_off < r->len)
			break;
		r->present = 0;
		k->rd_off = 0;
		k->rd_sn++;
	}
	k->rq_bytes -= done;
	if (was_full && wnd_unused(k) > 0)
		k->probe |= ASK_TELL;
	return done;
}

/*
 * vpkcp_recv_msg()
 * Returns the size of the next whole message copied into buf, or -1
 * with errno EAGAIN (not complete yet), EMSGSIZE (buf too small; the
 * message stays) or EINVAL (a stream read took part of a segment).
 */
long
vpkcp_recv_msg(struct vpkcp *k, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint32_t sn, end;
	size_t size = 0;
	int was_full = wnd_unused(k) == 0;
	struct rslot *r;

	if (k->rd_off != 0) {
		errno = EINVAL;
		return -1;
	}
	for (sn = k->rd_sn;; sn++) {
		if (sn == k->rcv_nxt) {
			errno = EAGAIN;
			return -1;
		}
		r = &k->rcv[sn & k->rmask];
		size += r->len;
		if (r->frg == 0)
			break;
	}
	if (size > len) {
		errno = EMSGSIZE;
		return -1;
	}
	end = sn + 1;
	size = 0;
	for (sn = k->rd_sn; sn != end; sn++) {
		r = &k->rcv[sn & k->rmask];
		memcpy(p + size, r->data, r->len);
		size += r->len;
		r->present = 0;
	}
	k->rd_sn = end;
	k->rq_bytes -= size;
	if (was_full && wnd_unused(k) > 0)
		k->probe |= ASK_TELL;
	return (long)size;
}

/* Appends one segment header (+ payload) to the datagram buffer. */
static void
emit(struct vpkcp *k, uint8_t cmd, uint8_t frg, uint32_t ts, uint32_t sn,
    const uint8_t *data, size_t len)
{
	uint8_t *p;

	if (k->olen + VPKCP_OVERHEAD + len > (size_t)k->cfg.mtu) {
		k->out(k->obuf, k->olen, k->arg);
		k->olen = 0;
	}
	p = k->obuf + k->olen;
	put32(p, k->conv);
	p[4] = cmd;
	p[5] = frg;
	p[6] = wnd_unused(k) & 0xff;
	p[7] = (wnd_unused(k) >> 8) & 0xff;
	put32(p + 8, ts);
	put32(p + 12, sn);
	put32(p + 16, k->rcv_nxt);
	put32(p + 20, (uint32_t)len);
	if (len > 0)
		memcpy(p + VPKCP_OVERHEAD, data, len);
	k->olen += VPKCP_OVERHEAD + len;
	k->st.out_segs++;
}

static void
emit_done(struct vpkcp *k)
{
	if (k->olen > 0) {
		k->out(k->obuf, k->olen, k->arg);
		k->olen = 0;
	}
}

/* (Re)transmits segment sn now. */
static void
xmit(struct vpkcp *k, uint32_t sn, struct sslot *s)
{
	s->ts = k->current;
	s->xmit++;
	if (!k->have_resend || diff(s->resendts, k->next_resend) < 0) {
		k->next_resend = s->resendts;
		k->have_resend = 1;
	}
	if (s->xmit >= (uint32_t)k->cfg.deadlink)
		k->dead = 1;
	k->st.out_bytes += s->len;
	emit(k, VPKCP_CMD_PUSH, s->frg, s->ts, sn, s->data, s->len);
}

static void
flush_acks(struct vpkcp *k)
{
	size_t i;

	for (i = 0; i < k->nacks; i++)
		emit(k, VPKCP_CMD_ACK, 0, k->acks[i][1], k->acks[i][0], NULL, 0);
	k->nacks = 0;
}

static void
flush_probe(struct vpkcp *k)
{
	if (k->rmt_wnd == 0) {
		if (k->probe_wait == 0) {
			k->probe_wait = PROBE_INIT;
			k->ts_probe = k->current + k->probe_wait;
		} else if (diff(k->current, k->ts_probe) >= 0) {
			k->probe_wait += k->probe_wait / 2;
			if (k->probe_wait > PROBE_LIMIT)
				k->probe_wait = PROBE_LIMIT;
			k->ts_probe = k->current + k->probe_wait;
			k->probe |= ASK_SEND;
		}
	} else {
		k->ts_probe = 0;
		k->probe_wait = 0;
	}
	if (k->probe & ASK_SEND)
		emit(k, VPKCP_CMD_WASK, 0, 0, 0, NULL, 0);
	if (k->probe & ASK_TELL)
		emit(k, VPKCP_CMD_WINS, 0, 0, 0, NULL, 0);
	k->probe = 0;
}

/* Sends queued segments the window allows. */
/*
 * The segments that may be in flight: the send window, the peer's
 * receive window and, unless nc, the congestion window. flush_new()
 * and vpkcp_check() must agree on it, or check() says "now" while
 * nothing may go (a busy loop).
 */
static uint32_t
send_window(const struct vpkcp *k)
{
	uint32_t wnd = (uint32_t)k->cfg.sndwnd;

	if (k->rmt_wnd < wnd)
		wnd = k->rmt_wnd;
	if (!k->cfg.nc && k->cwnd < wnd)
		wnd = k->cwnd;
	return wnd;
}

static void
flush_new(struct vpkcp *k)
{
	uint32_t wnd = send_window(k), rtomin;
	struct sslot *s;

	rtomin = k->cfg.nodelay == 0 ? k->rx_rto >> 3 : 0;
	while (k->snd_nxt != k->snd_end &&
	    diff(k->snd_nxt, k->snd_una + wnd) < 0) {
		s = &k->snd[k->snd_nxt & k->smask];
		/* maxrto caps the first RTO too (rx_rto can reach RTO_MAX). */
		s->rto = k->rx_rto < (uint32_t)k->cfg.maxrto ? k->rx_rto :
		    (uint32_t)k->cfg.maxrto;
		s->fastack = 0;
		s->xmit = 0;
		s->acked = 0;
		s->resendts = k->current + s->rto + rtomin;
		xmit(k, k->snd_nxt, s);
		k->snd_nxt++;
	}
}

/* Acks, probes and new data: what must go out promptly. */
static void
flush_quick(struct vpkcp *k)
{
	if (!k->updated)
		return;
	flush_acks(k);
	flush_probe(k);
	flush_new(k);
	emit_done(k);
}

/* Everything, including retransmissions on timeout. */
static void
flush_full(struct vpkcp *k)
{
	uint32_t sn, rto;
	int lost = 0;
	struct sslot *s;

	if (!k->updated)
		return;
	flush_acks(k);
	flush_probe(k);
	flush_new(k);
	k->have_resend = 0;
	for (sn = k->snd_una; sn != k->snd_nxt; sn++) {
		s = &k->snd[sn & k->smask];
		if (s->acked)
			continue;
		if (diff(k->current, s->resendts) < 0) {
			if (!k->have_resend ||
			    diff(s->resendts, k->next_resend) < 0) {
				k->next_resend = s->resendts;
				k->have_resend = 1;
			}
			continue;
		}
		rto = s->rto;
		if (k->cfg.nodelay == 0)
			rto += rto > k->rx_rto ? rto : k->rx_rto;
		else if (k->cfg.nodelay == 1)
			rto += rto / 2;
		else
			rto += k->rx_rto / 2;
		if (rto > (uint32_t)k->cfg.maxrto)
			rto = k->cfg.maxrto;
		s->rto = rto;
		s->resendts = k->current + rto;
		k->st.retrans++;
		k->st.lost++;
		lost = 1;
		xmit(k, sn, s);
	}
	emit_done(k);
	if (lost && !k->cfg.nc) {
		k->ssthresh = k->cwnd / 2;
		if (k->ssthresh < THRESH_MIN)
			k->ssthresh = THRESH_MIN;
		k->cwnd = 1;
		k->incr = k->mss;
	}
}

void
vpkcp_flush(struct vpkcp *k, uint32_t now)
{
	k->current = now;
	flush_quick(k);
}

/*
 * vpkcp_resend_now()
 * Retransmits every segment in flight at once, RTO and loss counts
 * unchanged.
 */
void
vpkcp_resend_now(struct vpkcp *k, uint32_t now)
{
	struct sslot *s;
	uint32_t sn;

	if (!k->updated)
		return;
	k->current = now;
	for (sn = k->snd_una; sn != k->snd_nxt; sn++) {
		s = &k->snd[sn & k->smask];
		if (s->acked)
			continue;
		s->ts = now;
		s->resendts = now + s->rto;
		if (!k->have_resend || diff(s->resendts, k->next_resend) < 0) {
			k->next_resend = s->resendts;
			k->have_resend = 1;
		}
		k->st.out_bytes += s->len;
		k->st.retrans++;
		emit(k, VPKCP_CMD_PUSH, s->frg, s->ts, sn, s->data, s->len);
	}
	emit_done(k);
}

/*
 * vpkcp_update()
 * Full flush when the interval has elapsed, quick flush otherwise.
 */
void
vpkcp_update(struct vpkcp *k, uint32_t now)
{
	int32_t slap;

	k->current = now;
	if (!k->updated) {
		k->updated = 1;
		k->ts_flush = now;
	}
	slap = diff(now, k->ts_flush);
	if (slap >= 10000 || slap < -10000) {
		k->ts_flush = now;
		slap = 0;
	}
	if (slap >= 0) {
		k->ts_flush += k->cfg.interval;
		if (diff(now, k->ts_flush) >= 0)
			k->ts_flush = now + k->cfg.interval;
		flush_full(k);
	} else if (k->have_resend && diff(now, k->next_resend) >= 0)
		flush_full(k);	/* a retransmission is due before the tick */
	else
		flush_quick(k);
}

/*
 * vpkcp_check()
 * Returns when vpkcp_update() next has work: now if something is due,
 * the flush deadline while data is outstanding, a second when idle.
 */
uint32_t
vpkcp_check(const struct vpkcp *k, uint32_t now)
{
	int32_t d;

	if (!k->updated || k->nacks > 0 || k->probe != 0)
		return now;
	if (k->snd_nxt != k->snd_end && diff(k->snd_nxt,
	    k->snd_una + send_window(k)) < 0)
		return now;
	if (k->snd_una == k->snd_end && k->rmt_wnd > 0)
		return now + IDLE_CHECK;
	d = diff(k->ts_flush, now);
	if (d <= 0 || d >= 10000)
		return now;
	if (k->have_resend && k->snd_una != k->snd_nxt &&
	    diff(k->next_resend, k->ts_flush) < 0)
		return diff(k->next_resend, now) <= 0 ? now : k->next_resend;
	return k->ts_flush;
}

static void
update_rtt(struct vpkcp *k, int32_t rtt)
{
	int32_t delta, rto;

	if (rtt > RTO_MAX)
		rtt = RTO_MAX;	/* a stale or forged ts; keeps the sums small */
	if (k->srtt == 0) {
		k->srtt = rtt;
		k->rttval = rtt / 2;
	} else {
		delta = rtt - k->srtt;
		if (delta < 0)
			delta = -delta;
		k->rttval = (3 * k->rttval + delta) / 4;
		k->srtt = (7 * k->srtt + rtt) / 8;
		if (k->srtt < 1)
			k->srtt = 1;
	}
	rto = k->srtt + (k->cfg.interval > 4 * k->rttval ? k->cfg.interval :
	    4 * k->rttval);
	if (rto < k->cfg.minrto)
		rto = k->cfg.minrto;
	if (rto > RTO_MAX)
		rto = RTO_MAX;
	k->rx_rto = rto;
}

/* Every sn < una has arrived: mark and slide snd_una. */
static void
parse_una(struct vpkcp *k, uint32_t una)
{
	if (diff(una, k->snd_una) <= 0 || diff(una, k->snd_nxt) > 0)
		return;
	while (k->snd_una != una) {
		k->snd[k->snd_una & k->smask].acked = 1;
		k->snd_una++;
	}
}

static void
parse_ack(struct vpkcp *k, uint32_t sn)
{
	if (diff(sn, k->snd_una) < 0 || diff(sn, k->snd_nxt) >= 0)
		return;
	k->snd[sn & k->smask].acked = 1;
	while (k->snd_una != k->snd_nxt &&
	    k->snd[k->snd_una & k->smask].acked)
		k->snd_una++;
}

static void
ack_push(struct vpkcp *k, uint32_t sn, uint32_t ts)
{
	if (k->nacks == k->ackcap) {
		/* Full: send what we have, the peer also gets una. */
		flush_acks(k);
	}
	k->acks[k->nacks][0] = sn;
	k->acks[k->nacks][1] = ts;
	k->nacks++;
}

static void
parse_data(struct vpkcp *k, uint32_t sn, uint8_t frg, const uint8_t *data,
    uint32_t len)
{
	struct rslot *r;

	if (diff(sn, k->rcv_nxt) < 0) {
		k->st.dup_segs++;
		return;
	}
	r = &k->rcv[sn & k->rmask];
	if (r->present) {
		k->st.dup_segs++;
		return;
	}
	memcpy(r->data, data, len);
	r->len = len;
	r->frg = frg;
	r->present = 1;
	k->st.in_bytes += len;
	while (diff(k->rcv_nxt, k->rd_sn + k->cfg.rcvwnd) < 0) {
		r = &k->rcv[k->rcv_nxt & k->rmask];
		if (!r->present)
			break;
		k->rq_bytes += r->len;
		k->rcv_nxt++;
	}
}

/*
 * vpkcp_input()
 * Returns 0 or a VPKCP_E* code (see vpkcp.h).
 */
int
vpkcp_input(struct vpkcp *k, const uint8_t *buf, size_t len, uint32_t now)
{
	uint32_t conv, ts, sn, una, seglen, old_una = k->snd_una;
	uint32_t maxack = 0, maxack_ts = 0, s_sn;
	uint16_t wnd;
	uint8_t cmd, frg;
	int have_maxack = 0, rc = 0;
	struct sslot *s;

	k->current = now;
	if (len < VPKCP_OVERHEAD)
		return VPKCP_ESHORT;
	while (len >= VPKCP_OVERHEAD) {
		conv = get32(buf);
		cmd = buf[4];
		frg = buf[5];
		wnd = (uint16_t)(buf[6] | buf[7] << 8);
		ts = get32(buf + 8);
		sn = get32(buf + 12);
		una = get32(buf + 16);
		seglen = get32(buf + 20);
		if (conv != k->conv) {
			rc = VPKCP_ECONV;
			break;
		}
		if (seglen > len - VPKCP_OVERHEAD) {
			rc = VPKCP_ELEN;
			break;
		}
		if (cmd < VPKCP_CMD_PUSH || cmd > VPKCP_CMD_WINS) {
			rc = VPKCP_ECMD;
			break;
		}
		buf += VPKCP_OVERHEAD;
		len -= VPKCP_OVERHEAD;
		k->st.in_segs++;
		k->rmt_wnd = wnd;
		parse_una(k, una);
		switch (cmd) {
		case VPKCP_CMD_ACK:
			if (diff(now, ts) >= 0)
				update_rtt(k, diff(now, ts));
			parse_ack(k, sn);
			if (!have_maxack || diff(sn, maxack) > 0) {
				have_maxack = 1;
				maxack = sn;
				maxack_ts = ts;
			}
			break;
		case VPKCP_CMD_PUSH:
			if (diff(sn, k->rd_sn + k->cfg.rcvwnd) >= 0)
				break;	/* beyond the window: no ACK */
			if (seglen > k->rslot_size)
				break;	/* cannot hold it: let it retransmit */
			ack_push(k, sn, ts);
			parse_data(k, sn, frg, buf, seglen);
			break;
		case VPKCP_CMD_WASK:
			k->probe |= ASK_TELL;
			break;
		default:
			break;
		}
		buf += seglen;
		len -= seglen;
	}
	/*
	 * Fast retransmit: count segments the peer skipped, only when the
	 * skipping ACK is for a later transmission (IKCP_FASTACK_CONSERVE).
	 */
	if (have_maxack && diff(maxack, k->snd_una) > 0 &&
	    diff(maxack, k->snd_nxt) < 0) {
		for (s_sn = k->snd_una; s_sn != maxack; s_sn++) {
			s = &k->snd[s_sn & k->smask];
			if (s->acked || diff(maxack_ts, s->ts) < 0)
				continue;
			s->fastack++;
			if (k->cfg.resend > 0 &&
			    s->fastack >= (uint32_t)k->cfg.resend &&
			    (k->cfg.fastlimit <= 0 ||
			    s->xmit <= (uint32_t)k->cfg.fastlimit) &&
			    k->updated) {
				s->fastack = 0;
				s->resendts = now + s->rto;
				k->st.retrans++;
				k->st.fast_retrans++;
				if (!k->cfg.nc) {
					uint32_t infl = k->snd_nxt - k->snd_una;

					k->ssthresh = infl / 2;
					if (k->ssthresh < THRESH_MIN)
						k->ssthresh = THRESH_MIN;
					k->cwnd = k->ssthresh + k->cfg.resend;
					k->incr = k->cwnd * k->mss;
				}
				/* ACKs first, so the datagram order is ikcp's. */
				flush_acks(k);
				xmit(k, s_sn, s);
			}
		}
	}
	if (!k->cfg.nc && diff(k->snd_una, old_una) > 0 &&
	    k->cwnd < k->rmt_wnd) {
		if (k->cwnd < k->ssthresh) {
			k->cwnd++;
			k->incr += k->mss;
		} else {
			if (k->incr < k->mss)
				k->incr = k->mss;
			k->incr += (k->mss * k->mss) / k->incr + k->mss / 16;
			if ((k->cwnd + 1) * k->mss <= k->incr)
				k->cwnd = (k->incr + k->mss - 1) / k->mss;
		}
		if (k->cwnd > k->rmt_wnd) {
			k->cwnd = k->rmt_wnd;
			k->incr = k->rmt_wnd * k->mss;
		}
	}
	return rc;
}
