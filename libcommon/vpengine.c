/*
 * vpengine: vp-listen's connection engine, see vpengine.h.
 *
 * One thread runs an edge-triggered epoll loop over every connection;
 * a few resolver threads (vpresolve) run getaddrinfo. A connection is
 * a slot with a generation number: events and timers carry both, so a
 * stale one (the slot reused meanwhile) is recognised and dropped.
 *
 * Relay: each direction moves bytes with splice(2) through a pipe taken
 * from a small pool when the first byte flows; an edge is drained until
 * EAGAIN, or the connection goes on a ready list for the next round.
 * End of input, once the pipe is empty, is a shutdown(SHUT_WR) of the
 * other side; both directions ended closes the connection.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vpdial.h"
#include "vpdispatch_int.h"
#include "vpendpoint.h"
#include "vpengine.h"
#include "vphs.h"
#include "vphttpbody.h"
#include "vpio.h"
#include "vplog.h"
#include "vpnet.h"
#include "vpreply.h"
#include "vpresolve.h"
#include "vprules.h"
#include "vpsniff.h"
#include "vpspawn.h"
#include "vpucspi.h"
#include "vpusers.h"

#define BUF0		512		/* a request buffer's first size */

#define MAXATT		VPNET_MAXADDR	/* connect attempts at once, as vpnet */
#define SNIFF_MS	300		/* as vp-dispatch */
#define POOLMAX		64		/* idle pipes kept */
#define POOLBIG		8		/* of them grown (BIGPIPE) */
_Static_assert(2 * POOLMAX + 32 <= VPENGINE_FDS_BASE, "vpengine.h: base fds");
#define BIGPIPE		(1024 * 1024)
#define BIGAFTER	(4u * 1024 * 1024)	/* grow a busy direction's pipe */
#define BUDGET		32		/* splices per direction per turn */
#define NRESOLVE	16		/* lookups at once (slow DNS) */

/* epoll keys: generation << 32 | slot << ROLEBITS | role; specials top bit. */
#define K_SPECIAL	(1ull << 63)
#define K_CTL		(K_SPECIAL | 1)
#define K_RES		(K_SPECIAL | 2)
#define K_SIG		(K_SPECIAL | 3)
#define R_CLIENT	0
#define R_UP		1
#define R_ATT		2		/* 2 .. 2 + MAXATT - 1 */
#define ROLEBITS	5
#define IDXMASK		((1u << (32 - ROLEBITS)) - 1)
_Static_assert(R_ATT + MAXATT <= 1 << ROLEBITS, "a role fits in a key");

enum cstate {
	C_HS = 1,	/* dispatch: reading the request */
	C_SNIFF,	/* dispatch: answered, peeking at first bytes */
	C_RESOLVE,
	C_CONNECT,
	C_RELAY,
	C_LINGER,	/* failure answered, draining the client */
	C_CHILD		/* a forked child has the connection */
};

struct dir {
	int		 src, dst;
	int		 p[2];
	size_t		 inpipe, cap;
	unsigned char	*pre;
	size_t		 prelen, preoff;
	int		 prereply;	/* pre is our reply: not in bytes */
	uint64_t	 bytes;
	int		 eof, done;
	int		 err;		/* what ended it, if not EOF */
};

/* What a dispatch connection needs until it relays. */
struct dsp {
	struct vphs	 hs;
	unsigned char	*buf;		/* grows to VPHS_BUFMAX */
	size_t		 blen, bcap;
	const char	*protocol;
	char		 sniffed[256];
	const char	*route;
	enum vprules_kind kind;
	const char	*arg;
	unsigned char	*head;		/* plain HTTP: rewritten head */
	size_t		 headlen;
	struct cfgsnap	*cs;		/* users and rules of this connection */
};

struct conn {
	uint32_t	 gen;
	uint32_t	 idx;
	enum cstate	 state;
	uint64_t	 id;
	int		 cfd, ufd;
	int		 att[MAXATT];
	const struct addrinfo *attai[MAXATT];	/* what each attempt dials */
	struct addrinfo	*ai;
	const struct addrinfo *order[VPNET_MAXADDR];
	size_t		 norder, next;
	int		 besterr;
	int64_t		 start, deadline, stagger, last;
	struct dir	 d[2];		/* 0: client -> up, 1: up -> client */
	pid_t		 pid;
	int		 pp;
	struct sockaddr_storage src, dst;
	struct dsp	*x;		/* dispatch only, until relaying */
	char		 host[VPIN_NAMEMAX + 1];
	unsigned	 port;
	enum vpr_proto	 reply;		/* who waits for an answer */
	int		 replied;
	int		 plain;		/* a plain HTTP request */
	struct vphb	 body;		/* plain: where its body ends */
	int		 bodymore;	/* plain: bytes came after it */
	int		 ready;		/* on the ready list */
	struct vplinger	 lg;
	int		 cloop;		/* the client is on loopback */
	int		 status;	/* as vp-dial/vp-dispatch would exit */
	char		 route[64];
	char		 peer[64];	/* the address connected to, for logs */
};

enum tkind { T_DEADLINE, T_STAGGER, T_IDLE };

struct timer {
	int64_t		 at;
	uint32_t	 idx, gen;
	enum tkind	 kind;
};

static const struct vpeng_conf *cf;
static int ep = -1, ctl = -1, sfd = -1;
static int ctl_eof;		/* vp-listen has gone: read to the end */
static int ctl_deaf;		/* reports cannot be sent any more */
static struct vpresolve *res;
static struct conn **tab;
static uint32_t tabcap, *freeidx, nfreeidx, gen;
static size_t nlive;
static struct timer *heap;
static size_t nheap, heapcap;
static uint32_t *readyq;
static size_t nready, readycap;
static int64_t *doneq;			/* id, status pairs */
static size_t ndone, donecap;
static int pool[POOLMAX][3];		/* read end, write end, size */
static size_t npool;
/*
 * The users and rules files as loaded for connections that started at
 * one time: each connection keeps the snapshot it started with, as a
 * vp-dispatch process keeps what it loaded, while files change.
 */
struct cfgsnap {
	unsigned	 refs;
	int		 err;		/* a file could not be loaded (logged) */
	struct vpusers	*users;
	struct stat	 users_st;
	struct vprules	*rules;
};
static struct cfgsnap *snap;	/* the newest */
static const sigset_t *chsigs;
static int batch;		/* we set SCHED_BATCH: undo it in children */
static int ctl_out;		/* watching ctl for room to report ends */
static int ctl_paused;		/* near the descriptor limit: not reading */
static size_t maxlive;		/* connections the descriptor limit holds */

