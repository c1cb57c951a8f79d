/*
 * vp-listen: accept connections on a socket and run a program for each
 * one with the connection on fd 0 and 1 and the UCSPI environment
 * (inetd "nowait", tcpserver style).
 *
 *	vp-listen [-1DpqvX] [-b backlog] [-C per-source] [-c limit]
 *	    [-N fd] [-t timeout] endpoint program [arg ...]
 */
#include <sys/types.h>
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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpapplet.h"
#include "vpengine.h"
#include "vpnet.h"
#include "vpendpoint.h"
#include "vpio.h"
#include "vplisten.h"
#include "vplog.h"
#include "vpnotify.h"
#include "vpprivs.h"
#include "vpproxyproto.h"
#include "vpspawn.h"
#include "vpucspi.h"

#define DEFAULT_LIMIT	100		/* -c */
#define MAX_LIMIT	65536
#define HEADER_MS	5000		/* -t: PROXY header deadline */
#define PP_MAXHDR	4096		/* largest PROXY v2 header taken */
#define ACCEPT_BATCH	64		/* accepts per wakeup, for fairness */
#define BACKOFF_MS	100		/* after EMFILE and friends */

enum slot_state {
	S_FREE = 0,
	S_NEW,		/* accepted, being routed */
	S_HEADER,	/* waiting for the PROXY header */
	S_WAITSRC,	/* its source is at the -C limit: held, not dropped */
	S_ENGINEQ,	/* waiting for room on the engine's control socket */
	S_RUNNING	/* program running */
};

struct slot {
	enum slot_state	state;
	int		fd;		/* HEADER, WAITSRC: the connection */
	pid_t		pid;		/* RUNNING */
	uint64_t	id;		/* connection number, for logs/order */
	int64_t		start;		/* ms */
	int64_t		deadline;	/* HEADER */
	unsigned char	key[17];	/* source address for -C */
	int		haskey;
	int		loopback;	/* the peer is a loopback TCP address */
	int		engine;		/* RUNNING in the engine */
	int		pp;		/* PROXY addresses override */
	struct sockaddr_storage ppsrc, ppdst;
	unsigned char	*hbuf;		/* HEADER: bytes of the header */
	size_t		hlen, hcap;
	char		peer[80];	/* for log lines */
};

static struct {
	int	print_port;	/* -1 */
	int	backlog;	/* -b */
	int	perhost;	/* -C, 0: none */
	int	limit;		/* -c */
	int	nodelay;	/* -D */
	int	notify_fd;	/* -N, -1: none */
	int	proxy;		/* -p */
	int64_t	header_ms;	/* -t */
	int	exec_always;	/* -X: never run an applet in-process */
	int	no_engine;	/* -P: a process per connection */
	const char *user;	/* -u: drop to this user after binding */
	const char *group;	/* -g */
} o = { 0, 0, 0, DEFAULT_LIMIT, 0, -1, 0, HEADER_MS, 0, 0, NULL, NULL };

static struct slot *slots;
static int *freelist;		/* stack of free slot indexes */
static int nfree;
static int nwaitsrc;
static size_t hiwater;		/* slots above this were never used */
static int nheader;		/* slots in S_HEADER */
static uint64_t nextid = 1;
static struct vplisten lis;
static struct vpenv env;
static char **prog_argv;
static vpapplet_fn applet;	/* run in a forked child, no exec */
static sigset_t changed_sigs;	/* dispositions we changed (SIGPIPE) */
static int64_t backoff_until;
static pid_t engine_pid = -1;	/* the engine (vpengine.h), if any */
static int engine_ctl = -1;
static int *engq;		/* FIFO of S_ENGINEQ slots (o.limit) */
static size_t engq_head, engq_n;
/*
 * Short of kernel memory, or of the descriptors a user may have in
 * flight (ETOOMANYREFS): the engine's socket may well poll writable
 * meanwhile, so the queue is retried on a timer (doubling from
 * ENGQ_RETRY_MIN to ENGQ_RETRY_MAX ms) instead of on POLLOUT.
 */
#define ENGQ_RETRY_MIN	10
#define ENGQ_RETRY_MAX	500
static int64_t engq_retry;	/* when to retry; 0: not waiting */
static int engq_retry_ms;
static int64_t engq_warned;	/* the last warning about it */
static struct vpeng_conf engconf;
static rlim_t nofile = RLIM_INFINITY;	/* RLIMIT_NOFILE, once raised */
static pid_t main_pid;		/* for remove_socket() */
static sigset_t start_mask;	/* the signal mask we were started with */

static void	usage(void) __attribute__((noreturn));
static void	check_program(const char *);
static void	check_program_as(const char *);
static void	raise_nofile(void);
static void	check_nofile(void);
static int	engine_fits(char *, size_t);
static int	block_signals(void);
static int	setup_signals(void);
static void	inherited_ignored(sigset_t *);
static void	remove_socket(void);
static void	serve(int);
static void	accept_some(int);
static void	new_connection(int);
static void	header_step(struct slot *);
static void	header_done(struct slot *, const struct vppp_info *);
static void	route(struct slot *);
static void	start(struct slot *);
static void	reap(void);
static void	ended(struct slot *);
static void	engine_read(void);
static void	engine_gone(const char *);
static void	engine_status(int, char *, size_t);
static int	to_engine(struct slot *);
static void	engine_flush(void);
static void	free_slot(struct slot *);
static void	drop(struct slot *, const char *, const char *);
static int	source_count(const unsigned char *);
static void	set_key(struct slot *, const struct sockaddr *);
static void	describe(struct slot *);
static void	shutdown_now(int);

