/*
 * vp-dial: connect to a destination (TCP, unix socket, a command),
 * optionally through upstream proxies, and relay stdin/stdout to it.
 *
 *	vp-dial [-46qv] [-i idle] [-w timeout] [-x url]... host port
 *	vp-dial [-46qv] [-i idle] [-w timeout] [-x url]... endpoint
 *	vp-dial [-46qv] [-i idle] [-w timeout] [-x url]...
 *	    (destination from VP_DEST_HOST and VP_DEST_PORT)
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vpdial.h"
#include "vpendpoint.h"
#include "vpio.h"
#include "vplog.h"
#include "vpnet.h"
#include "vpproxyc.h"
#include "vpreply.h"

static volatile sig_atomic_t stop, relaying;
static int Fflag;		/* -F: pass the socket on stdout, no relay */
static sigset_t origmask, termsigs;
static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: vp-dial [-46Fqv] [-i idle] [-w timeout] [-x url]... "
	    "host port\n"
	    "       vp-dial [-46Fqv] [-i idle] [-w timeout] [-x url]... "
	    "endpoint\n");
	exit(EX_USAGE);
}

/* Before the relay: die as by default. During it: end it cleanly. */
static void
on_signal(int sig)
{
	if (!relaying) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop = 1;
}

static void
on_connected(void *arg)
{
	(void)arg;
	relaying = 1;
	sigprocmask(SIG_BLOCK, &termsigs, NULL);
}

/*
 * pass_span(): where the password of proxy URL url is (the user info
 * ends where vpproxyc_parse() ends it): 0 with *p and *n set, or -1 if
 * there is none.
 */
static int
pass_span(const char *url, size_t *p, size_t *n)
{
	const char *s = strstr(url, "://"), *at, *colon;

	if (s == NULL || strncmp(s + 3, "unix:", 5) == 0)
		return -1;
	if ((at = strstr(s + 3, "@unix:")) == NULL &&
	    (at = strrchr(s, '@')) == NULL)
		return -1;
	if ((colon = memchr(s + 3, ':', at - (s + 3))) == NULL ||
	    colon + 1 == at)
		return -1;
	*p = (size_t)(colon + 1 - url);
	*n = (size_t)(at - colon - 1);
	return 0;
}

/*
 * hide_password(): the password of a proxy URL in argv blanked with
 * '*', so ps does not show it (its length stays: the argument area is
 * not ours to shrink, ps would show the gap); logs use mask_url().
 */
static void
hide_password(char *url)
{
	size_t p, n;

	if (pass_span(url, &p, &n) == 0)
		memset(url + p, '*', n);
}

/* mask_url(): url with any password shown as "***", for a log line. */
static const char *
mask_url(const char *url, char *buf, size_t size)
{
	size_t p, n;

	if (pass_span(url, &p, &n) == -1)
		snprintf(buf, size, "%s", url);
	else
		snprintf(buf, size, "%.*s***%s", (int)p, url, url + p + n);
	return buf;
}

/*
 * endpoint_error(): what to say of an operand vpep_parse() refused:
 * its own reason for a kind vp-dial takes (unix:, exec:, a host name
 * that is not one), else the kinds vp-dial takes (vpep_parse's list
 * also names fd:N, systemd and stdio, which vp-dial cannot connect to).
 */
static const char *
endpoint_error(const char *arg, const struct vpendpoint *ep, const char *err)
{
	char h[256];
	unsigned port;

	if (ep->kind == VPEP_UNIX || ep->kind == VPEP_EXEC)
		return err;
	if (ep->kind == VPEP_TCP && vpep_split_hostport(strncmp(arg, "tcp:",
	    4) == 0 ? arg + 4 : arg, h, sizeof(h), &port, 1) == 0)
		return err;
	return "expected HOST PORT, HOST:PORT, tcp:HOST:PORT, [V6]:PORT, "
	    "unix:PATH or exec:COMMAND";
}

/* Duration option in [0, 1 day]; 0 allowed only when zero_ok. */
static int
duration(const char *s, char opt, int zero_ok, int *out, char *err,
    size_t errlen)
{
	int64_t ms;

	if (vpio_parse_duration(s, &ms) == -1 || ms > 86400000 ||
	    (ms == 0 && !zero_ok)) {
		snprintf(err, errlen, "-%c: bad duration: %s (want e.g. 10, "
		    "500ms, 2m)", opt, s);
		return -1;
	}
	*out = (int)ms;
	return 0;
}

void
vpdial_args_init(struct vpdial_args *a)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_UNSPEC;
	a->connect_ms = VPDIAL_CONNECT_TIMEOUT;
}

