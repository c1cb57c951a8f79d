/*
 * vp-dispatch: read one proxy request from the client on fd 0/1 (SOCKS5,
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

#include "dispatch.h"
#include "vpendpoint.h"
#include "vpinbound.h"
#include "vpio.h"
#include "vplog.h"
#include "vpreply.h"
#include "vprules.h"
#include "vpsniff.h"
#include "vpspawn.h"
#include "vpucspi.h"
#include "vpusers.h"

#define SNIFF_MS	300	/* how long sniffing waits for client bytes */
#define LINGER_MS	500	/* draining the client after a failure reply */

static const char *aflag;		/* users file */
static const char *Cflag;		/* compile this rules file */
static enum vpin_proto iflag;		/* forced inbound; 0 = mixed */
static const char *rflag;		/* compiled rules */
static int sflag;			/* sniff */
static const char *tflag;		/* fixed target HOST:PORT */
static int64_t Tflag = 10000;		/* request-phase timeout, ms */

/* The client's request bytes, see read_stage(). */
static unsigned char ibuf[VPIN_HEADMAX + 1024];
static size_t ilen;
static int isock;			/* fd 0 is a socket: peek, consume exactly */
static int64_t deadline;
static int cfgerr;			/* the rules could not be loaded (logged) */

struct dsp dsp;				/* this connection */

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
 * linger_close(): after a failure reply, ends our side and reads what
 * the client still sends for a short while, so that unread bytes do not
 * turn our close into a reset that destroys the reply in flight.
 */
void
linger_close(void)
{
	char junk[4096];
	int64_t end;
	ssize_t n;
	int i;

	if (!isock || shutdown(1, SHUT_WR) == -1)
		return;
	end = vpio_now_ms() + LINGER_MS;
	for (i = 0; i < 64; i++) {
		if (vpio_wait(0, POLLIN, vpio_remaining(end)) != 1)
			return;
		n = recv(0, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
	}
}

/*
 * answer(): tells the waiting client about outcome c once (no-op if a
 * reply already went out or nobody waits). Returns 0 or -1.
 */
int
answer(enum vpr_class c, const struct sockaddr *bound)
{
	if (dsp.replied || dsp.reply == VPRP_NONE)
		return 0;
	dsp.replied = 1;
	/* A plain HTTP request wants the origin's response, not a 200. */
	if (dsp.reply == VPRP_HTTP && !dsp.req.http_connect &&
	    dsp.req.proto == VPIN_HTTP && c == VPR_OK)
		return 0;
	return vpreply_send(1, dsp.reply, c, bound);
}

/* Fails the connection: answers c, logs, exits with c's status. */
void
fail(enum vpr_class c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)answer(c, NULL);
	vplog_info("%s: %s", msg, vpreply_class_str(c));
	linger_close();
	exit(vpreply_exit(c));
}

/* Logs a fatal line without exiting (the client is answered first). */
static void log_fatal(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vplog_vline(VPLOG_QUIET, "fatal", 0, fmt, ap);
	va_end(ap);
}

/* A configuration error: a general failure to the client, exit 78. */
static void __attribute__((noreturn))
config_fail(void)
{
	(void)answer(VPR_GENERAL, NULL);
	linger_close();
	exit(EX_CONFIG);
}

static enum vpr_class
inbound_class(enum vpin_err e)
{
	switch (e) {
	case VPIN_E_CMD:
		return VPR_CMDUNSUPP;
	case VPIN_E_ATYP:
		return VPR_ATYPUNSUPP;
	default:
		return VPR_BADREQ;
	}
}

typedef int (*parse_fn)(const unsigned char *, size_t, size_t *, void *);

enum { ST_DONE = 1, ST_BAD = -1, ST_EOF = -2, ST_TIMEOUT = -3, ST_ERR = -4 };

/*
 * read_stage(): runs parse over the client's bytes until it is done.
 * ibuf[0..ilen) holds bytes already taken from fd 0. On a socket the
 * rest is peeked and only the request's own bytes are consumed, so
 * early data stays in the socket for the outbound; otherwise the bytes
 * past the request stay in ibuf. Returns an ST_ code.
 */
