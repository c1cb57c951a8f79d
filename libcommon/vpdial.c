/*
 * vpdial: connect (direct, endpoint, proxy chain), reply, relay, log.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vpdial.h"
#include "vpio.h"
#include "vplog.h"
#include "vpnet.h"
#include "vprelay.h"
#include "vpspawn.h"

const char *
vpdial_dest_str(const struct vpdial_opts *o, char *buf, size_t n)
{
	char tmp[VPEP_CMDMAX + 16];

	if (o->host != NULL)
		snprintf(buf, n, strchr(o->host, ':') != NULL ? "[%s]:%u" :
		    "%s:%u", o->host, o->port);
	else if (o->ep != NULL)
		snprintf(buf, n, "%s", vpep_format(o->ep, tmp, sizeof(tmp)));
	else
		snprintf(buf, n, "?");
	return buf;
}

const char *
vpdial_via_str(const struct vpdial_opts *o, char *buf, size_t n)
{
	char one[400];
	size_t i, len = 0;
	int r;

	if (n == 0)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < o->nproxies; i++) {
		r = snprintf(buf + len, n - len, "%s%s", i ? "," : "",
		    vpproxyc_str(&o->proxies[i], one, sizeof(one)));
		if (r < 0 || (size_t)r >= n - len)
			break;
		len += r;
	}
	return buf;
}

static void
conn_init(struct vpdial_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->in = c->out = -1;
	c->pid = -1;
	c->pidfd = -1;
}

/* The exec: endpoint: /bin/sh -c CMD on two pipes. */
static int
dial_exec(const struct vpdial_opts *o, struct vpdial_conn *c,
    enum vpr_class *cls, char *err, size_t errlen)
{
	struct vpenv env;
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, e;
	pid_t pid;

	if (vpenv_init(&env, 0) == -1)
		goto oserr;
	if (o->envp != NULL) {
		char *const *p;

		for (p = o->envp; *p != NULL; p++) {
			const char *eq = strchr(*p, '=');
			char key[256];

			if (eq == NULL || (size_t)(eq - *p) >= sizeof(key))
				continue;
			memcpy(key, *p, eq - *p);
			key[eq - *p] = '\0';
			if (vpenv_set(&env, key, eq + 1) == -1)
				goto oserr_env;
		}
	} else {
		vpenv_free(&env);
		if (vpenv_init(&env, 1) == -1)
			goto oserr;
	}
	/* We answer the client and send the early data ourselves. */
	vpenv_unset(&env, "VP_REPLY");
	vpenv_unset(&env, "VP_EARLY_FD");
	if (pipe2(to, O_CLOEXEC) == -1 || pipe2(from, O_CLOEXEC) == -1)
		goto oserr_env;
	pid = vpspawn_shell(o->ep->cmd, to[0], from[1], env.v);
	if (pid == -1)
		goto oserr_env;
	vpenv_free(&env);
	close(to[0]);
	close(from[1]);
	c->in = from[0];
	c->out = to[1];
	c->pid = pid;
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	snprintf(c->peer, sizeof(c->peer), "exec pid %ld", (long)pid);
	return 0;
oserr_env:
	e = errno;
	vpenv_free(&env);
	if (to[0] != -1)
		close(to[0]), close(to[1]);
	if (from[0] != -1)
		close(from[0]), close(from[1]);
	errno = e;
oserr:
	return vpreply_fail(cls, VPR_INTERNAL, err, errlen,
	    "cannot run command: %s", strerror(errno));
}

int
vpdial_connect(const struct vpdial_opts *o, struct vpdial_conn *c,
    enum vpr_class *cls, char *err, size_t errlen)
{
	const struct vpproxy *px;
	char one[400];
	const char *host;
	unsigned port;
	int64_t deadline;
	int tmo = o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
	    VPDIAL_CONNECT_TIMEOUT;
	int fd;
	size_t i;

