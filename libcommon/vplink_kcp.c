/*
 * vplink_kcp: KCP over UDP as a vplink (see vplink_kcp.h, vplink.h).
 *
 * Datagrams leave in batches (sendmmsg) and arrive in batches
 * (recvmmsg); ACKs for one batch share datagrams.  Writes only queue
 * into KCP and mark the session dirty; the next events()/tick() sends
 * everything queued in one go, so small frames coalesce into full
 * segments.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vplink_kcp.h"

#define BATCH		64
#define DGMAX		2048
#define RX_ROUNDS	8	/* recvmmsg calls per events(): bounds a flood */
#define NBUCKET		256
#define NCLOSED		1024
#define COOKIE_MS	30000	/* a cookie's time bucket: valid 1-2 of them */
#define CHALLENGE_LEN	(8 + VPCRYPT_COOKIELEN)	/* client sender | cookie */
#define ANSWER_LEN	(VPCRYPT_COOKIELEN + 4)	/* cookie | conv (LE) */

struct txq {
	int			fd;
	int			n;
	struct mmsghdr		msg[BATCH];
	struct iovec		iov[BATCH];
	struct sockaddr_storage	to[BATCH];
	uint8_t			buf[BATCH][DGMAX];
	uint64_t		sent, fail;
};

struct rxq {
	struct mmsghdr		msg[BATCH];
	struct iovec		iov[BATCH];
	struct sockaddr_storage	from[BATCH];
	uint8_t			buf[BATCH][DGMAX];
};

struct klisten;

struct ksess {
	struct vplink		link;
	struct klisten		*ln;		/* server sessions */
	struct txq		*q;
	struct rxq		*rq;		/* client only */
	int			fd;		/* client only */
	struct vpkcp		*kcp;
	struct sockaddr_storage	peer;
	socklen_t		peerlen;
	int			keyed;
	int			auto_suite;	/* move to AES when both can */
	struct vpcrypt_rx	rx;
	struct vpcrypt_tx	tx;
	struct vpcrypt_replay	rp;
	uint8_t			peer_sender[8];
	int			have_sender;	/* client: latched */
	uint32_t		born;		/* server: bucket it opened in */
	uint32_t		conv;
	int64_t			last_rx;
	int			idle_ms;
	int			err;
	int			dirty;
	int			touched;
	struct ksess		*hnext;		/* hash chain */
	struct ksess		*anext;		/* accept queue */
	int			queued;
	struct vplink_kcp_stats	st;
};

struct klisten {
	struct vplink_listener	l;
	int			fd;
	struct vplink_kcp_opts	o;
	struct vpcrypt_rx	rx;		/* for new sessions */
	struct txq		q;
	struct rxq		rq;
	struct ksess		*bucket[NBUCKET];
	int			nsess;
	int			stopped;	/* drain: no new sessions */
	struct ksess		*ahead, *atail;
	uint8_t			closed[NCLOSED][8];
	uint32_t		closed_born[NCLOSED];
	size_t			nclosed;
	uint8_t			secret[VPCRYPT_KEYLEN];	/* cookies */
	struct vpcrypt_tx	ctx;		/* seals challenges */
	uint32_t		cookie_floor;	/* older buckets refused */
	struct ksess		*touched[BATCH];
	int			ntouched;
	uint64_t		bad;
};

static struct vplink_kcp_opts gopts;
static int gopts_set;

/*
 * vplink_kcp_default_options()
 */
void
vplink_kcp_default_options(struct vplink_kcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	vpkcp_config_default(&o->kcp);
	o->idle_ms = 60000;
	o->max_sessions = 256;
	o->sockbuf = 4 << 20;
	o->clock_skew = 600;
	o->suite = 0;	/* auto */
}

void
vplink_kcp_set_options(const struct vplink_kcp_opts *o)
{
	gopts = *o;
	gopts_set = 1;
}

static const struct vplink_kcp_opts *
opts(void)
{
	if (!gopts_set) {
		vplink_kcp_default_options(&gopts);
		gopts_set = 1;
	}
	return &gopts;
}

/*
 * vplink_kcp_option()
 * Returns 0, or -1 with a reason in err.
 */
int
vplink_kcp_option(struct vplink_kcp_opts *o, const char *s, char *err,
    size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
		long long lo, hi;
	} k[] = {
#define KO(f) offsetof(struct vplink_kcp_opts, f)
		{ "nodelay", KO(kcp.nodelay), 0, 2 },
		{ "interval", KO(kcp.interval), 1, 5000 },
		{ "resend", KO(kcp.resend), 0, 1000 },
		{ "nc", KO(kcp.nc), 0, 1 },
		{ "sndwnd", KO(kcp.sndwnd), 1, VPKCP_WND_MAX },
		{ "rcvwnd", KO(kcp.rcvwnd), 1, VPKCP_WND_MAX },
		{ "mtu", KO(kcp.mtu), 128, 1500 },
		{ "minrto", KO(kcp.minrto), 1, 60000 },
		{ "maxrto", KO(kcp.maxrto), 1, 60000 },
		{ "deadlink", KO(kcp.deadlink), 1, 1000 },
		{ "sessions", KO(max_sessions), 1, 65536 },
		{ "sockbuf", KO(sockbuf), 65536, 1 << 30 },
		{ "skew", KO(clock_skew), 1, 86400 * 365 },
	};