static void
usage(void)
{
	fprintf(stderr, "usage: vp-listen [-1DPpqvX] [-b backlog] "
	    "[-C per-source] [-c limit] [-g group]\n"
	    "                 [-N fd] [-t timeout] [-u user] "
	    "endpoint program [arg ...]\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	struct vpendpoint ep;
	sigset_t held;
	char err[512];
	long long v;
	int ch, sfd, r, e;
	size_t i;

	vpio_sanitise_stdfd();
	vplog_init("vp-listen");
	/*
	 * From the start, so that a signal that stops us while the
	 * sockets are set up is taken by serve() (exit 0, the socket file
	 * removed), not by its default action.
	 */
	if (block_signals() == -1)
		vplog_die_errno(EX_OSERR, "sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	inherited_ignored(&changed_sigs);
	sigaddset(&changed_sigs, SIGPIPE);

	while ((ch = getopt(argc, argv, "+1b:C:c:Dg:hN:Ppqt:u:vX")) != -1) {
		switch (ch) {
		case '1':
			o.print_port = 1;
			break;
		case 'b':
			if (vpio_parse_num(optarg, 1, INT_MAX, &v) == -1)
				vplog_die(EX_USAGE, "backlog '%s': not a "
				    "number from 1", optarg);
			o.backlog = (int)v;
			break;
		case 'C':
			if (vpio_parse_num(optarg, 0, MAX_LIMIT, &v) == -1)
				vplog_die(EX_USAGE, "per-source limit '%s': "
				    "not a number from 0 to %d", optarg,
				    MAX_LIMIT);
			o.perhost = (int)v;
			break;
		case 'c':
			if (vpio_parse_num(optarg, 1, MAX_LIMIT, &v) == -1)
				vplog_die(EX_USAGE, "limit '%s': not a number "
				    "from 1 to %d", optarg, MAX_LIMIT);
			o.limit = (int)v;
			break;
		case 'D':
			o.nodelay = 1;
			break;
		case 'N':
			if (vpio_parse_num(optarg, 0, INT_MAX, &v) == -1)
				vplog_die(EX_USAGE, "notification fd '%s': "
				    "not a descriptor number", optarg);
			o.notify_fd = (int)v;
			if (fcntl(o.notify_fd, F_GETFD) == -1)
				vplog_die(EX_USAGE, "notification fd %d is "
				    "not open", o.notify_fd);
			break;
		case 'P':
			o.no_engine = 1;
			break;
		case 'p':
			o.proxy = 1;
			break;
		case 'q':
			vplog_level = VPLOG_QUIET;
			break;
		case 't':
			if (vpio_parse_duration(optarg, &o.header_ms) == -1 ||
			    o.header_ms <= 0 || o.header_ms > 3600000)
				vplog_die(EX_USAGE, "header timeout '%s': a "
				    "duration such as 5s or 500ms, at most 1h",
				    optarg);
			break;
		case 'v':
			vplog_level = vplog_level >= VPLOG_INFO ?
			    VPLOG_DEBUG : VPLOG_INFO;
			break;
		case 'g':
			o.group = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'X':
			o.exec_always = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	/* the parser's own list of kinds has some that cannot listen */
	if (vpep_parse(argv[0], &ep, err, sizeof(err)) == -1)
		vplog_die(EX_USAGE, "endpoint '%s': %s", argv[0],
		    strncmp(err, "expected ", 9) == 0 ? "expected tcp:HOST:PORT, "
		    "tcp:[V6]:PORT, tcp::PORT, unix:PATH, fd:N or "
		    "systemd[:NAME]" : err);
	if (ep.kind != VPEP_TCP && ep.kind != VPEP_UNIX &&
	    ep.kind != VPEP_FD && ep.kind != VPEP_SYSTEMD)
		vplog_die(EX_USAGE, "endpoint '%s': vp-listen listens on "
		    "tcp:HOST:PORT, unix:PATH, fd:N or systemd[:NAME] only",
		    argv[0]);
	if (o.perhost > o.limit)
		o.perhost = o.limit;
	prog_argv = argv + 1;
	/* as the user it will run as (-u, -g) */
	if (o.user == NULL && o.group == NULL)
		check_program(prog_argv[0]);
	else
		check_program_as(prog_argv[0]);
	/*
	 * Our own sibling vp-dispatch or vp-dial runs in a forked child
	 * without exec:
	 * a connection then costs a fork, not an exec, ELF loading and the
	 * C library's start-up (see vpapplet.h).
	 */
	if (!o.exec_always)
		applet = vpapplet_find(prog_argv[0]);
	raise_nofile();

	/*
	 * A tcp: host name's lookup may take the resolver's whole timeout:
	 * a signal meanwhile ends us at once by its default action, as
	 * nothing is bound yet that would need removing.
	 */
	if (ep.kind == VPEP_TCP && !vpnet_is_ip(ep.host))
		(void)sigprocmask(SIG_SETMASK, &start_mask, &held);
	r = vplisten_open(&lis, &ep, o.backlog, err, sizeof(err));
	e = errno;
	if (ep.kind == VPEP_TCP && !vpnet_is_ip(ep.host))
		(void)sigprocmask(SIG_SETMASK, &held, NULL);
	if (r == -1)
		vplog_die(vplisten_status(e), "%s", err);
	if (err[0] != '\0')
		vplog_warn("%s", err);

	/* a fatal error from now on removes the socket file */
	main_pid = getpid();
	if (atexit(remove_socket) != 0)
		vplog_die(EX_OSERR, "atexit");

	/* Bound: narrow privileges before anything reads the network. */
	if (vpprivs_drop(o.user, o.group, err, sizeof(err)) == -1)
		vplog_die(EX_CONFIG, "%s", err);

	/*
	 * vp-dial HOST PORT and vp-dispatch: one engine process serves
	 * every connection in an event loop (vpengine.h), unless -P.
	 */
	if (applet != NULL && !o.no_engine) {
		char why[128];

		if (vpengine_conf(prog_argv, &engconf, why, sizeof(why)) != 0)
			vplog_debug("%s: %s: a process per connection",
			    prog_argv[0], why);
		else if (!engine_fits(why, sizeof(why)))
			vplog_warn("%s: a process per connection", why);
		else {
			engine_pid = vpengine_start(&engconf, lis.fds, lis.nfds,
			    &changed_sigs, &engine_ctl);
			if (engine_pid == -1)
				vplog_warn_errno("cannot start the engine; a "
				    "process per connection");
		}
	}

	check_nofile();
	if ((slots = calloc((size_t)o.limit, sizeof(*slots))) == NULL ||
	    (freelist = calloc((size_t)o.limit, sizeof(*freelist))) == NULL ||
	    (engine_pid > 0 && (engq = calloc((size_t)o.limit,
	    sizeof(*engq))) == NULL))
		vplog_die(EX_OSERR, "out of memory");
	for (i = 0; i < (size_t)o.limit; i++)
		freelist[nfree++] = o.limit - 1 - (int)i;	/* 0 on top */
	if (vpenv_init(&env, 1) == -1)
		vplog_die(EX_OSERR, "out of memory");
	vpenv_unset(&env, "NOTIFY_SOCKET");
	if ((sfd = setup_signals()) == -1)
		vplog_die_errno(EX_OSERR, "signalfd");

	/* Logged before readiness, so a log read at readiness has it. */
	vplog_debug("listening on %s (%zu socket%s), limit %d%s", argv[0],
	    lis.nfds, lis.nfds == 1 ? "" : "s", o.limit,
	    engine_pid > 0 ? ", connections served by the engine" :
	    applet ? ", program run in forked children without exec" : "");
	if (engine_pid > 0)
		vplog_debug("engine pid %ld", (long)engine_pid);
	/* Every socket is bound: report readiness. */
	if (o.print_port && vpnotify_stdout(ep.kind == VPEP_TCP ||
	    ep.kind == VPEP_FD ? vplisten_port(lis.fds[0]) : 0) == -1)
		vplog_warn_errno("readiness on stdout");
	if (o.notify_fd >= 0 && vpnotify_fd(o.notify_fd) == -1)
		vplog_warn_errno("readiness on fd %d", o.notify_fd);
	if (vpnotify_ready(0) == -1)
		vplog_warn_errno("readiness on NOTIFY_SOCKET");

	serve(sfd);
	/* NOTREACHED */
	return 0;
}

/*
 * At exit (a fatal error after binding, or shutdown_now()), in this
 * process only, not in the children that share the handler: removes the
 * unix socket file if it is still ours.
 */
static void
remove_socket(void)
{
	if (getpid() == main_pid)
		vplisten_close(&lis, 1);
}

/*
 * Fails early, with a clear message, when the program cannot be found
 * or run: otherwise every connection would fail the same way.
 */
static void
check_program(const char *prog)
{
	char err[PATH_MAX + 64];

	if (vpspawn_usable(prog, err, sizeof(err)) == -1)
		vplog_die(EX_UNAVAILABLE, "%s", err);
}

/*
 * check_program() as the user and group of -u and -g, in a child that
 * switches to them first, before anything is bound: the child reports
 * what is wrong and its exit status is ours.
 */
static void
check_program_as(const char *prog)
{
	char err[512];
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		vplog_die_errno(EX_OSERR, "fork");
	if (pid == 0) {
		if (vpprivs_drop(o.user, o.group, err, sizeof(err)) == -1)
			vplog_die(EX_CONFIG, "%s", err);
		check_program(prog);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			vplog_die_errno(EX_OSERR, "waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		exit(WEXITSTATUS(st));
	if (!WIFEXITED(st))
		vplog_die(EX_OSERR, "checking program %s as %s%s%s: signal %d",
		    prog, o.user ? o.user : "", o.group ? ":" : "",
		    o.group ? o.group : "", WTERMSIG(st));
}

/* Lets the connection limit use as many descriptors as allowed. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	nofile = rl.rlim_cur;
}

/*
 * Whether the engine fits in the descriptor limit: it holds about six
 * per connection in one process (processes each have their own table).
 * Too few for 32 connections (or -c, if lower): no, the reason in why.
 * Else yes, with a warning when it holds fewer than -c: it takes what
 * it can and the others wait, as over -c.
 */
static int
engine_fits(char *why, size_t n)
{
	unsigned long long max;

	if (nofile == RLIM_INFINITY)
		return 1;
	max = VPENGINE_MAXLIVE((unsigned long long)nofile);
	if (max >= (unsigned long long)o.limit)
		return 1;
	if (max < 32) {
		snprintf(why, n, "descriptor limit %llu: too low for the "
		    "engine", (unsigned long long)nofile);
		return 0;
	}
	vplog_warn("descriptor limit %llu: the engine holds %llu "
	    "connections at once, fewer than -c %d; the others wait",
	    (unsigned long long)nofile, max, o.limit);
	return 1;
}

/* Warns when -c connections may not fit in the descriptor limit. */
static void
check_nofile(void)
{
	if (nofile != RLIM_INFINITY && (rlim_t)o.limit + 32 > nofile)
		vplog_warn("limit %d is %s the descriptor limit %llu",
		    o.limit, (rlim_t)o.limit > nofile ? "above" : "close to",
		    (unsigned long long)nofile);
}

/*
 * block_signals() blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP (0 or -1);
 * setup_signals() returns a signalfd for them, or -1. Children get an
 * empty mask and default dispositions from vpspawn.
 */
static void
our_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* In a child forked here (the engine): the mask we were started with. */
static void
start_mask_back(void)
{
	(void)sigprocmask(SIG_SETMASK, &start_mask, NULL);
}

static int
block_signals(void)
{
	sigset_t set;

	our_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, &start_mask) == -1)
		return -1;
	return pthread_atfork(NULL, NULL, start_mask_back) == 0 ? 0 : -1;
}

static int
setup_signals(void)
{
	sigset_t set;

	our_signals(&set);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/*
 * The signals we were started with ignored (nohup, a background job of
 * a shell): children run in-process (applets, the engine's routes) put
 * them back to the default, as the exec'd ones get from vpspawn.
 */
static void
inherited_ignored(sigset_t *set)
{
	struct sigaction sa;
	int s;

	sigemptyset(set);
	for (s = 1; s < NSIG; s++)
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN &&
		    !(sa.sa_flags & SA_SIGINFO))
			sigaddset(set, s);
}

static void
serve(int sfd)
{
	struct signalfd_siginfo si;
	struct pollfd *pfd;
	struct slot **hslot;
	size_t npfd, nl, i, maxpfd;
	int64_t now, next;
	int timeout, r, sig, accepting;

	maxpfd = 2 + lis.nfds + (size_t)o.limit;
	if ((pfd = calloc(maxpfd, sizeof(*pfd))) == NULL ||
	    (hslot = calloc(maxpfd, sizeof(*hslot))) == NULL)
		vplog_die(EX_OSERR, "out of memory");
	for (;;) {
		now = vpio_now_ms();
		npfd = 0;
		pfd[npfd].fd = sfd;
		pfd[npfd++].events = POLLIN;
		/* At the limit: stop accepting; the backlog waits. */
		accepting = nfree > 0 && now >= backoff_until;
		for (nl = 0; nl < lis.nfds; nl++) {
			pfd[npfd].fd = accepting ? lis.fds[nl] : -1;
			pfd[npfd++].events = POLLIN;
		}
		pfd[npfd].fd = engine_ctl;
		pfd[npfd++].events = POLLIN |
		    (engq_n > 0 && engq_retry == 0 ? POLLOUT : 0);
		next = -1;
		if (!accepting && nfree > 0)
			next = backoff_until;
		if (engq_retry != 0 && (next == -1 || engq_retry < next))
			next = engq_retry;
		for (i = 0; nheader + nwaitsrc > 0 && i < hiwater; i++) {
			if (slots[i].state == S_WAITSRC) {
				/* Only a hang-up: a client gone while held. */
				hslot[npfd] = &slots[i];
				pfd[npfd].fd = slots[i].fd;
				pfd[npfd++].events = 0;
				continue;
			}
			if (slots[i].state != S_HEADER)
				continue;
			hslot[npfd] = &slots[i];
			pfd[npfd].fd = slots[i].fd;
			pfd[npfd++].events = POLLIN;
			if (next == -1 || slots[i].deadline < next)
				next = slots[i].deadline;
		}
		timeout = next == -1 ? -1 : (int)(next > now ?
		    (next - now > INT_MAX ? INT_MAX : next - now) : 0);
		r = poll(pfd, npfd, timeout);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			vplog_die_errno(EX_OSERR, "poll");
		}
		if (pfd[0].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				sig = (int)si.ssi_signo;
				if (sig == SIGCHLD)
					continue;
				shutdown_now(sig);
			}
			reap();
		}
		if (pfd[1 + lis.nfds].revents & ~POLLOUT)
			engine_read();
		if (pfd[1 + lis.nfds].revents & POLLOUT)
			engine_flush();
		if (engq_retry != 0 && vpio_now_ms() >= engq_retry) {
			engq_retry = 0;
			engine_flush();
		}
		for (i = 2 + lis.nfds; i < npfd; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (hslot[i]->state == S_HEADER)
				header_step(hslot[i]);
			else if (hslot[i]->state == S_WAITSRC &&
			    hslot[i]->fd == pfd[i].fd &&
			    (pfd[i].revents & (POLLHUP | POLLERR))) {
				vplog_info("connection %llu from %s: client "
				    "gone while waiting",
				    (unsigned long long)hslot[i]->id,
				    hslot[i]->peer);
				close(hslot[i]->fd);
				hslot[i]->fd = -1;
				free_slot(hslot[i]);
			}
		}
		now = vpio_now_ms();
		for (i = 0; nheader > 0 && i < hiwater; i++)
			if (slots[i].state == S_HEADER &&
			    slots[i].deadline <= now)
				drop(&slots[i], "no complete PROXY header "
				    "in time", NULL);
		for (nl = 0; nl < lis.nfds; nl++)
			if (pfd[1 + nl].revents)
				accept_some(lis.fds[nl]);
	}
}

static void
accept_some(int lfd)
{
	static int64_t last_warn;
	int64_t now;
	int fd, n;

	for (n = 0; n < ACCEPT_BATCH && nfree > 0; n++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
			case EINTR:
				return;
			case ECONNABORTED:
			case EPROTO:
			case ENETDOWN:
			case EHOSTUNREACH:
			case ENETUNREACH:
			case ENOPROTOOPT:
			case EOPNOTSUPP:
			case ETIMEDOUT:
				continue;	/* that client's problem */
			default:
				/*
				 * EMFILE, ENFILE, ENOBUFS, ENOMEM: wait a
				 * little, warn at most every 10 s.
				 */
				now = vpio_now_ms();
				if (last_warn == 0 || now - last_warn >= 10000) {
					vplog_warn_errno("accept (pausing "
					    "%d ms)", BACKOFF_MS);
					last_warn = now;
				}
				backoff_until = now + BACKOFF_MS;
				return;
			}
		}
		new_connection(fd);
	}
}