static int
read_stage(parse_fn parse, void *ctx)
{
	size_t avail, used, want;
	ssize_t n;
	int r, eof, w;

	for (;;) {
		avail = ilen;
		eof = 0;
		if (isock && ilen < sizeof(ibuf)) {
			n = recv(0, ibuf + ilen, sizeof(ibuf) - ilen,
			    MSG_PEEK | MSG_DONTWAIT);
			if (n > 0)
				avail = ilen + (size_t)n;
			else if (n == 0)
				eof = 1;
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return ST_ERR;
		}
		used = 0;
		r = parse(ibuf, avail, &used, ctx);
		if (r == VPIN_BAD)
			return ST_BAD;
		if (r == VPIN_DONE) {
			if (isock && used > ilen) {
				want = used - ilen;
				if (vpio_readall(0, ibuf + ilen, want) != want)
					return ST_ERR;
				ilen = used;
			}
			memmove(ibuf, ibuf + used, ilen - used);
			ilen -= used;
			return ST_DONE;
		}
		/* Every byte so far belongs to the request: take them. */
		if (isock && avail > ilen) {
			want = avail - ilen;
			if (vpio_readall(0, ibuf + ilen, want) != want)
				return ST_ERR;
			ilen = avail;
		}
		if (eof)
			return ST_EOF;
		if (ilen == sizeof(ibuf))
			return ST_BAD;
		w = vpio_wait(0, POLLIN, vpio_remaining(deadline));
		if (w == 0)
			return ST_TIMEOUT;
		if (w < 0 && errno != EINTR)
			return ST_ERR;
		if (!isock) {
			n = read(0, ibuf + ilen, sizeof(ibuf) - ilen);
			if (n == 0)	/* what we have was parsed: incomplete */
				return ST_EOF;
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return ST_ERR;
			if (n > 0)
				ilen += (size_t)n;
		}
	}
}

/* Parser adaptors for read_stage(). */
static unsigned methods;

static int
p_greeting(const unsigned char *b, size_t n, size_t *u, void *ctx)
{
	return vpin_socks5_greeting(b, n, u, &methods, ctx);
}

static int
p_auth(const unsigned char *b, size_t n, size_t *u, void *ctx)
{
	return vpin_socks5_auth(b, n, u, ctx);
}

static int
p_socks5(const unsigned char *b, size_t n, size_t *u, void *ctx)
{
	return vpin_socks5_request(b, n, u, ctx);
}

static int
p_socks4(const unsigned char *b, size_t n, size_t *u, void *ctx)
{
	return vpin_socks4(b, n, u, ctx);
}

static int
p_http(const unsigned char *b, size_t n, size_t *u, void *ctx)
{
	return vpin_http(b, n, u, ctx);
}

static int
p_first(const unsigned char *b, size_t n, size_t *u, void *ctx)
{
	*u = 0;
	return n > 0 ? VPIN_DONE : VPIN_MORE;
}

/* Handles a stage's failure: the right reply, a log line, exit. */
static void
stage_failed(int st, const char *what)
{
	if (cfgerr)
		exit(EX_CONFIG);
	switch (st) {
	case ST_EOF:
		/* A connect-and-close is a health check, not an error. */
		vplog_info("%s: client closed the connection", what);
		exit(ilen == 0 ? 0 : EX_DATAERR);
	case ST_TIMEOUT:
		vplog_info("%s: request timed out", what);
		exit(EX_TEMPFAIL);
	case ST_ERR:
		vplog_info("%s: read: %s", what, strerror(errno));
		exit(EX_IOERR);
	default:
		if (dsp.req.err == VPIN_E_VERSION || dsp.req.err == VPIN_E_NONE) {
			vplog_info("%s: %s", what, dsp.req.reason ?
			    dsp.req.reason : "request too large");
			exit(EX_DATAERR);
		}
		if (dsp.req.err == VPIN_E_NOMETHOD) {
			(void)vpio_writeall(1, "\x05\xff", 2);
			vplog_info("%s: %s", what, dsp.req.reason);
			linger_close();
			exit(EX_DATAERR);
		}
		fail(inbound_class(dsp.req.err), "%s: %s", what, dsp.req.reason);
	}
}

/* SOCKS5: greeting, optional RFC 1929 auth, request. */
static void
read_socks5(void)
{
	int st;
	unsigned char rep[2] = { 0x05, 0x00 };

	dsp.reply = VPRP_NONE;	/* no request yet: nothing to answer */
	if ((st = read_stage(p_greeting, &dsp.req)) != ST_DONE)
		stage_failed(st, "socks5 greeting");
	if (dsp.users != NULL) {
		if (!(methods & (1u << 2))) {
			(void)vpio_writeall(1, "\x05\xff", 2);
			vplog_info("socks5: client offers no user/password method");
			linger_close();
			exit(vpreply_exit(VPR_AUTH));
		}
		rep[1] = 0x02;
	} else if (!(methods & 1u)) {
		(void)vpio_writeall(1, "\x05\xff", 2);
		vplog_info("socks5: client offers no 'no authentication' method");
		linger_close();
		exit(EX_DATAERR);
	}
	if (vpio_writeall(1, rep, 2) != 2)
		exit(EX_IOERR);
	if (dsp.users != NULL) {
		if ((st = read_stage(p_auth, &dsp.req)) != ST_DONE)
			stage_failed(st, "socks5 auth");
		if (!vpusers_check(dsp.users, dsp.req.user, dsp.req.pass)) {
			char u[80];

			(void)vpio_writeall(1, "\x01\x01", 2);
			vplog_warn("socks5: authentication failed for user '%s'",
			    vplog_safe(u, sizeof(u), dsp.req.user));
			linger_close();
			exit(vpreply_exit(VPR_AUTH));
		}
		explicit_bzero(dsp.req.pass, sizeof(dsp.req.pass));
		if (vpio_writeall(1, "\x01\x00", 2) != 2)
			exit(EX_IOERR);
		dsp.user = dsp.req.user;
	}
	dsp.reply = VPRP_SOCKS5;
	if ((st = read_stage(p_socks5, &dsp.req)) != ST_DONE)
		stage_failed(st, "socks5 request");
}