#define MINRTO	7	/* k[MINRTO] is minrto */
	struct vplink_kcp_opts saved;
	const char *eq = strchr(s, '=');
	size_t i, nlen;
	long long v;
	int64_t ms;

	if (eq == NULL) {
		saved = *o;
		if (vpkcp_config_profile(&o->kcp, s) == 0) {
			/* Knobs given by name stay as given. */
			for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
				if (o->given & 1u << i)
					memcpy((char *)o + k[i].off,
					    (char *)&saved + k[i].off,
					    sizeof(int));
			if (!(o->given & 1u << MINRTO))
				o->kcp.minrto = o->kcp.nodelay ? 10 : 100;
			return 0;
		}
		snprintf(err, errlen, "unknown KCP profile '%s' (normal, fast, "
		    "fast2, fast3) or missing '=' in a knob", s);
		return -1;
	}
	nlen = eq - s;
	if (nlen == 6 && strncmp(s, "cipher", 6) == 0) {
		if (strcmp(eq + 1, "auto") == 0)
			o->suite = 0;
		else if ((o->suite = vpcrypt_suite_parse(eq + 1)) == -1) {
			snprintf(err, errlen, "cipher: '%s' is not auto, "
			    "chacha or aes", eq + 1);
			o->suite = 0;
			return -1;
		}
		return 0;
	}
	if (nlen == 4 && strncmp(s, "idle", 4) == 0) {
		if (vpio_parse_duration(eq + 1, &ms) == -1 || ms < 1000 ||
		    ms > 86400000) {
			snprintf(err, errlen, "idle: bad duration '%s' "
			    "(1s..24h)", eq + 1);
			return -1;
		}
		o->idle_ms = (int)ms;
		return 0;
	}
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (strlen(k[i].name) != nlen || strncmp(s, k[i].name, nlen))
			continue;
		if (vpio_parse_num(eq + 1, k[i].lo, k[i].hi, &v) == -1) {
			snprintf(err, errlen, "%s: '%s' is not a number in "
			    "%lld..%lld", k[i].name, eq + 1, k[i].lo, k[i].hi);
			return -1;
		}
		*(int *)((char *)o + k[i].off) = (int)v;
		o->given |= 1u << i;
		if (k[i].off == KO(kcp.nodelay) &&
		    !(o->given & 1u << MINRTO))
			o->kcp.minrto = v ? 10 : 100;
		return 0;
	}
	snprintf(err, errlen, "unknown KCP knob '%.*s'", (int)nlen, s);
	return -1;
#undef MINRTO
#undef KO
}

/* The KCP config inside the UDP payload. */
static struct vpkcp_config inner_cfg(const struct vplink_kcp_opts *);

int
vplink_kcp_options_check(const struct vplink_kcp_opts *o, char *err,
    size_t errlen)
{
	struct vpkcp_config c = inner_cfg(o);

	if (o->keyed && o->suite != 0 && vpcrypt_init() == 0 &&
	    !vpcrypt_suite_ok(o->suite)) {
		snprintf(err, errlen, "cipher=aes needs a CPU with AES "
		    "instructions; use cipher=chacha");
		return -1;
	}
	return vpkcp_config_check(&c, err, errlen);
}

/* ---- datagram batches */

static void
txq_init(struct txq *q, int fd)
{
	q->fd = fd;
	q->n = 0;
}

/* Sends the batch; whatever the kernel refuses is a lost datagram. */
static void
txq_flush(struct txq *q)
{
	int off = 0, r, guard = 0;

	while (off < q->n && guard++ < BATCH + 1) {
		r = sendmmsg(q->fd, q->msg + off, q->n - off, MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* EAGAIN, ENOBUFS, EPERM, ...: drop this one. */
			q->fail++;
			off++;
			continue;
		}
		q->sent += r;
		off += r;
	}
	q->n = 0;
}

/*
 * Queues one datagram: buf sealed with tx (as a control datagram if
 * ctl), or bare if tx is NULL; to NULL for a connected socket.
 * Returns 0, or -1 if it is too large.
 */
static int
txq_put(struct txq *q, struct vpcrypt_tx *tx, int ctl, const uint8_t *buf,
    size_t len, const struct sockaddr_storage *to, socklen_t tolen)
{
	struct mmsghdr *m;
	uint8_t *p;
	size_t n;

	if (len + VPCRYPT_OVERHEAD > DGMAX)
		return -1;
	if (q->n == BATCH)
		txq_flush(q);
	p = q->buf[q->n];
	if (tx != NULL)
		n = ctl ? vpcrypt_seal_ctl(tx, p, buf, len) :
		    vpcrypt_seal(tx, p, buf, len);
	else {
		memcpy(p, buf, len);
		n = len;
	}
	m = &q->msg[q->n];
	memset(m, 0, sizeof(*m));
	q->iov[q->n].iov_base = p;
	q->iov[q->n].iov_len = n;
	m->msg_hdr.msg_iov = &q->iov[q->n];
	m->msg_hdr.msg_iovlen = 1;
	if (to != NULL) {
		memcpy(&q->to[q->n], to, tolen);
		m->msg_hdr.msg_name = &q->to[q->n];
		m->msg_hdr.msg_namelen = tolen;
	}
	q->n++;
	return 0;
}

/* The KCP output callback: seal and queue one datagram. */
static void
kout(const uint8_t *buf, size_t len, void *arg)
{
	struct ksess *s = arg;

	if (s->q == NULL)
		return;
	if (txq_put(s->q, s->keyed ? &s->tx : NULL, 0, buf, len,
	    s->ln != NULL ? &s->peer : NULL, s->peerlen) == 0)
		s->st.dgrams_out++;
}

/* A cookie's time bucket for the monotonic clock now (ms). */
static uint32_t
bucket_of(int64_t now)
{
	return (uint32_t)(now / COOKIE_MS);
}

