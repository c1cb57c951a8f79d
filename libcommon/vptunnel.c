/*
 * vptunnel: tunnel and stream state machines over vpframe. See
 * vptunnel.h for the model and wire-spec.md Part 1 for the protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "vptunnel.h"

#define CTLQ_SOFT	(64 * 1024)	/* stop reading the link above this */
#define CTLQ_OPEN	(16 * 1024)	/* no new stream above this */
#define NPINGS		4
#define EXT_VERSION	1

struct ping {
	uint64_t	id;
	int64_t		deadline;
	uint64_t	out_mark;	/* out_total when sent or last extended */
};

struct vptun {
	struct vpt_config cfg;
	struct vpt_cb	cb;
	void		(*on_credit)(void *, struct vpt_stream *);
	enum vpt_tstate	state;
	int		extended;
	int		ext_refused;
	int		peer_goaway;
	char		reason[256];

	struct vpf_dec	dec;
	struct vpt_stream *cur;		/* stream of the DATA frame being read */
	int		cur_drop;	/* drop the rest of this DATA frame */
	int		cur_gzip;	/* this DATA frame is a gzip member */
	z_stream	*zs;		/* inflater, made at the first gzip frame */
	int		 zdone;		/* the member ended */

	uint8_t		*q;		/* control frames not yet taken */
	size_t		 qoff, qlen, qcap;
	uint64_t	 qin;		/* bytes ever appended to q (less */
					/* SYNs taken back) */

	struct vpt_stream *head, *tail;
	uint32_t	 nstreams;
	uint32_t	 nlive;		/* streams not DEAD: what limits count */
	struct vpt_stream **map;	/* open addressing by id */
	size_t		 mapcap, mapn;
	uint32_t	 next_sid;	/* client */
	uint32_t	 last_sid;	/* server: highest SYN seen */

	/* peer's announced limits (extended mode) */
	uint32_t	 p_swin, p_twin, p_maxstreams, p_maxframe;
	int64_t		 tcredit;	/* tunnel send credit */
	uint64_t	 towed;		/* bytes received, tunnel credit not returned */
					/* (those still in an rbuf among them) */
	size_t		 buffered;	/* bytes in every rbuf */

	int64_t		 hs_deadline;
	int64_t		 last_read;
	uint64_t	 out_total;	/* bytes the link took from us */
	uint64_t	 ka_out_mark;	/* out_total at the last keepalive tick */
	int64_t		 ka_next;
	int64_t		 stall_since;	/* first tick the link took nothing
					   though bytes waited for it; 0 */
	struct ping	 pings[NPINGS];
	int		 npings;
	uint64_t	 ping_id;
	int		 success;
};

/* ---- the stream state table */

enum vpt_act
vpt_stream_next(enum vpt_role role, enum vpt_sstate st, enum vpt_sev ev,
    enum vpt_sstate *next)
{
	enum vpt_sstate n = st;
	enum vpt_act a = VPS_OK;

	if (ev == VPS_EV_CLOSE) {
		if (st == VPS_REAL_CLOSED)
			return VPS_BUG;
		*next = VPS_REAL_CLOSED;
		return VPS_OK;
	}
	switch (st) {
	case VPS_NONE:
		if (ev == VPS_EV_SEND_SYN && role == VPT_CLIENT)
			n = VPS_SYN_SENT;
		else if (ev == VPS_EV_RECV_SYN && role == VPT_SERVER)
			n = VPS_ESTABLISHED;
		else if (ev == VPS_EV_SEND_SYN || ev == VPS_EV_SEND_DATA ||
		    ev == VPS_EV_SEND_FIN || ev == VPS_EV_SEND_RST)
			a = VPS_BUG;
		else
			a = VPS_IGNORE;	/* unknown stream: dropped silently */
		break;
	case VPS_SYN_SENT:
		switch (ev) {
		case VPS_EV_RECV_SYNACK:
			n = VPS_ESTABLISHED;
			break;
		case VPS_EV_SEND_DATA:	/* pipelining is wire-safe */
			break;
		case VPS_EV_SEND_FIN:
		case VPS_EV_RECV_FIN:
		case VPS_EV_SEND_RST:
		case VPS_EV_RECV_RST:
			n = VPS_DEAD;
			break;
		case VPS_EV_RECV_DATA:
			a = VPS_RESET;	/* data before SYN-ACK */
			break;
		case VPS_EV_RECV_SYN:
			a = VPS_IGNORE;
			break;
		default:
			a = VPS_BUG;
		}
		break;
	case VPS_ESTABLISHED:
		switch (ev) {
		case VPS_EV_SEND_DATA:
		case VPS_EV_RECV_DATA:
			break;
		case VPS_EV_SEND_FIN:
			n = VPS_FIN_SENT;
			break;
		case VPS_EV_RECV_FIN:
			n = VPS_FIN_RECV;
			break;
		case VPS_EV_SEND_RST:
		case VPS_EV_RECV_RST:
			n = VPS_DEAD;
			break;
		case VPS_EV_RECV_SYN:
		case VPS_EV_RECV_SYNACK:
			a = VPS_IGNORE;	/* duplicate SYN / SYN-ACK */
			break;
		default:
			a = VPS_BUG;
		}
		break;
	case VPS_FIN_SENT:
		switch (ev) {
		case VPS_EV_RECV_DATA:
			break;
		case VPS_EV_RECV_FIN:
		case VPS_EV_SEND_RST:
		case VPS_EV_RECV_RST:
			n = VPS_DEAD;
			break;
		case VPS_EV_RECV_SYN:
		case VPS_EV_RECV_SYNACK:
			a = VPS_IGNORE;
			break;
		default:
			a = VPS_BUG;	/* data or FIN after our FIN */
		}
		break;
	case VPS_FIN_RECV:
		switch (ev) {
		case VPS_EV_SEND_DATA:
			break;
		case VPS_EV_SEND_FIN:
		case VPS_EV_SEND_RST:
		case VPS_EV_RECV_RST:
			n = VPS_DEAD;
			break;
		case VPS_EV_RECV_FIN:	/* vproxy's duplicate FIN */
		case VPS_EV_RECV_SYN:
		case VPS_EV_RECV_SYNACK:
			a = VPS_IGNORE;
			break;
		case VPS_EV_RECV_DATA:
			a = VPS_RESET;	/* data after FIN */
			break;
		default:
			a = VPS_BUG;
		}
		break;
	case VPS_DEAD:
		switch (ev) {
		case VPS_EV_RECV_SYN:
		case VPS_EV_RECV_SYNACK:
		case VPS_EV_RECV_DATA:
		case VPS_EV_RECV_FIN:
		case VPS_EV_RECV_RST:	/* an echoed RST */
			a = VPS_IGNORE;
			break;
		default:
			a = VPS_BUG;
		}
		break;
	default:
		a = VPS_BUG;
	}
	if (a == VPS_OK)
		*next = n;
	return a;
}