static void
read_socks4(void)
{
	int st;

	dsp.reply = VPRP_SOCKS4;
	if ((st = read_stage(p_socks4, &dsp.req)) != ST_DONE)
		stage_failed(st, "socks4 request");
	if (dsp.users != NULL)
		fail(VPR_NOTALLOWED, "socks4: users are configured and SOCKS4 "
		    "cannot authenticate");
	dsp.user = NULL;	/* the SOCKS4 user id is not authenticated */
}

static void
read_http(void)
{
	int st;
	char u[80];

	dsp.reply = VPRP_HTTP;
	if ((st = read_stage(p_http, &dsp.req)) != ST_DONE)
		stage_failed(st, "http request");
	if (dsp.users != NULL) {
		if (!dsp.req.has_auth)
			fail(VPR_AUTH, "http: no Proxy-Authorization");
		if (!vpusers_check(dsp.users, dsp.req.user, dsp.req.pass))
			fail(VPR_AUTH, "http: authentication failed for user '%s'",
			    vplog_safe(u, sizeof(u), dsp.req.user));
		dsp.user = dsp.req.user;
	}
	explicit_bzero(dsp.req.pass, sizeof(dsp.req.pass));
	/* A plain request's rewritten head goes first to the origin. */
	if (!dsp.req.http_connect)
		add_pre(dsp.req.head, dsp.req.headlen);
}