static void	conn_close(struct conn *);
static void	ctl_resume(void);
static void	answer(struct conn *, enum vpr_class);
static void	relay_start(struct conn *);
static int	pump(struct conn *);
static void	fail(struct conn *, enum vpr_class, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* --- configuration from the program's arguments ------------------- */

static int
why(char *w, size_t n, const char *s)
{
	snprintf(w, n, "%s", s);
	return -1;
}

/*
 * Reads argv's options with the program's own option function, as the
 * program's getopt(3) would but stopping at the first operand (a
 * program that takes options after operands then runs in a process of
 * its own). Returns the index of the first operand, or -1 when an
 * option is unknown, lacks its value or has a bad one. getopt's state
 * is vp-listen's: saved and put back.
 */
static int
opts(char *const argv[], const char *optstr,
    int (*opt)(void *, int, char *, char *, size_t), void *st)
{
	char plus[64], err[256], *sarg = optarg;
	int argc, ch, r = 0, sind = optind, serr = opterr, sopt = optopt;

	for (argc = 0; argv[argc] != NULL; argc++)
		;
	snprintf(plus, sizeof(plus), "+%s", optstr);
	opterr = 0;
	optind = 0;
	while (r == 0 && (ch = getopt(argc, argv, plus)) != -1)
		if (ch == ':' || ch == '?' ||
		    opt(st, ch, optarg, err, sizeof(err)) == -1)
			r = -1;
	if (r == 0)
		r = optind;
	optind = sind;
	opterr = serr;
	optopt = sopt;
	optarg = sarg;
	return r;
}

static int
dial_opt(void *a, int ch, char *v, char *err, size_t n)
{
	return vpdial_args_opt(a, ch, v, err, n);
}

static int
dispatch_opt(void *a, int ch, char *v, char *err, size_t n)
{
	return vpdsp_args_opt(a, ch, v, err, n);
}

int
vpengine_conf(char *const argv[], struct vpeng_conf *c, char *w, size_t n)
{
	struct vpdial_args da;
	struct vpdsp_args pa;
	struct vpendpoint e;
	const char *base, *s;
	char err[200];
	long long port;
	int i, argc;

	memset(c, 0, sizeof(*c));
	c->loglevel = VPLOG_WARN;
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (argc = 0; argv[argc] != NULL; argc++)
		;
	if (strcmp(base, "vp-dial") == 0) {
		c->kind = VPENG_DIAL;
		vpdial_args_init(&da);
		if ((i = opts(argv, VPDIAL_OPTSTR, dial_opt, &da)) == -1 ||
		    da.fdpass || da.nproxy > 0)
			return why(w, n, "options the engine does not run");
		c->loglevel = vpdial_args_loglevel(&da);
		c->family = da.family;
		c->connect_ms = da.connect_ms;
		c->idle_ms = da.idle_ms;
		if (((s = getenv("VP_REPLY")) != NULL && *s != '\0') ||
		    getenv("VP_EARLY_FD") != NULL)
			return why(w, n, "VP_REPLY or VP_EARLY_FD is set");
		if (argc - i == 2) {
			if (strlen(argv[i]) >= sizeof(c->fixed_host) ||
			    !vpep_host_ok(argv[i]) ||
			    vpio_parse_num(argv[i + 1], 1, 65535, &port) == -1)
				return why(w, n, "bad destination");
			strlcpy(c->fixed_host, argv[i], sizeof(c->fixed_host));
			c->port = (unsigned)port;
		} else if (argc - i == 1) {
			if (vpep_parse(argv[i], &e, err, sizeof(err)) == -1 ||
			    e.kind != VPEP_TCP || e.host[0] == '\0' ||
			    e.port == 0 ||
			    strlen(e.host) >= sizeof(c->fixed_host))
				return why(w, n, "not a tcp: destination");
			strlcpy(c->fixed_host, e.host, sizeof(c->fixed_host));
			c->port = e.port;
		} else
			return why(w, n, "no destination in the arguments");
		c->host = c->fixed_host;
		if ((c->family == AF_INET && vpnet_is_ip(c->host) == 6) ||
		    (c->family == AF_INET6 && vpnet_is_ip(c->host) == 4))
			return why(w, n, "family contradicts the address");
		return 0;
	}
	if (strcmp(base, "vp-dispatch") == 0) {
		c->kind = VPENG_DISPATCH;
		vpdsp_args_init(&pa);
		if ((i = opts(argv, VPDSP_OPTSTR, dispatch_opt, &pa)) == -1 ||
		    argv[i] != NULL || pa.compile != NULL)
			return why(w, n, "options the engine does not run");
		c->loglevel = pa.loglevel;
		c->users = pa.users;
		c->forced = pa.forced;
		c->rules = pa.rules;
		c->sniff = pa.sniff;
		c->req_ms = pa.req_ms;
		c->fixed = pa.fixed;
		if (c->fixed != NULL) {
			if (c->forced != VPIN_UNKNOWN || c->users != NULL)
				return why(w, n, "-t with -i or -a");
			if (vpep_split_hostport(c->fixed, c->fixed_host,
			    sizeof(c->fixed_host), &c->fixed_port, 1) == -1 ||
			    c->fixed_port == 0)
				return why(w, n, "bad -t");
		}
		return 0;
	}
	return why(w, n, "not vp-dial or vp-dispatch");
}

/* --- vp-listen's side of the control socket ----------------------- */

struct msg {
	uint64_t		id;
	uint32_t		pp;
	uint32_t		loopback;
	struct sockaddr_storage	src, dst;
};

int
vpengine_pass(int sock, uint64_t id, int fd, const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, int loopback)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.loopback = loopback != 0;
	if (src != NULL && dst != NULL) {
		m.pp = 1;
		m.src = *src;
		m.dst = *dst;
	}
	return vpnet_sendmsg_fd(sock, fd, &m, sizeof(m), MSG_DONTWAIT) ==
	    (ssize_t)sizeof(m) ? 0 : -1;
}

int
vpengine_done(int sock, uint64_t *ids, int *status, size_t n)
{
	int64_t buf[64];		/* 32 (id, status) pairs, done_flush's most */
	ssize_t r;
	size_t got = 0, k, i;

	/* a message holds up to 32 ends: read one only with room for all */
	while (got + 32 <= n) {
		r = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0)
			return -1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		k = (size_t)r / (2 * sizeof(int64_t));
		for (i = 0; i < k; i++) {
			ids[got] = (uint64_t)buf[2 * i];
			status[got++] = (int)buf[2 * i + 1];
		}
	}
	return (int)got;
}

/* --- small machinery: timers, pipes, slots, epoll ----------------- */

static struct conn *conn_by(uint32_t, uint32_t);

/* Moves heap[i] down to its place among heap[0..nheap). */
static void
heap_sift(size_t i)
{
	struct timer t = heap[i];
	size_t ch;

	while ((ch = 2 * i + 1) < nheap) {
		if (ch + 1 < nheap && heap[ch + 1].at < heap[ch].at)
			ch++;
		if (t.at <= heap[ch].at)
			break;
		heap[i] = heap[ch];
		i = ch;
	}
	heap[i] = t;
}

/* Whether a timer still means something (its connection, its time). */
static int
timer_live(const struct timer *t)
{
	const struct conn *c = conn_by(t->idx, t->gen);

	if (c == NULL)
		return 0;
	if (t->kind == T_DEADLINE)
		return t->at == c->deadline;
	if (t->kind == T_STAGGER)
		return t->at == c->stagger;
	return 1;	/* T_IDLE: one per relaying connection */
}

static void
heap_push(int64_t at, struct conn *c, enum tkind k)
{
	struct timer t = { at, c->idx, c->gen, k }, *nh;
	size_t i, p, n;
	int compacted = 0;

	if (nheap == heapcap && heapcap >= 1024) {
		/*
		 * Full: first drop the timers of connections gone or of
		 * times moved (ended connections leave theirs, up to a day
		 * with -i or -T), so the heap stays a few per live one.
		 */
		for (i = n = 0; i < nheap; i++)
			if (timer_live(&heap[i]))
				heap[n++] = heap[i];
		nheap = n;
		for (i = nheap / 2; i-- > 0;)
			heap_sift(i);
		compacted = 1;
	}
	/* grow unless that freed half: at most one pass per heapcap/2 pushes */
	if (nheap == heapcap || (heapcap >= 1024 && nheap > heapcap / 2 &&
	    compacted)) {
		size_t nc = heapcap ? heapcap * 2 : 256;

		if ((nh = reallocarray(heap, nc, sizeof(*heap))) == NULL)
			vplog_die(EX_OSERR, "engine: out of memory");
		heap = nh;
		heapcap = nc;
	}
	i = nheap++;
	while (i > 0) {
		p = (i - 1) / 2;
		if (heap[p].at <= t.at)
			break;
		heap[i] = heap[p];
		i = p;
	}
	heap[i] = t;
}

static struct timer
heap_pop(void)
{
	struct timer top = heap[0];

	heap[0] = heap[--nheap];
	if (nheap > 0)
		heap_sift(0);
	return top;
}

static void
set_deadline(struct conn *c, int64_t at)
{
	c->deadline = at;
	heap_push(at, c, T_DEADLINE);
}

