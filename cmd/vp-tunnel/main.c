/*
 * vp-tunnel: many streams over one link, vproxy's frame protocol.
 *
 *   vp-tunnel server [options] LISTEN PROGRAM [ARG...]
 *   vp-tunnel server [options] -f ENDPOINT LISTEN
 *   vp-tunnel client [options] -l LISTEN [-l LISTEN...] PEER
 *
 * One poll loop, non-blocking everywhere. The protocol lives in
 * libcommon/vptunnel (state machines) over libcommon/vplink (the
 * transport); this file wires sockets, children and signals to them.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vplink.h"
#include "vplink_kcp.h"
#include "vplisten.h"
#include "vplog.h"
#include "vpnet.h"
#include "vpnotify.h"
#include "vpprivs.h"
#include "vpspawn.h"
#include "vptunnel.h"

#define MAXLISTEN	16
#define MAXPENDING	4096
#define LINKBUF		(64 * 1024)
#define READS_PER_ROUND	32
#define FRAMES_PER_CONN	4

enum mode { CLIENT = 1, SERVER };

static struct {
	enum mode	 mode;
	int		 oneflag;	/* -1 */
	int		 notify_fd;	/* -N */
	struct vpt_config cfg;
	int64_t		 drain_ms;	/* -d */
	int64_t		 wait_ms;	/* -c */
	int64_t		 backoff_max;	/* -b */
	int64_t		 idle_ms;	/* -i: 0 = streams never idle out */
	const char	*forward;	/* -f */
	const char	*listen[MAXLISTEN];
	int		 nlisten;
	const char	*peer;		/* client PEER / server LISTEN */
	char	       **argv;		/* server PROGRAM */
	const char	*user;		/* -u: drop to this user after binding */
	const char	*group;		/* -g */
} o;

struct tun;

struct conn {
	struct tun	*tun;		/* NULL while pending (client) */
	struct vpt_stream *s;
	int		 fd;
	uint8_t		 rd_eof;	/* local EOF seen, FIN sent */
	uint8_t		 wr_shut;	/* SHUT_WR done on fd */
	uint8_t		 peer_fin;
	uint8_t		 connecting;	/* -f: connect in progress */
	uint8_t		 fin_later;	/* local EOF before the SYN-ACK */
	uint8_t		 dead;		/* close now */
	uint8_t		 rst;		/* ... with a reset */
	uint8_t		 ev_reg;	/* events registered in epfd (POLL*) */
	uint8_t		 dmark;		/* on its tunnel's dirty list */
	uint8_t		 flushing;	/* finished stream outliving its tunnel */
	uint32_t	 id;
	int64_t		 since;
	int64_t		 last;		/* last byte either way (-i) */
	uint64_t	 in, out;	/* bytes to / from the local side */
	const char	*why;
	struct conn	*prev, *next;
	struct conn	*dnext;		/* dirty list */
};

/*
 * Per loop iteration only the streams that something happened to (the
 * "dirty" list: a callback, local I/O, a kill) are looked at again; all
 * of them when the tunnel's ability to send changes, and every 500 ms
 * as a safety net and for -i. Thousands of idle streams cost nothing.
 */
struct tun {
	struct vplink	*link;
	struct vptun	*t;
	struct conn	*conns;
	uint32_t	 nconns;
	int		 closing;	/* DEAD: flushing GOAWAY, then close */
	int		 exhausted;	/* client: stream ids used up */
	int		 stalled;	/* client: link takes no frames, */
					/* new streams wait (logged once) */
	int64_t		 close_by;
	int64_t		 flush_by;	/* finished streams' tails, until */
	int		 was_ready;
	struct conn	*dirty;
	int		 send_ok;	/* vpt_send_ok() when last looked */
	int64_t		 full_at;	/* next look at every stream */
	struct tun	*next;
};

struct lsn {
	int		 fd;		/* client: local listening socket */
	struct vplink_listener *ll;	/* server: links */
};

/* every socket of every -l (a name may have several addresses) */
static struct lsn lsns[MAXLISTEN * VPLISTEN_MAXFDS];
static int nlsn;
static struct vplisten vl[MAXLISTEN];
static int nvl;
static struct tun *tuns;
static struct conn *pending;		/* client: waiting for the tunnel */
static int npending;
static int sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_chld;
static int draining;
static int64_t drain_by;
static uint8_t scratch[VPF_HDRLEN + 1024 * 1024];
static struct vpenv childenv;
static int epfd = -1;			/* every stream's local fd */
static int64_t accept_pause;		/* out of fds: stop accepting until */

/* client */
static struct vpendpoint peer_ep;
static struct vplink *dialing;		/* a connect in progress */
static int64_t reconnect_at;
static int64_t backoff;
static int plain_forced;
static int stdio_server;
static int stdio_client;		/* PEER stdio: one link, no redial */
static int exit_status;		/* stdio server: how the tunnel ended */

/* UDP/KCP links: key, profile, knobs (-k, -M, -o) */
static struct vplink_kcp_opts kopts;
static int kcp_opts_given;

/* server -f */
static struct sockaddr_storage fwd_addr;
static socklen_t fwd_len;

static void	usage(void) __attribute__((noreturn));
static void	close_listeners(int);

static void
usage(void)
{
	(void)fprintf(stderr,
	    "usage: vp-tunnel server [-1Pqv] [-d drain] [-F maxframe] "
	    "[-i idle] [-K keepalive]\n"
	    "           [-u user] [-g group]\n"
	    "           [-m maxstreams] [-N fd] [-S tunnelwin] [-s streamwin] "
	    "[-t timeout]\n"
	    "           LISTEN PROGRAM [ARG ...]\n"
	    "       vp-tunnel server [options] -f ENDPOINT LISTEN\n"
	    "       vp-tunnel client [-1Pqv] [-b backoff] [-c wait] "
	    "[-d drain] [-F maxframe] [-i idle]\n"
	    "           [-K keepalive] [-m maxstreams] [-N fd] [-S tunnelwin] "
	    "[-s streamwin]\n"
	    "           [-t timeout] [-u user] [-g group]\n"
	    "           -l LISTEN [-l LISTEN ...] PEER\n"
	    "       UDP (KCP) links also take: [-k keyfile] [-M profile] "
	    "[-o knob=value ...]\n"
	    "       vp-tunnel keygen\n");
	exit(EX_USAGE);
}

static void
on_signal(int sig)
{
	int e = errno;
	char c = (char)sig;

	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
	if (sigpipe[1] != -1 && write(sigpipe[1], &c, 1) == -1) {
		/* A full pipe: a wakeup is already pending. */
	}
	errno = e;
}

static void
reap(void)
{
	int st;

	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

/* ---- conns */

static void
conn_link(struct conn **head, struct conn *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head != NULL)
		(*head)->prev = c;
	*head = c;
}

static void
conn_unlink(struct conn **head, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Closes the local side; an RST-like close when rst (TCP: RST segment). */
static void
close_fd(struct conn *c, int rst)
{
	struct linger lg = { 1, 0 };

	if (c->fd == -1)
		return;
	if (c->ev_reg != 0)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->ev_reg = 0;
	if (rst)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void)close(c->fd);
	c->fd = -1;
}