static void
new_connection(int fd)
{
	struct slot *s;
	int one = 1;

	/*
	 * The free list is a stack with the lowest slots on top, so the
	 * slots in use stay below the high-water mark the loops scan to.
	 */
	s = &slots[freelist[--nfree]];
	if ((size_t)(s - slots) + 1 > hiwater)
		hiwater = (size_t)(s - slots) + 1;
	memset(s, 0, sizeof(*s));
	s->state = S_NEW;
	s->fd = fd;
	s->id = nextid++;
	s->start = vpio_now_ms();
	if (o.nodelay)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (o.proxy) {
		s->state = S_HEADER;
		nheader++;
		s->deadline = s->start + o.header_ms;
		header_step(s);
		return;
	}
	describe(s);
	route(s);
}

/*
 * Reads as much of the PROXY header as has arrived, never a byte past
 * it: a v2 header's length is known from its first 16 bytes; a v1 line
 * is peeked and only consumed up to its LF. Non-blocking.
 */
static void
header_step(struct slot *s)
{
	struct vppp_info info;
	unsigned char *nb, *lf;
	size_t want, take, total;
	ssize_t n, r;
	int i;

	if (s->hbuf == NULL) {
		if ((s->hbuf = malloc(VPPP_V1_MAX + 1)) == NULL) {
			drop(s, "out of memory", NULL);
			return;
		}
		s->hcap = VPPP_V1_MAX + 1;
	}
	for (i = 0; i < 8; i++) {
		if (s->hlen == 0) {
			/* Which version: look at the first byte only. */
			n = recv(s->fd, s->hbuf, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n <= 0)
				goto readfail;
		}
		if (s->hbuf[0] == 0x0d) {
			/* v2: the length is known after 16 bytes. */
			if (s->hlen < VPPP_V2_HDR)
				want = VPPP_V2_HDR - s->hlen;
			else {
				total = VPPP_V2_HDR +
				    (((size_t)s->hbuf[14] << 8) | s->hbuf[15]);
				if (total > PP_MAXHDR) {
					drop(s, "PROXY v2 header larger than "
					    "the limit", NULL);
					return;
				}
				if (total > s->hcap) {
					if ((nb = realloc(s->hbuf, total)) ==
					    NULL) {
						drop(s, "out of memory", NULL);
						return;
					}
					s->hbuf = nb;
					s->hcap = total;
				}
				want = total - s->hlen;
			}
			n = recv(s->fd, s->hbuf + s->hlen, want, MSG_DONTWAIT);
			if (n <= 0)
				goto readfail;
			s->hlen += (size_t)n;
		} else {
			/* v1 (or garbage): peek, consume up to the LF. */
			want = VPPP_V1_MAX - s->hlen;
			n = recv(s->fd, s->hbuf + s->hlen, want,
			    MSG_PEEK | MSG_DONTWAIT);
			if (n <= 0)
				goto readfail;
			lf = memchr(s->hbuf + s->hlen, '\n', (size_t)n);
			take = lf ? (size_t)(lf - (s->hbuf + s->hlen)) + 1 :
			    (size_t)n;
			n = recv(s->fd, s->hbuf + s->hlen, take, MSG_DONTWAIT);
			if (n <= 0)
				goto readfail;
			s->hlen += (size_t)n;
		}
		r = vppp_parse(s->hbuf, s->hlen, &info);
		if (r == VPPP_MALFORMED) {
			drop(s, "malformed PROXY header",
			    vppp_why(s->hbuf, s->hlen));
			return;
		}
		if (r > 0) {
			header_done(s, &info);
			return;
		}
	}
	return;
readfail:
	if (n == 0)
		drop(s, "connection closed before the PROXY header", NULL);
	else if (errno != EAGAIN && errno != EINTR)
		drop(s, "reading the PROXY header", strerror(errno));
}