/* A pipe for a direction, from the pool if it has one; 0 or -1. */
static int
pipe_get(struct dir *d)
{
	int sz;

	if (npool > 0) {
		npool--;
		d->p[0] = pool[npool][0];
		d->p[1] = pool[npool][1];
		d->cap = (size_t)pool[npool][2];
		return 0;
	}
	if (pipe2(d->p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	sz = fcntl(d->p[0], F_GETPIPE_SZ);
	d->cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

static int
nbigpool(void)
{
	size_t i;
	int n = 0;

	for (i = 0; i < npool; i++)
		n += pool[i][2] > 65536;
	return n;
}

static void
pipe_put(struct dir *d)
{
	if (d->p[0] < 0)
		return;
	/*
	 * Grown pipes count whole against the user's pipe pages
	 * (fs.pipe-user-pages-soft: 64 MiB unprivileged), used or not: a
	 * few are kept for the next bulk transfer, the others closed.
	 */
	if (d->inpipe == 0 && npool < POOLMAX && (d->cap <= 65536 ||
	    nbigpool() < POOLBIG)) {
		pool[npool][0] = d->p[0];
		pool[npool][1] = d->p[1];
		pool[npool][2] = (int)d->cap;
		npool++;
	} else {
		close(d->p[0]);
		close(d->p[1]);
	}
	d->p[0] = d->p[1] = -1;
}

static uint64_t
key(const struct conn *c, int role)
{
	return (uint64_t)c->gen << 32 | (uint64_t)c->idx << ROLEBITS |
	    (uint64_t)role;
}

static int
watch(int op, int fd, uint32_t events, uint64_t k)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = k;
	return epoll_ctl(ep, op, fd, &ev);
}

static struct conn *
conn_new(void)
{
	struct conn *c, **nt;
	uint32_t *nf, i, nc;

	if (nfreeidx == 0) {
		nc = tabcap ? tabcap * 2 : 64;
		if ((nt = reallocarray(tab, nc, sizeof(*tab))) == NULL ||
		    (tab = nt, (nf = reallocarray(freeidx, nc,
		    sizeof(*freeidx))) == NULL))
			return NULL;
		freeidx = nf;
		for (i = nc; i > tabcap; i--) {
			tab[i - 1] = NULL;
			freeidx[nfreeidx++] = i - 1;
		}
		tabcap = nc;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->idx = freeidx[--nfreeidx];
	/* below 2^31: a key never has K_SPECIAL's bit */
	if (++gen == 0 || gen > 0x7fffffff)
		gen = 1;
	c->gen = gen;
	c->cfd = c->ufd = -1;
	for (i = 0; i < MAXATT; i++)
		c->att[i] = -1;
	c->d[0].p[0] = c->d[0].p[1] = c->d[1].p[0] = c->d[1].p[1] = -1;
	c->start = c->last = vpio_now_ms();
	tab[c->idx] = c;
	nlive++;
	return c;
}

static struct conn *
conn_by(uint32_t idx, uint32_t g)
{
	if (idx >= tabcap || tab[idx] == NULL || tab[idx]->gen != g)
		return NULL;
	return tab[idx];
}

static void
done_push(uint64_t id, int status)
{
	int64_t *nq;

	if (ctl_eof || ctl_deaf)
		return;
	if (ndone == donecap) {
		size_t nc = donecap ? donecap * 2 : 64;

		/* losing it would hold vp-listen's slot: rather end */
		if ((nq = reallocarray(doneq, nc, 2 * sizeof(*doneq))) == NULL)
			vplog_die(EX_OSERR, "engine: out of memory");
		doneq = nq;
		donecap = nc;
	}
	doneq[2 * ndone] = (int64_t)id;
	doneq[2 * ndone + 1] = status;
	ndone++;
}

static void
done_flush(void)
{
	size_t k, off = 0;
	ssize_t r;

	while (off < ndone && !ctl_eof && !ctl_deaf) {
		k = ndone - off > 32 ? 32 : ndone - off;
		r = send(ctl, doneq + 2 * off, k * 2 * sizeof(*doneq),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* vp-listen gone: what it queued is still read */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ctl_deaf = 1;
			break;
		}
		off += k;
	}
	if (off > 0 && off < ndone)
		memmove(doneq, doneq + 2 * off, (ndone - off) * 2 *
		    sizeof(*doneq));
	ndone -= off;
	if (ctl_eof || ctl_deaf)
		ndone = 0;
}

static void
ready_push(struct conn *c)
{
	uint32_t *nq;

	if (c->ready)
		return;
	if (nready == readycap) {
		size_t nc = readycap ? readycap * 2 : 64;

		/* losing it would stall the connection: rather end */
		if ((nq = reallocarray(readyq, nc, 2 * sizeof(*readyq))) ==
		    NULL)
			vplog_die(EX_OSERR, "engine: out of memory");
		readyq = nq;
		readycap = nc;
	}
	readyq[2 * nready] = c->idx;
	readyq[2 * nready + 1] = c->gen;
	nready++;
	c->ready = 1;
}

static const char *
dest(const struct conn *c, char *buf, size_t n)
{
	char h[300];

	vplog_safe(h, sizeof(h), c->host);
	snprintf(buf, n, strchr(h, ':') ? "[%s]:%u" : "%s:%u", h, c->port);
	return buf;
}

/* --- configuration files: users and rules ------------------------- */

/* Drops a reference; the last one frees the snapshot. */
static void
snap_put(struct cfgsnap *cs)
{
	if (cs == NULL || --cs->refs > 0)
		return;
	if (cs->users != NULL)
		vpusers_free(cs->users);
	if (cs->rules != NULL)
		vprules_close(cs->rules);
	free(cs);
}

/* Whether cs is still what loading the files now would give. */
static int
snap_current(const struct cfgsnap *cs)
{
	struct stat st;

	if (cs == NULL || cs->err)
		return 0;	/* a failed load is tried again, as by a process */
	if (cf->users != NULL && (stat(cf->users, &st) == -1 ||
	    !vpio_same_file(&st, &cs->users_st)))
		return 0;
	return cf->rules == NULL || vprules_current(cs->rules);
}

/*
 * The users and rules for a connection starting now: the newest
 * snapshot, loaded again (failures logged as vp-dispatch logs them)
 * when a file changed (a few stat calls per connection). A reference the caller puts back; NULL when out
 * of memory.
 */
static struct cfgsnap *
snap_get(void)
{
	struct cfgsnap *cs;
	char err[1024];

	if (!snap_current(snap)) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return NULL;
		cs->refs = 1;
		if (cf->users != NULL) {
			(void)stat(cf->users, &cs->users_st);
			if ((cs->users = vpusers_load(cf->users, err,
			    sizeof(err))) == NULL) {
				vplog_fatal("%s", err);
				cs->err = 1;
			}
		}
		if (cf->rules != NULL && (cs->rules = vprules_open(cf->rules,
		    err, sizeof(err))) == NULL) {
			vplog_fatal("%s", err);
			cs->err = 1;
		}
		snap_put(snap);
		snap = cs;
	}
	snap->refs++;
	return snap;
}

static void
dsp_free(struct dsp *x)
{
	vphs_free(&x->hs);
	free(x->buf);
	free(x->head);
	snap_put(x->cs);
	free(x);
}

/* --- ending connections ------------------------------------------- */

static int64_t now;

/*
 * Closes a descriptor of ours; closing removes it from the epoll set
 * (no child holds a copy for long: a forked route closes every other
 * descriptor first, and stale events are told apart by generation).
 */
static void
unwatch_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void
conn_close(struct conn *c)
{
	int i;

	unwatch_close(&c->cfd);
	unwatch_close(&c->ufd);
	for (i = 0; i < MAXATT; i++)
		unwatch_close(&c->att[i]);
	for (i = 0; i < 2; i++) {
		pipe_put(&c->d[i]);
		free(c->d[i].pre);
	}
	if (c->x != NULL)
		dsp_free(c->x);
	if (c->ai != NULL)
		freeaddrinfo(c->ai);
	tab[c->idx] = NULL;
	freeidx[nfreeidx++] = c->idx;
	nlive--;
	done_push(c->id, c->status);
	free(c);
	ctl_resume();
}

/* Sends a short reply now; what does not fit is dropped (and logged). */
static void
send_now(struct conn *c, const void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return;
	n = send(c->cfd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t)len)
		vplog_info("reply: %s", n < 0 ? strerror(errno) :
		    "client not reading");
}

static void
linger_read(struct conn *c)
{
	static char junk[16384];
	int64_t end;
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = recv(c->cfd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n > 0) {
			vplinger_read(&c->lg, now);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_close(c);		/* EOF or error */
		return;
	}
	if ((end = vplinger_until(&c->lg, c->cfd, now)) == 0) {
		conn_close(c);
		return;
	}
	if (i == 16)
		ready_push(c);		/* more to read: after the others */
	if (end != c->deadline)
		set_deadline(c, end);
}

/*
 * Ends our side after a failure reply or a plain request's response and
 * drains the client (vplinger), so unread bytes do not turn the close
 * into a reset that destroys what is still on its way to it (as
 * vp-dispatch's linger).
 */
static void
linger(struct conn *c)
{
	if (shutdown(c->cfd, SHUT_WR) == -1) {
		conn_close(c);
		return;
	}
	c->state = C_LINGER;
	vplinger_start(&c->lg, now);
	c->deadline = 0;
	linger_read(c);
}

/* Answers class cl (unless answered already), logs, lingers. */
static void
fail(struct conn *c, enum vpr_class cl, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vplog_info("%s: %s", msg, vpreply_class_str(cl));
	c->status = vpreply_exit(cl);
	answer(c, cl);
}

/* Answers class cl if nobody was answered yet and lingers, or closes. */
static void
answer(struct conn *c, enum vpr_class cl)
{
	char out[VPREPLY_MAX];
	ssize_t n;

	if (!c->replied && c->reply != VPRP_NONE) {
		c->replied = 1;
		n = vpreply_encode(c->reply, cl, NULL, out, sizeof(out));
		if (n > 0)
			send_now(c, out, (size_t)n);
		linger(c);
		return;
	}
	conn_close(c);
}

/* --- relay -------------------------------------------------------- */

/*
 * body_in(): a plain request's client direction reads its body only
 * (vphttpbody.h), into the empty pipe: body data is spliced up to its
 * end; framing bytes are peeked, parsed, and exactly the request's
 * spliced. Returns as splice(2); -1 with EPROTO for malformed framing.
 */
static ssize_t
body_in(struct conn *c, struct dir *d)
{
	unsigned char pk[4096];
	struct vphb t;
	uint64_t raw = vphb_raw(&c->body);
	ssize_t n, k;
	int more;

	if (raw > 0) {
		n = splice(d->src, NULL, d->p[1], NULL, raw < d->cap ?
		    (size_t)raw : d->cap, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0)
			vphb_skip(&c->body, (uint64_t)n);
		return n;
	}
	n = recv(d->src, pk, sizeof(pk) < d->cap ? sizeof(pk) : d->cap,
	    MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		return n;
	t = c->body;
	if ((k = vphb_feed(&t, pk, (size_t)n)) <= 0) {
		errno = EPROTO;
		return -1;
	}
	more = k < n;
	n = splice(d->src, NULL, d->p[1], NULL, (size_t)k,
	    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (n == k) {
		c->body = t;
		c->bodymore = more;
	} else if (n > 0)		/* the pipe took less: parse only that */
		(void)vphb_feed(&c->body, pk, (size_t)n);
	return n;
}

/*
 * Moves what one direction can move now. A read or write error ends
 * this direction only (d->err; bytes in its pipe are lost): the other
 * one keeps draining what it was sent before, so data that arrived
 * ahead of a reset is still delivered. Returns 0, or -1 for a local
 * failure (no pipe). *more is set when the budget ran out before the
 * direction had to wait.
 */
static int
pump_dir(struct conn *c, struct dir *d, int *more)
{
	ssize_t n;
	int i, sz;

	for (i = 0; i < BUDGET; i++) {
		if (d->done)
			return 0;
		if (d->preoff < d->prelen) {
			n = send(d->dst, d->pre + d->preoff, d->prelen -
			    d->preoff, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0)
				goto werr;
			d->preoff += (size_t)n;
			if (!d->prereply)
				d->bytes += (uint64_t)n;
			c->last = now;
			if (d->preoff == d->prelen) {
				free(d->pre);
				d->pre = NULL;
				d->prelen = d->preoff = 0;
			}
			continue;
		}
		if (d->inpipe > 0) {
			n = splice(d->p[0], NULL, d->dst, NULL, d->inpipe,
			    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n < 0)
				goto werr;
			d->inpipe -= (size_t)n;
			d->bytes += (uint64_t)n;
			c->last = now;
			continue;
		}
		if (d->eof) {
			/* the other way done too: the close says it all */
			if (!c->d[0].done + !c->d[1].done > 1 &&
			    shutdown(d->dst, SHUT_WR) == -1 && errno != ENOTCONN)
				goto fail;
			d->done = 1;
			pipe_put(d);
			return 0;
		}
		/* malformed framing past the head: the relay ends, as vprelay */
		if (c->plain && d == &c->d[0] && vphb_failed(&c->body)) {
			errno = EPROTO;
			return -1;
		}
		/*
		 * A plain request complete: the client is watched, no
		 * longer relayed. What comes next (another request, EOF),
		 * or the response's end, ends this direction; only then
		 * does the origin get its EOF (some take a half-close for
		 * an abort: Go's net/http cancels the request).
		 */
		if (c->plain && d == &c->d[0] && vphb_done(&c->body)) {
			unsigned char b;

			if (c->bodymore || c->d[1].done ||
			    (n = recv(d->src, &b, 1, MSG_PEEK | MSG_DONTWAIT)) >= 0) {
				d->eof = 1;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			goto fail;
		}
		if (d->p[0] < 0 && pipe_get(d) == -1)
			return -1;
		if (d->bytes >= BIGAFTER && d->cap < BIGPIPE) {
			sz = fcntl(d->p[0], F_SETPIPE_SZ, BIGPIPE);
			/* refused (fs.pipe-user-pages-*): keep what we have */
			d->cap = sz > 0 ? (size_t)sz : BIGPIPE;
		}
		if (c->plain && d == &c->d[0]) {
			n = body_in(c, d);
			if (n < 0 && errno == EPROTO)
				return -1;	/* the relay ends, as vprelay */
		} else
			n = splice(d->src, NULL, d->p[1], NULL, d->cap,
			    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == 0) {
			d->eof = 1;
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			goto fail;
		}
		d->inpipe += (size_t)n;
		c->last = now;	/* reading counts for the idle timeout too */
	}
	*more = 1;
	return 0;
werr:
	if (errno == EINTR) {
		*more = 1;
		return 0;
	}
	if (errno == EAGAIN)
		return 0;
fail:
	d->err = errno;
	d->done = d->eof = 1;
	if (d->inpipe > 0 || d->preoff < d->prelen) {
		/* lost: drop the pipe rather than pool a full one */
		if (d->p[0] >= 0) {
			close(d->p[0]);
			close(d->p[1]);
			d->p[0] = d->p[1] = -1;
		}
		d->inpipe = 0;
	}
	pipe_put(d);
	return 0;
}

/*
 * The relay has ended: err 0, or the error that ended it; idle: by the
 * idle timeout. Logs and ends as the program would have.
 */
static void
relay_end(struct conn *c, int err, int idle)
{
	char d[300], how[160];
	int64_t ms = now - c->start;

	if (c->plain) {
		/* as vp-dispatch's plain HTTP relay (vpdispatch_out.c) */
		c->status = err != 0 ? EX_IOERR : 0;
		if (vplog_level >= VPLOG_INFO)
			vplog_info("route %s: %s:%u: %llu bytes out, %llu "
			    "bytes in, %lld.%03lld s, %s", c->route,
			    vplog_safe(d, sizeof(d), c->host), c->port,
			    (unsigned long long)c->d[0].bytes,
			    (unsigned long long)c->d[1].bytes,
			    (long long)(ms / 1000), (long long)(ms % 1000),
			    err != 0 ? "error" : "done");
		/* a request sent after this one must not reset the response */
		unwatch_close(&c->ufd);
		linger(c);
		return;
	}
	c->status = err == 0 ? 0 : err == EPIPE ? EX_UNAVAILABLE :
	    vp_exit_for(err);
	/* an error is a warning, a normal end an info line (often off) */
	if (vplog_level >= (err != 0 ? VPLOG_WARN : VPLOG_INFO)) {
		dest(c, d, sizeof(d));
		snprintf(how, sizeof(how), "%s%s", err != 0 ? "error: " :
		    idle ? "idle timeout" : "done",
		    err != 0 ? strerror(err) : "");
		(err != 0 ? vplog_warn : vplog_info)("%s%s%s%s: %llu bytes "
		    "out, %llu bytes in, %lld.%03lld s, %s",
		    c->route[0] ? "route " : "", c->route,
		    c->route[0] ? ": " : "", d,
		    (unsigned long long)c->d[0].bytes,
		    (unsigned long long)c->d[1].bytes, (long long)(ms / 1000),
		    (long long)(ms % 1000), how);
	}
	if ((cf->kind == VPENG_DISPATCH && c->status != 0) ||
	    (err != 0 && vpnet_unsent(c->cfd) > 0)) {
		/*
		 * As vp-dispatch after a failed relay: drain the client; as
		 * vp-dial, when bytes are still on their way to it.
		 */
		unwatch_close(&c->ufd);
		linger(c);
		return;
	}
	conn_close(c);
}

/*
 * Pumps the directions in mask (bit 0: client to upstream, bit 1: the
 * other way). Returns 1 when the connection has ended (c is freed),
 * else 0.
 */
static int
pump_dirs(struct conn *c, int mask)
{
	int more = 0;

	if (((mask & 1) && pump_dir(c, &c->d[0], &more) == -1) ||
	    ((mask & 2) && pump_dir(c, &c->d[1], &more) == -1) ||
	    /* a plain request's response over: the client's side too */
	    (c->plain && c->d[1].done && !c->d[0].done &&
	    vphb_done(&c->body) && pump_dir(c, &c->d[0], &more) == -1)) {
		relay_end(c, errno, 0);
		return 1;
	}
	if (c->d[0].done && c->d[1].done) {
		relay_end(c, c->d[0].err ? c->d[0].err : c->d[1].err, 0);
		return 1;
	}
	if (more)
		ready_push(c);
	return 0;
}

static int
pump(struct conn *c)
{
	return pump_dirs(c, 3);
}

/*
 * A hang-up on fd: the direction writing to it ends quietly when it
 * has nothing waiting (a socket hanging up while nothing waits to be
 * sent to it, as vprelay); with bytes waiting they are lost.
 */
static void
hangup(struct conn *c, int fd)
{
	struct dir *d = c->d[0].dst == fd ? &c->d[0] : &c->d[1];

	/* what arrived before a reset is read (and moved) first */
	if (pump(c))
		return;		/* ended */
	/*
	 * A plain request complete, the client is not read any more: its
	 * reset, which reading would have reported, is an error (vprelay).
	 */
	if (c->plain && fd == c->cfd && c->d[0].done && !c->d[1].done) {
		int e = 0;
		socklen_t l = sizeof(e);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 &&
		    e != 0) {
			relay_end(c, e, 0);
			return;
		}
	}
	if (!d->done && d->preoff == d->prelen && d->inpipe == 0) {
		d->done = d->eof = 1;
		pipe_put(d);
		if (c->d[0].done && c->d[1].done)
			relay_end(c, c->d[0].err ? c->d[0].err : c->d[1].err, 0);
	}
}

static void
relay_start(struct conn *c)
{
	c->state = C_RELAY;
	c->d[0].src = c->cfd;
	c->d[0].dst = c->ufd;
	c->d[1].src = c->ufd;
	c->d[1].dst = c->cfd;
	c->last = now;
	if (cf->idle_ms > 0)
		heap_push(now + cf->idle_ms, c, T_IDLE);
	if (pump(c))
		return;
	/*
	 * A client that hung up while we connected has no edge left to
	 * report it: ask once, when reading from it has ended already.
	 */
	if (c->d[0].eof) {
		struct pollfd p = { .fd = c->cfd };

		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
			hangup(c, c->cfd);
	}
}

/* --- connecting ----------------------------------------------------- */

static void
connect_failed(struct conn *c, int err)
{
	char d[300];

	dest(c, d, sizeof(d));
	if (cf->kind == VPENG_DIAL) {
		vplog_fatal("connect to %s: %s", d, vpnet_strerror(err));
		c->status = vpreply_exit(vpreply_class_errno(err));
		conn_close(c);
		return;
	}
	if (c->plain) {
		/* as vp-dispatch's plain HTTP request: answered, info line */
		fail(c, vpreply_class_errno(err), "route %s: connect to %s:%u: "
		    "%s", c->route, vplog_safe(d, sizeof(d), c->host), c->port,
		    vpnet_strerror(err));
		return;
	}
	/* as vpdial_run() for vp-dispatch's direct route */
	vplog_fatal("route %s: connect to %s: %s", c->route, d,
	    vpnet_strerror(err));
	c->status = vpreply_exit(vpreply_class_errno(err));
	answer(c, vpreply_class_errno(err));
}

static void
note_err(struct conn *c, int err)
{
	if (c->besterr == 0 || vpnet_err_rank(err) > vpnet_err_rank(c->besterr))
		c->besterr = err;
}

static int
natt(const struct conn *c)
{
	int i, n = 0;

	for (i = 0; i < MAXATT; i++)
		n += c->att[i] >= 0;
	return n;
}

static void
won(struct conn *c, int slot)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char out[VPREPLY_MAX];
	ssize_t n;
	int i, one = 1;

	c->ufd = c->att[slot];
	c->att[slot] = -1;
	vpnet_addr_str(c->attai[slot]->ai_addr, c->attai[slot]->ai_addrlen,
	    c->peer, sizeof(c->peer));
	if (vplog_level >= VPLOG_DEBUG && !c->plain) {
		char d[300];

		vplog_debug("%s%s%sconnected to %s (%s)", c->route[0] ?
		    "route " : "", c->route, c->route[0] ? ": " : "",
		    dest(c, d, sizeof(d)), c->peer);
	}
	if (vpnet_sa_loopback(c->attai[slot]->ai_addr))
		(void)vpnet_set_bufs(c->ufd, VPNET_LOOPBUF);
	if (c->cloop)
		(void)vpnet_set_bufs(c->cfd, VPNET_LOOPBUF);
	for (i = 0; i < MAXATT; i++)
		unwatch_close(&c->att[i]);
	freeaddrinfo(c->ai);
	c->ai = NULL;
	(void)setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(c->ufd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (watch(EPOLL_CTL_MOD, c->ufd, EPOLLIN | EPOLLOUT | EPOLLRDHUP |
	    EPOLLET, key(c, R_UP)) == -1) {
		relay_end(c, errno, 0);
		return;
	}
	if (c->x != NULL) {
		/* dispatch: the answer, then the request's own bytes */
		if (!c->replied && c->reply != VPRP_NONE && !c->plain) {
			c->replied = 1;
			if (getsockname(c->ufd, (struct sockaddr *)&ss, &sl) == -1)
				ss.ss_family = AF_UNSPEC;
			n = vpreply_encode(c->reply, VPR_OK,
			    (struct sockaddr *)&ss, out, sizeof(out));
			if (n > 0 && (c->d[1].pre = malloc((size_t)n)) == NULL) {
				c->replied = 0;
				fail(c, VPR_INTERNAL, "out of memory");
				return;
			}
			if (n > 0) {
				memcpy(c->d[1].pre, out, (size_t)n);
				c->d[1].prelen = (size_t)n;
				/* as vp-dispatch counts: the relay's bytes */
				c->d[1].prereply = 1;
			}
		}
		c->replied = 1;
		if (c->plain) {
			/*
			 * Early bytes: of the request's body only (malformed:
			 * none; the relay ends after the head).
			 */
			c->x->blen = vphb_begin(&c->body, c->x->hs.req.body,
			    c->x->hs.req.bodylen, c->x->buf, c->x->blen,
			    &c->bodymore);
		}
		if (c->x->headlen + c->x->blen > 0) {
			if ((c->d[0].pre = malloc(c->x->headlen +
			    c->x->blen)) == NULL) {
				relay_end(c, ENOMEM, 0);
				return;
			}
			if (c->x->headlen > 0)
				memcpy(c->d[0].pre, c->x->head, c->x->headlen);
			if (c->x->blen > 0)
				memcpy(c->d[0].pre + c->x->headlen, c->x->buf,
				    c->x->blen);
			c->d[0].prelen = c->x->headlen + c->x->blen;
		}
		dsp_free(c->x);
		c->x = NULL;
	}
	relay_start(c);
}

static void
try_next(struct conn *c)
{
	const struct addrinfo *a;
	int fd, slot;

	while (c->next < c->norder) {
		for (slot = 0; slot < MAXATT && c->att[slot] >= 0; slot++)
			;
		if (slot == MAXATT)
			return;		/* the stagger timer comes back */
		a = c->order[c->next++];
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);
		if (fd == -1) {
			note_err(c, errno);
			continue;
		}
		if ((connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) && watch(EPOLL_CTL_ADD, fd,
		    EPOLLOUT | EPOLLET, key(c, R_ATT + slot)) == 0) {
			c->att[slot] = fd;
			c->attai[slot] = a;
			if (c->next < c->norder) {
				c->stagger = now + VPNET_STAGGER_MS;
				heap_push(c->stagger, c, T_STAGGER);
			}
			return;
		}
		note_err(c, errno);
		close(fd);
	}
	if (natt(c) == 0)
		connect_failed(c, c->besterr ? c->besterr : VPNET_ENONAME);
}

static void
att_event(struct conn *c, int slot)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (c->att[slot] < 0)
		return;
	if (getsockopt(c->att[slot], SOL_SOCKET, SO_ERROR, &e, &l) == -1)
		e = errno;
	if (e == 0) {
		won(c, slot);
		return;
	}
	note_err(c, e);
	unwatch_close(&c->att[slot]);
	try_next(c);
}

static void
got_addrs(struct conn *c)
{
	c->norder = vpnet_interleave(c->ai, c->order, VPNET_MAXADDR);
	c->next = 0;
	c->state = C_CONNECT;
	set_deadline(c, now + (cf->kind == VPENG_DIAL ? cf->connect_ms :
	    CONNECT_MS));
	try_next(c);
}

static void
start_connect(struct conn *c)
{
	struct addrinfo hints;
	char ps[8];
	int r, fam = cf->kind == VPENG_DIAL ? cf->family : AF_UNSPEC;

	if (vpnet_is_ip(c->host)) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = fam;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		snprintf(ps, sizeof(ps), "%u", c->port);
		if ((r = getaddrinfo(c->host, ps, &hints, &c->ai)) != 0) {
			c->ai = NULL;
			connect_failed(c, vpnet_gai_errno(r, errno));
			return;
		}
		got_addrs(c);
		return;
	}
	c->state = C_RESOLVE;
	if (vpresolve_submit(res, key(c, 0), c->host, c->port, fam) == -1)
		connect_failed(c, errno == EAGAIN ? VPNET_EAGAIN : errno);
}