/* The bytes of an address a cookie is bound to; their count. */
static size_t
addr_bytes(const struct sockaddr_storage *ss, socklen_t len, uint8_t out[32])
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET && len >= sizeof(*s4)) {
		out[0] = 4;
		memcpy(out + 1, &s4->sin_port, 2);
		memcpy(out + 3, &s4->sin_addr, 4);
		return 7;
	}
	if (ss->ss_family == AF_INET6 && len >= sizeof(*s6)) {
		out[0] = 6;
		memcpy(out + 1, &s6->sin6_port, 2);
		memcpy(out + 3, &s6->sin6_addr, 16);
		memcpy(out + 19, &s6->sin6_scope_id, 4);
		return 23;
	}
	out[0] = 0;
	return 1;
}

static void
rxq_arm(struct rxq *r)
{
	int i;

	for (i = 0; i < BATCH; i++) {
		r->iov[i].iov_base = r->buf[i];
		r->iov[i].iov_len = DGMAX;
		memset(&r->msg[i].msg_hdr, 0, sizeof(r->msg[i].msg_hdr));
		r->msg[i].msg_hdr.msg_iov = &r->iov[i];
		r->msg[i].msg_hdr.msg_iovlen = 1;
		r->msg[i].msg_hdr.msg_name = &r->from[i];
		r->msg[i].msg_hdr.msg_namelen = sizeof(r->from[i]);
	}
}

static void
set_bufs(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
	    sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
		    sizeof(size));
}

static int
is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
		    >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			return s6->sin6_addr.s6_addr[12] == 127;
	}
	return 0;
}

static uint32_t
now32(int64_t now)
{
	return (uint32_t)now;
}

/* The KCP config inside the UDP payload. */
static struct vpkcp_config
inner_cfg(const struct vplink_kcp_opts *o)
{
	struct vpkcp_config c = o->kcp;

	if (o->keyed)
		c.mtu -= VPCRYPT_OVERHEAD;
	return c;
}

/* ---- the session (a vplink) */

static int
sess_pollfds(struct vplink *l, struct pollfd *pfd, int max, int want_read)
{
	struct ksess *s = l->ctx;

	if (s->ln != NULL || max < 1 || s->fd == -1)
		return 0;
	pfd[0].fd = s->fd;
	pfd[0].events = POLLIN;	/* ACKs arrive whatever the reader wants */
	pfd[0].revents = 0;
	return 1;
}

/* cipher=auto: seal with AES-256-GCM once the peer says it opens it. */
static void
maybe_aes(struct ksess *s)
{
	if (s->auto_suite && s->rx.peer_aes &&
	    s->tx.sk.suite != VPCRYPT_SUITE_AESGCM)
		(void)vpcrypt_tx_set_suite(&s->tx, VPCRYPT_SUITE_AESGCM);
}

/*
 * Keyed client: a control datagram, the server's cookie challenge.
 * Until the server's first KCP datagram, an authentic challenge for
 * this session's sender id is answered with the cookie and the conv,
 * and everything in flight is sent again at once (the server dropped
 * it).  Returns 0, or -1 if dropped.
 */
static int
sess_challenge(struct ksess *s, uint8_t *buf, size_t len, int64_t now)
{
	uint8_t sender[8], ans[ANSWER_LEN];
	const uint8_t *p = buf + VPCRYPT_HDRLEN;
	uint64_t ctr;

	if (s->ln != NULL || s->have_sender || s->q == NULL)
		return -1;
	if (vpcrypt_open(&s->rx, buf, len, sender, &ctr) != CHALLENGE_LEN ||
	    memcmp(p, s->tx.sk.sender, 8) != 0)
		return -1;
	memcpy(ans, p + 8, VPCRYPT_COOKIELEN);
	ans[VPCRYPT_COOKIELEN] = s->conv;
	ans[VPCRYPT_COOKIELEN + 1] = s->conv >> 8;
	ans[VPCRYPT_COOKIELEN + 2] = s->conv >> 16;
	ans[VPCRYPT_COOKIELEN + 3] = s->conv >> 24;
	if (txq_put(s->q, &s->tx, 1, ans, sizeof(ans), NULL, 0) == 0)
		s->st.dgrams_out++;
	vpkcp_resend_now(s->kcp, now32(now));
	s->last_rx = now;
	s->dirty = 1;
	return 0;
}

/* Opens (keyed) and feeds one datagram; 0, or -1 if dropped. */
static int
sess_input(struct ksess *s, uint8_t *buf, size_t len, int64_t now,
    int follow, const struct sockaddr_storage *from, socklen_t fromlen)
{
	uint8_t sender[8];
	uint64_t ctr;
	uint32_t conv;
	long n;

	if (s->keyed) {
		if (vpcrypt_is_ctl(buf, len))
			return sess_challenge(s, buf, len, now);
		if (vpcrypt_peek(buf, len, sender, &ctr) == -1)
			return -1;
		if (s->have_sender && memcmp(sender, s->peer_sender, 8) != 0)
			return -1;
		if (vpcrypt_replay_check(&s->rp, ctr) == -1)
			return -1;
		if ((n = vpcrypt_open(&s->rx, buf, len, sender, &ctr)) < 0)
			return -1;
		/*
		 * A client learns the server's sender id from the first
		 * authentic datagram of this conversation: one of an older
		 * session (same key, another conv) is dropped, not latched.
		 */
		if (!s->have_sender && (vpkcp_peek_conv(buf + VPCRYPT_HDRLEN,
		    (size_t)n, &conv) == -1 || conv != s->conv))
			return -1;
		/* Authentic: a newer datagram may move the peer (NAT). */
		if (follow && from != NULL && (!s->rp.any || ctr > s->rp.top) &&
		    (fromlen != s->peerlen || memcmp(from, &s->peer,
		    fromlen) != 0)) {
			memcpy(&s->peer, from, fromlen);
			s->peerlen = fromlen;
		}
		vpcrypt_replay_commit(&s->rp, ctr);
		memcpy(s->peer_sender, sender, 8);
		s->have_sender = 1;
		maybe_aes(s);
		buf += VPCRYPT_HDRLEN;
		len = (size_t)n;
	}
	s->last_rx = now;
	s->st.dgrams_in++;
	if (vpkcp_input(s->kcp, buf, len, now32(now)) < 0)
		s->st.bad_dgrams++;
	s->dirty = 1;
	return 0;
}