const char *
vpt_sstate_name(enum vpt_sstate s)
{
	static const char *names[] = { "none", "syn_sent", "established",
	    "fin_sent", "fin_recv", "dead", "real_closed" };

	return (unsigned)s < VPS_NSTATES ? names[s] : "?";
}

const char *
vpt_tstate_name(enum vpt_tstate s)
{
	switch (s) {
	case VPT_INIT:
		return "init";
	case VPT_HANDSHAKE_SENT:
		return "handshake_sent";
	case VPT_READY:
		return "ready";
	case VPT_DEAD:
		return "dead";
	}
	return "?";
}

void
vpt_config_default(struct vpt_config *c, enum vpt_role role)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->extended = 1;
	c->stream_window = 512 * 1024;
	c->tunnel_window = 8 * 1024 * 1024;
	c->max_streams = 16384;
	c->max_frame = 0;
	c->send_frame = 32 * 1024;
	c->plain_buf = 2 * 1024 * 1024;
	c->plain_total = 64 * 1024 * 1024;
	c->handshake_ms = 5000;
	c->ka_interval_ms = role == VPT_CLIENT ? 10000 : 30000;
	c->ka_idle_ms = 5000;
	c->ka_timeout_ms = 5000;
}

/* ---- stream map */

static size_t
slot(uint32_t id, size_t cap)
{
	return (id * 2654435761u) & (cap - 1);
}

static int
map_grow(struct vptun *t)
{
	struct vpt_stream **old = t->map, **nm;
	size_t oldcap = t->mapcap, ncap = oldcap ? oldcap * 2 : 16, i, j;

	if ((nm = calloc(ncap, sizeof(*nm))) == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == NULL)
			continue;
		for (j = slot(old[i]->id, ncap); nm[j] != NULL;
		    j = (j + 1) & (ncap - 1))
			;
		nm[j] = old[i];
	}
	free(old);
	t->map = nm;
	t->mapcap = ncap;
	return 0;
}

static struct vpt_stream *
map_get(struct vptun *t, uint32_t id)
{
	size_t j;

	if (t->mapcap == 0)
		return NULL;
	for (j = slot(id, t->mapcap); t->map[j] != NULL;
	    j = (j + 1) & (t->mapcap - 1))
		if (t->map[j]->id == id)
			return t->map[j];
	return NULL;
}

static int
map_put(struct vptun *t, struct vpt_stream *s)
{
	size_t j;

	if ((t->mapn + 1) * 2 > t->mapcap && map_grow(t) == -1)
		return -1;
	for (j = slot(s->id, t->mapcap); t->map[j] != NULL;
	    j = (j + 1) & (t->mapcap - 1))
		;
	t->map[j] = s;
	t->mapn++;
	return 0;
}

static void
map_del(struct vptun *t, uint32_t id)
{
	size_t j, k, h, m = t->mapcap - 1;

	if (t->mapcap == 0)
		return;
	for (j = slot(id, t->mapcap); t->map[j] != NULL; j = (j + 1) & m)
		if (t->map[j]->id == id)
			break;
	if (t->map[j] == NULL)
		return;
	t->map[j] = NULL;
	t->mapn--;
	/* Backward shift so lookups need no tombstones. */
	for (k = (j + 1) & m; t->map[k] != NULL; k = (k + 1) & m) {
		h = slot(t->map[k]->id, t->mapcap);
		if ((k > j && (h <= j || h > k)) || (k < j && (h <= j && h > k))) {
			t->map[j] = t->map[k];
			t->map[k] = NULL;
			j = k;
		}
	}
}

static int
live(uint8_t st)
{
	return st != VPS_DEAD && st != VPS_REAL_CLOSED;
}

/* Every stream state change goes through here to keep nlive right. */
static void
sset(struct vptun *t, struct vpt_stream *s, enum vpt_sstate st)
{
	if (live(s->state) && !live(st))
		t->nlive--;
	else if (!live(s->state) && live(st))
		t->nlive++;
	s->state = st;
}

static struct vpt_stream *
stream_new(struct vptun *t, uint32_t id)
{
	struct vpt_stream *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = id;
	sset(t, s, VPS_NONE);
	s->credit = t->extended ? t->p_swin : 0;
	if (map_put(t, s) == -1) {
		free(s);
		return NULL;
	}
	s->prev = t->tail;
	if (t->tail != NULL)
		t->tail->next = s;
	else
		t->head = s;
	t->tail = s;
	t->nstreams++;
	t->nlive++;
	return s;
}

static void
stream_free(struct vptun *t, struct vpt_stream *s)
{
	map_del(t, s->id);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		t->tail = s->prev;
	t->nstreams--;
	if (live(s->state))
		t->nlive--;
	t->buffered -= s->rlen;
	if (t->cur == s)
		t->cur = NULL;
	free(s->rbuf);
	free(s);
}

/* ---- output */