static void
header_done(struct slot *s, const struct vppp_info *info)
{
	s->state = S_NEW;
	nheader--;
	free(s->hbuf);
	s->hbuf = NULL;
	s->hlen = s->hcap = 0;
	if (!info->local && (info->family == AF_INET ||
	    info->family == AF_INET6)) {
		s->pp = 1;
		s->ppsrc = info->src;
		s->ppdst = info->dst;
	}
	describe(s);
	vplog_debug("connection %llu: PROXY v%d header%s",
	    (unsigned long long)s->id, info->version,
	    s->pp ? "" : " (LOCAL/UNKNOWN: real addresses kept)");
	route(s);
}

/* Applies the per-source limit, then starts the program. */
static void
route(struct slot *s)
{
	if (o.perhost > 0 && s->haskey &&
	    source_count(s->key) >= o.perhost) {
		s->state = S_WAITSRC;
		nwaitsrc++;
		vplog_info("connection %llu from %s: %d from that source "
		    "already, waiting", (unsigned long long)s->id, s->peer,
		    o.perhost);
		return;
	}
	start(s);
}

static void
start(struct slot *s)
{
	int e;

	if (engine_ctl >= 0) {
		/*
		 * The engine's socket holds a few messages: when it is
		 * full, connections queue here (in order) until it has
		 * room again.
		 */
		if (engq_n == 0 && to_engine(s) == 0)
			return;
		if (engine_ctl >= 0) {
			s->state = S_ENGINEQ;
			engq[(engq_head + engq_n++) % (size_t)o.limit] =
			    (int)(s - slots);
			return;
		}
	}

	if (s->pp) {
		e = vpucspi_env_addrs(&env, (struct sockaddr *)&s->ppsrc,
		    (struct sockaddr *)&s->ppdst);
	} else
		e = vpucspi_env(&env, s->fd);
	if (e == -1) {
		if (errno == ENOTCONN) {
			/* The client left (reset) before its turn. */
			vplog_info("connection %llu from %s: client gone "
			    "before its program started",
			    (unsigned long long)s->id, s->peer);
			close(s->fd);
			s->fd = -1;
			free_slot(s);
			return;
		}
		drop(s, "cannot describe the connection", strerror(errno));
		return;
	}
	if (applet != NULL)
		s->pid = vpapplet_spawn(applet, prog_argv, s->fd, s->fd,
		    env.v, &changed_sigs);
	else
		s->pid = vpspawn(prog_argv, s->fd, s->fd, env.v);
	if (s->pid == -1) {
		vplog_warn_errno("connection %llu from %s: cannot run %s",
		    (unsigned long long)s->id, s->peer, prog_argv[0]);
		close(s->fd);
		s->fd = -1;
		free_slot(s);
		return;
	}
	close(s->fd);
	s->fd = -1;
	s->state = S_RUNNING;
	vplog_info("connection %llu from %s: pid %ld",
	    (unsigned long long)s->id, s->peer, (long)s->pid);
}

