/*
 * vpdispatch: the vp-dispatch program (vpdispatch_main), kept in libcommon
 * so vp-listen can run it in a forked child without an exec. Read one proxy request from the client on fd 0/1 (SOCKS5,
 * SOCKS4/4a, HTTP CONNECT, plain HTTP, or a fixed target), pick an
 * outbound by the rules, and hand the connection to it (DESIGN.md
 * "Hand-off and the pending reply", "Routing").
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpdispatch.h"
#include "vpdispatch_int.h"
#include "vpendpoint.h"
#include "vphs.h"
#include "vpinbound.h"
#include "vpio.h"
#include "vplog.h"
#include "vpnet.h"
#include "vpreply.h"
#include "vprules.h"
#include "vpsniff.h"
#include "vpspawn.h"
#include "vpucspi.h"
#include "vpusers.h"

#define SNIFF_MS	300	/* how long sniffing waits for client bytes */

static struct vpdsp_args args;		/* the command line */

/* The client's request bytes, see read_request(). */
static unsigned char ibuf[VPHS_BUFMAX];
static size_t ilen;
static int isock;			/* fd 0 is a socket: peek, consume exactly */
static int64_t deadline;
static int cfgerr;			/* the rules could not be loaded (logged) */

struct vpdsp vpdsp;				/* this connection */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: vp-dispatch [-qsv] [-a users] [-i socks5|socks4|"
	    "http|mixed] [-r rules]\n"
	    "                   [-T seconds] [-t host:port]\n"
	    "       vp-dispatch -C rules\n");
	exit(EX_USAGE);
}

/*
 * vpdsp_linger_close(): after a failure reply or a plain request's
 * response, ends our side and reads what the client still sends
 * (vplinger: until it stops, or what we sent is delivered), so that
 * unread bytes do not turn our close into a reset that destroys what
 * is still on its way to it.
 */
void
vpdsp_linger_close(void)
{
	if (isock)
		vpnet_linger(0, 1, 0);
}

/*
 * vpdsp_answer(): tells the waiting client about outcome c once (no-op if a
 * reply already went out or nobody waits). Returns 0 or -1.
 */
int
vpdsp_answer(enum vpr_class c, const struct sockaddr *bound)
{
	if (vpdsp.replied || vpdsp.reply == VPRP_NONE)
		return 0;
	vpdsp.replied = 1;
	/* A plain HTTP request wants the origin's response, not a 200. */
	if (vpdsp.reply == VPRP_HTTP && !vpdsp.req.http_connect &&
	    vpdsp.req.proto == VPIN_HTTP && c == VPR_OK)
		return 0;
	return vpreply_send(1, vpdsp.reply, c, bound);
}

/* Fails the connection: answers c, logs, exits with c's status. */
void
vpdsp_fail(enum vpr_class c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)vpdsp_answer(c, NULL);
	vplog_info("%s: %s", msg, vpreply_class_str(c));
	vpdsp_linger_close();
	exit(vpreply_exit(c));
}

/* A configuration error: a general failure to the client, exit 78. */
static void __attribute__((noreturn))
config_fail(void)
{
	(void)vpdsp_answer(VPR_GENERAL, NULL);
	vpdsp_linger_close();
	exit(EX_CONFIG);
}

enum { ST_TIMEOUT = -3, ST_ERR = -4 };

/* The handshake over the client's bytes (vphs, shared with vpengine). */
static struct vphs hs;

/* A timeout or read error during the handshake: log line, exit. */
static void __attribute__((noreturn))
stage_failed(int st)
{
	if (cfgerr)
		exit(EX_CONFIG);
	if (st == ST_TIMEOUT) {
		vplog_info("%s: request timed out", vphs_what(&hs));
		exit(EX_TEMPFAIL);
	}
	vplog_info("%s: read: %s", vphs_what(&hs), strerror(errno));
	exit(EX_IOERR);
}

/*
 * handshake_end(): the handshake refused (VPHS_FAIL) or closed
 * (VPHS_CLOSE): its bytes to the client, its log line, its exit status.
 * With a configuration error, what the client's bytes ended exits 78
 * silently, unanswered (the config error is logged already).
 */
static void __attribute__((noreturn))
handshake_end(int st)
{
	if (cfgerr && hs.parsefail) {
		(void)vpio_writeall(1, hs.out, hs.outstages);
		exit(EX_CONFIG);
	}
	if (hs.outlen > 0)
		(void)vpio_writeall(1, hs.out, hs.outlen);
	if (hs.loglevel == VPLOG_WARN)
		vplog_warn("%s", hs.why);
	else
		vplog_info("%s", hs.why);
	if (st == VPHS_FAIL)
		vpdsp_linger_close();
	/* An unknown protocol with a configuration error is the latter. */
	exit(st == VPHS_CLOSE && cfgerr ? EX_CONFIG : hs.exit);
}