	conn_init(c);
	*cls = VPR_OK;
	deadline = vpio_now_ms() + tmo;
	if (o->host == NULL && o->ep == NULL)
		return vpreply_fail(cls, VPR_INTERNAL, err, errlen,
		    "no destination");
	if (o->host == NULL && o->ep->kind == VPEP_TCP) {
		host = o->ep->host;
		port = o->ep->port;
	} else {
		host = o->host;
		port = o->port;
	}
	if (o->nproxies > 0 && host == NULL)
		return vpreply_fail(cls, VPR_CMDUNSUPP, err, errlen,
		    "proxies carry only HOST PORT destinations");
	if (host != NULL && (*host == '\0' || port == 0 || port > 65535))
		return vpreply_fail(cls, VPR_ATYPUNSUPP, err, errlen, "bad "
		    "destination");

	if (o->nproxies == 0) {
		if (host == NULL && o->ep->kind == VPEP_EXEC)
			return dial_exec(o, c, cls, err, errlen);
		if (host == NULL && o->ep->kind == VPEP_UNIX) {
			fd = vpnet_dial_unix(o->ep->path, tmo);
			snprintf(c->peer, sizeof(c->peer), "unix:%s",
			    o->ep->path);
		} else if (host != NULL)
			fd = vpnet_dial_tcp(host, port, o->family, tmo,
			    c->peer, sizeof(c->peer));
		else
			return vpreply_fail(cls, VPR_CMDUNSUPP, err, errlen,
			    "unsupported destination kind");
		if (fd == -1)
			return vpreply_fail(cls, vpreply_class_errno(errno),
			    err, errlen, "%s", vpnet_strerror(errno));
	} else {
		px = &o->proxies[0];
		if (px->path[0] != '\0') {
			fd = vpnet_dial_unix(px->path, tmo);
			snprintf(c->peer, sizeof(c->peer), "unix:%s",
			    px->path);
		} else
			fd = vpnet_dial_tcp(px->host, px->port, o->family,
			    tmo, c->peer, sizeof(c->peer));
		if (fd == -1)
			return vpreply_fail(cls, vpreply_class_errno(errno),
			    err, errlen, "cannot reach proxy %s: %s",
			    vpproxyc_str(px, one, sizeof(one)),
			    vpnet_strerror(errno));
		for (i = 0; i < o->nproxies; i++) {
			const char *th = host;
			unsigned tp = port;
			char herr[300];

			if (i + 1 < o->nproxies) {
				if (o->proxies[i + 1].path[0] != '\0') {
					close(fd);
					return vpreply_fail(cls, VPR_CMDUNSUPP,
					    err, errlen,
					    "a unix-socket proxy can "
					    "only come first in a chain");
				}
				th = o->proxies[i + 1].host;
				tp = o->proxies[i + 1].port;
			}
			if (vpproxyc_handshake(fd, &o->proxies[i], th, tp,
			    vpio_remaining(deadline) > 0 ?
			    vpio_remaining(deadline) : 1, cls, herr,
			    sizeof(herr)) == -1) {
				close(fd);
				if (o->nproxies > 1)
					return vpreply_fail(cls, *cls, err,
					    errlen, "%s: %s",
					    vpproxyc_str(&o->proxies[i], one,
					    sizeof(one)), herr);
				return vpreply_fail(cls, *cls, err, errlen,
				    "%s", herr);
			}
		}
	}
	c->in = c->out = fd;
	c->locallen = sizeof(c->local);
	if (getsockname(fd, (struct sockaddr *)&c->local, &c->locallen) == -1)
		c->locallen = 0;
	return 0;
}