static void
resolved(void)
{
	struct addrinfo *ai;
	struct conn *c;
	uint64_t tag;
	int gai, se;

	while (vpresolve_take(res, &tag, &ai, &gai, &se) == 1) {
		c = conn_by((uint32_t)(tag >> ROLEBITS) & IDXMASK,
		    (uint32_t)(tag >> 32));
		if (c == NULL || c->state != C_RESOLVE) {
			if (ai != NULL)
				freeaddrinfo(ai);
			continue;
		}
		if (gai != 0 || ai == NULL) {
			if (ai != NULL)
				freeaddrinfo(ai);
			connect_failed(c, gai != 0 ? vpnet_gai_errno(gai, se) :
			    VPNET_ENONAME);
			continue;
		}
		c->ai = ai;
		got_addrs(c);
	}
}

/* --- dispatch: request, sniffing, route --------------------------- */

static void	route(struct conn *);
static void	fork_child(struct conn *);

/* The client's address as text (for source: rules), or NULL. */
static const char *
client_ip(struct conn *c, char *ip, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned port;

	if (c->pp)
		ss = c->src;
	else if (getpeername(c->cfd, (struct sockaddr *)&ss, &sl) == -1)
		return NULL;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return NULL;
	if (vpucspi_addr((struct sockaddr *)&ss, ip, n, &port) == -1)
		return NULL;
	return ip;
}