/* Ends a conn: local fd closed, stream released, one log line. */
static void
conn_end(struct conn *c)
{
	struct tun *tn = c->tun;

	vplog_info("stream %u: %s, %llu bytes in, %llu out, %lld ms",
	    c->id, c->why != NULL ? c->why : "closed",
	    (unsigned long long)c->out, (unsigned long long)c->in,
	    (long long)(vpio_now_ms() - c->since));
	close_fd(c, c->rst);
	if (tn != NULL) {
		if (c->s != NULL)
			vpt_release(tn->t, c->s);
		conn_unlink(&tn->conns, c);
		tn->nconns--;
	} else {
		conn_unlink(&pending, c);
		npending--;
	}
	free(c);
}

/* Puts c on its tunnel's dirty list: look at it again this iteration. */
static void
mark(struct conn *c)
{
	if (c->tun == NULL || c->dmark)
		return;
	c->dmark = 1;
	c->dnext = c->tun->dirty;
	c->tun->dirty = c;
}

static void
conn_kill(struct conn *c, const char *why, int rst)
{
	if (c->dead)
		return;
	c->dead = 1;
	c->rst = rst;
	c->why = why;
	mark(c);
}

/* ---- vptunnel callbacks */

static size_t
cb_room(void *arg)
{
	struct tun *tn = arg;

	return vplink_writable(tn->link);
}

static ssize_t
cb_output(void *arg, const void *p, size_t n)
{
	struct tun *tn = arg;

	return vplink_write(tn->link, p, n);
}

static size_t
cb_pending(void *arg)
{
	struct tun *tn = arg;

	return tn->link->ops->pending(tn->link);
}

static int
start_forward(struct conn *c)
{
	int fd, one = 1;

	fd = socket(fwd_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (fwd_addr.ss_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(fd, (struct sockaddr *)&fwd_addr, fwd_len) == -1) {
		if (errno != EINPROGRESS) {
			vplog_warn_errno("stream %u: connect %s", c->id,
			    o.forward);
			(void)close(fd);
			return -1;
		}
		c->connecting = 1;
	}
	c->fd = fd;
	return 0;
}

static int
start_program(struct conn *c, struct tun *tn)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		vplog_warn_errno("stream %u: socketpair", c->id);
		return -1;
	}
	if (vpenv_set(&childenv, "VP_TUNNEL_PEER", tn->link->peer) == -1 ||
	    vpenv_setf(&childenv, "VP_TUNNEL_STREAM", "%u", c->id) == -1 ||
	    (pid = vpspawn(o.argv, sv[1], sv[1], childenv.v)) == -1) {
		vplog_warn_errno("stream %u: spawn %s", c->id, o.argv[0]);
		(void)close(sv[0]);
		(void)close(sv[1]);
		return -1;
	}
	(void)close(sv[1]);
	(void)vpio_set_nonblock(sv[0], 1);
	c->fd = sv[0];
	return 0;
}

static int
cb_accept(void *arg, struct vpt_stream *s)
{
	struct tun *tn = arg;
	struct conn *c;

	if (draining)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->fd = -1;
	c->id = s->id;
	c->since = c->last = vpio_now_ms();
	if ((o.forward != NULL ? start_forward(c) : start_program(c, tn)) == -1) {
		free(c);
		return -1;
	}
	c->tun = tn;
	c->s = s;
	s->user = c;
	conn_link(&tn->conns, c);
	tn->nconns++;
	mark(c);
	vplog_debug("stream %u: opened", c->id);
	return 0;
}

static void
cb_established(void *arg, struct vpt_stream *s)
{
	struct tun *tn = arg;
	struct conn *c = s->user;

	vplog_debug("stream %u: established", c->id);
	mark(c);
	if (c->fin_later) {
		c->fin_later = 0;
		(void)vpt_send_fin(tn->t, s);
	}
}