static void
sess_check(struct ksess *s, int64_t now)
{
	if (s->err != 0)
		return;
	if (vpkcp_dead(s->kcp))
		s->err = ETIMEDOUT;
	else if (now - s->last_rx > s->idle_ms)
		s->err = ETIMEDOUT;
}

static void
sess_flush(struct ksess *s, int64_t now)
{
	if (s->dirty) {
		s->dirty = 0;
		vpkcp_flush(s->kcp, now32(now));
	}
	if (s->q != NULL)
		txq_flush(s->q);
}

static int
sess_events(struct vplink *l, const struct pollfd *pfd, int n, int64_t now)
{
	struct ksess *s = l->ctx;
	struct rxq *r = s->rq;
	int i, got, round;

	if (s->ln == NULL && s->fd != -1 && n > 0 &&
	    (pfd[0].revents & (POLLIN | POLLERR))) {
		for (round = 0; round < RX_ROUNDS; round++) {
			rxq_arm(r);
			got = recvmmsg(s->fd, r->msg, BATCH, MSG_DONTWAIT,
			    NULL);
			if (got == -1 && errno == EINTR)
				continue;
			if (got <= 0)
				break;	/* EAGAIN, ECONNREFUSED (ICMP): lost */
			for (i = 0; i < got; i++) {
				if (r->msg[i].msg_hdr.msg_flags & MSG_TRUNC)
					continue;
				if (sess_input(s, r->buf[i], r->msg[i].msg_len,
				    now, 0, NULL, 0) == -1)
					s->st.bad_dgrams++;
			}
			if (got < BATCH)
				break;
		}
	}
	sess_flush(s, now);
	sess_check(s, now);
	if (s->err != 0) {
		errno = s->err;
		return -1;
	}
	return 0;
}

static int64_t
sess_next_timeout(struct vplink *l, int64_t now)
{
	struct ksess *s = l->ctx;
	int64_t t, idle;

	if (s->err != 0)
		return -1;
	if (s->dirty)
		return 0;
	t = (int32_t)(vpkcp_check(s->kcp, now32(now)) - now32(now));
	if (t < 0)
		t = 0;
	idle = s->last_rx + s->idle_ms + 1 - now;
	if (idle < 0)
		idle = 0;
	return t < idle ? t : idle;
}

static void
sess_tick(struct vplink *l, int64_t now)
{
	struct ksess *s = l->ctx;

	if (s->err != 0)
		return;
	s->dirty = 0;
	vpkcp_update(s->kcp, now32(now));
	if (s->q != NULL)
		txq_flush(s->q);
	sess_check(s, now);
}

static ssize_t
sess_read(struct vplink *l, void *buf, size_t len)
{
	struct ksess *s = l->ctx;
	size_t n;

	if (len == 0)
		return 0;
	if ((n = vpkcp_recv(s->kcp, buf, len)) > 0) {
		s->dirty = 1;	/* a reopened window is told at once */
		return (ssize_t)n;
	}
	errno = s->err != 0 ? s->err : EAGAIN;
	return -1;
}

static size_t
sess_writable(struct vplink *l)
{
	struct ksess *s = l->ctx;

	return s->err != 0 ? 0 : vpkcp_writable(s->kcp);
}

static ssize_t
sess_write(struct vplink *l, const void *buf, size_t len)
{
	struct ksess *s = l->ctx;
	size_t n;

	if (s->err != 0) {
		errno = s->err;
		return -1;
	}
	n = vpkcp_send(s->kcp, buf, len);
	if (n > 0)
		s->dirty = 1;
	return (ssize_t)n;
}

static size_t
sess_pending(struct vplink *l)
{
	struct ksess *s = l->ctx;

	if (s->err != 0)
		return 0;
	return vpkcp_waitsnd(s->kcp) * (size_t)(opts()->kcp.mtu -
	    VPKCP_OVERHEAD);
}

static void
sess_shutdown_write(struct vplink *l)
{
	/* KCP has no end-of-stream: the frame layer's GOAWAY/FIN say it. */
}

static int
sess_error(struct vplink *l)
{
	struct ksess *s = l->ctx;

	return s->err;
}

static void ln_remove(struct klisten *, struct ksess *);

static void
sess_free(struct ksess *s)
{
	vpkcp_free(s->kcp);
	sodium_memzero(&s->rx, sizeof(s->rx));
	sodium_memzero(&s->tx, sizeof(s->tx));
	if (s->ln == NULL) {
		if (s->q != NULL && s->fd != -1) {
			txq_flush(s->q);
			close(s->fd);
		}
		free(s->q);
		free(s->rq);
	}
	free(s);
}

static void
sess_close(struct vplink *l)
{
	struct ksess *s = l->ctx;

	if (s->ln != NULL)
		ln_remove(s->ln, s);
	else
		sess_free(s);
}