int
vpdial_args_opt(struct vpdial_args *a, int ch, char *arg, char *err,
    size_t errlen)
{
	switch (ch) {
	case '4':
		a->family = AF_INET;
		return 0;
	case '6':
		a->family = AF_INET6;
		return 0;
	case 'F':
		a->fdpass = 1;
		return 0;
	case 'i':
		return duration(arg, 'i', 1, &a->idle_ms, err, errlen);
	case 'q':
		a->quiet = 1;
		return 0;
	case 'v':
		a->verbose++;
		return 0;
	case 'w':
		return duration(arg, 'w', 0, &a->connect_ms, err, errlen);
	case 'x':
		if (a->nproxy == VPDIAL_MAXPROXY) {
			snprintf(err, errlen, "-x: at most %d proxies",
			    VPDIAL_MAXPROXY);
			return -1;
		}
		a->proxy[a->nproxy++] = arg;
		return 0;
	default:
		snprintf(err, errlen, "unknown option -%c", ch);
		return -1;
	}
}

int
vpdial_args_loglevel(const struct vpdial_args *a)
{
	return a->quiet ? VPLOG_QUIET : a->verbose == 0 ? VPLOG_WARN :
	    a->verbose == 1 ? VPLOG_INFO : VPLOG_DEBUG;
}

/*
 * -F: connect, send the early data, then hand the socket to the program
 * on stdout (ssh ProxyUseFdpass) and exit: no relay at all.
 */
static int
pass_fd(const struct vpdial_opts *o)
{
	struct vpdial_conn c;
	enum vpr_class cls;
	char err[600], dest[300], via[1200];

	if (vpdial_connect(o, &c, &cls, err, sizeof(err)) == -1)
		vplog_die(vpreply_exit(cls), "connect to %s%s%s: %s",
		    vpdial_dest_str(o, dest, sizeof(dest)),
		    o->nproxies ? " via " : "",
		    vpdial_via_str(o, via, sizeof(via)), err);
	if (o->earlylen > 0 && vpio_writeall(c.out, o->early, o->earlylen) !=
	    o->earlylen)
		vplog_die_errno(EX_UNAVAILABLE, "%s: early data",
		    vpdial_dest_str(o, dest, sizeof(dest)));
	if (vpnet_send_fd(STDOUT_FILENO, c.out) == -1)
		vplog_die_errno(EX_OSERR, "-F: passing the socket on stdout");
	vplog_info("%s: socket passed on stdout (%s)",
	    vpdial_dest_str(o, dest, sizeof(dest)), c.peer);
	vpdial_close(&c);
	return 0;
}

