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

#include "dispatch.h"
#include "vpendpoint.h"
#include "vpio.h"
#include "vplog.h"
#include "vpnet.h"
#include "vprelay.h"
#include "vpreply.h"
#include "vpspawn.h"

static size_t precap;

/* add_pre(): appends bytes the outbound must see first. */
void
add_pre(const void *p, size_t n)
{
	unsigned char *np;

	if (n == 0)
		return;
	if (dsp.prelen + n > precap) {
		size_t nc = dsp.prelen + n;

		if ((np = realloc(dsp.pre, nc)) == NULL)
			fail(VPR_INTERNAL, "out of memory");
		dsp.pre = np;
		precap = nc;
	}
	memcpy(dsp.pre + dsp.prelen, p, n);
	dsp.prelen += n;
}

/* relay(): client <-> fd until both directions end; logs; exits. */
static void __attribute__((noreturn))
relay(int fd, const char *peer)
{
	struct vprelay_opts o;
	struct vprelay_stats st;
	char h[80];
	int64_t t0 = vpio_now_ms();
	int r;

	memset(&o, 0, sizeof(o));
	o.pre = dsp.pre;
	o.prelen = dsp.prelen;
	r = vprelay_run(0, 1, fd, fd, &o, &st);
	vplog_info("%s %s:%u via %s (%s): %llu bytes out, %llu in, %lld ms, %s",
	    dsp.route, vplog_safe(h, sizeof(h), dsp.host), dsp.port,
	    dsp.inbound, peer, (unsigned long long)st.ab,
	    (unsigned long long)st.ba, (long long)(vpio_now_ms() - t0),
	    vprelay_end_str(st.end));
	exit(r == 0 ? 0 : EX_IOERR);
}

static void
answer_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		sl = 0;
	if (answer(VPR_OK, sl ? (struct sockaddr *)&ss : NULL) == -1)
		vplog_die_errno(EX_IOERR, "reply to client");
}

/* run_direct(): connect in process, answer, relay. */
void
run_direct(void)
{
	char peer[VPNET_ADDRSTRLEN], h[80];
	int fd, e;

	fd = vpnet_dial_tcp(dsp.host, dsp.port, AF_UNSPEC, CONNECT_MS, peer,
	    sizeof(peer));
	if (fd == -1) {
		e = errno;
		fail(vpreply_class_errno(e), "%s %s:%u: %s", dsp.route,
		    vplog_safe(h, sizeof(h), dsp.host), dsp.port,
		    vpnet_strerror(e));
	}
	answer_bound(fd);
	relay(fd, peer);
}

/* Sets VP_* variables and puts our own directory first in PATH. */
static void
build_env(struct vpenv *e, int pass_reply)
{
	char self[PATH_MAX], *slash;
	const char *path;
	ssize_t n;

	if (vpenv_init(e, 1) == -1 ||
	    vpenv_set(e, "VP_DEST_HOST", dsp.host) == -1 ||
	    vpenv_setf(e, "VP_DEST_PORT", "%u", dsp.port) == -1 ||
	    vpenv_set(e, "VP_ROUTE", dsp.route) == -1)
		fail(VPR_INTERNAL, "out of memory");
	if (dsp.user != NULL) {
		if (vpenv_set(e, "VP_USER", dsp.user) == -1)
			fail(VPR_INTERNAL, "out of memory");
	} else
		vpenv_unset(e, "VP_USER");
	vpenv_unset(e, "VP_EARLY_FD");
	if (pass_reply && !dsp.replied && dsp.reply != VPRP_NONE &&
	    !(dsp.req.proto == VPIN_HTTP && !dsp.req.http_connect)) {
		if (vpenv_set(e, "VP_REPLY", vpreply_proto_name(dsp.reply)) == -1)
			fail(VPR_INTERNAL, "out of memory");
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
				fail(VPR_INTERNAL, "out of memory");
		}
	}
}