/* Waits for the exec'd command, bounded. Returns its status. */
static int
reap_child(struct vpdial_conn *c)
{
	struct pollfd pfd;
	int status = 0, step, r;
	static const int waits[] = { 5000, 2000, -1 };
	static const int sigs[] = { SIGTERM, SIGKILL, 0 };

	for (step = 0; step < 3; step++) {
		if (c->pidfd != -1 && waits[step] >= 0) {
			pfd.fd = c->pidfd;
			pfd.events = POLLIN;
			do
				r = poll(&pfd, 1, waits[step]);
			while (r == -1 && errno == EINTR);
			if (r == 0) {
				kill(c->pid, sigs[step]);
				continue;
			}
		} else if (c->pidfd == -1 && waits[step] >= 0) {
			/* no pidfd: poll waitpid, bounded */
			int64_t end = vpio_now_ms() + waits[step];

			while ((r = waitpid(c->pid, &status, WNOHANG)) == 0 &&
			    vpio_now_ms() < end)
				(void)poll(NULL, 0, 20);
			if (r == c->pid)
				goto done;
			kill(c->pid, sigs[step]);
			continue;
		}
		while ((r = waitpid(c->pid, &status, 0)) == -1 &&
		    errno == EINTR)
			;
		if (r == c->pid)
			goto done;
		return EX_OSERR;
	}
	return EX_OSERR;
done:
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EX_SOFTWARE;
}

int
vpdial_close(struct vpdial_conn *c)
{
	int st = 0;

	if (c->in != -1)
		close(c->in);
	if (c->out != -1 && c->out != c->in)
		close(c->out);
	c->in = c->out = -1;
	if (c->pid > 0) {
		st = reap_child(c);
		c->pid = -1;
	}
	if (c->pidfd != -1) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	return st;
}