static int
q_append(struct vptun *t, const uint8_t *p, size_t n, int front)
{
	uint8_t *nq;
	size_t need = t->qlen + n, ncap;

	if (t->qoff + need > t->qcap) {
		if (need <= t->qcap && !front) {
			memmove(t->q, t->q + t->qoff, t->qlen);
			t->qoff = 0;
		} else {
			ncap = t->qcap ? t->qcap : 256;
			while (ncap < need)
				ncap *= 2;
			if ((nq = malloc(ncap)) == NULL)
				return -1;
			if (t->qlen > 0)
				memcpy(nq, t->q + t->qoff, t->qlen);
			free(t->q);
			t->q = nq;
			t->qcap = ncap;
			t->qoff = 0;
		}
	}
	if (front) {
		if (t->qoff < n) {
			memmove(t->q + n, t->q + t->qoff, t->qlen);
			t->qoff = n;
		}
		t->qoff -= n;
		memcpy(t->q + t->qoff, p, n);
	} else {
		memcpy(t->q + t->qoff + t->qlen, p, n);
		t->qin += n;
	}
	t->qlen += n;
	return 0;
}

size_t
vpt_flush(struct vptun *t)
{
	size_t room;
	ssize_t r;

	while (t->qlen > 0) {
		room = t->cb.room(t->cb.arg);
		if (room == 0)
			break;
		if (room > t->qlen)
			room = t->qlen;
		r = t->cb.output(t->cb.arg, t->q + t->qoff, room);
		if (r <= 0)
			break;
		t->out_total += r;
		t->qoff += r;
		t->qlen -= r;
	}
	if (t->qlen == 0)
		t->qoff = 0;
	return t->qlen;
}

/* Emits a control frame: straight out if nothing is queued, else queued. */
static void
emit(struct vptun *t, const uint8_t *p, size_t n)
{
	ssize_t r;

	if (t->qlen == 0 && t->cb.room(t->cb.arg) >= n) {
		r = t->cb.output(t->cb.arg, p, n);
		if (r > 0)
			t->out_total += r;
		if (r == (ssize_t)n)
			return;
		if (r > 0) {
			p += r;
			n -= r;
		}
	}
	(void)q_append(t, p, n, 0);
}

/* ---- failure */

static void
reset_all(struct vptun *t)
{
	struct vpt_stream *s;

	for (s = t->head; s != NULL; s = s->next) {
		if (s->state == VPS_DEAD || s->state == VPS_REAL_CLOSED)
			continue;
		sset(t, s, VPS_DEAD);
		if (t->cb.reset != NULL)
			t->cb.reset(t->cb.arg, s, t->reason);
	}
}

/* Kills the tunnel: GOAWAY first in the queue (unless told not to), reset all. */
static int
fail(struct vptun *t, int send_goaway, const char *why)
{
	uint8_t f[VPF_HDRLEN + VPF_CTLMAX];
	size_t n;

	if (t->state == VPT_DEAD)
		return -1;
	(void)snprintf(t->reason, sizeof(t->reason), "%s", why);
	if (send_goaway) {
		n = vpf_put_goaway(f, sizeof(f), why);
		/*
		 * GOAWAY goes after what is queued: the queue's head may be
		 * a frame already partly written to the link, and cutting
		 * it would garble the GOAWAY (the queue is bounded by
		 * CTLQ_SOFT).
		 */
		emit(t, f, n);
	}
	t->state = VPT_DEAD;
	reset_all(t);
	return -1;
}

void
vpt_goaway(struct vptun *t, const char *reason)
{
	(void)fail(t, 1, reason);
}

void
vpt_link_down(struct vptun *t, const char *why)
{
	(void)fail(t, 0, why);
}

static void
notice(struct vptun *t, const char *msg)
{
	if (t->cb.notice != NULL)
		t->cb.notice(t->cb.arg, msg);
}

/* ---- handshake */

static void
send_settings(struct vptun *t, int ext)
{
	uint8_t f[VPF_HDRLEN + 6 * 5];
	uint16_t ids[5] = { VPF_SET_VERSION, VPF_SET_STREAM_WINDOW,
	    VPF_SET_TUNNEL_WINDOW, VPF_SET_MAX_STREAMS, VPF_SET_MAX_FRAME };
	uint32_t vals[5];
	size_t n;

	vals[0] = EXT_VERSION;
	vals[1] = t->cfg.stream_window;
	vals[2] = t->cfg.tunnel_window;
	vals[3] = t->cfg.max_streams;
	vals[4] = t->cfg.max_frame ? t->cfg.max_frame : VPF_LENMAX;
	n = vpf_put_settings(f, sizeof(f), ids, vals, ext ? 5 : 0);
	emit(t, f, n);
}

/*
 * Applies the peer's extension parameters. Returns 1 if the peer speaks
 * the extension (VERSION 1 present), 0 if not, -1 for a bad value.
 */
static int
apply_settings(struct vptun *t, const uint8_t *p, size_t n)
{
	uint16_t ids[VPF_SETTINGS_MAX];
	uint32_t vals[VPF_SETTINGS_MAX];
	int i, k, ver = 0;

	t->p_swin = 65535;
	t->p_twin = 65535;
	t->p_maxstreams = 100;
	t->p_maxframe = 16384;
	k = vpf_parse_settings(p, n, ids, vals, VPF_SETTINGS_MAX);
	for (i = 0; i < k; i++) {
		switch (ids[i]) {
		case VPF_SET_VERSION:
			ver = vals[i];
			break;
		case VPF_SET_STREAM_WINDOW:
			if (vals[i] < 1024 || vals[i] > VPF_SIDMAX)
				return -1;
			t->p_swin = vals[i];
			break;
		case VPF_SET_TUNNEL_WINDOW:
			if (vals[i] < 1024 || vals[i] > VPF_SIDMAX)
				return -1;
			t->p_twin = vals[i];
			break;
		case VPF_SET_MAX_STREAMS:
			if (vals[i] < 1)
				return -1;
			t->p_maxstreams = vals[i];
			break;
		case VPF_SET_MAX_FRAME:
			if (vals[i] < 1024 || vals[i] > VPF_LENMAX)
				return -1;
			t->p_maxframe = vals[i];
			break;
		default:
			break;	/* unknown parameters are ignored (RFC 9113 §6.5.2) */
		}
	}
	return ver == EXT_VERSION ? 1 : 0;
}

