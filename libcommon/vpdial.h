/*
 * vpdial: the whole outbound as one library call, so vp-dispatch can
 * run its "direct" route in process and vp-dial is a thin main().
 *
 * vpdial_run() = connect (TCP with happy eyeballs, a unix socket, or a
 * command's stdin/stdout; directly or through a chain of SOCKS5/SOCKS4a
 * /HTTP proxies), answer the waiting client (VP_REPLY: success with the
 * bound address, or the precise failure code), send the early data,
 * relay, and log one line per connection: route, destination, bytes
 * each way, duration, outcome.
 *
 * Unlike the other libcommon modules this one logs (through vplog, as
 * the caller's program name), because its log line is part of the
 * contract. It never exits.
 */
#ifndef VPDIAL_H
#define VPDIAL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stddef.h>

#include "vpendpoint.h"
#include "vpproxyc.h"
#include "vpreply.h"

#define VPDIAL_CONNECT_TIMEOUT	10000	/* ms, when opts say 0 */
#define VPDIAL_EARLY_MAX	(1024 * 1024)	/* VP_EARLY_FD cap */
#define VPDIAL_EARLY_WAIT	10000	/* ms for VP_EARLY_FD to reach EOF */
#define VPDIAL_MAXPROXY		8

struct vpdial_opts {
	/* The destination: host and port (TCP), or else ep. */
	const char	*host;
	unsigned	 port;
	const struct vpendpoint *ep;	/* VPEP_TCP, VPEP_UNIX or VPEP_EXEC */
	/* Upstream proxies, in order (host/port destinations only). */
	const struct vpproxy *proxies;
	size_t		 nproxies;
	int		 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	/* whole connect + handshakes; 0 default */
	int		 connect_timeout_ms;
	int		 idle_timeout_ms;	/* <= 0: none */
	/* answer owed to the client on out_fd */
	enum vpr_proto	 reply;
	const void	*early;		/* sent to the destination first */
	size_t		 earlylen;
	/* route name for the log line, or NULL */
	const char	*route;
	const sigset_t	*sigmask;	/* for the relay's ppoll, or NULL */
	volatile sig_atomic_t *stop;	/* relay ends when it becomes nonzero */
	/* environment of exec: commands, or NULL */
	char *const	*envp;
	/* Called once connected and answered, just before the relay. */
	void		(*connected)(void *);
	void		*connected_arg;
};

/*
 * vp-dial's command line options, read by vp-dial itself and by
 * vp-listen's engine (which must agree with it on every one).
 * vpdial_args_opt() takes one option as getopt(3) returned it (with
 * VPDIAL_OPTSTR) and has no side effects: -1 with a sentence in err for
 * a bad value. -x URLs are only collected; vp-dial parses them.
 */
#define VPDIAL_OPTSTR	":46Fi:qvw:x:"
struct vpdial_args {
	int		 family;	/* -4 -6: AF_INET, AF_INET6, else AF_UNSPEC */
	int		 fdpass;	/* -F */
	int		 quiet, verbose;	/* -q, how many -v */
	int		 idle_ms;	/* -i; 0 none */
	int		 connect_ms;	/* -w */
	char		*proxy[VPDIAL_MAXPROXY];	/* -x, in order */
	size_t		 nproxy;
};
void	vpdial_args_init(struct vpdial_args *a);
int	vpdial_args_opt(struct vpdial_args *a, int ch, char *arg, char *err,
	    size_t errlen);
/* the log level they ask for: -q wins over any -v */
int	vpdial_args_loglevel(const struct vpdial_args *a);

/* A connected outbound: read from in, write to out. */
struct vpdial_conn {
	/* the same socket, or two pipes (exec) */
	int		 in, out;
	pid_t		 pid;		/* exec: the command, else -1 */
	int		 pidfd;		/* exec: its pidfd, or -1 */
	struct sockaddr_storage local;	/* local address (TCP), for replies */
	socklen_t	 locallen;
	char		 peer[128];	/* what we connected to, for logs */
};

/*
 * vpdial_dest_str(): the destination as text ("host:port", "[v6]:port",
 * "unix:/path", "exec:cmd") into buf.
 */
const char *vpdial_dest_str(const struct vpdial_opts *o, char *buf,
	    size_t n);
/* vpdial_via_str(): the proxy chain as "URL,URL" (no passwords), or "". */
const char *vpdial_via_str(const struct vpdial_opts *o, char *buf, size_t n);

/*
 * vpdial_connect(): the connect phase only. Returns 0 with c filled, or
 * -1 with the outcome class in *cls and a sentence in err. Nothing is
 * logged and no reply is sent.
 */
int	vpdial_connect(const struct vpdial_opts *o, struct vpdial_conn *c,
	    enum vpr_class *cls, char *err, size_t errlen);
/*
 * vpdial_close(): closes c; for exec, waits (bounded: SIGTERM after
 * 5 s, SIGKILL 2 s later) and returns the command's exit status (128+N
 * for a signal), else 0.
 */
int	vpdial_close(struct vpdial_conn *c);

/*
 * vpdial_run(): the whole outbound on the client's in_fd/out_fd (they
 * may be the same socket). Returns the exit status for the connection
 * (DESIGN.md sysexits: 0, 68 no such host, 69 refused/unreachable/
 * proxy refused, 75 timeout, 65 bad proxy reply, 71 OS error; an exec:
 * command's own nonzero status). Logs exactly one "fatal: connect to
 * DEST[ via CHAIN]: reason" line on failure, one info line otherwise.
 * SIGPIPE should be ignored by the caller (the relay ignores it while
 * it runs if it is at its default).
 */
int	vpdial_run(const struct vpdial_opts *o, int in_fd, int out_fd);

/*
 * vpdial_early_from_env(): when VP_EARLY_FD=N is set, reads fd N to
 * EOF (at most VPDIAL_EARLY_MAX bytes, within VPDIAL_EARLY_WAIT ms),
 * closes it and unsets the variable. Returns 0 with *buf (malloc'd,
 * NULL if none) and *len, or -1 with a reason in err (bad number, read
 * error, too much data, no EOF in time).
 */
int	vpdial_early_from_env(void **buf, size_t *len, char *err,
	    size_t errlen);

/*
 * vpdial_main(): the whole vp-dial(1) program (options, then vpdial_run).
 * Process-wide state, call once per process: from vp-dial's main(), or
 * in a child vp-listen forked without exec (vpapplet.h).
 */
int	vpdial_main(int argc, char *argv[]);

#endif