/*
 * read_request(): runs the handshake (protocol by -i or by the first
 * byte) until the request is in; exits on any other outcome.
 * ibuf[0..ilen) holds bytes already taken from fd 0 that the handshake
 * has not consumed (an incomplete stage). On a socket the rest is
 * peeked and only the handshake's own bytes are consumed, so early
 * data stays in the socket for the outbound; otherwise the bytes past
 * the request stay in ibuf.
 */
static void
read_request(void)
{
	struct vphs_conf conf;
	size_t avail, used, take;
	ssize_t n;
	int st, eof = 0, w;

	memset(&conf, 0, sizeof(conf));
	conf.forced = args.forced;
	conf.users = vpdsp.users;
	vphs_init(&hs);
	for (;;) {
		avail = ilen;
		if (isock && ilen < sizeof(ibuf)) {
			n = recv(0, ibuf + ilen, sizeof(ibuf) - ilen,
			    MSG_PEEK | MSG_DONTWAIT);
			if (n > 0)
				avail = ilen + (size_t)n;
			else if (n == 0)
				eof = 1;
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				stage_failed(ST_ERR);
		}
		used = 0;
		st = vphs_step(&hs, &conf, ibuf, avail, eof, &used);
		if (st == VPHS_FAIL || st == VPHS_CLOSE)
			handshake_end(st);
		/*
		 * Take from the socket what the handshake consumed; while it
		 * wants more, every byte seen so far belongs to it.
		 */
		take = st == VPHS_MORE ? avail : used;
		if (isock && take > ilen) {
			if (vpio_readall(0, ibuf + ilen, take - ilen) !=
			    take - ilen)
				stage_failed(ST_ERR);
			ilen = take;
		}
		memmove(ibuf, ibuf + used, ilen - used);
		ilen -= used;
		if (hs.outlen > 0) {
			if (vpio_writeall(1, hs.out, hs.outlen) != hs.outlen)
				exit(EX_IOERR);
			hs.outlen = 0;
		}
		if (st == VPHS_DONE)
			break;
		w = vpio_wait(0, POLLIN, vpio_remaining(deadline));
		if (w == 0)
			stage_failed(ST_TIMEOUT);
		if (w < 0 && errno != EINTR)
			stage_failed(ST_ERR);
		if (!isock) {
			n = read(0, ibuf + ilen, sizeof(ibuf) - ilen);
			if (n == 0)
				eof = 1;
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				stage_failed(ST_ERR);
			else if (n > 0)
				ilen += (size_t)n;
		}
	}
	vpdsp.req = hs.req;	/* the head, if any, moves with it */
	hs.req.head = NULL;
	vpdsp.reply = hs.reply;
	vpdsp.user = hs.user != NULL ? vpdsp.req.user : NULL;
	vpdsp.inbound = hs.inbound;
	/* A plain request's rewritten head goes first to the origin. */
	if (vpdsp.req.proto == VPIN_HTTP && !vpdsp.req.http_connect)
		vpdsp_add_pre(vpdsp.req.head, vpdsp.req.headlen);
}

/*
 * sniff(): with the request answered, looks at the client's first bytes
 * (peeked, never consumed from a socket) for a TLS SNI or HTTP Host,
 * for at most SNIFF_MS: a server-speaks-first client sends nothing and
 * is routed by what is known.
 */