static void
reap(void)
{
	struct slot *s;
	pid_t pid;
	size_t i;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		s = NULL;
		for (i = 0; i < hiwater; i++)
			if (slots[i].state == S_RUNNING &&
			    slots[i].pid == pid) {
				s = &slots[i];
				break;
			}
		if (s == NULL) {
			if (pid == engine_pid) {
				char why[64];

				engine_pid = -1;
				engine_status(st, why, sizeof(why));
				engine_gone(why);
			}
			continue;
		}
		if (WIFSIGNALED(st))
			vplog_info("connection %llu from %s: pid %ld killed "
			    "by signal %d after %.3fs",
			    (unsigned long long)s->id, s->peer, (long)pid,
			    WTERMSIG(st),
			    (double)(vpio_now_ms() - s->start) / 1000);
		else
			vplog_info("connection %llu from %s: pid %ld exited "
			    "%d after %.3fs", (unsigned long long)s->id,
			    s->peer, (long)pid, WEXITSTATUS(st),
			    (double)(vpio_now_ms() - s->start) / 1000);
		ended(s);
	}
}

/* A running connection has ended: its slot is free, its source's turn. */
static void
ended(struct slot *s)
{
	struct slot *w;
	unsigned char key[17];
	size_t i;
	int haskey;

	haskey = s->haskey;
	memcpy(key, s->key, sizeof(key));
	free_slot(s);
	if (!haskey)
		return;
	/*
	 * The oldest connections waiting for this source, while it has
	 * room: one whose start fails (the client gone meanwhile) hands
	 * its turn on. Out of S_WAITSRC before start(), so that a failure
	 * (free_slot) does not count it out twice.
	 */
	while (nwaitsrc > 0 && source_count(key) < o.perhost) {
		w = NULL;
		for (i = 0; i < hiwater; i++)
			if (slots[i].state == S_WAITSRC &&
			    memcmp(slots[i].key, key, sizeof(key)) == 0 &&
			    (w == NULL || slots[i].id < w->id))
				w = &slots[i];
		if (w == NULL)
			break;
		w->state = S_NEW;
		nwaitsrc--;
		start(w);
	}
}