/* Room for more client bytes, up to max: 0, or -1 (full or no memory). */
static int
room(struct dsp *x, size_t max)
{
	unsigned char *nb;
	size_t nc;

	if (x->blen < x->bcap)
		return 0;
	if (x->bcap >= max)
		return -1;
	nc = x->bcap * 4 < max ? x->bcap * 4 : max;
	if ((nb = realloc(x->buf, nc)) == NULL)
		return -1;
	x->buf = nb;
	x->bcap = nc;
	return 0;
}

static void
sniff_read(struct conn *c)
{
	struct dsp *x = c->x;
	const char *proto;
	ssize_t n;
	size_t have;
	int r, eof = 0;

	for (;;) {
		if (x->blen >= VPSNIFF_MAX || room(x, VPHS_BUFMAX) == -1)
			break;
		n = recv(c->cfd, x->buf + x->blen, x->bcap - x->blen,
		    MSG_DONTWAIT);
		if (n > 0) {
			x->blen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			eof = 1;
		break;
	}
	have = x->blen < VPSNIFF_MAX ? x->blen : VPSNIFF_MAX;
	if (have > 0) {
		r = vpsniff(x->buf, have, x->sniffed, sizeof(x->sniffed),
		    &proto);
		if (r == VPSNIFF_FOUND) {
			x->protocol = proto;
			route(c);
			return;
		}
		if (r == VPSNIFF_NOT || have >= VPSNIFF_MAX) {
			route(c);
			return;
		}
	}
	if (eof)
		route(c);
}

/* The request is known (or -t): check, sniff, route. */
static void
after_request(struct conn *c)
{
	struct dsp *x = c->x;
	char h[80], out[VPREPLY_MAX];
	ssize_t n;

	if (x->cs->err) {
		c->status = EX_CONFIG;
		answer(c, VPR_GENERAL);
		return;
	}
	if (!vpep_host_ok(c->host)) {
		fail(c, VPR_NONAME, "destination '%s' is not a valid host name",
		    vplog_safe(h, sizeof(h), c->host));
		return;
	}
	if (cf->sniff && !c->plain) {
		/* The client sends its first bytes only after a success. */
		if (!c->replied && c->reply != VPRP_NONE) {
			c->replied = 1;
			n = vpreply_encode(c->reply, VPR_OK, NULL, out,
			    sizeof(out));
			if (n > 0)
				send_now(c, out, (size_t)n);
		}
		c->replied = 1;
		c->state = C_SNIFF;
		set_deadline(c, now + SNIFF_MS);
		sniff_read(c);
		return;
	}
	if (c->plain)
		x->protocol = "http";
	route(c);
}

/*
 * A timeout (EX_TEMPFAIL) or read error (EX_IOERR, errno set) in the
 * handshake: as vp-dispatch's stage_failed(), silent with a
 * configuration error (logged already).
 */
static void
hs_failed(struct conn *c, int status)
{
	if (c->x->cs->err)
		status = EX_CONFIG;
	else if (status == EX_TEMPFAIL)
		vplog_info("%s: request timed out", vphs_what(&c->x->hs));
	else
		vplog_info("%s: read: %s", vphs_what(&c->x->hs),
		    strerror(errno));
	c->status = status;
	conn_close(c);
}

static void
hs_read(struct conn *c)
{
	struct dsp *x = c->x;
	struct vphs_conf hc;
	size_t used;
	ssize_t n;
	int r, eof = 0, again = 0, full = 0;

	hc.forced = cf->forced;
	hc.users = x->cs->users;
	for (;;) {
		if (room(x, VPHS_BUFMAX) == 0) {
			n = recv(c->cfd, x->buf + x->blen, x->bcap - x->blen,
			    MSG_DONTWAIT);
			if (n > 0)
				x->blen += (size_t)n;
			else if (n == 0)
				eof = 1;
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				again = 1;
			else if (errno != EINTR) {
				hs_failed(c, EX_IOERR);
				return;
			}
		} else
			full = 1;	/* out of memory: vphs never fills it */
		do {
			used = 0;
			r = vphs_step(&x->hs, &hc, x->buf, x->blen, eof, &used);
			if (used > 0) {
				memmove(x->buf, x->buf + used, x->blen - used);
				x->blen -= used;
			}
			if (x->cs->err && x->hs.parsefail &&
			    (r == VPHS_FAIL || r == VPHS_CLOSE)) {
				/* as vp-dispatch: no refusal, just close */
				send_now(c, x->hs.out, x->hs.outstages);
				c->status = EX_CONFIG;
				conn_close(c);
				return;
			}
			if (x->hs.outlen > 0) {
				send_now(c, x->hs.out, x->hs.outlen);
				x->hs.outlen = 0;
			}
		} while (r == VPHS_MORE && used > 0 && x->blen > 0);
		switch (r) {
		case VPHS_DONE:
			goto done;
		case VPHS_FAIL:
		case VPHS_CLOSE:
			/* as vp-dispatch's handshake_end() */
			if (x->hs.loglevel == VPLOG_WARN)
				vplog_warn("%s", x->hs.why);
			else
				vplog_info("%s", x->hs.why);
			if (r == VPHS_CLOSE) {
				/* an unknown protocol with a config error */
				c->status = x->cs->err ? EX_CONFIG :
				    x->hs.exit;
				conn_close(c);
				return;
			}
			c->replied = 1;
			c->status = x->hs.exit;
			linger(c);
			return;
		default:
			break;
		}
		if (eof || full) {
			vplog_info("%s: incomplete", vphs_what(&x->hs));
			c->status = EX_DATAERR;
			conn_close(c);
			return;
		}
		if (again)
			return;
	}
done:
	c->reply = x->hs.reply;
	c->plain = x->hs.req.proto == VPIN_HTTP && !x->hs.req.http_connect;
	strlcpy(c->host, x->hs.req.host, sizeof(c->host));
	c->port = x->hs.req.port;
	if (c->plain && x->hs.req.head != NULL && x->hs.req.headlen > 0) {
		if ((x->head = malloc(x->hs.req.headlen)) == NULL) {
			fail(c, VPR_INTERNAL, "out of memory");
			return;
		}
		memcpy(x->head, x->hs.req.head, x->hs.req.headlen);
		x->headlen = x->hs.req.headlen;
	}
	after_request(c);
}

static void
route(struct conn *c)
{
	struct dsp *x = c->x;
	struct vprules_conn rc;
	struct vprules_out ro;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	char ip[VPUCSPI_IPMAX], h[80];

	x->route = "direct";
	x->kind = VPRULE_DIRECT;
	x->arg = "";
	if (x->cs->rules != NULL) {
		memset(&rc, 0, sizeof(rc));
		rc.host = c->host;
		rc.sniffed = x->sniffed[0] ? x->sniffed : NULL;
		rc.port = c->port;
		rc.source = client_ip(c, ip, sizeof(ip));
		rc.user = x->hs.user;
		rc.uid = rc.gid = -1;
		if (getsockname(c->cfd, (struct sockaddr *)&ss, &sl) == 0 &&
		    ss.ss_family == AF_UNIX && getsockopt(c->cfd, SOL_SOCKET,
		    SO_PEERCRED, &uc, &ul) == 0) {
			rc.uid = (long)uc.uid;
			rc.gid = (long)uc.gid;
		}
		rc.inbound = x->hs.inbound != NULL ? x->hs.inbound : "fixed";
		rc.protocol = x->protocol;
		if (vprules_match(x->cs->rules, &rc, &ro) == -1) {
			fail(c, VPR_INTERNAL, "rules: out of memory");
			return;
		}
		x->route = ro.name;
		x->kind = ro.kind;
		x->arg = ro.arg;
	}
	strlcpy(c->route, x->route, sizeof(c->route));
	if (vplog_level >= VPLOG_DEBUG)
		vplog_debug("%s %s:%u -> route %s%s%s", x->hs.inbound != NULL ?
		    x->hs.inbound : "fixed", vplog_safe(h, sizeof(h), c->host),
		    c->port, x->route, x->sniffed[0] ? " sniffed " : "",
		    x->sniffed);
	switch (x->kind) {
	case VPRULE_REJECT:
		fail(c, VPR_NOTALLOWED, "%s:%u: route %s rejects",
		    vplog_safe(h, sizeof(h), c->host), c->port, x->route);
		return;
	case VPRULE_BLACKHOLE:
		vplog_info("%s:%u: route %s: blackhole",
		    vplog_safe(h, sizeof(h), c->host), c->port, x->route);
		conn_close(c);
		return;
	case VPRULE_EXEC:
		/* the default direct route spelled out runs here */
		if (strcmp(x->arg, VPDSP_DIAL_ROUTE) != 0) {
			fork_child(c);
			return;
		}
		break;
	case VPRULE_EXEC_EARLY:
	case VPRULE_SOCKS5:
		fork_child(c);
		return;
	default:
		break;
	}
	start_connect(c);
}

extern char **environ;

/*
 * A route the loop does not run (exec, exec-early, socks5): a child
 * forked from here carries on exactly as vp-dispatch would.
 */
static void
fork_child(struct conn *c)
{
	struct dsp *x = c->x;
	struct vpenv e;
	pid_t pid;
	int r;

	if ((pid = fork()) == -1) {
		fail(c, VPR_INTERNAL, "route %s: fork: %s", x->route,
		    strerror(errno));
		return;
	}
	if (pid == 0) {
		/* the command gets a blocking socket, as from vp-listen */
		if (dup2(c->cfd, 0) == -1 || dup2(c->cfd, 1) == -1 ||
		    vpio_set_nonblock(0, 0) == -1)
			_exit(EX_OSERR);
		closefrom(3);
		vpspawn_reset_signals_in(chsigs);
		if (batch)	/* the command runs as vp-listen would run it */
			(void)sched_setscheduler(0, SCHED_OTHER,
			    &(struct sched_param){ 0 });
		if (vpenv_init(&e, 1) == -1)
			_exit(EX_OSERR);
		vpenv_unset(&e, "NOTIFY_SOCKET");
		r = c->pp ? vpucspi_env_addrs(&e, (struct sockaddr *)&c->src,
		    (struct sockaddr *)&c->dst) : vpucspi_env(&e, 0);
		if (r == -1)
			_exit(EX_OSERR);
		environ = e.v;
		memset(&vpdsp, 0, sizeof(vpdsp));
		vpdsp.req = x->hs.req;
		strlcpy(vpdsp.req.host, c->host, sizeof(vpdsp.req.host));
		vpdsp.req.port = c->port;
		vpdsp.reply = c->reply;
		vpdsp.replied = c->replied;
		vpdsp.users = x->cs->users;
		vpdsp.rules = x->cs->rules;
		vpdsp.user = x->hs.user != NULL ? vpdsp.req.user : NULL;
		vpdsp.inbound = x->hs.inbound != NULL ? x->hs.inbound : "fixed";
		vpdsp.protocol = x->protocol;
		vpdsp.host = vpdsp.req.host;
		vpdsp.port = c->port;
		vpdsp.route = x->route;
		vpdsp.kind = x->kind;
		vpdsp.arg = x->arg;
		strlcpy(vpdsp.sniffed, x->sniffed, sizeof(vpdsp.sniffed));
		if (x->headlen > 0)
			vpdsp_add_pre(x->head, x->headlen);
		if (x->blen > 0)
			vpdsp_add_pre(x->buf, x->blen);
		vpdsp_resume();
	}
	/* the child holds a copy: take it out of the epoll set first */
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->cfd, NULL);
	unwatch_close(&c->cfd);
	c->pid = pid;
	c->state = C_CHILD;
	vplog_debug("route %s: pid %ld", x->route, (long)pid);
}