static void dlog(int, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
dlog(int level, const char *word, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vplog_vline(level, word, 0, fmt, ap);
	va_end(ap);
}

int
vpdial_run(const struct vpdial_opts *o, int in_fd, int out_fd)
{
	struct vpdial_conn c;
	struct vprelay_opts ro;
	struct vprelay_stats st;
	enum vpr_class cls;
	char err[600], dest[300], via[1200], rt[80], safe[1200];
	int64_t t0 = vpio_now_ms(), ms;
	int status, rr, cst;

	vpdial_dest_str(o, dest, sizeof(dest));
	vpdial_via_str(o, via, sizeof(via));
	rt[0] = '\0';
	if (o->route != NULL)
		snprintf(rt, sizeof(rt), "route %s: ", o->route);

	if (vpdial_connect(o, &c, &cls, err, sizeof(err)) == -1) {
		if (vpreply_send(out_fd, o->reply, cls, NULL) == -1)
			dlog(VPLOG_WARN, "warning", "%scannot send the %s "
			    "reply: %s", rt, vpreply_proto_name(o->reply),
			    strerror(errno));
		dlog(VPLOG_QUIET, "fatal", "%sconnect to %s%s%s: %s", rt,
		    vplog_safe(safe, sizeof(safe), dest),
		    via[0] ? " via " : "", via, err);
		return vpreply_exit(cls);
	}
	if (vpreply_send(out_fd, o->reply, VPR_OK, c.locallen > 0 ?
	    (struct sockaddr *)&c.local : NULL) == -1) {
		dlog(VPLOG_WARN, "warning", "%s%s: cannot send the %s reply: "
		    "%s", rt, vplog_safe(safe, sizeof(safe), dest),
		    vpreply_proto_name(o->reply), strerror(errno));
		vpdial_close(&c);
		return EX_OSERR;
	}
	dlog(VPLOG_DEBUG, "debug", "%sconnected to %s (%s)%s%s", rt,
	    vplog_safe(safe, sizeof(safe), dest), c.peer,
	    via[0] ? " via " : "", via);

	if (o->connected != NULL)
		o->connected(o->connected_arg);
	memset(&ro, 0, sizeof(ro));
	ro.idle_ms = o->idle_timeout_ms;
	ro.pre = o->early;
	ro.prelen = o->early != NULL ? o->earlylen : 0;
	ro.sigmask = o->sigmask;
	ro.stop = o->stop;
	(void)vpnet_loopback_bufs(in_fd);
	if (out_fd != in_fd)
		(void)vpnet_loopback_bufs(out_fd);
	(void)vpnet_loopback_bufs(c.out);
	rr = vprelay_run(in_fd, out_fd, c.in, c.out, &ro, &st);
	if (st.end == VPRELAY_STOPPED && c.pid > 0)
		kill(c.pid, SIGTERM);
	cst = vpdial_close(&c);
	ms = vpio_now_ms() - t0;
	/*
	 * Failed (the other end reset, say) with bytes still on their way
	 * to our side's socket: closing now, while it still sends, would
	 * reset them away too.
	 */
	if (st.end == VPRELAY_ERROR)
		vpnet_linger(in_fd, out_fd, 1);

	status = 0;
	if (rr == -1 && st.end == VPRELAY_ERROR)
		status = st.err == EPIPE ? EX_UNAVAILABLE : vp_exit_for(st.err);
	if (status == 0 && cst != 0 && st.end != VPRELAY_STOPPED)
		status = cst;
	if (st.end == VPRELAY_ERROR)
		dlog(VPLOG_WARN, "warning", "%s%s%s%s: %llu bytes out, %llu "
		    "bytes in, %lld.%03lld s, error: %s", rt,
		    vplog_safe(safe, sizeof(safe), dest),
		    via[0] ? " via " : "", via,
		    (unsigned long long)st.ab, (unsigned long long)st.ba,
		    (long long)(ms / 1000), (long long)(ms % 1000),
		    strerror(st.err));
	else
		dlog(VPLOG_INFO, "info", "%s%s%s%s: %llu bytes out, %llu "
		    "bytes in, %lld.%03lld s, %s%s", rt,
		    vplog_safe(safe, sizeof(safe), dest),
		    via[0] ? " via " : "", via,
		    (unsigned long long)st.ab, (unsigned long long)st.ba,
		    (long long)(ms / 1000), (long long)(ms % 1000),
		    vprelay_end_str(st.end),
		    cst != 0 ? ", command failed" : "");
	return status;
}

int
vpdial_early_from_env(void **bufp, size_t *lenp, char *err, size_t errlen)
{
	const char *s = getenv("VP_EARLY_FD");
	long long fdl;
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd, w;
	int64_t deadline = vpio_now_ms() + VPDIAL_EARLY_WAIT;

	*bufp = NULL;
	*lenp = 0;
	if (s == NULL || *s == '\0') {
		unsetenv("VP_EARLY_FD");
		return 0;
	}
	if (vpio_parse_num(s, 0, 1 << 20, &fdl) == -1) {
		snprintf(err, errlen, "VP_EARLY_FD is not a descriptor: %.32s",
		    s);
		return -1;
	}
	fd = (int)fdl;
	unsetenv("VP_EARLY_FD");
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > VPDIAL_EARLY_MAX + 1)
				cap = VPDIAL_EARLY_MAX + 1;
			if (len == cap) {
				snprintf(err, errlen, "VP_EARLY_FD: more than "
				    "%d bytes", VPDIAL_EARLY_MAX);
				goto fail;
			}
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "VP_EARLY_FD: %s",
				    strerror(errno));
				goto fail;
			}
			buf = nb;
		}
		/* bounded: a writer that never ends it must not hang us */
		w = vpio_wait(fd, POLLIN, vpio_remaining(deadline));
		if (w == 0) {
			snprintf(err, errlen, "VP_EARLY_FD %d: no end of file "
			    "within %d s", fd, VPDIAL_EARLY_WAIT / 1000);
			goto fail;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == -1) {
			snprintf(err, errlen, "VP_EARLY_FD %d: %s", fd,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += r;
	}
	close(fd);
	if (len == 0) {
		free(buf);
		buf = NULL;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}