/* Puts the early bytes in a memfd and names it in VP_EARLY_FD. */
static void
early_fd(struct vpenv *e)
{
	int fd;

	if (dsp.prelen == 0)
		return;
	if ((fd = memfd_create("vp-early", 0)) == -1)
		fail(VPR_INTERNAL, "memfd_create: %s", strerror(errno));
	if (vpio_writeall(fd, dsp.pre, dsp.prelen) != dsp.prelen ||
	    lseek(fd, 0, SEEK_SET) == -1)
		fail(VPR_INTERNAL, "early data: %s", strerror(errno));
	if (vpenv_setf(e, "VP_EARLY_FD", "%d", fd) == -1)
		fail(VPR_INTERNAL, "out of memory");
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
		fail(VPR_INTERNAL, "pipe: %s", strerror(errno));
	if ((pid = vpspawn_shell(cmd, p[0], 1, e->v)) == -1)
		fail(VPR_INTERNAL, "%s: %s", cmd, strerror(errno));
	close(p[0]);
	if (vpio_writeall(p[1], dsp.pre, dsp.prelen) == dsp.prelen) {
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
 * run_exec(): chain-loads the route's command (%h %p shell-quoted).
 * exec: the command answers VP_REPLY. exec-early: we answer success
 * first, for commands that know nothing of VP_REPLY.
 */
void
run_exec(int early)
{
	char cmd[VPEP_CMDMAX], h[80];
	struct vpenv e;

	if (vpep_expand(dsp.arg, dsp.host, dsp.port, cmd, sizeof(cmd)) == -1)
		fail(VPR_GENERAL, "route %s: cannot expand '%s': %s", dsp.route,
		    dsp.arg, strerror(errno));
	build_env(&e, !early);
	if (early && answer(VPR_OK, NULL) == -1)
		vplog_die_errno(EX_IOERR, "reply to client");
	vplog_info("%s %s:%u via %s: exec %s", dsp.route,
	    vplog_safe(h, sizeof(h), dsp.host), dsp.port, dsp.inbound, cmd);
	if (early && dsp.prelen > 0)
		inject(cmd, &e);
	early_fd(&e);
	vpspawn_exec_shell(cmd, -1, -1, e.v);
	fail(VPR_INTERNAL, "exec %s: %s", cmd, strerror(errno));
}

/* ---- socks5 outbound (temporary: switches to vpproxyc when it lands) */

static void
up_fail(int fd, enum vpr_class c, const char *what)
{
	char h[80];

	close(fd);
	fail(c, "%s %s:%u: upstream %s: %s", dsp.route,
	    vplog_safe(h, sizeof(h), dsp.host), dsp.port, dsp.arg, what);
}

static size_t
up_read(int fd, unsigned char *b, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		if (vpio_wait(fd, POLLIN, CONNECT_MS) != 1)
			return got;
		r = read(fd, b + got, n - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return got;
		got += (size_t)r;
	}
	return got;
}

/*
 * run_socks5(): connects to the route's SOCKS5 endpoint (tcp or unix),
 * asks it for the destination, answers the client with its outcome
 * and relays.
 */
void
run_socks5(void)
{
	struct vpendpoint ep;
	unsigned char req[300], rep[262];
	char err[256];
	size_t hl, n;
	int fd, e, fam;

	if (vpep_parse(dsp.arg, &ep, err, sizeof(err)) == -1 ||
	    (ep.kind != VPEP_TCP && ep.kind != VPEP_UNIX))
		fail(VPR_INTERNAL, "route %s: bad socks5 endpoint '%s'",
		    dsp.route, dsp.arg);
	if (ep.kind == VPEP_TCP)
		fd = vpnet_dial_tcp(ep.host, ep.port, AF_UNSPEC, CONNECT_MS,
		    NULL, 0);
	else
		fd = vpnet_dial_unix(ep.path, CONNECT_MS);
	if (fd == -1) {
		e = errno;
		/* The proxy itself is unreachable: a general failure. */
		fail(VPR_GENERAL, "%s: upstream %s: %s", dsp.route, dsp.arg,
		    vpnet_strerror(e));
	}
	hl = strlen(dsp.host);
	n = 0;
	req[n++] = 0x05;
	req[n++] = 0x01;
	req[n++] = 0x00;
	req[n++] = 0x05;
	req[n++] = 0x01;
	req[n++] = 0x00;
	if ((fam = vpnet_is_ip(dsp.host)) == 4) {
		req[n++] = 0x01;
		inet_pton(AF_INET, dsp.host, req + n);
		n += 4;
	} else if (fam == 6) {
		req[n++] = 0x04;
		inet_pton(AF_INET6, dsp.host, req + n);
		n += 16;
	} else {
		req[n++] = 0x03;
		req[n++] = (unsigned char)hl;
		memcpy(req + n, dsp.host, hl);
		n += hl;
	}
	req[n++] = (unsigned char)(dsp.port >> 8);
	req[n++] = (unsigned char)dsp.port;
	/* Greeting and request in one write; no auth towards upstream. */
	if (vpio_writeall(fd, req, n) != n)
		up_fail(fd, VPR_GENERAL, "write failed");
	if (up_read(fd, rep, 2) != 2 || rep[0] != 0x05 || rep[1] != 0x00)
		up_fail(fd, VPR_PROTO, "refused the greeting");
	if (up_read(fd, rep, 5) != 5 || rep[0] != 0x05)
		up_fail(fd, VPR_PROTO, "bad reply");
	if (rep[1] != 0x00)
		up_fail(fd, vpreply_socks5_class(rep[1]), "refused the request");
	n = rep[3] == 0x01 ? 4 + 2 - 1 : rep[3] == 0x04 ? 16 + 2 - 1 :
	    rep[3] == 0x03 ? (size_t)rep[4] + 2 : 0;
	if (n == 0 || up_read(fd, rep + 5, n) != n)
		up_fail(fd, VPR_PROTO, "bad reply address");
	answer_bound(fd);
	relay(fd, dsp.arg);
}