/* --- the loop ------------------------------------------------------ */

static void
conn_start(int fd, const struct msg *m)
{
	struct conn *c;
	int one = 1;

	if ((c = conn_new()) == NULL) {
		vplog_warn("engine: out of memory: connection %llu closed",
		    VPENGINE_CONN_NO(m->id));
		close(fd);
		done_push(m->id, EX_OSERR);
		return;
	}
	c->id = m->id;
	c->cfd = fd;
	c->cloop = m->loopback != 0;
	if (m->pp) {
		c->pp = 1;
		c->src = m->src;
		c->dst = m->dst;
	}
	if (vpio_set_nonblock(fd, 1) == -1 || watch(EPOLL_CTL_ADD, fd, EPOLLIN |
	    EPOLLOUT | EPOLLRDHUP | EPOLLET, key(c, R_CLIENT)) == -1) {
		vplog_warn_errno("engine: connection %llu",
		    VPENGINE_CONN_NO(m->id));
		conn_close(c);
		return;
	}
	if (cf->kind == VPENG_DIAL) {
		strlcpy(c->host, cf->host, sizeof(c->host));
		c->port = cf->port;
		start_connect(c);
		return;
	}
	/* Replies and relayed bytes go out at once (no Nagle). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c->x = calloc(1, sizeof(*c->x))) == NULL ||
	    (c->x->buf = malloc(BUF0)) == NULL) {
		vplog_warn("engine: out of memory");
		conn_close(c);
		return;
	}
	c->x->bcap = BUF0;
	vphs_init(&c->x->hs);
	if ((c->x->cs = snap_get()) == NULL) {
		vplog_warn("engine: out of memory");
		conn_close(c);
		return;
	}
	if (cf->fixed != NULL) {
		strlcpy(c->host, cf->fixed_host, sizeof(c->host));
		c->port = cf->fixed_port;
		c->reply = VPRP_NONE;
		after_request(c);
		return;
	}
	c->state = C_HS;
	set_deadline(c, c->start + cf->req_ms);
	hs_read(c);
}

static void
ctl_pause(void)
{
	if (ctl_paused || ctl_eof)
		return;
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, ctl, NULL);
	ctl_paused = 1;
	while (npool > 0) {
		npool--;
		close(pool[npool][0]);
		close(pool[npool][1]);
	}
}

static void
ctl_resume(void)
{
	if (!ctl_paused || nlive >= maxlive)
		return;
	ctl_paused = 0;
	if (ctl_eof)
		return;
	ctl_out = ndone > 0;
	if (watch(EPOLL_CTL_ADD, ctl, EPOLLIN | (ctl_out ? EPOLLOUT : 0),
	    K_CTL) == -1)
		vplog_die_errno(EX_OSERR, "engine: epoll_ctl");
}

static void
ctl_read(void)
{
	struct msg m;
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct cmsghdr *cm;
	ssize_t n;
	int i, fd;

	for (i = 0; i < 64; i++) {
		/*
		 * As many connections as the descriptor limit holds: the
		 * others wait in vp-listen (as over its -c) until one ends.
		 */
		if (nlive >= maxlive) {
			ctl_pause();
			return;
		}
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = &m;
		iov.iov_len = sizeof(m);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		n = recvmsg(ctl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* vp-listen has gone: finish what we have */
			ctl_eof = 1;
			ndone = 0;
			(void)epoll_ctl(ep, EPOLL_CTL_DEL, ctl, NULL);
			return;
		}
		fd = -1;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			int k, nfd, fds[4];

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (nfd > 4)
				nfd = 4;
			memcpy(fds, CMSG_DATA(cm), (size_t)nfd * sizeof(int));
			for (k = 0; k < nfd; k++) {
				if (fd == -1)
					fd = fds[k];
				else
					close(fds[k]);
			}
		}
		if (n != (ssize_t)sizeof(m)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (fd == -1 || (mh.msg_flags & MSG_CTRUNC)) {
			/* out of descriptors: the socket is gone, the slot not */
			vplog_warn("engine: connection %llu: socket not received"
			    " (out of descriptors?)", VPENGINE_CONN_NO(m.id));
			if (fd >= 0)
				close(fd);
			done_push(m.id, EX_OSERR);
			continue;
		}
		conn_start(fd, &m);
	}
}