static void
become_ready(struct vptun *t, int ext, int64_t now)
{
	t->state = VPT_READY;
	t->extended = ext;
	t->tcredit = ext ? t->p_twin : 0;
	t->ka_next = now + t->cfg.ka_interval_ms;
	t->ka_out_mark = t->out_total;
}

static int
on_settings(struct vptun *t, const struct vpf_event *ev, int64_t now)
{
	int ext;

	if (t->state == VPT_READY)
		return fail(t, 1, "SETTINGS after the handshake");
	if (ev->n != ev->h.len)
		return fail(t, 1, "SETTINGS too long");
	ext = ev->n > 0 ? apply_settings(t, ev->p, ev->n) : 0;
	if (ext == -1)
		return fail(t, 1, "bad SETTINGS value");
	if (t->cfg.role == VPT_SERVER) {
		if (ev->n > 0 && !t->cfg.extended)
			return fail(t, 1, "handshake message is invalid");
		ext = ext && t->cfg.extended;
		send_settings(t, ext);
		become_ready(t, ext, now);
		return 0;
	}
	/* client, HANDSHAKE_SENT */
	if (ev->n > 0 && (!t->cfg.extended || !ext))
		return fail(t, 1, "unexpected SETTINGS parameters");
	become_ready(t, ext, now);
	return 0;
}

/* ---- control frames */

static void
send_window(struct vptun *t, uint32_t sid, uint32_t inc)
{
	uint8_t f[VPF_HDRLEN + 4];
	size_t n;

	if ((n = vpf_put_window(f, sizeof(f), sid, inc)) > 0)
		emit(t, f, n);
}

/*
 * Returns tunnel credit for the bytes that have left the tunnel's
 * buffers: delivered straight to the program, consumed from an rbuf,
 * discarded (dead or unknown stream, a released stream's rbuf). Bytes
 * still buffered are credited when they leave, so the peer's credit
 * plus everything buffered never exceeds the tunnel window: buffers
 * stay under it, and streams whose readers stall block the others
 * only once their buffers hold the whole window. Credit goes back in
 * batches of a quarter window, or of half the free window when stalled
 * buffers leave less (so the others keep moving, in smaller steps).
 */
static void
tunnel_credit(struct vptun *t)
{
	uint64_t ret, thr, room;

	if (!t->extended || t->state != VPT_READY || t->towed <= t->buffered)
		return;
	ret = t->towed - t->buffered;
	room = t->cfg.tunnel_window > t->buffered ?
	    t->cfg.tunnel_window - t->buffered : 0;
	thr = t->cfg.tunnel_window / 4;
	if (thr > room / 2)
		thr = room / 2;
	if (thr == 0)
		thr = 1;
	if (ret >= thr) {
		send_window(t, 0, (uint32_t)ret);
		t->towed -= ret;
	}
}

static void
stream_credit(struct vptun *t, struct vpt_stream *s)
{
	if (!t->extended || s->unacked == 0)
		return;
	if (s->state == VPS_DEAD || s->state == VPS_FIN_RECV) {
		s->unacked = 0;	/* the peer sends no more */
		return;
	}
	if (s->unacked >= t->cfg.stream_window / 4) {
		send_window(t, s->id, s->unacked);
		s->unacked = 0;
	}
}

static void
stream_reset(struct vptun *t, struct vpt_stream *s, int send_rst,
    const char *why)
{
	uint8_t f[VPF_HDRLEN];

	if (send_rst) {
		(void)vpf_put_rst(f, sizeof(f), s->id);
		emit(t, f, VPF_HDRLEN);
	}
	sset(t, s, VPS_DEAD);
	if (t->cb.reset != NULL)
		t->cb.reset(t->cb.arg, s, why);
}

static int
on_headers(struct vptun *t, const struct vpf_hdr *h)
{
	struct vpt_stream *s = map_get(t, h->sid);
	enum vpt_sstate next;
	enum vpt_sev ev;
	uint8_t f[VPF_HDRLEN];
	char msg[96];

	if (h->flags & VPF_F_END)
		ev = VPS_EV_RECV_RST;
	else
		ev = t->cfg.role == VPT_SERVER ? VPS_EV_RECV_SYN :
		    VPS_EV_RECV_SYNACK;
	if (s == NULL && ev == VPS_EV_RECV_SYN) {
		if ((h->sid & 1) == 0)
			return fail(t, 1, "SYN with an even stream id");
		if (h->sid <= t->last_sid)
			return fail(t, 1, "SYN with a stream id not above the last");
		t->last_sid = h->sid;
		if (t->nlive >= t->cfg.max_streams) {
			if (t->extended)
				return fail(t, 1, "too many concurrent streams");
			(void)snprintf(msg, sizeof(msg), "stream %u refused: "
			    "%u streams open", h->sid, t->nlive);
			notice(t, msg);
			(void)vpf_put_rst(f, sizeof(f), h->sid);
			emit(t, f, VPF_HDRLEN);
			return 0;
		}
		if ((s = stream_new(t, h->sid)) == NULL)
			return fail(t, 1, "out of memory");
		sset(t, s, VPS_ESTABLISHED);
		if (t->cb.accept == NULL || t->cb.accept(t->cb.arg, s) == -1) {
			(void)vpf_put_rst(f, sizeof(f), h->sid);
			emit(t, f, VPF_HDRLEN);
			stream_free(t, s);
			return 0;
		}
		(void)vpf_put_syn(f, sizeof(f), h->sid);
		emit(t, f, VPF_HDRLEN);
		return 0;
	}
	if (s == NULL)
		return 0;	/* unknown stream: dropped silently */
	switch (vpt_stream_next(t->cfg.role, s->state, ev, &next)) {
	case VPS_OK:
		sset(t, s, next);
		if (ev == VPS_EV_RECV_SYNACK) {
			if (t->cb.established != NULL)
				t->cb.established(t->cb.arg, s);
		} else if (ev == VPS_EV_RECV_RST) {
			if (t->cb.reset != NULL)
				t->cb.reset(t->cb.arg, s, "reset by peer");
		}
		break;
	default:
		break;
	}
	return 0;
}