static size_t
cb_deliver(void *arg, struct vpt_stream *s, const uint8_t *p, size_t n)
{
	struct conn *c = s->user;
	ssize_t r;

	if (c == NULL || c->dead)
		return n;	/* nobody to give it to: dropped */
	mark(c);
	if (c->connecting || c->fd == -1)
		return 0;
	r = write(c->fd, p, n);
	if (r >= 0) {
		c->in += r;
		c->last = vpio_now_ms();
		return r;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	conn_kill(c, "local write failed", 1);
	return n;
}

static void
cb_fin(void *arg, struct vpt_stream *s)
{
	struct conn *c = s->user;
	const uint8_t *p;

	if (c == NULL)
		return;
	c->peer_fin = 1;
	mark(c);
	if (vpt_peek(s, &p) == 0 && !c->connecting && c->fd != -1 &&
	    !c->wr_shut) {
		(void)shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
}

static void
cb_reset(void *arg, struct vpt_stream *s, const char *why)
{
	struct conn *c = s->user;

	if (c != NULL)
		conn_kill(c, why, 1);
}

static void
cb_credit(void *arg, struct vpt_stream *s)
{
	if (s != NULL && s->user != NULL)
		mark(s->user);
}

static void
cb_notice(void *arg, const char *msg)
{
	struct tun *tn = arg;

	vplog_warn("tunnel %s: %s", tn->link->peer, msg);
}

/* ---- tunnels */

static struct tun *
tun_new(struct vplink *link)
{
	struct vpt_cb cb = {
		.room = cb_room, .output = cb_output, .accept = cb_accept,
		.established = cb_established, .deliver = cb_deliver,
		.fin = cb_fin, .reset = cb_reset, .notice = cb_notice,
		.pending = cb_pending,
	};
	struct vpt_config cfg = o.cfg;
	struct tun *tn;

	if ((tn = calloc(1, sizeof(*tn))) == NULL)
		return NULL;
	tn->link = link;
	cb.arg = tn;
	cfg.role = o.mode == CLIENT ? VPT_CLIENT : VPT_SERVER;
	if (plain_forced)
		cfg.extended = 0;
	if ((tn->t = vpt_new(&cfg, &cb, vpio_now_ms())) == NULL) {
		free(tn);
		return NULL;
	}
	vpt_on_credit(tn->t, cb_credit);
	tn->next = tuns;
	tuns = tn;
	vplog_info("tunnel %s: %s link up", link->peer, link->kind);
	return tn;
}

static void
tun_free(struct tun *tn)
{
	struct tun **pp;

	while (tn->conns != NULL) {
		if (tn->conns->flushing) {
			/* Its tail did not get out in time. */
			tn->conns->rst = 1;
			tn->conns->why = "tunnel closed";
		}
		conn_end(tn->conns);
	}
	for (pp = &tuns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == tn) {
			*pp = tn->next;
			break;
		}
	if (tn->link->child > 0)
		(void)kill(tn->link->child, SIGTERM);
	{
		struct vplink_kcp_stats ks;

		/* udp: links: what KCP saw, for diagnosing a lossy path */
		if (vplink_kcp_stats(tn->link, &ks) == 0)
			vplog_info("tunnel %s: kcp: datagrams %llu in, %llu "
			    "out, %llu dropped, %llu send failures; segments "
			    "%llu retransmitted (%llu fast); srtt %d ms, "
			    "rto %d ms", tn->link->peer,
			    (unsigned long long)ks.dgrams_in,
			    (unsigned long long)ks.dgrams_out,
			    (unsigned long long)ks.bad_dgrams,
			    (unsigned long long)ks.send_fail,
			    (unsigned long long)ks.kcp.retrans,
			    (unsigned long long)ks.kcp.fast_retrans,
			    ks.kcp.srtt, ks.kcp.rto);
	}
	vplink_close(tn->link);
	vpt_free(tn->t);
	free(tn);
}

/* Client: the next dial after the backoff, which doubles up to -B. */
static void
redial_later(int64_t now)
{
	reconnect_at = now + backoff;
	backoff = backoff * 2 > o.backoff_max ? o.backoff_max : backoff * 2;
}

/* Client: a connected link becomes a tunnel (or is retried later). */
static void
link_up(struct vplink *link, int64_t now)
{
	if (tun_new(link) == NULL) {
		vplog_warn("tunnel %s: out of memory", o.peer);
		vplink_close(link);
		reconnect_at = now + backoff;
	}
}

/*
 * The tunnel died: every conn ends, except streams that had finished
 * cleanly (both FINs): they keep writing their tail to the local side,
 * for at most -i (or -d). The GOAWAY (if any) gets 1 s to leave, or
 * the rest of the drain.
 */
static void
tun_dead(struct tun *tn, int64_t now)
{
	struct conn *c;

	if (tn->closing)
		return;
	tn->closing = 1;
	/*
	 * A drain waits (up to -d) for the link to deliver what it still
	 * holds: the streams ended once their bytes were handed to it.
	 */
	tn->close_by = now + 1000;
	if (draining && drain_by > tn->close_by)
		tn->close_by = drain_by;
	/*
	 * A clean end is worth an info line; a client whose link closes
	 * before the handshake (an exec: command that failed, a wrong
	 * port) gets a warning, or a user would see nothing at all.
	 */
	if ((tn->was_ready || o.mode == SERVER) && (draining || tn->exhausted ||
	    vpt_peer_goaway(tn->t) ||
	    strcmp(vpt_reason(tn->t), "link closed by peer") == 0)) {
		vplog_info("tunnel %s: closed: %s", tn->link->peer,
		    vpt_reason(tn->t));
		exit_status = 0;
	} else {
		vplog_warn("tunnel %s: closed: %s", tn->link->peer,
		    vpt_reason(tn->t));
		exit_status = strstr(vpt_reason(tn->t), "timeout") != NULL ?
		    EX_TEMPFAIL : EX_DATAERR;
	}
	tn->flush_by = now + (o.idle_ms > 0 ? o.idle_ms : o.drain_ms);
	if (draining)
		tn->flush_by = drain_by > now ? drain_by : now;
	for (c = tn->conns; c != NULL; c = c->next) {
		if (!c->dead && c->s != NULL && c->s->state == VPS_DEAD) {
			c->flushing = 1;
			mark(c);
		} else
			conn_kill(c, "tunnel closed", 1);
	}
	if (o.mode == CLIENT) {
		if (vpt_ext_refused(tn->t) && !plain_forced) {
			vplog_warn("tunnel %s: extended handshake refused, "
			    "retrying plain", tn->link->peer);
			plain_forced = 1;
			reconnect_at = now;
		} else {
			if (tn->was_ready)
				backoff = 100;
			redial_later(now);
		}
	}
}

static void
client_dial(int64_t now)
{
	const struct vplink_transport *tr;
	struct vplink *link;
	char err[256];

	reconnect_at = 0;
	tr = vplink_transport_for(peer_ep.kind);
	if ((link = tr->dial(&peer_ep, err, sizeof(err))) == NULL) {
		vplog_warn("tunnel %s: %s", o.peer, err);
		redial_later(now);
		return;
	}
	if (vplink_connecting(link)) {
		/* The loop watches the connect (dial_done()). */
		dialing = link;
		return;
	}
	link_up(link, now);
}

/*
 * Client: after the loop ran the link being dialled, a connect that
 * succeeded becomes a tunnel; one that failed (refused, timed out)
 * is logged and retried after the backoff.
 */
static void
dial_done(int64_t now)
{
	struct vplink *link = dialing;
	int e;

	if (link == NULL)
		return;
	if (link->ops->next_timeout(link, now) == 0)
		link->ops->tick(link, now);
	if ((e = link->ops->error(link)) != 0) {
		vplog_warn("tunnel %s: connect %s: %s", o.peer,
		    peer_ep.kind == VPEP_UNIX ? peer_ep.path : peer_ep.host,
		    vpnet_strerror(e));
		dialing = NULL;
		vplink_close(link);
		redial_later(now);
		return;
	}
	if (vplink_connecting(link))
		return;
	dialing = NULL;
	link_up(link, now);
}

/* Reads what the link has and feeds the tunnel. */
static void
tun_read(struct tun *tn, int64_t now)
{
	static uint8_t buf[LINKBUF];
	ssize_t r;
	int i;

	for (i = 0; i < READS_PER_ROUND && vpt_want_read(tn->t); i++) {
		r = tn->link->ops->read(tn->link, buf, sizeof(buf));
		if (r > 0) {
			if (vpt_input(tn->t, buf, r, now) == -1)
				return;
			continue;
		}
		if (r == 0)
			vpt_link_down(tn->t, "link closed by peer");
		else if (errno != EAGAIN)
			vpt_link_down(tn->t, strerror(errno));
		return;
	}
}

/* ---- local side of a stream */

/*
 * Reads what the local side sent, at most frames DATA frames. Returns
 * the frames sent (a FIN counts), 0 when nothing could be.
 */
static int
conn_readable(struct conn *c, int frames)
{
	struct tun *tn = c->tun;
	size_t room;
	ssize_t r;
	int i;

	for (i = 0; i < frames && !c->dead && !c->rd_eof; i++) {
		room = vpt_send_room(tn->t, c->s);
		if (room == 0)
			return i;
		if (room > sizeof(scratch) - VPF_HDRLEN)
			room = sizeof(scratch) - VPF_HDRLEN;
		r = read(c->fd, scratch + VPF_HDRLEN, room);
		if (r > 0) {
			c->out += r;
			c->last = vpio_now_ms();
			(void)vpt_send(tn->t, c->s, scratch, r);
			if ((size_t)r < room)
				return i + 1;
			continue;
		}
		if (r == 0) {
			c->rd_eof = 1;
			/* No FIN before the SYN-ACK (vproxy drops the stream). */
			if (c->s->state == VPS_SYN_SENT)
				c->fin_later = 1;
			else
				(void)vpt_send_fin(tn->t, c->s);
			return i + 1;
		}
		if (errno != EAGAIN && errno != EINTR)
			conn_kill(c, "local read failed", 1);
		return i;
	}
	return i;
}

static void
conn_writable(struct conn *c)
{
	struct tun *tn = c->tun;
	const uint8_t *p;
	size_t n;
	ssize_t r;
	int soerr;
	socklen_t sl = sizeof(soerr);

	if (c->connecting) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			errno = soerr;
			vplog_warn_errno("stream %u: connect %s", c->id,
			    o.forward);
			conn_kill(c, "connect failed", 0);
			return;
		}
		c->connecting = 0;
	}
	while ((n = vpt_peek(c->s, &p)) > 0) {
		r = write(c->fd, p, n);
		if (r > 0) {
			c->in += r;
			c->last = vpio_now_ms();
			vpt_consume(tn->t, c->s, r);
			continue;
		}
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_kill(c, "local write failed", 1);
		return;
	}
	if (c->peer_fin && !c->wr_shut) {
		(void)shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
}

/* Events a conn wants now. */
static short
conn_events(struct conn *c)
{
	const uint8_t *p;
	short ev = 0;

	if (c->dead || c->fd == -1 || c->tun == NULL || c->s == NULL)
		return 0;
	if (c->connecting)
		return POLLOUT;
	if (vpt_peek(c->s, &p) > 0)
		ev |= POLLOUT;
	if (!c->rd_eof && vpt_send_room(c->tun->t, c->s) > 0)
		ev |= POLLIN;
	return ev;
}

/* Is the conn finished (both directions done)? */
static int
conn_done(struct conn *c)
{
	const uint8_t *p;

	if (c->dead)
		return 1;
	if (c->s == NULL || c->s->state != VPS_DEAD)
		return 0;
	return vpt_peek(c->s, &p) == 0 && (c->wr_shut || !c->peer_fin);
}

/* Makes epfd watch exactly the events c wants now. */
static void
conn_register(struct conn *c)
{
	struct epoll_event ee;
	short want = conn_events(c);

	if (want == c->ev_reg || c->fd == -1)
		return;
	memset(&ee, 0, sizeof(ee));
	ee.events = (want & POLLIN ? EPOLLIN : 0) | (want & POLLOUT ? EPOLLOUT : 0);
	ee.data.ptr = c;
	if (want == 0)
		(void)epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	else if (epoll_ctl(epfd, c->ev_reg == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
	    c->fd, &ee) == -1) {
		vplog_warn_errno("stream %u: epoll", c->id);
		conn_kill(c, "local error", 1);
		return;
	}
	c->ev_reg = want;
}

/*
 * Runs the local side of every stream epoll reports. Writes first; then
 * the streams with data to send take turns, one frame each when several
 * compete for the link, starting each round after the last one served
 * (round robin: no stream is always first to the link's room).
 */
static void
conns_ready(void)
{
	static struct conn *rd[256];
	static size_t rot;
	struct epoll_event ev[256];
	struct conn *c;
	size_t nrd, j, served;
	int n, i, k;
	uint32_t e;

	for (k = 0; k < 16; k++) {
		n = epoll_wait(epfd, ev, 256, 0);
		if (n <= 0)
			return;
		nrd = 0;
		for (i = 0; i < n; i++) {
			c = ev[i].data.ptr;
			e = ev[i].events;
			if (c->dead || c->tun == NULL ||
			    (c->tun->closing && !c->flushing))
				continue;
			if ((e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
			    (c->ev_reg & POLLOUT))
				conn_writable(c);
			if ((e & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
			    (c->ev_reg & POLLIN) && !c->dead)
				rd[nrd++] = c;
			mark(c);
		}
		served = 0;
		for (j = 0; j < nrd; j++) {
			c = rd[(j + rot) % nrd];
			if (!c->dead && conn_readable(c,
			    nrd == 1 ? FRAMES_PER_CONN : 1) > 0)
				served = j + 1;
		}
		if (nrd > 0)
			rot = (rot + served) % nrd;
		if (n < 256)
			return;
	}
}

/* ---- client: local connections */

static void
pending_open(struct tun *tn)
{
	struct conn *c, *next;
	struct vpt_stream *s;

	for (c = pending; c != NULL; c = next) {
		next = c->next;
		if ((s = vpt_open(tn->t, c)) == NULL) {
			if (errno == ENOSPC) {
				/*
				 * Ids used up: new streams go to a new tunnel;
				 * this one ends (GOAWAY) once its streams have.
				 */
				vplog_info("tunnel %s: stream ids used up, "
				    "opening a new tunnel", tn->link->peer);
				tn->exhausted = 1;
				reconnect_at = 0;
			} else if (errno == ENOBUFS && !tn->stalled) {
				/* Bounded: they wait in pending, then in the backlog. */
				vplog_warn("tunnel %s: the peer takes no frames; "
				    "new local connections wait", tn->link->peer);
				tn->stalled = 1;
			}
			return;
		}
		if (tn->stalled) {
			vplog_info("tunnel %s: the peer takes frames again",
			    tn->link->peer);
			tn->stalled = 0;
		}
		conn_unlink(&pending, c);
		npending--;
		c->tun = tn;
		c->s = s;
		c->id = s->id;
		conn_link(&tn->conns, c);
		tn->nconns++;
		mark(c);
	}
}

/* Is there a tunnel that is not closing (client: no need to dial)? */
static int
live_tun(void)
{
	struct tun *tn;

	for (tn = tuns; tn != NULL; tn = tn->next)
		if (!tn->closing && !tn->exhausted)
			return 1;
	return 0;
}

static struct tun *
ready_tun(void)
{
	struct tun *tn;

	for (tn = tuns; tn != NULL; tn = tn->next)
		if (!tn->closing && !tn->exhausted &&
		    vpt_state(tn->t) == VPT_READY)
			return tn;
	return NULL;
}

static void
local_accept(int lfd, int64_t now)
{
	struct conn *c;
	int fd, i, one = 1;

	/* At MAXPENDING waiting, the rest wait in the listen backlog. */
	for (i = 0; i < 64 && npending < MAXPENDING; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Retry later rather than spin on the listener. */
				vplog_warn_errno("accept: pausing 200 ms");
				accept_pause = now + 200;
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				vplog_warn_errno("accept");
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			vplog_warn("local connection refused: out of memory");
			(void)close(fd);
			continue;
		}
		/* Small writes (prompts, handshakes) should not wait for ACKs. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->since = c->last = now;
		conn_link(&pending, c);
		npending++;
	}
}

/* ---- setup */

/*
 * Option -opt's size s (bytes, suffix k or m) into *out, lo..hi; a
 * usage error naming the option otherwise.
 */
static void
parse_size(int opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	long long v;
	char *end;
	long long mul = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end != s && errno == 0) {
		if (*end == 'k' || *end == 'K')
			mul = 1024, end++;
		else if (*end == 'm' || *end == 'M')
			mul = 1024 * 1024, end++;
	}
	/* v > hi / mul first: v * mul must not overflow. */
	if (end == s || errno != 0 || *end != '\0' || v < 0 ||
	    v > (long long)hi / mul || v * mul < lo || v * mul > hi)
		vplog_die(EX_USAGE, "-%c '%s': a size from %u to %u bytes "
		    "(suffix k or m)", opt, s, lo, hi);
	*out = (uint32_t)(v * mul);
}

/*
 * Option -opt's duration s into *out (ms), lo ms to 24 h; a usage
 * error naming the option otherwise.
 */
static void
parse_ms(int opt, const char *s, int64_t lo, int64_t *out)
{
	if (vpio_parse_duration(s, out) == -1 || *out < lo ||
	    *out > 86400000)
		vplog_die(EX_USAGE, "-%c '%s': a duration from %lldms to 24h "
		    "(such as 5s or 500ms)", opt, s, (long long)lo);
}

static void
setup_forward(void)
{
	struct vpendpoint ep;
	struct addrinfo hints, *res;
	struct sockaddr_un *sun;
	char err[256], port[16];
	int r;

	if (vpep_parse(o.forward, &ep, err, sizeof(err)) == -1)
		vplog_die(EX_USAGE, "-f %s: %s", o.forward, err);
	if (ep.kind == VPEP_UNIX) {
		sun = (struct sockaddr_un *)&fwd_addr;
		sun->sun_family = AF_UNIX;
		(void)strlcpy(sun->sun_path, ep.path, sizeof(sun->sun_path));
		fwd_len = sizeof(*sun);
		if (ep.path[0] == '@') {
			sun->sun_path[0] = '\0';
			fwd_len = offsetof(struct sockaddr_un, sun_path) +
			    strlen(ep.path);
		}
		return;
	}
	if (ep.kind != VPEP_TCP)
		vplog_die(EX_USAGE, "-f %s: only tcp: and unix: endpoints",
		    o.forward);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	(void)snprintf(port, sizeof(port), "%u", ep.port);
	/* Resolved once: every stream connects to the same address. */
	if ((r = getaddrinfo(ep.host, port, &hints, &res)) != 0)
		vplog_die(EX_NOHOST, "-f %s: %s", o.forward, gai_strerror(r));
	memcpy(&fwd_addr, res->ai_addr, res->ai_addrlen);
	fwd_len = res->ai_addrlen;
	freeaddrinfo(res);
}

/*
 * A server's LISTEN host name that does not resolve is EX_NOHOST (68),
 * as for -f; the transports' own errors cannot tell it from others (a
 * udp: listener's are all EHOSTUNREACH). Returns if it resolves. (-l
 * needs no such check: vplisten_open() says which it was.)
 */
static void
check_listen_host(const struct vpendpoint *ep, const char *what)
{
	struct addrinfo hints, *res;
	int r;

	if ((ep->kind != VPEP_TCP && ep->kind != VPEP_UDP) ||
	    ep->host[0] == '\0' || strcmp(ep->host, "*") == 0)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_PASSIVE;
	hints.ai_socktype = ep->kind == VPEP_TCP ? SOCK_STREAM : SOCK_DGRAM;
	if ((r = getaddrinfo(ep->host, NULL, &hints, &res)) == 0) {
		freeaddrinfo(res);
		return;
	}
	if (r == EAI_AGAIN)
		vplog_die(EX_TEMPFAIL, "%s: %s: %s", what, ep->host,
		    gai_strerror(r));
	if (r != EAI_SYSTEM && r != EAI_MEMORY)
		vplog_die(EX_NOHOST, "%s: %s: %s", what, ep->host,
		    gai_strerror(r));
}

/*
 * Server: fails at start, 69 as vp-listen, when the per-stream program
 * cannot be found in PATH or run (checked as the user it will run as),
 * rather than resetting every stream. Its listeners are closed first
 * (a unix socket file is removed). Returns if it can be run.
 */
static void
check_program(const char *prog)
{
	char err[PATH_MAX + 64];

	if (vpspawn_usable(prog, err, sizeof(err)) == 0)
		return;
	close_listeners(0);
	vplog_die(EX_UNAVAILABLE, "%s", err);
}

static unsigned
setup_listeners(void)
{
	struct vpendpoint ep;
	const struct vplink_transport *tr;
	char err[256];
	unsigned port = 0;
	int i;
	size_t k;

	if (o.mode == SERVER) {
		if (vpep_parse(o.peer, &ep, err, sizeof(err)) == -1)
			vplog_die(EX_USAGE, "LISTEN %s: %s", o.peer, err);
		if (ep.kind == VPEP_STDIO) {
			struct vplink *l;

			stdio_server = 1;
			if (o.oneflag)
				vplog_die(EX_USAGE, "-1 cannot be used with "
				    "LISTEN stdio");
			if ((l = vplink_stream_new(0, 1, 0, "stdio",
			    "stdio")) == NULL || tun_new(l) == NULL)
				vplog_die(EX_OSERR, "out of memory");
			return 0;
		}
		check_listen_host(&ep, o.peer);
		tr = vplink_transport_for(ep.kind);
		if (tr == NULL || tr->listen == NULL)
			vplog_die(ep.kind == VPEP_UDP ? EX_UNAVAILABLE :
			    EX_USAGE, "LISTEN %s: no tunnel transport for "
			    "this endpoint kind", o.peer);
		if ((lsns[0].ll = tr->listen(&ep, err, sizeof(err))) == NULL)
			vplog_die(vplisten_status(errno), "%s", err);
		lsns[0].fd = -1;
		nlsn = 1;
		return lsns[0].ll->port;
	}
	for (i = 0; i < o.nlisten; i++) {
		if (vpep_parse(o.listen[i], &ep, err, sizeof(err)) == -1)
			vplog_die(EX_USAGE, "-l %s: %s", o.listen[i], err);
		/* a name that does not resolve: 68 (vplisten_status) */
		if (vplisten_open(&vl[nvl], &ep, 0, err, sizeof(err)) == -1)
			vplog_die(vplisten_status(errno), "-l %s: %s",
			    o.listen[i], err);
		if (err[0] != '\0')	/* addresses left out, as vp-listen */
			vplog_warn("-l %s: %s", o.listen[i], err);
		for (k = 0; k < vl[nvl].nfds; k++) {
			lsns[nlsn].fd = vl[nvl].fds[k];
			lsns[nlsn].ll = NULL;
			if (port == 0)
				port = vplisten_port(vl[nvl].fds[k]);
			nlsn++;
		}
		nvl++;
	}
	return port;
}

/*
 * Closes the listeners. In a drain (keep_dgram) a datagram listener
 * only stops taking new sessions: its socket carries the sessions it
 * serves, so it stays until they are gone (closing it would cut every
 * tunnel with no GOAWAY).
 */
static void
close_listeners(int keep_dgram)
{
	int i, k = 0;

	for (i = 0; i < nlsn; i++) {
		if (lsns[i].ll != NULL && keep_dgram &&
		    strcmp(lsns[i].ll->kind, "udp") == 0 &&
		    vplink_kcp_listen_stop(lsns[i].ll) > 0) {
			lsns[k++] = lsns[i];
			continue;
		}
		if (lsns[i].ll != NULL)
			lsns[i].ll->ops->close(lsns[i].ll);
	}
	for (i = 0; i < nvl; i++)
		vplisten_close(&vl[i], 1);
	nlsn = k;
	nvl = 0;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- the loop */

enum slotkind { SL_SIG, SL_LSN, SL_LINK, SL_CONN, SL_DIAL };

struct slot {
	enum slotkind	 kind;
	int		 n;		/* pollfds used (links) */
	void		*obj;
};

static struct pollfd *pfd;
static struct slot *slots;
static size_t pcap;

static void
grow(size_t need)
{
	size_t ncap = pcap ? pcap : 64;

	if (need <= pcap)
		return;
	while (ncap < need)
		ncap *= 2;
	pfd = reallocarray(pfd, ncap, sizeof(*pfd));
	slots = reallocarray(slots, ncap, sizeof(*slots));
	if (pfd == NULL || slots == NULL)
		vplog_die(EX_OSERR, "out of memory");
	pcap = ncap;
}

static int64_t
earlier(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int
run(void)
{
	struct tun *tn, *tnext;
	struct conn *c, *cnext, *cd;
	int64_t now, wait, t;
	size_t np, i, k, nconns;
	int n, r, j;
	char junk[64];

	for (;;) {
		now = vpio_now_ms();
		if (got_chld) {
			got_chld = 0;
			reap();
		}
		if (got_term && !draining) {
			draining = 1;
			drain_by = now + o.drain_ms;
			vplog_info("shutting down: draining streams for "
			    "%lld ms", (long long)o.drain_ms);
			close_listeners(1);
			if (dialing != NULL) {
				vplink_close(dialing);
				dialing = NULL;
			}
			for (c = pending; c != NULL; c = cnext) {
				cnext = c->next;
				c->why = "shutting down";
				conn_end(c);
			}
		}
		if (draining) {
			nconns = 0;
			for (tn = tuns; tn != NULL; tn = tn->next)
				nconns += tn->nconns;
			if (nconns == 0 || now >= drain_by) {
				for (tn = tuns; tn != NULL; tn = tn->next)
					if (!tn->closing) {
						vpt_goaway(tn->t, "shutting down");
						tun_dead(tn, now);
					}
			}
			if (tuns == NULL) {
				close_listeners(0);
				return 0;
			}
		}
		/* client: (re)connect, open waiting streams, expire waiters */
		if (o.mode == CLIENT && !draining) {
			if (!live_tun() && dialing == NULL &&
			    (!stdio_client || tuns == NULL) &&
			    (reconnect_at == 0 || now >= reconnect_at))
				client_dial(now);
			if ((tn = ready_tun()) != NULL)
				pending_open(tn);
			for (c = pending; c != NULL; c = cnext) {
				cnext = c->next;
				if (now - c->since >= o.wait_ms) {
					vplog_warn("local connection: tunnel "
					    "not available after %lld ms",
					    (long long)o.wait_ms);
					c->why = "tunnel not available";
					c->rst = 1;
					conn_end(c);
				}
			}
		}

		/* Build the poll set. */
		np = 0;
		grow(1 + nlsn * 4);
		wait = -1;
		pfd[np].fd = sigpipe[0];
		pfd[np].events = POLLIN;
		slots[np].kind = SL_SIG;
		slots[np++].n = 1;
		for (j = 0; j < nlsn; j++) {
			grow(np + VPLINK_MAXFDS);
			/*
			 * Client: with MAXPENDING connections waiting for a
			 * tunnel, new ones wait in the listen backlog.
			 */
			if (lsns[j].ll == NULL && npending >= MAXPENDING)
				continue;
			/* A datagram listener feeds its links: never paused. */
			if (now < accept_pause && (lsns[j].ll == NULL ||
			    strcmp(lsns[j].ll->kind, "udp") != 0)) {
				wait = earlier(wait, accept_pause - now);
				continue;
			}
			if (lsns[j].ll != NULL) {
				n = lsns[j].ll->ops->pollfds(lsns[j].ll, pfd + np,
				    VPLINK_MAXFDS);
				for (k = 0; k < (size_t)n; k++) {
					slots[np + k].kind = SL_LSN;
					slots[np + k].obj = &lsns[j];
					slots[np + k].n = k == 0 ? n : 0;
				}
				np += n;
				wait = earlier(wait, lsns[j].ll->ops->next_timeout(
				    lsns[j].ll, now));
			} else {
				pfd[np].fd = lsns[j].fd;
				pfd[np].events = POLLIN;
				slots[np].kind = SL_LSN;
				slots[np].obj = &lsns[j];
				slots[np++].n = 1;
			}
		}
		for (tn = tuns; tn != NULL; tn = tn->next) {
			grow(np + VPLINK_MAXFDS + tn->nconns);
			(void)vpt_flush(tn->t);
			n = tn->link->ops->pollfds(tn->link, pfd + np,
			    VPLINK_MAXFDS, !tn->closing && vpt_want_read(tn->t));
			for (k = 0; k < (size_t)n; k++) {
				slots[np + k].kind = SL_LINK;
				slots[np + k].obj = tn;
				slots[np + k].n = k == 0 ? n : 0;
			}
			np += n;
			wait = earlier(wait, tn->link->ops->next_timeout(tn->link,
			    now));
			if (tn->closing) {
				wait = earlier(wait, tn->close_by - now);
				if (tn->nconns > 0)
					wait = earlier(wait, tn->flush_by > now ?
					    tn->flush_by - now : 0);
				/* Finished streams still writing their tails. */
				for (c = tn->dirty; c != NULL; c = cnext) {
					cnext = c->dnext;
					c->dmark = 0;
					conn_register(c);
				}
				tn->dirty = NULL;
				continue;
			}
			wait = earlier(wait, vpt_next_timeout(tn->t, now));
			/*
			 * Streams' local fds live in epoll (many idle streams
			 * would make poll(2) scan them all); only changes of
			 * the wanted events cost a system call.
			 */
			if (vpt_send_ok(tn->t) != tn->send_ok) {
				tn->send_ok = !tn->send_ok;
				for (c = tn->conns; c != NULL; c = c->next)
					mark(c);
			}
			for (c = tn->dirty; c != NULL; c = cnext) {
				cnext = c->dnext;
				c->dmark = 0;
				conn_register(c);
			}
			tn->dirty = NULL;
			wait = earlier(wait, tn->full_at - now);
		}
		if (dialing != NULL) {
			grow(np + VPLINK_MAXFDS);
			n = dialing->ops->pollfds(dialing, pfd + np,
			    VPLINK_MAXFDS, 0);
			for (k = 0; k < (size_t)n; k++) {
				slots[np + k].kind = SL_DIAL;
				slots[np + k].n = k == 0 ? n : 0;
			}
			np += n;
			wait = earlier(wait, dialing->ops->next_timeout(dialing,
			    now));
		}
		grow(np + 1);
		pfd[np].fd = epfd;
		pfd[np].events = POLLIN;
		slots[np].kind = SL_CONN;
		slots[np++].n = 1;
		if (o.mode == CLIENT && !live_tun() && dialing == NULL &&
		    reconnect_at > 0)
			wait = earlier(wait, reconnect_at - now);
		if (pending != NULL)
			wait = earlier(wait, 100);
		if (draining)
			wait = earlier(wait, drain_by - now);
		if (o.idle_ms > 0 && tuns != NULL)
			wait = earlier(wait, o.idle_ms / 4 > 50 ? o.idle_ms / 4 : 50);
		if (wait < 0)
			wait = -1;
		else if (wait > 60000)
			wait = 60000;
		for (i = 0; i < np; i++)
			pfd[i].revents = 0;

		r = poll(pfd, np, (int)wait);
		if (r == -1 && errno != EINTR)
			vplog_die_errno(EX_OSERR, "poll");
		now = vpio_now_ms();

		/* Dispatch. Links first, so conns see fresh credit and room. */
		for (i = 0; r > 0 && i < np; i++) {
			switch (slots[i].kind) {
			case SL_SIG:
				if (pfd[i].revents & POLLIN)
					while (read(sigpipe[0], junk,
					    sizeof(junk)) > 0)
						;
				break;
			case SL_LSN: {
				struct lsn *l = slots[i].obj;

				if (l->ll != NULL) {
					if (slots[i].n > 0)
						(void)l->ll->ops->events(l->ll,
						    pfd + i, slots[i].n, now);
				} else if (pfd[i].revents & POLLIN)
					local_accept(l->fd, now);
				break;
			}
			case SL_LINK:
				tn = slots[i].obj;
				if (slots[i].n > 0 && tn->link->ops->events(tn->link,
				    pfd + i, slots[i].n, now) == -1)
					vpt_link_down(tn->t,
					    strerror(tn->link->ops->error(tn->link)));
				break;
			case SL_DIAL:
				if (slots[i].n > 0 && dialing != NULL)
					(void)dialing->ops->events(dialing,
					    pfd + i, slots[i].n, now);
				break;
			default:
				break;
			}
		}
		/* Client: a connect that finished. */
		dial_done(now);
		/* Server: new links. */
		for (j = 0; j < nlsn; j++) {
			struct vplink *link;

			if (lsns[j].ll == NULL)
				continue;
			if (lsns[j].ll->ops->next_timeout(lsns[j].ll, now) == 0)
				lsns[j].ll->ops->tick(lsns[j].ll, now);
			if (now < accept_pause &&
			    strcmp(lsns[j].ll->kind, "udp") != 0)
				continue;
			while ((link = lsns[j].ll->ops->accept(lsns[j].ll)) !=
			    NULL) {
				if (tun_new(link) == NULL)
					vplink_close(link);
			}
			if (errno == EMFILE || errno == ENFILE) {
				vplog_warn_errno("accept: pausing 200 ms");
				accept_pause = now + 200;
			} else if (errno != EAGAIN)
				vplog_warn_errno("accept");
		}
		/* Tunnels: timers, input. */
		for (tn = tuns; tn != NULL; tn = tn->next) {
			if (tn->link->ops->next_timeout(tn->link, now) == 0)
				tn->link->ops->tick(tn->link, now);
			if (tn->closing)
				continue;
			if (vpt_next_timeout(tn->t, now) == 0)
				vpt_tick(tn->t, now);
			if (vpt_state(tn->t) != VPT_DEAD)
				tun_read(tn, now);
		}
		/* Conns. */
		for (i = 0; r > 0 && i < np; i++)
			if (slots[i].kind == SL_CONN && pfd[i].revents != 0)
				conns_ready();
		/* Wrap-up: finished conns, dead tunnels. */
		for (tn = tuns; tn != NULL; tn = tnext) {
			tnext = tn->next;
			if (!tn->was_ready && vpt_state(tn->t) == VPT_READY) {
				tn->was_ready = 1;
				vplog_info("tunnel %s: ready (%s)", tn->link->peer,
				    vpt_extended(tn->t) ? "extended" : "plain");
				if (o.mode == CLIENT)
					backoff = 100;
			}
			if (now >= tn->full_at) {
				/* Every stream: the safety net, and -i. */
				tn->full_at = now + (o.idle_ms > 0 &&
				    o.idle_ms / 4 < 500 ? o.idle_ms / 4 : 500);
				for (c = tn->conns; c != NULL; c = c->next) {
					if (o.idle_ms > 0 &&
					    now - c->last >= o.idle_ms)
						conn_kill(c, "idle timeout", 1);
					mark(c);
				}
			}
			/* The dirty ones: finished, or looked at in the build. */
			cd = tn->dirty;
			tn->dirty = NULL;
			for (c = cd; c != NULL; c = cnext) {
				cnext = c->dnext;
				c->dmark = 0;
				if (conn_done(c))
					conn_end(c);
				else
					mark(c);
			}
			if (tn->exhausted && tn->nconns == 0 && !tn->closing)
				vpt_goaway(tn->t, "stream ids used up");
			if (vpt_state(tn->t) == VPT_DEAD)
				tun_dead(tn, now);
			if (tn->closing) {
				(void)vpt_flush(tn->t);
				t = (int64_t)tn->link->ops->pending(tn->link);
				if ((t == 0 || now >= tn->close_by ||
				    tn->link->ops->error(tn->link) != 0) &&
				    (tn->nconns == 0 || now >= tn->flush_by)) {
					tun_free(tn);
					if (stdio_server || stdio_client)
						return exit_status;
				}
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	const char *errstr = NULL;
	uint32_t v;
	int64_t ms;
	unsigned port;
	int ch;
	char err[256], client_only[2];

	vpio_sanitise_stdfd();
	vplog_init("vp-tunnel");
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "keygen") == 0) {
		char key[160];
		int kn;

		if (argc != 2)
			usage();
		if (vpcrypt_init() == -1 ||
		    (kn = vpcrypt_keygen(key, sizeof(key))) == -1)
			vplog_die(EX_SOFTWARE, "keygen failed");
		if (vpio_writeall(1, key, (size_t)kn) != (size_t)kn)
			vplog_die_errno(EX_IOERR, "stdout");
		explicit_bzero(key, sizeof(key));
		return 0;
	}
	if (strcmp(argv[1], "server") == 0)
		o.mode = SERVER;
	else if (strcmp(argv[1], "client") == 0)
		o.mode = CLIENT;
	else
		usage();
	argc--;
	argv++;
	vpt_config_default(&o.cfg, o.mode == CLIENT ? VPT_CLIENT : VPT_SERVER);
	/* For tests: start stream ids near their end (see ENVIRONMENT). */
	if (getenv("VP_TUNNEL_FIRST_SID") != NULL)
		o.cfg.first_sid = (uint32_t)strtonum(
		    getenv("VP_TUNNEL_FIRST_SID"), 1, VPF_SIDMAX, NULL) | 1;
	o.notify_fd = -1;
	o.drain_ms = 5000;
	o.wait_ms = 10000;
	o.backoff_max = 10000;
	vplink_kcp_default_options(&kopts);
	client_only[0] = '\0';
	while ((ch = getopt(argc, argv,
	    "+1b:c:d:F:f:g:i:K:k:l:M:m:N:o:PqS:s:t:u:v")) != -1) {
		switch (ch) {
		case '1':
			o.oneflag = 1;
			break;
		case 'b':
			parse_ms(ch, optarg, 100, &o.backoff_max);
			break;
		case 'c':
			parse_ms(ch, optarg, 1, &o.wait_ms);
			break;
		case 'd':
			parse_ms(ch, optarg, 0, &o.drain_ms);
			break;
		case 'i':
			parse_ms(ch, optarg, 10, &o.idle_ms);
			break;
		case 'F':
			parse_size(ch, optarg, 1024, VPF_LENMAX, &o.cfg.max_frame);
			break;
		case 'f':
			o.forward = optarg;
			break;
		case 'g':
			o.group = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'k':
			if (vpcrypt_init() == -1)
				vplog_die(EX_SOFTWARE, "libsodium init failed");
			if (vpcrypt_key_load(optarg, kopts.psk, err,
			    sizeof(err)) == -1)
				vplog_die(errno == EACCES || errno == EINVAL ?
				    EX_CONFIG : EX_NOINPUT, "%s", err);
			kopts.keyed = 1;
			kcp_opts_given = 1;
			break;
		case 'M':
		case 'o':
			if (ch == 'M' && strchr(optarg, '=') != NULL)
				vplog_die(EX_USAGE, "-M %s: not a profile "
				    "(normal, fast, fast2, fast3)", optarg);
			if (strcmp(optarg, "plain") == 0)
				kopts.allow_plain = 1;
			else if (vplink_kcp_option(&kopts, optarg, err,
			    sizeof(err)) == -1)
				vplog_die(EX_USAGE, "-%c %s", ch, err);
			kcp_opts_given = 1;
			break;
		case 'K':
			parse_ms(ch, optarg, 10, &ms);
			o.cfg.ka_interval_ms = ms;
			o.cfg.ka_idle_ms = ms / 2 < 5000 ? ms / 2 : 5000;
			o.cfg.ka_timeout_ms = o.cfg.ka_idle_ms;
			break;
		case 'l':
			if (o.nlisten >= MAXLISTEN)
				vplog_die(EX_USAGE, "too many -l (max %d)",
				    MAXLISTEN);
			o.listen[o.nlisten++] = optarg;
			break;
		case 'm':
			o.cfg.max_streams = strtonum(optarg, 1, 1000000, &errstr);
			if (errstr != NULL)
				vplog_die(EX_USAGE, "-m '%s': a number from 1 "
				    "to 1000000", optarg);
			break;
		case 'N':
			o.notify_fd = strtonum(optarg, 0, 1 << 20, &errstr);
			if (errstr != NULL)
				vplog_die(EX_USAGE, "-N '%s': not a descriptor "
				    "number", optarg);
			/* As vp-listen: nobody would learn of readiness. */
			if (fcntl(o.notify_fd, F_GETFD) == -1)
				vplog_die(EX_USAGE, "-N %d: descriptor not "
				    "open", o.notify_fd);
			break;
		case 'P':
			o.cfg.extended = 0;
			break;
		case 'q':
			vplog_level = VPLOG_QUIET;
			break;
		case 'S':
			parse_size(ch, optarg, 65536, VPF_SIDMAX, &v);
			o.cfg.tunnel_window = v;
			break;
		case 's':
			parse_size(ch, optarg, 4096, VPF_SIDMAX, &v);
			o.cfg.stream_window = v;
			break;
		case 't':
			parse_ms(ch, optarg, 10, &o.cfg.handshake_ms);
			break;
		case 'v':
			vplog_level = vplog_level >= VPLOG_INFO ? VPLOG_DEBUG :
			    VPLOG_INFO;
			break;
		default:
			usage();
		}
		/* The first client-only option given, for a server. */
		if (strchr("bcl", ch) != NULL && client_only[0] == '\0')
			client_only[0] = (char)ch;
	}
	argc -= optind;
	argv += optind;
	if (o.mode == SERVER && client_only[0] != '\0')
		vplog_die(EX_USAGE, "-%c is a client option", client_only[0]);
	if (o.mode == CLIENT) {
		if (argc != 1 || o.nlisten == 0)
			usage();
		if (o.forward != NULL)
			vplog_die(EX_USAGE, "-f is a server option");
		o.peer = argv[0];
		if (vpep_parse(o.peer, &peer_ep, err, sizeof(err)) == -1)
			vplog_die(EX_USAGE, "PEER %s: %s", o.peer, err);
		stdio_client = peer_ep.kind == VPEP_STDIO;
		/* -1 would write the port onto the link. */
		if (stdio_client && o.oneflag)
			vplog_die(EX_USAGE, "-1 cannot be used with PEER "
			    "stdio");
		{
			const struct vplink_transport *tr =
			    vplink_transport_for(peer_ep.kind);

			if (tr == NULL || tr->dial == NULL)
				vplog_die(peer_ep.kind == VPEP_UDP ?
				    EX_UNAVAILABLE : EX_USAGE, "PEER %s: no "
				    "tunnel transport for this endpoint kind",
				    o.peer);
		}
	} else {
		if (argc < 1 || (o.forward == NULL && argc < 2) ||
		    (o.forward != NULL && argc != 1))
			usage();
		o.peer = argv[0];
		o.argv = argv + 1;
		if (o.forward != NULL)
			setup_forward();
	}
	if (kcp_opts_given) {
		struct vpendpoint kep;

		if (vpep_parse(o.mode == CLIENT ? o.peer : o.peer, &kep, err,
		    sizeof(err)) == 0 && kep.kind != VPEP_UDP)
			vplog_die(EX_USAGE, "-k, -M and -o are for udp: links "
			    "only");
	}
	if (vplink_kcp_options_check(&kopts, err, sizeof(err)) == -1)
		vplog_die(EX_USAGE, "KCP options: %s", err);
	vplink_kcp_set_options(&kopts);
	explicit_bzero(kopts.psk, sizeof(kopts.psk));
	{
		struct vpendpoint kep;

		/* Plain KCP off loopback: refuse to start (issue 5). */
		if (vpep_parse(o.peer, &kep, err, sizeof(err)) == 0 &&
		    kep.kind == VPEP_UDP && vplink_kcp_check(&kep,
		    o.mode == SERVER, err, sizeof(err)) == -1 && errno == EPERM)
			vplog_die(EX_CONFIG, "%s", err);
	}
	if (o.cfg.tunnel_window < o.cfg.stream_window)
		vplog_die(EX_USAGE, "the tunnel window (-S) must be at least "
		    "the stream window (-s)");

	(void)signal(SIGPIPE, SIG_IGN);
	if (pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
		vplog_die_errno(EX_OSERR, "pipe");
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		vplog_die_errno(EX_OSERR, "epoll");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	(void)sigaction(SIGCHLD, &sa, NULL);
	raise_nofile();
	if (o.mode == SERVER && o.forward == NULL &&
	    vpenv_init(&childenv, 1) == -1)
		vplog_die(EX_OSERR, "out of memory");

	port = setup_listeners();
	/* Bound: narrow privileges before anything reads the network. */
	if (vpprivs_drop(o.user, o.group, err, sizeof(err)) == -1)
		vplog_die(EX_CONFIG, "%s", err);
	if (o.mode == SERVER && o.forward == NULL)
		check_program(o.argv[0]);
	backoff = 100;
	/* Readiness: every socket is bound. */
	if (o.oneflag && vpnotify_stdout(port) == -1)
		vplog_die_errno(EX_OSERR, "stdout");
	if (o.notify_fd != -1 && vpnotify_fd(o.notify_fd) == -1)
		vplog_warn_errno("notify fd %d", o.notify_fd);
	if (vpnotify_ready(1) == -1)
		vplog_warn_errno("NOTIFY_SOCKET");
	return run();
}