static void
reap(void)
{
	struct signalfd_siginfo si;
	pid_t pid;
	uint32_t i;
	int st;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < tabcap; i++)
			if (tab[i] != NULL && tab[i]->state == C_CHILD &&
			    tab[i]->pid == pid) {
				/* a signal travels as its negative number */
				tab[i]->status = WIFSIGNALED(st) ?
				    -WTERMSIG(st) : WEXITSTATUS(st);
				conn_close(tab[i]);
				break;
			}
}

static void
on_event(uint64_t k, uint32_t ev)
{
	struct conn *c;
	int role;

	if (k == K_CTL) {
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			ctl_read();
		return;
	}
	if (k == K_RES) {
		resolved();
		return;
	}
	if (k == K_SIG) {
		reap();
		return;
	}
	if ((c = conn_by((uint32_t)(k >> ROLEBITS) & IDXMASK,
	    (uint32_t)(k >> 32))) == NULL)
		return;
	role = (int)(k & ((1 << ROLEBITS) - 1));
	switch (c->state) {
	case C_HS:
		if (role == R_CLIENT)
			hs_read(c);
		break;
	case C_SNIFF:
		if (role == R_CLIENT)
			sniff_read(c);
		break;
	case C_CONNECT:
		if (role >= R_ATT)
			att_event(c, role - R_ATT);
		break;
	case C_RELAY:
		if (role != R_CLIENT && role != R_UP)
			break;
		if (ev & (EPOLLHUP | EPOLLERR))
			hangup(c, role == R_CLIENT ? c->cfd : c->ufd);
		else
			/*
			 * Edge-triggered: only the directions this edge can
			 * move (readable: the one reading this socket;
			 * writable: the one writing to it).
			 */
			(void)pump_dirs(c, role == R_CLIENT ?
			    ((ev & (EPOLLIN | EPOLLRDHUP)) ? 1 : 0) |
			    ((ev & EPOLLOUT) ? 2 : 0) :
			    ((ev & (EPOLLIN | EPOLLRDHUP)) ? 2 : 0) |
			    ((ev & EPOLLOUT) ? 1 : 0));
		break;
	case C_LINGER:
		if (role == R_CLIENT)
			linger_read(c);
		break;
	default:
		break;
	}
}

