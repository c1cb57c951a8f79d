/*
 * vp-dispatch outbounds: direct (in process), exec and exec-early
 * (chain-loaded commands), socks5 (the request passed on upstream).
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "vpdispatch_int.h"
#include "vpendpoint.h"
#include "vpdial.h"
#include "vpio.h"
#include "vplog.h"
#include "vpnet.h"
#include "vpproxyc.h"
#include "vprelay.h"
#include "vpreply.h"
#include "vpspawn.h"

static size_t precap;

/* vpdsp_add_pre(): appends bytes the outbound must see first. */
void
vpdsp_add_pre(const void *p, size_t n)
{
	unsigned char *np;

	if (n == 0)
		return;
	if (vpdsp.prelen + n > precap) {
		size_t nc = vpdsp.prelen + n;

		if ((np = realloc(vpdsp.pre, nc)) == NULL)
			vpdsp_fail(VPR_INTERNAL, "out of memory");
		vpdsp.pre = np;
		precap = nc;
	}
	memcpy(vpdsp.pre + vpdsp.prelen, p, n);
	vpdsp.prelen += n;
}

/*
 * vpdsp_frame(): for a plain HTTP request (its rewritten head first in
 * pre), sets up where its body ends and keeps of the bytes past the
 * head in pre only those of the body: one request goes to the origin,
 * never a second one behind it. Malformed framing among them leaves
 * vpdsp.body failed and only the head in pre.
 */
void
vpdsp_frame(void)
{
	size_t hl = vpdsp.req.headlen;

	if (vpdsp.req.proto != VPIN_HTTP || vpdsp.req.http_connect)
		return;
	vpdsp.framed = 1;
	if (vpdsp.prelen <= hl)		/* nothing past the head */
		(void)vphb_begin(&vpdsp.body, vpdsp.req.body,
		    vpdsp.req.bodylen, NULL, 0, &vpdsp.bodymore);
	else
		vpdsp.prelen = hl + vphb_begin(&vpdsp.body, vpdsp.req.body,
		    vpdsp.req.bodylen, vpdsp.pre + hl, vpdsp.prelen - hl,
		    &vpdsp.bodymore);
}

/* A plain request's relay: the head (and body bytes) first, its framing. */
static void
plain_opts(struct vprelay_opts *ro)
{
	memset(ro, 0, sizeof(*ro));
	ro->pre = vpdsp.pre;
	ro->prelen = vpdsp.prelen;
	/* one request: its body, nothing after it (vphttpbody.h) */
	ro->body = &vpdsp.body;
	ro->bodymore = vpdsp.bodymore;
}

/*
 * dial(): the outbound in process through vpdial (DESIGN.md: the route
 * taken most often costs no exec): connect (through px if given),
 * answer the waiting client, send the early bytes, relay, log.
 */
static void __attribute__((noreturn))
dial(const struct vpproxy *px, size_t npx)
{
	struct vpdial_opts o;
	struct vpdial_conn c;
	struct vprelay_opts ro;
	struct vprelay_stats st;
	enum vpr_class cls;
	char err[600], h[80];
	int64_t t0;
	int status;

	memset(&o, 0, sizeof(o));
	o.host = vpdsp.host;
	o.port = vpdsp.port;
	o.proxies = px;
	o.nproxies = npx;
	o.family = AF_UNSPEC;
	o.connect_timeout_ms = CONNECT_MS;
	o.early = vpdsp.pre;
	o.earlylen = vpdsp.prelen;
	o.route = vpdsp.route;
	if (vpdsp.req.proto == VPIN_HTTP && !vpdsp.req.http_connect) {
		/*
		 * A plain HTTP request: failures are answered (502/504),
		 * success is the origin's own response.
		 */
		t0 = vpio_now_ms();
		if (vpdial_connect(&o, &c, &cls, err, sizeof(err)) == -1)
			vpdsp_fail(cls, "route %s: connect to %s:%u: %s", vpdsp.route,
			    vplog_safe(h, sizeof(h), vpdsp.host), vpdsp.port, err);
		vpdsp.replied = 1;
		plain_opts(&ro);
		(void)vpnet_loopback_bufs(0);
		(void)vpnet_loopback_bufs(c.out);
		/* malformed framing read with the head: the head, then EPROTO */
		status = vprelay_run(0, 1, c.in, c.out, &ro, &st) == 0 ? 0 :
		    EX_IOERR;
		vpdial_close(&c);
		t0 = vpio_now_ms() - t0;
		/* as vp-dial's line for the other routes (vpdial_run) */
		vplog_info("route %s: %s:%u: %llu bytes out, %llu bytes in, "
		    "%lld.%03lld s, %s", vpdsp.route,
		    vplog_safe(h, sizeof(h), vpdsp.host), vpdsp.port,
		    (unsigned long long)st.ab, (unsigned long long)st.ba,
		    (long long)(t0 / 1000), (long long)(t0 % 1000),
		    vprelay_end_str(st.end));
		/* a request sent after this one must not reset the response */
		vpdsp_linger_close();
		exit(status);
	}
	o.reply = vpdsp.replied ? VPRP_NONE : vpdsp.reply;
	vpdsp.replied = 1;
	status = vpdial_run(&o, 0, 1);
	if (status != 0)
		vpdsp_linger_close();
	exit(status);
}