static const struct vplink_ops sess_ops = {
	.pollfds = sess_pollfds,
	.events = sess_events,
	.next_timeout = sess_next_timeout,
	.tick = sess_tick,
	.read = sess_read,
	.writable = sess_writable,
	.write = sess_write,
	.pending = sess_pending,
	.shutdown_write = sess_shutdown_write,
	.error = sess_error,
	.close = sess_close,
};

static struct ksess *
sess_new(const struct vplink_kcp_opts *o, uint32_t conv, int server,
    int64_t now)
{
	struct vpkcp_config c = inner_cfg(o);
	struct ksess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd = -1;
	s->conv = conv;
	s->keyed = o->keyed;
	s->idle_ms = o->idle_ms;
	s->last_rx = now;
	if (o->keyed) {
		vpcrypt_rx_init(&s->rx, o->psk, server ? VPCRYPT_C2S :
		    VPCRYPT_S2C);
		vpcrypt_tx_init(&s->tx, o->psk, server ? VPCRYPT_S2C :
		    VPCRYPT_C2S, (uint32_t)time(NULL), o->suite != 0 ?
		    o->suite : VPCRYPT_SUITE_CHACHA);
		s->auto_suite = o->suite == 0;
	}
	if ((s->kcp = vpkcp_new(conv, &c, kout, s, now32(now))) == NULL) {
		free(s);
		return NULL;
	}
	s->link.ops = &sess_ops;
	s->link.ctx = s;
	s->link.kind = "udp";
	return s;
}

int
vplink_kcp_stats(struct vplink *l, struct vplink_kcp_stats *st)
{
	struct ksess *s;

	l = vplink_unwrap(l);	/* a peer given by name */
	if (l == NULL || l->ops != &sess_ops)
		return -1;
	s = l->ctx;
	*st = s->st;
	if (s->q != NULL)
		st->send_fail = s->q->fail;
	vpkcp_get_stats(s->kcp, &st->kcp);
	return 0;
}

static void
fmt_peer(char *buf, size_t n, const struct sockaddr *sa)
{
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    h, sizeof(h));
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		snprintf(buf, n, "udp:%s:%u", h, port);
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, h, sizeof(h));
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		snprintf(buf, n, "udp:[%s]:%u", h, port);
	} else
		snprintf(buf, n, "udp:?");
}