/* Reads the client's request (protocol by -i or by the first byte). */
static void
read_request(void)
{
	enum vpin_proto p = iflag;
	int st;

	if (p == VPIN_UNKNOWN) {
		dsp.reply = VPRP_NONE;
		if ((st = read_stage(p_first, NULL)) != ST_DONE)
			stage_failed(st, "request");
		p = vpin_detect(ibuf, ilen);
		if (p == VPIN_UNKNOWN && isock) {
			unsigned char b;

			if (recv(0, &b, 1, MSG_PEEK) == 1)
				p = vpin_detect(&b, 1);
		}
		if (p == VPIN_UNKNOWN) {
			vplog_info("request: unknown protocol");
			exit(cfgerr ? EX_CONFIG : EX_DATAERR);
		}
	}
	switch (p) {
	case VPIN_SOCKS5:
		read_socks5();
		dsp.inbound = "socks5";
		break;
	case VPIN_SOCKS4:
		read_socks4();
		dsp.inbound = "socks4";
		break;
	default:
		read_http();
		dsp.inbound = "http";
		break;
	}
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
			r = vpsniff(b, have, dsp.sniffed, sizeof(dsp.sniffed),
			    &proto);
			if (r == VPSNIFF_FOUND) {
				dsp.protocol = proto;
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

	if (aflag == NULL)
		return;
	if ((dsp.users = vpusers_load(aflag, err, sizeof(err))) == NULL) {
		/* As for rules: logged now, the client answered later. */
		log_fatal("%s", err);
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

static enum vpin_proto
parse_inbound(const char *s)
{
	if (strcmp(s, "socks5") == 0)
		return VPIN_SOCKS5;
	if (strcmp(s, "socks4") == 0)
		return VPIN_SOCKS4;
	if (strcmp(s, "http") == 0)
		return VPIN_HTTP;
	if (strcmp(s, "mixed") == 0)
		return VPIN_UNKNOWN;
	vplog_die(EX_USAGE, "-i %s: expected socks5, socks4, http or mixed", s);
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

int
main(int argc, char *argv[])
{
	struct vprules_conn rc;
	struct vprules_out ro;
	char err[1024], h[80];
	int ch, type;
	socklen_t tl = sizeof(type);
	int64_t ms;

	vplog_init("vp-dispatch");
	vpio_sanitise_stdfd();
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "a:C:i:qr:sT:t:v")) != -1) {
		switch (ch) {
		case 'a':
			aflag = optarg;
			break;
		case 'C':
			Cflag = optarg;
			break;
		case 'i':
			iflag = parse_inbound(optarg);
			break;
		case 'q':
			vplog_level = VPLOG_QUIET;
			break;
		case 'r':
			rflag = optarg;
			break;
		case 's':
			sflag = 1;
			break;
		case 'T':
			if (vpio_parse_duration(optarg, &ms) == -1 || ms <= 0 ||
			    ms > 86400000)
				vplog_die(EX_USAGE, "-T %s: bad duration", optarg);
			Tflag = ms;
			break;
		case 't':
			tflag = optarg;
			break;
		case 'v':
			if (vplog_level < VPLOG_DEBUG)
				vplog_level++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage();
	if (Cflag != NULL) {
		if (rflag || tflag || aflag || sflag)
			vplog_die(EX_USAGE, "-C takes no other options");
		compile_rules(Cflag);
	}
	if (tflag != NULL && (iflag != VPIN_UNKNOWN || aflag != NULL))
		vplog_die(EX_USAGE, "-t cannot be used with -i or -a");

	deadline = vpio_now_ms() + Tflag;
	isock = getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_STREAM;
	if (isock) {
		/* Replies and relayed bytes go out at once (no Nagle). */
		int one = 1;

		(void)setsockopt(0, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (getenv("PROTO") == NULL && isock)
		(void)vpucspi_fill_environ(0);
	load_users();
	/*
	 * Rules are mapped per connection. A missing or stale compiled
	 * file is logged now and answered with a general failure once the
	 * request is read: never a silent "direct".
	 */
	if (rflag != NULL &&
	    (dsp.rules = vprules_open(rflag, err, sizeof(err))) == NULL) {
		log_fatal("%s", err);
		cfgerr = 1;
	}

	if (tflag != NULL) {
		/* Fixed target (dokodemo-door): no request to read. */
		if (vpep_split_hostport(tflag, dsp.req.host,
		    sizeof(dsp.req.host), &dsp.req.port, 1) == -1 ||
		    dsp.req.port == 0)
			vplog_die(EX_USAGE, "-t %s: expected HOST:PORT", tflag);
		dsp.reply = VPRP_NONE;
		dsp.inbound = "fixed";
	} else
		read_request();
	if (cfgerr)
		config_fail();

	if (!vpep_host_ok(dsp.req.host))
		fail(VPR_NONAME, "destination '%s' is not a valid host name",
		    vplog_safe(h, sizeof(h), dsp.req.host));
	dsp.host = dsp.req.host;
	dsp.port = dsp.req.port;

	if (sflag && !(dsp.req.proto == VPIN_HTTP && !dsp.req.http_connect)) {
		/* The client sends its first bytes only after a success. */
		if (answer(VPR_OK, NULL) == -1)
			vplog_die_errno(EX_IOERR, "reply");
		sniff();
	} else if (dsp.req.proto == VPIN_HTTP && !dsp.req.http_connect) {
		/* A plain request was sniffed by parsing it. */
		dsp.protocol = "http";
	}

	dsp.route = "direct";
	dsp.kind = VPRULE_DIRECT;
	dsp.arg = "";
	if (dsp.rules != NULL) {
		memset(&rc, 0, sizeof(rc));
		rc.host = dsp.host;
		rc.sniffed = dsp.sniffed[0] ? dsp.sniffed : NULL;
		rc.port = dsp.port;
		rc.source = getenv("TCPREMOTEIP");
		rc.user = dsp.user;
		rc.uid = env_num("UNIXREMOTEEUID");
		rc.gid = env_num("UNIXREMOTEEGID");
		rc.inbound = dsp.inbound;
		rc.protocol = dsp.protocol;
		if (vprules_match(dsp.rules, &rc, &ro) == -1)
			fail(VPR_INTERNAL, "rules: out of memory");
		dsp.route = ro.name;
		dsp.kind = ro.kind;
		dsp.arg = ro.arg;
	}
	vplog_debug("%s %s:%u -> route %s%s%s", dsp.inbound,
	    vplog_safe(h, sizeof(h), dsp.host), dsp.port, dsp.route,
	    dsp.sniffed[0] ? " sniffed " : "", dsp.sniffed);

	/* Bytes already read past the request go first to the outbound. */
	if (ilen > 0)
		add_pre(ibuf, ilen);
	switch (dsp.kind) {
	case VPRULE_REJECT:
		fail(VPR_NOTALLOWED, "%s:%u: route %s rejects", dsp.host,
		    dsp.port, dsp.route);
		break;
	case VPRULE_BLACKHOLE:
		vplog_info("%s:%u: route %s: blackhole", dsp.host, dsp.port,
		    dsp.route);
		exit(0);
	case VPRULE_EXEC:
	case VPRULE_EXEC_EARLY:
		run_exec(dsp.kind == VPRULE_EXEC_EARLY);
		break;
	case VPRULE_SOCKS5:
		run_socks5();
		break;
	default:
		run_direct();
	}
	return 0;
}