static int
on_ping(struct vptun *t, const struct vpf_event *ev)
{
	uint8_t f[VPF_HDRLEN + VPF_PINGLEN];
	uint64_t id;
	int i;

	if (ev->n < VPF_PINGLEN)
		return 0;	/* consumed and ignored, as vproxy does */
	id = vpf_get64(ev->p);
	if (!(ev->h.flags & VPF_F_ACK)) {
		(void)vpf_put_ping(f, sizeof(f), id, 1);
		emit(t, f, sizeof(f));
		return 0;
	}
	for (i = 0; i < t->npings; i++) {
		if (t->pings[i].id == id) {
			t->pings[i] = t->pings[--t->npings];
			if (t->success < 2)
				t->success++;
			return 0;
		}
	}
	notice(t, "PING ACK with an unknown id");
	return 0;
}

static int
on_goaway(struct vptun *t, const struct vpf_event *ev)
{
	char why[200];
	size_t i, k = 0;

	t->peer_goaway = 1;
	if (t->state == VPT_HANDSHAKE_SENT && t->cfg.extended)
		t->ext_refused = 1;
	if (ev->n < VPF_GOAWAYHDR)
		return fail(t, 0, "peer sent GOAWAY");
	k = (size_t)snprintf(why, sizeof(why), "peer sent GOAWAY: ");
	for (i = VPF_GOAWAYHDR; i < ev->n && k + 1 < sizeof(why); i++)
		why[k++] = ev->p[i] >= 0x20 && ev->p[i] < 0x7f ? ev->p[i] : '?';
	why[k] = '\0';
	return fail(t, 0, why);
}

static int
on_window(struct vptun *t, const struct vpf_event *ev)
{
	struct vpt_stream *s;
	uint32_t inc = vpf_get32(ev->p) & VPF_SIDMAX;

	if (!t->extended)
		return fail(t, 1, "unexpected frame type");
	if (ev->h.sid == 0) {
		if (t->tcredit + inc > (int64_t)VPF_SIDMAX)
			return fail(t, 1, "tunnel window overflow");
		t->tcredit += inc;
		return 0;
	}
	if ((s = map_get(t, ev->h.sid)) == NULL)
		return 0;
	if (s->credit + inc > (int64_t)VPF_SIDMAX)
		return fail(t, 1, "stream window overflow");
	s->credit += inc;
	if (s->credit > 0 && s->credit <= inc && t->on_credit != NULL)
		t->on_credit(t->cb.arg, s);
	return 0;
}

/* ---- DATA */

static int
rbuf_append(struct vptun *t, struct vpt_stream *s, const uint8_t *p, size_t n)
{
	uint32_t need = s->rlen + n, ncap;
	uint8_t *nb;

	if (s->roff + need > s->rcap) {
		if (need <= s->rcap) {
			memmove(s->rbuf, s->rbuf + s->roff, s->rlen);
			s->roff = 0;
		} else {
			ncap = s->rcap ? s->rcap : 4096;
			while (ncap < need)
				ncap *= 2;
			if ((nb = malloc(ncap)) == NULL)
				return -1;
			if (s->rlen > 0)
				memcpy(nb, s->rbuf + s->roff, s->rlen);
			free(s->rbuf);
			s->rbuf = nb;
			s->rcap = ncap;
			s->roff = 0;
		}
	}
	memcpy(s->rbuf + s->roff + s->rlen, p, n);
	s->rlen += n;
	t->buffered += n;
	return 0;
}

/* The first piece of a DATA frame: decides what happens to all of it. */
static int
data_begin(struct vptun *t, const struct vpf_hdr *h)
{
	struct vpt_stream *s;
	enum vpt_sstate next;

	t->cur = NULL;
	t->cur_drop = 1;
	t->cur_gzip = 0;
	if (h->flags & VPF_F_GZIP) {
		/* vproxy's compressed DATA: one gzip member per frame. */
		if (t->zs == NULL) {
			if ((t->zs = calloc(1, sizeof(*t->zs))) == NULL)
				return fail(t, 1, "out of memory");
			if (inflateInit2(t->zs, 16 + MAX_WBITS) != Z_OK) {
				free(t->zs);
				t->zs = NULL;
				return fail(t, 1, "out of memory");
			}
		} else
			(void)inflateReset(t->zs);
		t->zdone = 0;
		t->cur_gzip = 1;
	}
	if (t->extended) {
		if (t->towed + h->len > t->cfg.tunnel_window)
			return fail(t, 1, "tunnel flow-control window exceeded");
		t->towed += h->len;
	}
	s = map_get(t, h->sid);
	if (s == NULL)
		return 0;	/* unknown stream: dropped */
	if (h->len == 0)
		goto ok;	/* a bare FIN (or an empty DATA) */
	switch (vpt_stream_next(t->cfg.role, s->state, VPS_EV_RECV_DATA, &next)) {
	case VPS_OK:
		break;
	case VPS_RESET:
		stream_reset(t, s, 1, "unexpected DATA");
		return 0;
	default:
		return 0;	/* dead stream: discarded */
	}
	if (t->extended &&
	    (uint64_t)s->rlen + s->unacked + h->len > t->cfg.stream_window)
		return fail(t, 1, "stream flow-control window exceeded");
ok:
	t->cur = s;
	t->cur_drop = 0;
	return 0;
}