static int
resolve(const struct vpendpoint *ep, int passive, struct sockaddr_storage *ss,
    socklen_t *sslen, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	char port[16];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	if (passive)
		hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", ep->port);
	r = getaddrinfo(ep->host[0] != '\0' && strcmp(ep->host, "*") != 0 ?
	    ep->host : NULL, port, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "udp:%s:%u: %s", ep->host, ep->port,
		    gai_strerror(r));
		errno = EHOSTUNREACH;
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* 1 (EPERM, err set) if plain mode may not use this address. */
static int
plain_refused(const struct vplink_kcp_opts *o,
    const struct sockaddr_storage *ss, const struct vpendpoint *ep, char *err,
    size_t errlen)
{
	if (o->keyed || o->allow_plain || is_loopback((const struct sockaddr *)ss))
		return 0;
	snprintf(err, errlen, "udp:%s:%u is not a loopback address: plain "
	    "(unauthenticated) KCP refused; give a key with -k (or -o plain "
	    "to insist)", ep->host, ep->port);
	errno = EPERM;
	return 1;
}

/*
 * vplink_kcp_check()
 * Returns 0 if the options allow ep, else -1 (errno, err).
 */
int
vplink_kcp_check(const struct vpendpoint *ep, int passive, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (resolve(ep, passive, &ss, &sslen, err, errlen) == -1)
		return -1;
	return plain_refused(opts(), &ss, ep, err, errlen) ? -1 : 0;
}

/*
 * vplink_kcp_dial()
 * Returns a client link (KCP over a connected UDP socket) or NULL.
 */
struct vplink *
vplink_kcp_dial(const struct vpendpoint *ep, char *err, size_t errlen)
{
	const struct vplink_kcp_opts *o = opts();
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct ksess *s;
	uint32_t conv = 0;
	int fd, e;

	if (vpcrypt_init() == -1) {
		snprintf(err, errlen, "libsodium initialisation failed");
		errno = ENOSYS;
		return NULL;
	}
	if (resolve(ep, 0, &ss, &sslen, err, errlen) == -1)
		return NULL;
	if (plain_refused(o, &ss, ep, err, errlen))
		return NULL;
	if (o->keyed)
		randombytes_buf(&conv, sizeof(conv));
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
		e = errno;
		snprintf(err, errlen, "udp:%s:%u: %s", ep->host, ep->port,
		    strerror(e));
		if (fd != -1)
			close(fd);
		errno = e;
		return NULL;
	}
	set_bufs(fd, o->sockbuf);
	if ((s = sess_new(o, conv, 0, vpio_now_ms())) == NULL ||
	    (s->q = malloc(sizeof(*s->q))) == NULL ||
	    (s->rq = malloc(sizeof(*s->rq))) == NULL) {
		if (s != NULL) {
			free(s->q);
			s->q = NULL;
			sess_free(s);
		}
		close(fd);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->fd = fd;
	txq_init(s->q, fd);
	memcpy(&s->peer, &ss, sslen);
	s->peerlen = sslen;
	fmt_peer(s->link.peer, sizeof(s->link.peer), (struct sockaddr *)&ss);
	vpkcp_update(s->kcp, now32(vpio_now_ms()));
	return &s->link;
}

/* ---- the server: one socket, many sessions */

static uint32_t
hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static uint32_t
sess_hash(const struct klisten *ln, const uint8_t *sender,
    const struct sockaddr_storage *from, socklen_t fromlen, uint32_t conv)
{
	if (ln->o.keyed)
		return hash_bytes(sender, 8) % NBUCKET;
	return (hash_bytes((const uint8_t *)from, fromlen) ^ conv) % NBUCKET;
}

static struct ksess *
ln_find(struct klisten *ln, const uint8_t *sender,
    const struct sockaddr_storage *from, socklen_t fromlen, uint32_t conv)
{
	struct ksess *s;

	for (s = ln->bucket[sess_hash(ln, sender, from, fromlen, conv)];
	    s != NULL; s = s->hnext) {
		if (ln->o.keyed) {
			if (memcmp(s->peer_sender, sender, 8) == 0)
				return s;
		} else if (s->conv == conv && s->peerlen == fromlen &&
		    memcmp(&s->peer, from, fromlen) == 0)
			return s;
	}
	return NULL;
}

static void
ln_remove(struct klisten *ln, struct ksess *s)
{
	struct ksess **pp, *p;
	int i;

	pp = &ln->bucket[sess_hash(ln, s->peer_sender, &s->peer, s->peerlen,
	    s->conv)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	if (s->queued) {
		for (pp = &ln->ahead, p = NULL; *pp != NULL;
		    p = *pp, pp = &(*pp)->anext)
			if (*pp == s) {
				*pp = s->anext;
				if (ln->atail == s)
					ln->atail = p;
				break;
			}
	}
	for (i = 0; i < ln->ntouched; i++)
		if (ln->touched[i] == s)
			ln->touched[i] = NULL;
	if (ln->o.keyed) {
		i = (int)(ln->nclosed % NCLOSED);
		/*
		 * A sender leaving the ring may be replayed again: refuse
		 * cookies from any bucket its answers could carry.
		 */
		if (ln->nclosed >= NCLOSED &&
		    (int32_t)(ln->closed_born[i] + 2 - ln->cookie_floor) > 0)
			ln->cookie_floor = ln->closed_born[i] + 2;
		memcpy(ln->closed[i], s->peer_sender, 8);
		ln->closed_born[i] = s->born;
		ln->nclosed++;
	}
	ln->nsess--;
	txq_flush(&ln->q);
	s->q = NULL;
	s->ln = NULL;
	s->fd = -1;
	sess_free(s);
}

static int
recently_closed(const struct klisten *ln, const uint8_t *sender)
{
	size_t i, n = ln->nclosed < NCLOSED ? ln->nclosed : NCLOSED;

	for (i = 0; i < n; i++)
		if (memcmp(ln->closed[i], sender, 8) == 0)
			return 1;
	return 0;
}

/* Does the KCP payload start a session (a PUSH with sn 0)? */
static int
opens_session(const uint8_t *p, size_t len, uint32_t *conv)
{
	uint32_t seglen;

	if (vpkcp_peek_conv(p, len, conv) == -1)
		return 0;
	while (len >= VPKCP_OVERHEAD) {
		if (p[4] < VPKCP_CMD_PUSH || p[4] > VPKCP_CMD_WINS)
			return 0;
		seglen = (uint32_t)p[20] | (uint32_t)p[21] << 8 |
		    (uint32_t)p[22] << 16 | (uint32_t)p[23] << 24;
		if (p[4] == VPKCP_CMD_PUSH && p[12] == 0 && p[13] == 0 &&
		    p[14] == 0 && p[15] == 0)
			return 1;
		if (seglen > len - VPKCP_OVERHEAD)
			return 0;
		p += VPKCP_OVERHEAD + seglen;
		len -= VPKCP_OVERHEAD + seglen;
	}
	return 0;
}

static void
touch(struct klisten *ln, struct ksess *s)
{
	if (s->touched || ln->ntouched == BATCH)
		return;
	s->touched = 1;
	ln->touched[ln->ntouched++] = s;
}

/* Files a new server session s: its hash chain and the accept queue. */
static void
ln_add(struct klisten *ln, struct ksess *s, int64_t now)
{
	uint32_t h;

	s->ln = ln;
	s->q = &ln->q;
	h = sess_hash(ln, s->peer_sender, &s->peer, s->peerlen, s->conv);
	s->hnext = ln->bucket[h];
	ln->bucket[h] = s;
	ln->nsess++;
	s->queued = 1;
	if (ln->atail != NULL)
		ln->atail->anext = s;
	else
		ln->ahead = s;
	ln->atail = s;
	vpkcp_update(s->kcp, now32(now));
}

/* A new server session for a client at from; NULL if out of memory. */
static struct ksess *
ln_sess_new(struct klisten *ln, uint32_t conv,
    const struct sockaddr_storage *from, socklen_t fromlen, int64_t now)
{
	struct ksess *s;

	if ((s = sess_new(&ln->o, conv, 1, now)) == NULL)
		return NULL;
	memcpy(&s->peer, from, fromlen);
	s->peerlen = fromlen;
	s->born = bucket_of(now);
	fmt_peer(s->link.peer, sizeof(s->link.peer),
	    (const struct sockaddr *)from);
	return s;
}

/*
 * Keyed: may a datagram from sender start anything?  Its clock within
 * skew, not a recently closed session, room for a session.
 */
static int
ln_sender_ok(const struct klisten *ln, const uint8_t sender[8])
{
	int64_t skew;

	if (ln->stopped || ln->nsess >= ln->o.max_sessions)
		return 0;
	skew = (int64_t)time(NULL) - (int64_t)vpcrypt_sender_time(sender);
	if (skew > ln->o.clock_skew || -skew > ln->o.clock_skew)
		return 0;
	return !recently_closed(ln, sender);
}

/*
 * Keyed: an authentic opener from an unknown sender.  No state: the
 * answer is a challenge (its sender id and a cookie bound to it, the
 * address and the time bucket), sealed as a control datagram and no
 * larger than the opener, which is then dropped.
 */
static void
ln_challenge(struct klisten *ln, const uint8_t sender[8], size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen, int64_t now)
{
	uint8_t ch[CHALLENGE_LEN], a[32];
	size_t alen;

	if (len < VPCRYPT_OVERHEAD + CHALLENGE_LEN) {
		ln->bad++;
		return;
	}
	alen = addr_bytes(from, fromlen, a);
	memcpy(ch, sender, 8);
	vpcrypt_cookie(ch + 8, ln->secret, sender, a, alen, bucket_of(now));
	(void)txq_put(&ln->q, &ln->ctx, 1, ch, sizeof(ch), from, fromlen);
}

/*
 * Keyed: a control datagram from an unknown sender, its answer to a
 * challenge.  A valid cookie (this sender and address, this or the last
 * bucket) creates the session, with the conv the answer names.
 */
static void
ln_answer(struct klisten *ln, uint8_t *buf, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen, int64_t now)
{
	uint8_t sender[8], a[32];
	const uint8_t *p = buf + VPCRYPT_HDRLEN;
	uint64_t ctr;
	uint32_t conv;
	size_t alen;
	struct ksess *s;

	if (vpcrypt_peek(buf, len, sender, &ctr) == -1 ||
	    !ln_sender_ok(ln, sender) ||
	    vpcrypt_open(&ln->rx, buf, len, sender, &ctr) != ANSWER_LEN)
		goto bad;
	alen = addr_bytes(from, fromlen, a);
	if (vpcrypt_cookie_check(p, ln->secret, sender, a, alen,
	    bucket_of(now), ln->cookie_floor) == -1)
		goto bad;
	conv = (uint32_t)p[VPCRYPT_COOKIELEN] |
	    (uint32_t)p[VPCRYPT_COOKIELEN + 1] << 8 |
	    (uint32_t)p[VPCRYPT_COOKIELEN + 2] << 16 |
	    (uint32_t)p[VPCRYPT_COOKIELEN + 3] << 24;
	if ((s = ln_sess_new(ln, conv, from, fromlen, now)) == NULL)
		goto bad;
	memcpy(s->peer_sender, sender, 8);
	s->have_sender = 1;
	/* What it sent before the answer was dropped: it sends it again. */
	vpcrypt_replay_start(&s->rp, ctr);
	s->rx.sk = ln->rx.sk;	/* this sender's key, just made */
	s->rx.peer_aes = ln->rx.peer_aes;
	maybe_aes(s);
	s->last_rx = now;
	ln_add(ln, s, now);
	return;
bad:
	ln->bad++;
}

/* A datagram that matched no session: maybe a new one. */
static void
ln_new_session(struct klisten *ln, uint8_t *buf, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen, int64_t now)
{
	uint8_t sender[8];
	uint64_t ctr;
	uint32_t conv;
	long n;
	struct ksess *s;
	const uint8_t *kp = buf;
	size_t klen = len;

	if (ln->stopped || ln->nsess >= ln->o.max_sessions)
		goto bad;
	if (ln->o.keyed) {
		if (vpcrypt_peek(buf, len, sender, &ctr) == -1 ||
		    !ln_sender_ok(ln, sender))
			goto bad;
		/* Opening in place is fine: unauthentic = dropped. */
		if ((n = vpcrypt_open(&ln->rx, buf, len, sender, &ctr)) < 0)
			goto bad;
		/* Authentic: challenge an opener, drop the rest. */
		if (!opens_session(buf + VPCRYPT_HDRLEN, (size_t)n, &conv))
			goto bad;
		ln_challenge(ln, sender, len, from, fromlen, now);
		return;
	}
	if (!opens_session(kp, klen, &conv))
		goto bad;
	if (ln_find(ln, NULL, from, fromlen, conv) != NULL)
		goto bad;
	if ((s = ln_sess_new(ln, conv, from, fromlen, now)) == NULL)
		goto bad;
	ln_add(ln, s, now);
	s->st.dgrams_in++;
	(void)vpkcp_input(s->kcp, kp, klen, now32(now));
	s->dirty = 1;
	touch(ln, s);
	return;
bad:
	ln->bad++;
}

static void
ln_datagram(struct klisten *ln, uint8_t *buf, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen, int64_t now)
{
	uint8_t sender[8] = { 0 };
	uint64_t ctr;
	uint32_t conv = 0;
	struct ksess *s;

	if (ln->o.keyed) {
		if (vpcrypt_peek(buf, len, sender, &ctr) == -1) {
			ln->bad++;
			return;
		}
	} else if (vpkcp_peek_conv(buf, len, &conv) == -1) {
		ln->bad++;
		return;
	}
	s = ln_find(ln, sender, from, fromlen, conv);
	if (ln->o.keyed && vpcrypt_is_ctl(buf, len)) {
		/* An answer; for a session that exists, a late duplicate. */
		if (s == NULL)
			ln_answer(ln, buf, len, from, fromlen, now);
		return;
	}
	if (s == NULL) {
		ln_new_session(ln, buf, len, from, fromlen, now);
		return;
	}
	if (sess_input(s, buf, len, now, 1, from, fromlen) == -1) {
		s->st.bad_dgrams++;
		ln->bad++;
		return;
	}
	touch(ln, s);
}

static int
ln_pollfds(struct vplink_listener *l, struct pollfd *pfd, int max)
{
	struct klisten *ln = l->ctx;

	if (max < 1)
		return 0;
	pfd[0].fd = ln->fd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	return 1;
}

static int
ln_events(struct vplink_listener *l, const struct pollfd *pfd, int n,
    int64_t now)
{
	struct klisten *ln = l->ctx;
	struct rxq *r = &ln->rq;
	int i, got, round;

	if (n < 1 || !(pfd[0].revents & (POLLIN | POLLERR)))
		return 0;
	for (round = 0; round < RX_ROUNDS; round++) {
		rxq_arm(r);
		got = recvmmsg(ln->fd, r->msg, BATCH, MSG_DONTWAIT, NULL);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (i = 0; i < got; i++) {
			if (r->msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				ln->bad++;
				continue;
			}
			ln_datagram(ln, r->buf[i], r->msg[i].msg_len,
			    &r->from[i], r->msg[i].msg_hdr.msg_namelen, now);
			if (ln->ntouched == BATCH) {
				int j;

				for (j = 0; j < ln->ntouched; j++)
					if (ln->touched[j] != NULL) {
						ln->touched[j]->touched = 0;
						sess_flush(ln->touched[j], now);
					}
				ln->ntouched = 0;
			}
		}
		for (i = 0; i < ln->ntouched; i++)
			if (ln->touched[i] != NULL) {
				ln->touched[i]->touched = 0;
				sess_flush(ln->touched[i], now);
			}
		ln->ntouched = 0;
		if (got < BATCH)
			break;
	}
	txq_flush(&ln->q);
	return 0;
}

static int64_t
ln_next_timeout(struct vplink_listener *l, int64_t now)
{
	return -1;
}

static void
ln_tick(struct vplink_listener *l, int64_t now)
{
}

static struct vplink *
ln_accept(struct vplink_listener *l)
{
	struct klisten *ln = l->ctx;
	struct ksess *s = ln->ahead;

	if (s == NULL) {
		errno = EAGAIN;
		return NULL;
	}
	ln->ahead = s->anext;
	if (ln->ahead == NULL)
		ln->atail = NULL;
	s->anext = NULL;
	s->queued = 0;
	return &s->link;
}

static void
ln_close(struct vplink_listener *l)
{
	struct klisten *ln = l->ctx;
	struct ksess *s, *next;
	int i;

	txq_flush(&ln->q);
	/* Never-accepted sessions go; accepted ones are orphaned. */
	while ((s = ln->ahead) != NULL) {
		ln->ahead = s->anext;
		s->queued = 0;
		ln_remove(ln, s);
	}
	for (i = 0; i < NBUCKET; i++)
		for (s = ln->bucket[i]; s != NULL; s = next) {
			next = s->hnext;
			s->hnext = NULL;
			s->ln = NULL;
			s->q = NULL;
			s->fd = -1;
			if (s->err == 0)
				s->err = EPIPE;
		}
	close(ln->fd);
	sodium_memzero(&ln->rx, sizeof(ln->rx));
	sodium_memzero(&ln->ctx, sizeof(ln->ctx));
	sodium_memzero(ln->secret, sizeof(ln->secret));
	sodium_memzero(&ln->o, sizeof(ln->o));
	free(ln);
}

/*
 * vplink_kcp_listen_stop()
 * A drain: l creates no more sessions and drops those never accepted;
 * accepted ones keep running through its socket. Returns the sessions
 * it still serves (0: it may be closed).
 */
int
vplink_kcp_listen_stop(struct vplink_listener *l)
{
	struct klisten *ln = l->ctx;
	struct ksess *s;

	ln->stopped = 1;
	while ((s = ln->ahead) != NULL) {
		ln->ahead = s->anext;
		s->queued = 0;
		ln_remove(ln, s);
	}
	ln->atail = NULL;
	return ln->nsess;
}

static const struct vplink_listener_ops ln_ops = {
	.pollfds = ln_pollfds,
	.events = ln_events,
	.next_timeout = ln_next_timeout,
	.tick = ln_tick,
	.accept = ln_accept,
	.close = ln_close,
};

/*
 * vplink_kcp_listen()
 * Returns a listener on udp:HOST:PORT, or NULL with errno and err.
 */
struct vplink_listener *
vplink_kcp_listen(const struct vpendpoint *ep, char *err, size_t errlen)
{
	const struct vplink_kcp_opts *o = opts();
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct klisten *ln;
	int fd, e, one = 1;

	if (vpcrypt_init() == -1) {
		snprintf(err, errlen, "libsodium initialisation failed");
		errno = ENOSYS;
		return NULL;
	}
	if (resolve(ep, 1, &ss, &sslen, err, errlen) == -1)
		return NULL;
	if (plain_refused(o, &ss, ep, err, errlen))
		return NULL;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		errno = e;
		return NULL;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
		e = errno;
		snprintf(err, errlen, "bind udp:%s:%u: %s", ep->host, ep->port,
		    strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	set_bufs(fd, o->sockbuf);
	if ((ln = calloc(1, sizeof(*ln))) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ln->fd = fd;
	ln->o = *o;
	if (o->keyed) {
		vpcrypt_rx_init(&ln->rx, o->psk, VPCRYPT_C2S);
		randombytes_buf(ln->secret, sizeof(ln->secret));
		vpcrypt_tx_init(&ln->ctx, o->psk, VPCRYPT_S2C,
		    (uint32_t)time(NULL), VPCRYPT_SUITE_CHACHA);
	}
	txq_init(&ln->q, fd);
	ln->l.ops = &ln_ops;
	ln->l.ctx = ln;
	ln->l.kind = "udp";
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			ln->l.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			ln->l.port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return &ln->l;
}