/* vpdsp_run_direct(): the destination itself, in process. */
void
vpdsp_run_direct(void)
{
	dial(NULL, 0);
}

/* Sets VP_* variables and puts our own directory first in PATH. */
static void
build_env(struct vpenv *e, int pass_reply)
{
	char self[PATH_MAX], *slash;
	const char *path;
	ssize_t n;

	if (vpenv_init(e, 1) == -1 ||
	    vpenv_set(e, "VP_DEST_HOST", vpdsp.host) == -1 ||
	    vpenv_setf(e, "VP_DEST_PORT", "%u", vpdsp.port) == -1 ||
	    vpenv_set(e, "VP_ROUTE", vpdsp.route) == -1)
		vpdsp_fail(VPR_INTERNAL, "out of memory");
	if (vpdsp.user != NULL) {
		if (vpenv_set(e, "VP_USER", vpdsp.user) == -1)
			vpdsp_fail(VPR_INTERNAL, "out of memory");
	} else
		vpenv_unset(e, "VP_USER");
	vpenv_unset(e, "VP_EARLY_FD");
	if (pass_reply && !vpdsp.replied && vpdsp.reply != VPRP_NONE &&
	    !(vpdsp.req.proto == VPIN_HTTP && !vpdsp.req.http_connect)) {
		if (vpenv_set(e, "VP_REPLY", vpreply_proto_name(vpdsp.reply)) == -1)
			vpdsp_fail(VPR_INTERNAL, "out of memory");
	} else
		vpenv_unset(e, "VP_REPLY");
	/* Chain-load vp-* programs from next to this one first. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			path = getenv("PATH");
			if (vpenv_setf(e, "PATH", "%s:%s", self[0] ? self : "/",
			    path ? path : "/usr/bin:/bin") == -1)
				vpdsp_fail(VPR_INTERNAL, "out of memory");
		}
	}
}

/* Puts the early bytes in a memfd and names it in VP_EARLY_FD. */
static void
early_fd(struct vpenv *e)
{
	int fd;

	if (vpdsp.prelen == 0)
		return;
	if ((fd = memfd_create("vp-early", 0)) == -1)
		vpdsp_fail(VPR_INTERNAL, "memfd_create: %s", strerror(errno));
	if (vpio_writeall(fd, vpdsp.pre, vpdsp.prelen) != vpdsp.prelen ||
	    lseek(fd, 0, SEEK_SET) == -1)
		vpdsp_fail(VPR_INTERNAL, "early data: %s", strerror(errno));
	if (vpenv_setf(e, "VP_EARLY_FD", "%d", fd) == -1)
		vpdsp_fail(VPR_INTERNAL, "out of memory");
}

/*
 * inject(): exec-early with bytes to inject: the command runs as a
 * child reading a pipe we fill with the early bytes and then the
 * client's; its output goes straight to the client.
 */
static void __attribute__((noreturn))
inject(const char *cmd, struct vpenv *e)
{
	struct pollfd pf[2];
	char buf[16384];
	int p[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1)
		vpdsp_fail(VPR_INTERNAL, "pipe: %s", strerror(errno));
	if ((pid = vpspawn_shell(cmd, p[0], 1, e->v)) == -1)
		vpdsp_fail(VPR_INTERNAL, "%s: %s", cmd, strerror(errno));
	close(p[0]);
	if (vpio_writeall(p[1], vpdsp.pre, vpdsp.prelen) == vpdsp.prelen) {
		for (;;) {
			pf[0].fd = 0;
			pf[0].events = POLLIN;
			pf[1].fd = p[1];
			pf[1].events = 0;
			if (poll(pf, 2, -1) == -1) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (pf[1].revents & (POLLERR | POLLHUP))
				break;
			if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(0, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || vpio_writeall(p[1], buf, (size_t)n) !=
			    (size_t)n)
				break;
		}
	}
	close(p[1]);
	shutdown(0, SHUT_RD);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE);
}