/*
 * Payload bytes for s: straight to the program if nothing is buffered,
 * else appended. Returns 0, 1 when the stream was reset (drop the rest
 * of the frame), -1 when the tunnel failed.
 */
static int
stream_bytes(struct vptun *t, struct vpt_stream *s, const uint8_t *p,
    size_t n)
{
	size_t took = 0;

	/*
	 * Extended mode: data_begin() checked the frame's length against
	 * the window, but a gzip member inflates past it; count what is
	 * actually buffered.
	 */
	if (!t->extended ? (s->rlen + n > t->cfg.plain_buf ||
	    t->buffered + n > t->cfg.plain_total) :
	    (uint64_t)s->rlen + s->unacked + n > t->cfg.stream_window) {
		t->cur_drop = 1;
		stream_reset(t, s, 1, "receive buffer limit exceeded");
		return 1;
	}
	if (s->rlen == 0 && t->cb.deliver != NULL) {
		took = t->cb.deliver(t->cb.arg, s, p, n);
		if (took > n)
			took = n;
		s->unacked += took;
	}
	if (took < n && rbuf_append(t, s, p + took, n - took) == -1)
		return fail(t, 1, "out of memory");
	stream_credit(t, s);
	return 0;
}

/*
 * Inflates a piece of a gzip-flagged DATA frame into s. Returns as
 * stream_bytes(); a member that is corrupt, has trailing bytes or is
 * not complete at the end of the frame fails the tunnel (vproxy does
 * the same).
 */