int
vpdial_main(int argc, char *argv[])
{
	static struct vpproxy px[VPDIAL_MAXPROXY];
	struct vpdial_opts o;
	struct vpendpoint ep;
	struct sigaction sa;
	enum vpr_proto rp;
	char err[256], shown[600], *host = NULL;
	const char *vh, *vpt;
	long long port;
	void *early = NULL;
	size_t earlylen = 0, i;
	struct vpdial_args a;
	int ch, status;

	vpio_sanitise_stdfd();
	vplog_init("vp-dial");
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));

	vpdial_args_init(&a);
	opterr = 0;
	optind = 0;	/* a full getopt restart, also in a forked vp-listen */
	while ((ch = getopt(argc, argv, VPDIAL_OPTSTR)) != -1) {
		if (ch == ':') {
			vplog_warn("option -%c needs a value", optopt);
			usage();
		}
		if (ch == '?') {
			vplog_warn("unknown option -%c", optopt);
			usage();
		}
		if (vpdial_args_opt(&a, ch, optarg, err, sizeof(err)) == -1)
			vplog_die(EX_USAGE, "%s", err);
	}
	argc -= optind;
	argv += optind;
	vplog_level = vpdial_args_loglevel(&a);
	Fflag = a.fdpass;
	o.family = a.family;
	o.idle_timeout_ms = a.idle_ms;
	o.connect_timeout_ms = a.connect_ms;
	for (i = 0; i < a.nproxy; i++) {
		if (vpproxyc_parse(a.proxy[i], &px[i], err, sizeof(err)) == -1) {
			hide_password(a.proxy[i]);
			vplog_die(EX_USAGE, "-x %s: %s", mask_url(a.proxy[i],
			    shown, sizeof(shown)), err);
		}
		hide_password(a.proxy[i]);
		/* the proxy before it cannot be asked for a unix socket */
		if (i > 0 && px[i].path[0] != '\0')
			vplog_die(EX_USAGE, "-x %s: a proxy on a unix socket "
			    "can only come first in a chain (give it as the "
			    "first -x)", mask_url(a.proxy[i], shown,
			    sizeof(shown)));
	}
	o.nproxies = a.nproxy;
	if (o.nproxies > 0)
		o.proxies = px;
	/* USER@ without a password in the URL: the password from the env */
	for (i = 0; i < o.nproxies; i++) {
		const char *pw = getenv("VP_PROXY_PASS");

		if (!px[i].auth || px[i].pass[0] != '\0' ||
		    px[i].kind == VPPX_SOCKS4A)
			continue;
		if (pw != NULL && strlcpy(px[i].pass, pw, sizeof(px[i].pass)) >=
		    sizeof(px[i].pass))
			vplog_die(EX_USAGE, "VP_PROXY_PASS: too long");
		if (px[i].kind == VPPX_SOCKS5 && px[i].pass[0] == '\0')
			vplog_die(EX_USAGE, "-x: SOCKS5 user %s needs a "
			    "password (in the URL or in VP_PROXY_PASS)",
			    px[i].user);
	}
	if (getenv("VP_PROXY_PASS") != NULL) {
		char *pw = getenv("VP_PROXY_PASS");

		explicit_bzero(pw, strlen(pw));
		unsetenv("VP_PROXY_PASS");
	}

	if (argc == 0) {
		/* the destination vp-dispatch chose */
		vh = getenv("VP_DEST_HOST");
		vpt = getenv("VP_DEST_PORT");
		if (vh == NULL || vpt == NULL)
			usage();
		host = (char *)vh;
		if (vpio_parse_num(vpt, 1, 65535, &port) == -1)
			vplog_die(EX_USAGE, "VP_DEST_PORT: bad port: %.16s",
			    vpt);
		if (!vpep_host_ok(host))
			vplog_die(EX_USAGE, "VP_DEST_HOST: bad host name");
		o.host = host;
		o.port = (unsigned)port;
	} else if (argc == 2) {
		host = argv[0];
		if (!vpep_host_ok(host))
			vplog_die(EX_USAGE, "bad host name: %.64s", host);
		if (vpio_parse_num(argv[1], 1, 65535, &port) == -1)
			vplog_die(EX_USAGE, "bad port: %.16s (want 1-65535)",
			    argv[1]);
		o.host = host;
		o.port = (unsigned)port;
	} else if (argc == 1) {
		if (vpep_parse(argv[0], &ep, err, sizeof(err)) == -1)
			vplog_die(EX_USAGE, "%.64s: %s", argv[0],
			    endpoint_error(argv[0], &ep, err));
		switch (ep.kind) {
		case VPEP_TCP:
			if (ep.host[0] == '\0' || ep.port == 0)
				vplog_die(EX_USAGE, "%.64s: need a host and "
				    "a port", argv[0]);
			o.host = ep.host;
			o.port = ep.port;
			break;
		case VPEP_UNIX:
		case VPEP_EXEC:
			if (o.nproxies > 0)
				vplog_die(EX_USAGE, "-x works with HOST PORT "
				    "or tcp: destinations only");
			o.ep = &ep;
			break;
		default:
			vplog_die(EX_USAGE, "%.64s: vp-dial connects to tcp:, "
			    "unix: or exec: endpoints", argv[0]);
		}
	} else
		usage();
	if (o.host != NULL && o.nproxies == 0 &&
	    ((o.family == AF_INET && vpnet_is_ip(o.host) == 6) ||
	    (o.family == AF_INET6 && vpnet_is_ip(o.host) == 4)))
		vplog_die(EX_USAGE, "-%c contradicts the address %.64s",
		    o.family == AF_INET ? '4' : '6', o.host);
	if (o.ep != NULL && o.ep->kind == VPEP_UNIX && o.family != AF_UNSPEC)
		vplog_die(EX_USAGE, "-4/-6 make no sense for a unix socket");

	if (Fflag && o.ep != NULL && o.ep->kind == VPEP_EXEC)
		vplog_die(EX_USAGE, "-F passes a socket: not with exec:");
	if (vpreply_proto_parse(getenv("VP_REPLY"), &rp) == -1)
		vplog_die(EX_CONFIG, "VP_REPLY: unknown protocol \"%.16s\" "
		    "(want socks5, socks4 or http)", getenv("VP_REPLY"));
	if (Fflag && rp != VPRP_NONE)
		vplog_die(EX_USAGE, "-F cannot answer VP_REPLY: nobody waits "
		    "on a passed socket");
	o.reply = rp;
	unsetenv("VP_REPLY");
	if (vpdial_early_from_env(&early, &earlylen, err, sizeof(err)) == -1)
		vplog_die(EX_DATAERR, "%s", err);
	o.early = early;
	o.earlylen = earlylen;
	o.route = getenv("VP_ROUTE");

	/*
	 * SIGHUP (ssh ending a ProxyCommand), SIGTERM and SIGINT: until
	 * connected they end us at once (the default action); once the
	 * relay runs they are blocked except inside its ppoll, and end it
	 * cleanly. A signal ignored at start (nohup) stays ignored.
	 */
	sigprocmask(SIG_BLOCK, NULL, &origmask);
	sigemptyset(&termsigs);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction cur;

		if (sigaction(sigs[i], NULL, &cur) == 0 &&
		    cur.sa_handler == SIG_IGN)
			continue;
		sigaddset(&termsigs, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	o.sigmask = &origmask;
	o.stop = &stop;
	o.connected = on_connected;
	if (Fflag)
		status = pass_fd(&o);
	else
		status = vpdial_run(&o, STDIN_FILENO, STDOUT_FILENO);
	for (i = 0; i < o.nproxies; i++)
		vpproxyc_clear(&px[i]);
	free(early);
	return status;
}