static void
sniff(void)
{
	unsigned char b[VPSNIFF_MAX];
	int64_t end = vpio_now_ms() + SNIFF_MS;
	const char *proto;
	size_t have = 0, last = 0;
	ssize_t n;
	int r, w;

	for (;;) {
		if (isock) {
			n = recv(0, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
			if (n > 0)
				have = (size_t)n;
			else if (n == 0)
				return;
		} else {
			have = ilen < sizeof(b) ? ilen : sizeof(b);
			memcpy(b, ibuf, have);
		}
		if (have > 0) {
			r = vpsniff(b, have, vpdsp.sniffed, sizeof(vpdsp.sniffed),
			    &proto);
			if (r == VPSNIFF_FOUND) {
				vpdsp.protocol = proto;
				return;
			}
			if (r == VPSNIFF_NOT || have >= sizeof(b))
				return;
		}
		if (vpio_remaining(end) == 0)
			return;
		if (isock && have > 0 && have == last) {
			/* Peeked data does not clear POLLIN: nap briefly. */
			(void)poll(NULL, 0, 5);
			continue;
		}
		last = have;
		w = vpio_wait(0, POLLIN, vpio_remaining(end));
		if (w <= 0)
			return;
		if (!isock) {
			n = read(0, ibuf + ilen, sizeof(ibuf) - ilen);
			if (n <= 0)
				return;
			ilen += (size_t)n;
		}
	}
}

static void
load_users(void)
{
	char err[512];

	if (args.users == NULL)
		return;
	if ((vpdsp.users = vpusers_load(args.users, err, sizeof(err))) == NULL) {
		/* As for rules: logged now, the client answered later. */
		vplog_fatal("%s", err);
		cfgerr = 1;
	}
}

static void
compile_rules(const char *path)
{
	char err[1024];
	int64_t t0 = vpio_now_ms();

	if (vprules_compile(path, err, sizeof(err)) == -1)
		vplog_die(EX_CONFIG, "%s", err);
	vplog_info("compiled %s into %s.vprc in %lld ms", path, path,
	    (long long)(vpio_now_ms() - t0));
	exit(0);
}

void
vpdsp_args_init(struct vpdsp_args *a)
{
	memset(a, 0, sizeof(*a));
	a->forced = VPIN_UNKNOWN;
	a->loglevel = VPLOG_WARN;
	a->req_ms = 10000;
}

int
vpdsp_args_opt(struct vpdsp_args *a, int ch, char *arg, char *err,
    size_t errlen)
{
	int64_t ms;

	if (ch != 'C' && ch != 'q' && ch != 'v')
		a->others = 1;
	switch (ch) {
	case 'a':
		a->users = arg;
		return 0;
	case 'C':
		a->compile = arg;
		return 0;
	case 'i':
		if (strcmp(arg, "socks5") == 0)
			a->forced = VPIN_SOCKS5;
		else if (strcmp(arg, "socks4") == 0)
			a->forced = VPIN_SOCKS4;
		else if (strcmp(arg, "http") == 0)
			a->forced = VPIN_HTTP;
		else if (strcmp(arg, "mixed") == 0)
			a->forced = VPIN_UNKNOWN;
		else {
			snprintf(err, errlen, "-i %s: expected socks5, socks4, "
			    "http or mixed", arg);
			return -1;
		}
		return 0;
	case 'q':
		a->quiet = 1;	/* wins over any -v, as in vp-dial */
		a->loglevel = VPLOG_QUIET;
		return 0;
	case 'r':
		a->rules = arg;
		return 0;
	case 's':
		a->sniff = 1;
		return 0;
	case 'T':
		if (vpio_parse_duration(arg, &ms) == -1 || ms <= 0 ||
		    ms > 86400000) {
			snprintf(err, errlen, "-T %s: bad duration", arg);
			return -1;
		}
		a->req_ms = ms;
		return 0;
	case 't':
		a->fixed = arg;
		return 0;
	case 'v':
		if (!a->quiet && a->loglevel < VPLOG_DEBUG)
			a->loglevel++;
		return 0;
	default:
		snprintf(err, errlen, "unknown option -%c", ch);
		return -1;
	}
}

static long
env_num(const char *name)
{
	const char *s = getenv(name);
	long long v;

	if (s == NULL || vpio_parse_num(s, 0, 0x7fffffff, &v) == -1)
		return -1;
	return (long)v;
}

/*
 * client_setup(): is the client on fd 0 a stream socket (isock)? If so,
 * replies and relayed bytes go out at once (no Nagle).
 */
static void
client_setup(void)
{
	int type, one = 1;
	socklen_t tl = sizeof(type);

	isock = getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_STREAM;
	if (isock)
		(void)setsockopt(0, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* outbound(): the route's outbound takes the connection (vpdsp.kind). */
static void __attribute__((noreturn))
outbound(void)
{
	vpdsp_frame();		/* a plain request: its body and no more */
	switch (vpdsp.kind) {
	case VPRULE_REJECT:
		vpdsp_fail(VPR_NOTALLOWED, "%s:%u: route %s rejects", vpdsp.host,
		    vpdsp.port, vpdsp.route);
	case VPRULE_BLACKHOLE:
		vplog_info("%s:%u: route %s: blackhole", vpdsp.host, vpdsp.port,
		    vpdsp.route);
		exit(0);
	case VPRULE_EXEC:
		if (strcmp(vpdsp.arg, VPDSP_DIAL_ROUTE) == 0)
			vpdsp_run_direct();
		vpdsp_run_exec(0);
	case VPRULE_EXEC_EARLY:
		vpdsp_run_exec(1);
	case VPRULE_SOCKS5:
		vpdsp_run_socks5();
	default:
		vpdsp_run_direct();
	}
}

/*
 * vpdsp_resume(): for vp-listen's engine: a forked child with the
 * client socket on fd 0 and 1 and vpdsp filled in (request, reply,
 * replied, user, inbound, protocol, host, port, route, kind, arg,
 * sniffed, pre, users, rules) hands the connection to the route's
 * outbound exactly as vp-dispatch would. Never returns.
 */
void
vpdsp_resume(void)
{
	signal(SIGPIPE, SIG_IGN);
	client_setup();
	outbound();
}

int
vpdispatch_main(int argc, char *argv[])
{
	struct vprules_conn rc;
	struct vprules_out ro;
	char err[1024], h[80];
	int ch;

	vplog_init("vp-dispatch");
	vpio_sanitise_stdfd();
	signal(SIGPIPE, SIG_IGN);
	vpdsp_args_init(&args);
	opterr = 0;
	optind = 0;	/* a full getopt restart, also in a forked vp-listen */
	while ((ch = getopt(argc, argv, VPDSP_OPTSTR)) != -1) {
		if (ch == ':' || ch == '?') {
			vplog_warn(ch == ':' ? "option -%c needs a value" :
			    "unknown option -%c", optopt);
			usage();
		}
		if (vpdsp_args_opt(&args, ch, optarg, err, sizeof(err)) == -1)
			vplog_die(EX_USAGE, "%s", err);
	}
	vplog_level = args.loglevel;
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage();
	if (args.compile != NULL) {
		if (args.others)
			vplog_die(EX_USAGE, "-C takes no other options");
		compile_rules(args.compile);
	}
	if (args.fixed != NULL &&
	    (args.forced != VPIN_UNKNOWN || args.users != NULL))
		vplog_die(EX_USAGE, "-t cannot be used with -i or -a");

	deadline = vpio_now_ms() + args.req_ms;
	client_setup();
	if (getenv("PROTO") == NULL && isock)
		(void)vpucspi_fill_environ(0);
	load_users();
	/*
	 * Rules are mapped per connection. A missing or stale compiled
	 * file is logged now and answered with a general failure once the
	 * request is read: never a silent "direct".
	 */
	if (args.rules != NULL &&
	    (vpdsp.rules = vprules_open(args.rules, err, sizeof(err))) == NULL) {
		vplog_fatal("%s", err);
		cfgerr = 1;
	}

	if (args.fixed != NULL) {
		/* Fixed target (dokodemo-door): no request to read. */
		if (vpep_split_hostport(args.fixed, vpdsp.req.host,
		    sizeof(vpdsp.req.host), &vpdsp.req.port, 1) == -1 ||
		    vpdsp.req.port == 0)
			vplog_die(EX_USAGE, "-t %s: expected HOST:PORT",
			    args.fixed);
		vpdsp.reply = VPRP_NONE;
		vpdsp.inbound = "fixed";
	} else
		read_request();
	if (cfgerr)
		config_fail();

	if (!vpep_host_ok(vpdsp.req.host))
		vpdsp_fail(VPR_NONAME, "destination '%s' is not a valid host name",
		    vplog_safe(h, sizeof(h), vpdsp.req.host));
	vpdsp.host = vpdsp.req.host;
	vpdsp.port = vpdsp.req.port;

	if (args.sniff &&
	    !(vpdsp.req.proto == VPIN_HTTP && !vpdsp.req.http_connect)) {
		/* The client sends its first bytes only after a success. */
		if (vpdsp_answer(VPR_OK, NULL) == -1)
			vplog_die_errno(EX_IOERR, "reply");
		sniff();
	} else if (vpdsp.req.proto == VPIN_HTTP && !vpdsp.req.http_connect) {
		/* A plain request was sniffed by parsing it. */
		vpdsp.protocol = "http";
	}

	vpdsp.route = "direct";
	vpdsp.kind = VPRULE_DIRECT;
	vpdsp.arg = "";
	if (vpdsp.rules != NULL) {
		memset(&rc, 0, sizeof(rc));
		rc.host = vpdsp.host;
		rc.sniffed = vpdsp.sniffed[0] ? vpdsp.sniffed : NULL;
		rc.port = vpdsp.port;
		rc.source = getenv("TCPREMOTEIP");
		rc.user = vpdsp.user;
		rc.uid = env_num("UNIXREMOTEEUID");
		rc.gid = env_num("UNIXREMOTEEGID");
		rc.inbound = vpdsp.inbound;
		rc.protocol = vpdsp.protocol;
		if (vprules_match(vpdsp.rules, &rc, &ro) == -1)
			vpdsp_fail(VPR_INTERNAL, "rules: out of memory");
		vpdsp.route = ro.name;
		vpdsp.kind = ro.kind;
		vpdsp.arg = ro.arg;
	}
	vplog_debug("%s %s:%u -> route %s%s%s", vpdsp.inbound,
	    vplog_safe(h, sizeof(h), vpdsp.host), vpdsp.port, vpdsp.route,
	    vpdsp.sniffed[0] ? " sniffed " : "", vpdsp.sniffed);

	/* Bytes already read past the request go first to the outbound. */
	if (ilen > 0)
		vpdsp_add_pre(ibuf, ilen);
	outbound();
}