static int
inflate_piece(struct vptun *t, struct vpt_stream *s,
    const struct vpf_event *ev)
{
	uint8_t out[16384];
	size_t k;
	int r, rr;

	t->zs->next_in = (Bytef *)(uintptr_t)ev->p;
	t->zs->avail_in = (uInt)ev->n;
	while (!t->zdone) {
		t->zs->next_out = out;
		t->zs->avail_out = sizeof(out);
		r = inflate(t->zs, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			return fail(t, 1, "bad compressed DATA");
		k = sizeof(out) - t->zs->avail_out;
		if (r == Z_STREAM_END)
			t->zdone = 1;
		if (k > 0 && (rr = stream_bytes(t, s, out, k)) != 0)
			return rr;
		if (t->zs->avail_in == 0 && t->zs->avail_out > 0)
			break;		/* everything given was used */
		if (r == Z_BUF_ERROR && k == 0)
			break;
	}
	if (t->zdone && t->zs->avail_in > 0)
		return fail(t, 1, "bad compressed DATA");
	if (ev->last && !t->zdone)
		return fail(t, 1, "bad compressed DATA");
	return 0;
}

static int
data_piece(struct vptun *t, const struct vpf_event *ev)
{
	struct vpt_stream *s;
	enum vpt_sstate next;
	int r;

	if (ev->first && data_begin(t, &ev->h) == -1)
		return -1;
	if (t->cur_drop || (s = t->cur) == NULL)
		goto out;
	if (t->cur_gzip)
		r = inflate_piece(t, s, ev);
	else
		r = ev->n > 0 ? stream_bytes(t, s, ev->p, ev->n) : 0;
	if (r == -1)
		return -1;
	if (r == 1)
		goto out;
	if (ev->last && (ev->h.flags & VPF_F_END)) {
		switch (vpt_stream_next(t->cfg.role, s->state, VPS_EV_RECV_FIN,
		    &next)) {
		case VPS_OK:
			sset(t, s, next);
			s->fin_pending = 1;
			s->unacked = 0;
			if (t->cb.fin != NULL)
				t->cb.fin(t->cb.arg, s);
			break;
		case VPS_RESET:
			stream_reset(t, s, 1, "unexpected FIN");
			break;
		default:
			break;
		}
	}
out:
	if (ev->last) {
		t->cur = NULL;
		t->cur_drop = 0;
		t->cur_gzip = 0;
		tunnel_credit(t);
	}
	return 0;
}

/* ---- input */

int
vpt_input(struct vptun *t, const uint8_t *p, size_t n, int64_t now)
{
	struct vpf_event ev;
	size_t used;

	if (t->state == VPT_DEAD)
		return -1;
	if (n > 0)
		t->last_read = now;
	while (n > 0 || t->dec.hlen == VPF_HDRLEN) {
		used = vpf_dec_feed(&t->dec, p, n, &ev);
		p += used;
		n -= used;
		if (ev.kind == VPF_EV_NONE)
			break;
		if (ev.kind == VPF_EV_ERROR)
			return fail(t, 1, t->state != VPT_READY ?
			    "handshake message is invalid" :
			    vpf_strerror(t->dec.err));
		if (t->state != VPT_READY) {
			/* Only SETTINGS (or a GOAWAY) may come first. */
			if (ev.kind == VPF_EV_CTL && ev.h.type == VPF_SETTINGS) {
				if (on_settings(t, &ev, now) == -1)
					return -1;
				continue;
			}
			if (ev.kind == VPF_EV_CTL && ev.h.type == VPF_GOAWAY)
				return on_goaway(t, &ev);
			return fail(t, 1, "handshake message is invalid");
		}
		if (ev.kind == VPF_EV_DATA) {
			if (data_piece(t, &ev) == -1)
				return -1;
			continue;
		}
		switch (ev.h.type) {
		case VPF_HEADERS:
			if (on_headers(t, &ev.h) == -1)
				return -1;
			break;
		case VPF_PING:
			(void)on_ping(t, &ev);
			break;
		case VPF_GOAWAY:
			return on_goaway(t, &ev);
		case VPF_SETTINGS:
			return on_settings(t, &ev, now);
		case VPF_WINDOW_UPDATE:
			if (on_window(t, &ev) == -1)
				return -1;
			break;
		default:
			return fail(t, 1, "unexpected frame type");
		}
		if (t->state == VPT_DEAD)
			return -1;
	}
	return t->state == VPT_DEAD ? -1 : 0;
}

/* ---- timers */

int64_t
vpt_next_timeout(struct vptun *t, int64_t now)
{
	int64_t at = -1;
	int i;

	if (t->state == VPT_DEAD)
		return -1;
	if (t->state != VPT_READY)
		at = t->hs_deadline;
	else {
		at = t->ka_next;
		for (i = 0; i < t->npings; i++)
			if (t->pings[i].deadline < at)
				at = t->pings[i].deadline;
	}
	return at <= now ? 0 : at - now;
}

void
vpt_tick(struct vptun *t, int64_t now)
{
	uint8_t f[VPF_HDRLEN + VPF_PINGLEN];
	int i, moved, waiting;

	if (t->state == VPT_DEAD)
		return;
	if (t->state != VPT_READY) {
		if (now >= t->hs_deadline)
			(void)fail(t, 1, "handshake timeout");
		return;
	}
	for (i = 0; i < t->npings; ) {
		if (t->pings[i].deadline > now) {
			i++;
			continue;
		}
		if (t->pings[i].out_mark != t->out_total) {
			/*
			 * The link kept taking our bytes since the PING: it
			 * moves, slowly, and the PING may still be queued
			 * behind them. Not a loss yet.
			 */
			t->pings[i].out_mark = t->out_total;
			t->pings[i].deadline = now + t->cfg.ka_timeout_ms;
			i++;
			continue;
		}
		t->pings[i] = t->pings[--t->npings];
		if (t->success <= 0) {
			(void)fail(t, 1, "keepalive response timeout");
			return;
		}
		t->success--;
	}
	if (now >= t->ka_next) {
		/*
		 * A PING only when the tunnel is idle: nothing read for
		 * ka_idle_ms, nothing written since the last tick, nothing
		 * queued to write here or in the link (wire-spec 1.6).
		 */
		t->ka_next = now + t->cfg.ka_interval_ms;
		waiting = t->qlen > 0 ||
		    (t->cb.pending != NULL && t->cb.pending(t->cb.arg) > 0);
		/*
		 * No PING goes out while bytes wait for the link, so a peer
		 * that stops reading (or a dead one behind a full window)
		 * is found here: the link took nothing for a whole period
		 * though bytes waited, and still nothing a period plus the
		 * keepalive timeout later.
		 */
		moved = t->out_total != t->ka_out_mark;
		if (waiting && !moved) {
			if (t->stall_since == 0)
				t->stall_since = now;
			else if (now - t->stall_since >=
			    t->cfg.ka_interval_ms + t->cfg.ka_timeout_ms) {
				(void)fail(t, 0,
				    "link stalled: the peer takes nothing");
				return;
			}
		} else
			t->stall_since = 0;
		if (!moved && !waiting && now - t->last_read > t->cfg.ka_idle_ms &&
		    t->npings < NPINGS) {
			t->ping_id++;
			(void)vpf_put_ping(f, sizeof(f), t->ping_id, 0);
			emit(t, f, sizeof(f));
			t->pings[t->npings].id = t->ping_id;
			t->pings[t->npings].out_mark = t->out_total;
			t->pings[t->npings++].deadline = now + t->cfg.ka_timeout_ms;
		}
		t->ka_out_mark = t->out_total;
	}
}

void
vpt_on_credit(struct vptun *t, void (*fn)(void *, struct vpt_stream *))
{
	t->on_credit = fn;
}

int
vpt_send_ok(struct vptun *t)
{
	return t->state == VPT_READY && t->qlen == 0 &&
	    t->cb.room(t->cb.arg) > VPF_HDRLEN &&
	    (!t->extended || t->tcredit > 0);
}

int
vpt_want_read(struct vptun *t)
{
	return t->state != VPT_DEAD && t->qlen < CTLQ_SOFT;
}

/* ---- life cycle */

struct vptun *
vpt_new(const struct vpt_config *c, const struct vpt_cb *cb, int64_t now)
{
	struct vptun *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cfg = *c;
	t->cb = *cb;
	vpf_dec_init(&t->dec, c->max_frame ? c->max_frame : VPF_LENMAX);
	t->next_sid = c->first_sid > 0 && (c->first_sid & 1) &&
	    c->first_sid <= VPF_SIDMAX ? c->first_sid : 1;
	t->hs_deadline = now + c->handshake_ms;
	t->last_read = now;
	if (c->role == VPT_CLIENT) {
		send_settings(t, c->extended);
		t->state = VPT_HANDSHAKE_SENT;
	}
	return t;
}

void
vpt_free(struct vptun *t)
{
	if (t == NULL)
		return;
	while (t->head != NULL)
		stream_free(t, t->head);
	if (t->zs != NULL) {
		(void)inflateEnd(t->zs);
		free(t->zs);
	}
	free(t->map);
	free(t->q);
	free(t);
}

enum vpt_tstate
vpt_state(const struct vptun *t)
{
	return t->state;
}

int
vpt_extended(const struct vptun *t)
{
	return t->extended;
}

int
vpt_ext_refused(const struct vptun *t)
{
	return t->ext_refused;
}

const char *
vpt_reason(const struct vptun *t)
{
	return t->reason;
}

int
vpt_peer_goaway(const struct vptun *t)
{
	return t->peer_goaway;
}

uint32_t
vpt_nstreams(const struct vptun *t)
{
	return t->nstreams;
}

size_t
vpt_buffered(const struct vptun *t)
{
	return t->buffered;
}

struct vpt_stream *
vpt_first(struct vptun *t)
{
	return t->head;
}

/* ---- the program's side of a stream */

struct vpt_stream *
vpt_open(struct vptun *t, void *user)
{
	struct vpt_stream *s;
	uint8_t f[VPF_HDRLEN];
	uint64_t qin;

	if (t->state == VPT_DEAD) {
		errno = EPIPE;
		return NULL;
	}
	if (t->state != VPT_READY) {
		errno = EAGAIN;
		return NULL;
	}
	if (t->cfg.role != VPT_CLIENT) {
		errno = EINVAL;
		return NULL;
	}
	if (t->extended && t->nlive >= t->p_maxstreams) {
		errno = EMFILE;
		return NULL;
	}
	if (t->next_sid > VPF_SIDMAX) {
		errno = ENOSPC;
		return NULL;
	}
	if (t->qlen >= CTLQ_OPEN) {
		/*
		 * The link does not take our frames (a stalled or hostile
		 * peer): a SYN now would only grow the queue, and its RST
		 * after it. The program keeps the local connection waiting.
		 */
		errno = ENOBUFS;
		return NULL;
	}
	if ((s = stream_new(t, t->next_sid)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->next_sid += 2;
	s->user = user;
	sset(t, s, VPS_SYN_SENT);
	(void)vpf_put_syn(f, sizeof(f), s->id);
	qin = t->qin;
	emit(t, f, VPF_HDRLEN);
	/* Queued whole: where it ends, so an RST can take it back. */
	s->synq = t->qin == qin + VPF_HDRLEN ? t->qin : 0;
	return s;
}

size_t
vpt_send_room(struct vptun *t, struct vpt_stream *s)
{
	size_t room;

	if (t->state != VPT_READY ||
	    (s->state != VPS_ESTABLISHED && s->state != VPS_FIN_RECV &&
	    s->state != VPS_SYN_SENT))
		return 0;
	if (t->qlen > 0 && vpt_flush(t) > 0)
		return 0;
	room = t->cb.room(t->cb.arg);
	if (room <= VPF_HDRLEN)
		return 0;
	room -= VPF_HDRLEN;
	if (room > t->cfg.send_frame)
		room = t->cfg.send_frame;
	if (t->extended) {
		if (room > t->p_maxframe)
			room = t->p_maxframe;
		if (s->credit <= 0 || t->tcredit <= 0)
			return 0;
		if ((int64_t)room > s->credit)
			room = s->credit;
		if ((int64_t)room > t->tcredit)
			room = t->tcredit;
	}
	return room;
}

int
vpt_send(struct vptun *t, struct vpt_stream *s, uint8_t *frame, size_t n)
{
	ssize_t r;

	if (n == 0)
		return 0;
	if (n > vpt_send_room(t, s)) {
		errno = EINVAL;
		return -1;
	}
	vpf_hdr_put(frame, n, VPF_DATA, 0, s->id);
	r = t->cb.output(t->cb.arg, frame, VPF_HDRLEN + n);
	if (r > 0)
		t->out_total += r;
	if (r != (ssize_t)(VPF_HDRLEN + n)) {
		/* A link must take what it said it has room for. */
		if (r > 0)
			(void)q_append(t, frame + r, VPF_HDRLEN + n - r, 0);
		else
			(void)q_append(t, frame, VPF_HDRLEN + n, 0);
	}
	if (t->extended) {
		s->credit -= n;
		t->tcredit -= n;
	}
	return 0;
}

int
vpt_send_fin(struct vptun *t, struct vpt_stream *s)
{
	enum vpt_sstate next;
	uint8_t f[VPF_HDRLEN];

	if (t->state != VPT_READY || vpt_stream_next(t->cfg.role, s->state,
	    VPS_EV_SEND_FIN, &next) != VPS_OK) {
		errno = EINVAL;
		return -1;
	}
	sset(t, s, next);
	(void)vpf_put_fin(f, sizeof(f), s->id);
	emit(t, f, VPF_HDRLEN);
	return 0;
}

void
vpt_send_rst(struct vptun *t, struct vpt_stream *s)
{
	uint8_t f[VPF_HDRLEN];

	if (s->state == VPS_DEAD || s->state == VPS_REAL_CLOSED ||
	    s->state == VPS_NONE)
		return;
	if (t->state == VPT_READY && s->state == VPS_SYN_SENT &&
	    s->synq != 0 && s->synq == t->qin && t->qlen >= VPF_HDRLEN) {
		/*
		 * Its SYN is the last thing queued and not a byte of it
		 * left: take it back, and the peer never hears of the
		 * stream (no RST either). Nothing follows a queued SYN of
		 * the stream: DATA waits for an empty queue, FIN for the
		 * SYN-ACK.
		 */
		t->qlen -= VPF_HDRLEN;
		t->qin -= VPF_HDRLEN;
		if (t->qlen == 0)
			t->qoff = 0;
		sset(t, s, VPS_DEAD);
		return;
	}
	if (t->state == VPT_READY) {
		(void)vpf_put_rst(f, sizeof(f), s->id);
		emit(t, f, VPF_HDRLEN);
	}
	sset(t, s, VPS_DEAD);
}

size_t
vpt_peek(struct vpt_stream *s, const uint8_t **p)
{
	*p = s->rbuf != NULL ? s->rbuf + s->roff : NULL;
	return s->rlen;
}

void
vpt_consume(struct vptun *t, struct vpt_stream *s, size_t n)
{
	if (n > s->rlen)
		n = s->rlen;
	s->roff += n;
	s->rlen -= n;
	t->buffered -= n;
	s->unacked += n;
	if (s->rlen == 0) {
		/* Free the buffer when empty: idle streams cost no buffer. */
		free(s->rbuf);
		s->rbuf = NULL;
		s->roff = s->rcap = 0;
	}
	stream_credit(t, s);
	tunnel_credit(t);
}

void
vpt_release(struct vptun *t, struct vpt_stream *s)
{
	vpt_send_rst(t, s);
	sset(t, s, VPS_REAL_CLOSED);
	/* Its unread bytes count as consumed: their tunnel credit goes back. */
	stream_free(t, s);
	tunnel_credit(t);
}