static void
on_timer(struct timer t)
{
	struct conn *c = conn_by(t.idx, t.gen);

	if (c == NULL)
		return;
	switch (t.kind) {
	case T_DEADLINE:
		if (t.at != c->deadline)
			return;
		switch (c->state) {
		case C_HS:
			hs_failed(c, EX_TEMPFAIL);
			break;
		case C_SNIFF:
			route(c);
			break;
		case C_CONNECT:
			connect_failed(c, ETIMEDOUT);
			break;
		case C_LINGER:
			linger_read(c);
			break;
		default:
			break;
		}
		break;
	case T_STAGGER:
		if (c->state == C_CONNECT && t.at == c->stagger)
			try_next(c);
		break;
	case T_IDLE:
		if (c->state != C_RELAY)
			return;
		if (now - c->last >= cf->idle_ms)
			relay_end(c, 0, 1);
		else
			heap_push(c->last + cf->idle_ms, c, T_IDLE);
		break;
	}
}

static void __attribute__((noreturn))
loop(void)
{
	struct epoll_event evs[128];
	size_t i, nr;
	int n, timeout;
	int64_t wait;

	for (;;) {
		done_flush();
		if (!ctl_eof && !ctl_paused && (ndone > 0) != ctl_out) {
			ctl_out = ndone > 0;
			(void)watch(EPOLL_CTL_MOD, ctl, EPOLLIN |
			    (ctl_out ? EPOLLOUT : 0), K_CTL);
		}
		if (ctl_eof && nlive == 0)
			exit(0);
		timeout = -1;
		if (nready > 0)
			timeout = 0;
		else if (nheap > 0) {
			wait = heap[0].at - vpio_now_ms();
			timeout = wait < 0 ? 0 : wait > 60000 ? 60000 :
			    (int)wait;
		}
		n = epoll_wait(ep, evs, 128, timeout);
		if (n < 0 && errno != EINTR)
			vplog_die_errno(EX_OSERR, "engine: epoll_wait");
		now = vpio_now_ms();
		for (i = 0; n > 0 && i < (size_t)n; i++)
			on_event(evs[i].data.u64, evs[i].events);
		/* those whose budget ran out, once each */
		nr = nready;
		for (i = 0; i < nr; i++) {
			struct conn *c = conn_by(readyq[2 * i],
			    readyq[2 * i + 1]);

			if (c != NULL) {
				c->ready = 0;
				if (c->state == C_RELAY)
					(void)pump(c);
				else if (c->state == C_LINGER)
					linger_read(c);
			}
		}
		if (nr > 0 && nr < nready)
			memmove(readyq, readyq + 2 * nr, (nready - nr) * 2 *
			    sizeof(*readyq));
		nready -= nr;
		while (nheap > 0 && heap[0].at <= now)
			on_timer(heap_pop());
	}
}

/* The engine process: never returns. */
static void __attribute__((noreturn))
engine_main(const struct vpeng_conf *c, int sock, const sigset_t *changed)
{
	struct rlimit rl;
	sigset_t chld;
	int null;

	cf = c;
	chsigs = changed;
	vplog_init(c->kind == VPENG_DIAL ? "vp-dial" : "vp-dispatch");
	vplog_level = c->loglevel;
	/* only stderr and the control socket are ours */
	if (dup2(sock, 3) == -1)
		vplog_die_errno(EX_OSERR, "engine: dup2");
	closefrom(4);
	ctl = 3;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(null, 0) == -1 || dup2(null, 1) == -1)
		vplog_die_errno(EX_OSERR, "engine: /dev/null");
	close(null);
	(void)fcntl(ctl, F_SETFD, FD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if ((sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		vplog_die_errno(EX_OSERR, "engine");
	/*
	 * SCHED_BATCH: a woken engine waits for the running task's turn to
	 * end instead of preempting it, so on a busy machine it moves more
	 * per wake-up (bulk through the engine about +7% here; latency on
	 * an idle CPU is unchanged). A policy set from outside is kept. Before
	 * the resolver threads, which inherit it.
	 */
	if (sched_getscheduler(0) == SCHED_OTHER &&
	    sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){ 0 }) == 0)
		batch = 1;
	if ((res = vpresolve_new(NRESOLVE, 4096)) == NULL)
		vplog_die_errno(EX_OSERR, "engine: resolver");
	if (watch(EPOLL_CTL_ADD, ctl, EPOLLIN, K_CTL) == -1 ||
	    watch(EPOLL_CTL_ADD, sfd, EPOLLIN, K_SIG) == -1 ||
	    watch(EPOLL_CTL_ADD, vpresolve_fd(res), EPOLLIN, K_RES) == -1)
		vplog_die_errno(EX_OSERR, "engine: epoll_ctl");
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > INT_MAX)
		rl.rlim_cur = INT_MAX;
	if ((maxlive = VPENGINE_MAXLIVE(rl.rlim_cur)) == 0)
		maxlive = 1;	/* vp-listen would not start us */
	now = vpio_now_ms();
	loop();
}

pid_t
vpengine_start(const struct vpeng_conf *c, const int *listen_fds, size_t n,
    const sigset_t *changed, int *sock)
{
	int sv[2];
	size_t i;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		for (i = 0; i < n; i++)
			close(listen_fds[i]);
		engine_main(c, sv[1], changed);
	}
	close(sv[1]);
	if (vpio_set_nonblock(sv[0], 1) == -1) {
		close(sv[0]);
		return -1;
	}
	*sock = sv[0];
	return pid;
}