/* Connections the engine has finished. */
static void
engine_read(void)
{
	uint64_t ids[128];
	int st[128];
	struct slot *s;
	size_t idx;
	int n, i;

	while ((n = vpengine_done(engine_ctl, ids, st, 128)) > 0) {
		for (i = 0; i < n; i++) {
			idx = (size_t)(ids[i] >> VPENGINE_ID_SHIFT);
			if (idx >= hiwater)
				continue;
			s = &slots[idx];
			if (s->state != S_RUNNING || !s->engine ||
			    (s->id & 0xffffffffffull) != (ids[i] & 0xffffffffffull))
				continue;
			if (st[i] < 0)
				vplog_info("connection %llu from %s: killed by "
				    "signal %d after %.3fs",
				    (unsigned long long)s->id, s->peer, -st[i],
				    (double)(vpio_now_ms() - s->start) / 1000);
			else
				vplog_info("connection %llu from %s: exited %d "
				    "after %.3fs", (unsigned long long)s->id,
				    s->peer, st[i],
				    (double)(vpio_now_ms() - s->start) / 1000);
			ended(s);
		}
		if (n < 128)
			return;
	}
	if (n == -1) {
		char why[64];
		pid_t r = 0;
		int est, k;

		/*
		 * The socket closes as the engine exits: how it ended, if
		 * it can be reaped within 100 ms.
		 */
		for (k = 0; k < 20 && engine_pid > 0; k++) {
			if ((r = waitpid(engine_pid, &est, WNOHANG)) != 0)
				break;
			(void)poll(NULL, 0, 5);
		}
		if (engine_pid > 0 && r == engine_pid) {
			engine_pid = -1;
			engine_status(est, why, sizeof(why));
		} else
			snprintf(why, sizeof(why), "closed its control socket");
		engine_gone(why);
	}
}