/*
 * exec_plain(): an exec route of a plain HTTP request. The command runs
 * on a socket pair (shut down, not closed, by it: a shell that waits for
 * it still holds the descriptor) and vprelay moves the bytes with the
 * request's framing: the head and the body go to its input, nothing
 * after them; its input ends when the client sends more or closes, or
 * when its output (the response) has ended, so neither waits on the
 * other.
 */
static void __attribute__((noreturn))
exec_plain(const char *cmd, struct vpenv *e)
{
	struct vprelay_opts ro;
	struct vprelay_stats st;
	int sv[2], status;
	char h[80];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		vpdsp_fail(VPR_INTERNAL, "socketpair: %s", strerror(errno));
	if ((pid = vpspawn_shell(cmd, sv[1], sv[1], e->v)) == -1)
		vpdsp_fail(VPR_INTERNAL, "%s: %s", cmd, strerror(errno));
	close(sv[1]);
	vpdsp.replied = 1;
	plain_opts(&ro);
	/* a command may answer without reading the request (printf) */
	ro.b_quits = 1;
	(void)vprelay_run(0, 1, sv[0], sv[0], &ro, &st);
	close(sv[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	/* a request sent after this one must not reset the response */
	vpdsp_linger_close();
	if (vphb_failed(&vpdsp.body)) {
		vplog_info("route %s: %s:%u: malformed chunked request body",
		    vpdsp.route, vplog_safe(h, sizeof(h), vpdsp.host),
		    vpdsp.port);
		exit(EX_IOERR);
	}
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE);
}

/*
 * vpdsp_run_exec(): chain-loads the route's command (%h %p shell-quoted).
 * exec: the command answers VP_REPLY. exec-early: we answer success
 * first, for commands that know nothing of VP_REPLY.
 */
void
vpdsp_run_exec(int early)
{
	char cmd[VPEP_CMDMAX], h[80];
	struct vpenv e;

	if (vpep_expand(vpdsp.arg, vpdsp.host, vpdsp.port, cmd, sizeof(cmd)) == -1)
		vpdsp_fail(VPR_GENERAL, "route %s: cannot expand '%s': %s", vpdsp.route,
		    vpdsp.arg, strerror(errno));
	build_env(&e, !early);
	if (early && vpdsp_answer(VPR_OK, NULL) == -1)
		vplog_die_errno(EX_IOERR, "reply to client");
	vplog_info("%s %s:%u via %s: exec %s", vpdsp.route,
	    vplog_safe(h, sizeof(h), vpdsp.host), vpdsp.port, vpdsp.inbound, cmd);
	if (vpdsp.framed)
		exec_plain(cmd, &e);
	if (early && vpdsp.prelen > 0)
		inject(cmd, &e);
	early_fd(&e);
	vpspawn_exec_shell(cmd, -1, -1, e.v);
	vpdsp_fail(VPR_INTERNAL, "exec %s: %s", cmd, strerror(errno));
}

/*
 * vpdsp_run_socks5(): the request passed on to the route's SOCKS5 endpoint
 * (HOST:PORT or unix:PATH), in process; its reply code reaches the
 * client.
 */
void
vpdsp_run_socks5(void)
{
	struct vpproxy px;
	char url[600], err[256];

	if ((size_t)snprintf(url, sizeof(url), "socks5://%s", vpdsp.arg) >=
	    sizeof(url) || vpproxyc_parse(url, &px, err, sizeof(err)) == -1)
		vpdsp_fail(VPR_INTERNAL, "route %s: bad socks5 endpoint '%s': %s",
		    vpdsp.route, vpdsp.arg, err);
	dial(&px, 1);
}