/* How the engine ended, for engine_gone(). */
static void
engine_status(int st, char *why, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(why, n, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, n, "exited %d", WEXITSTATUS(st));
}

/*
 * Passes s to the engine: 0, or -1 (EAGAIN: its socket is full, or
 * the kernel is short of something and engq_retry is set; any other
 * error: the engine has gone, see engine_gone()).
 */
static int
to_engine(struct slot *s)
{
	char why[96];
	int64_t now;

	/* the slot's index rides in the id's top bits */
	if (vpengine_pass(engine_ctl, (uint64_t)(s - slots) <<
	    VPENGINE_ID_SHIFT | (s->id & ((1ull << VPENGINE_ID_SHIFT) - 1)),
	    s->fd, s->pp ? &s->ppsrc : NULL,
	    s->pp ? &s->ppdst : NULL, s->loopback) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		if (errno == ENOBUFS || errno == ENOMEM ||
		    errno == ETOOMANYREFS) {
			now = vpio_now_ms();
			if (engq_warned == 0 || now - engq_warned >= 10000) {
				vplog_warn("connection %llu from %s: cannot "
				    "pass it to the engine yet (%s)%s; "
				    "retrying", (unsigned long long)s->id,
				    s->peer, strerror(errno),
				    errno == ETOOMANYREFS ? ": too many "
				    "descriptors in flight for this user "
				    "(RLIMIT_NOFILE)" : "");
				engq_warned = now;
			}
			engq_retry_ms = engq_retry_ms == 0 ? ENGQ_RETRY_MIN :
			    engq_retry_ms * 2 > ENGQ_RETRY_MAX ?
			    ENGQ_RETRY_MAX : engq_retry_ms * 2;
			engq_retry = now + engq_retry_ms;
			errno = EAGAIN;
			return -1;
		}
		snprintf(why, sizeof(why), "cannot be reached (%s)",
		    strerror(errno));
		engine_gone(why);
		errno = EPIPE;
		return -1;
	}
	engq_retry_ms = 0;
	close(s->fd);
	s->fd = -1;
	s->state = S_RUNNING;
	s->engine = 1;
	vplog_info("connection %llu from %s: to the engine",
	    (unsigned long long)s->id, s->peer);
	return 0;
}

/* The engine has room again: the queued connections, oldest first. */
static void
engine_flush(void)
{
	struct slot *s;

	while (engq_n > 0 && engine_ctl >= 0) {
		s = &slots[engq[engq_head]];
		if (s->state == S_ENGINEQ && to_engine(s) == -1)
			return;
		engq_head = (engq_head + 1) % (size_t)o.limit;
		engq_n--;
	}
}

/*
 * The engine has gone (a crash: it never leaves while we run): its
 * connections are lost; from now on a process per connection.
 */
static void
engine_gone(const char *why)
{
	size_t i;
	int n = 0;

	if (engine_ctl < 0)
		return;
	close(engine_ctl);
	engine_ctl = -1;
	engq_retry = 0;
	for (i = 0; i < hiwater; i++)
		if (slots[i].state == S_RUNNING && slots[i].engine) {
			n++;
			ended(&slots[i]);
		}
	vplog_warn("the engine %s; %d connection%s lost; a process per "
	    "connection from now on", why, n, n == 1 ? "" : "s");
	/* those waiting for it get a process each */
	while (engq_n > 0) {
		struct slot *s = &slots[engq[engq_head]];

		engq_head = (engq_head + 1) % (size_t)o.limit;
		engq_n--;
		if (s->state == S_ENGINEQ)
			start(s);
	}
}

static void
free_slot(struct slot *s)
{
	if (s->state == S_WAITSRC)
		nwaitsrc--;
	else if (s->state == S_HEADER)
		nheader--;
	free(s->hbuf);
	memset(s, 0, sizeof(*s));
	s->state = S_FREE;
	s->fd = -1;
	freelist[nfree++] = (int)(s - slots);
}

/* Closes a connection that never reached the program. */
static void
drop(struct slot *s, const char *why, const char *detail)
{
	if (s->peer[0] == '\0')
		describe(s);
	vplog_warn("connection %llu from %s: %s%s%s; closed",
	    (unsigned long long)s->id, s->peer, why, detail ? ": " : "",
	    detail ? detail : "");
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free_slot(s);
}

static int
source_count(const unsigned char *key)
{
	size_t i;
	int n = 0;

	for (i = 0; i < hiwater; i++)
		if ((slots[i].state == S_RUNNING ||
		    slots[i].state == S_ENGINEQ) && slots[i].haskey &&
		    memcmp(slots[i].key, key, 17) == 0)
			n++;
	return n;
}

/* The -C key: family byte + address (v4-mapped v6 counted as v4). */
static void
set_key(struct slot *s, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6;

	memset(s->key, 0, sizeof(s->key));
	if (sa->sa_family == AF_INET) {
		s->key[0] = 4;
		memcpy(s->key + 1, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			s->key[0] = 4;
			memcpy(s->key + 1, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			s->key[0] = 6;
			memcpy(s->key + 1, &s6->sin6_addr, 16);
		}
	} else
		return;
	s->haskey = 1;
}

/*
 * Fills s->peer ("192.0.2.1:4242", "[::1]:80", "pid 123 uid 0") and the
 * -C key, from the PROXY addresses when there are some.
 */
static void
describe(struct slot *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ucred uc;
	socklen_t ulen = sizeof(uc);
	char ip[VPUCSPI_IPMAX];
	unsigned port;

	snprintf(s->peer, sizeof(s->peer), "?");
	if (s->pp)
		memcpy(&ss, &s->ppsrc, sizeof(ss));
	else if (getpeername(s->fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_UNIX) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_PEERCRED, &uc,
		    &ulen) == 0)
			snprintf(s->peer, sizeof(s->peer), "pid %ld uid %lu",
			    (long)uc.pid, (unsigned long)uc.uid);
		return;
	}
	if (vpucspi_addr((struct sockaddr *)&ss, ip, sizeof(ip), &port) == 0)
		snprintf(s->peer, sizeof(s->peer), strchr(ip, ':') ?
		    "[%s]:%u" : "%s:%u", ip, port);
	set_key(s, (struct sockaddr *)&ss);
	s->loopback = !s->pp && vpnet_sa_loopback((struct sockaddr *)&ss);
}

/*
 * SIGTERM, SIGINT, SIGHUP: stop accepting, remove our socket file,
 * close connections that never reached a program, leave the running
 * ones alone (inetd semantics) and exit 0.
 */
static void
shutdown_now(int sig)
{
	size_t i;

	vplisten_close(&lis, 1);
	for (i = 0; i < hiwater; i++)
		if ((slots[i].state == S_HEADER ||
		    slots[i].state == S_WAITSRC ||
		    slots[i].state == S_ENGINEQ) && slots[i].fd >= 0)
			close(slots[i].fd);
	vplog_info("signal %d: stopped listening", sig);
	(void)vpnotify_send("STOPPING=1", 0);
	exit(0);
}
