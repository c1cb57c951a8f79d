/*
 * vpengine: vp-listen's connection engine. When the program vp-listen
 * runs for each connection is its sibling vp-dial or vp-dispatch (see
 * vpapplet.h), one long-lived child process, the engine, serves every
 * connection in an event loop instead of a process per connection:
 *
 *   vp-dial HOST PORT     connect (names resolved off the loop, the
 *                         happy-eyeballs race of vpnet), then relay
 *                         with splice(2);
 *   vp-dispatch ...       the proxy handshake (vphs), sniffing, the
 *                         rules, and the direct route in the loop; any
 *                         other route (exec, exec-early, socks5) runs
 *                         in a child forked from the engine, exactly as
 *                         vp-dispatch runs it.
 *
 * vp-listen keeps accepting, the PROXY header, the limits and the
 * per-source accounting; it passes each connection's socket over a
 * SOCK_SEQPACKET control socket (SCM_RIGHTS) with its id and PROXY
 * addresses, and the engine answers with the id once the connection
 * has ended. When vp-listen exits (SIGTERM), the engine finishes the
 * connections it has and then exits: inetd semantics, as with a
 * process per connection.
 *
 * The engine process exits; nothing else here does.
 */
#ifndef VPENGINE_H
#define VPENGINE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "vpinbound.h"

enum vpeng_kind {
	VPENG_NONE = 0,
	VPENG_DIAL,
	VPENG_DISPATCH
};

/*
 * Descriptors the engine holds: about this many per connection (client,
 * upstream, a pipe each way) on top of a base (its own, pooled pipes).
 */
/* vp-listen's connection number is the low bits of an id it passes */
#define VPENGINE_ID_SHIFT	40
#define VPENGINE_CONN_NO(id)	\
	((unsigned long long)((id) & ((1ull << VPENGINE_ID_SHIFT) - 1)))

#define VPENGINE_FDS_PER_CONN	6
#define VPENGINE_FDS_BASE	160
#define VPENGINE_FDS_RESERVE	24	/* for connects to many addresses */
/*
 * How many connections the engine takes at once under a descriptor
 * limit of n (it stops reading its control socket at that many: the
 * others wait in vp-listen, as over -c); 0: too few descriptors.
 */
#define VPENGINE_MAXLIVE(n)						\
	((n) > VPENGINE_FDS_BASE + VPENGINE_FDS_RESERVE ?		\
	((n) - VPENGINE_FDS_BASE - VPENGINE_FDS_RESERVE) /		\
	VPENGINE_FDS_PER_CONN : 0)

struct vpeng_conf {
	enum vpeng_kind	 kind;
	int		 loglevel;	/* the program's -q/-v */
	/* vp-dial HOST PORT */
	const char	*host;
	unsigned	 port;
	int		 family;	/* -4/-6 */
	int		 connect_ms;	/* -w */
	int		 idle_ms;	/* -i; 0 none */
	/* vp-dispatch */
	enum vpin_proto	 forced;	/* -i */
	const char	*users;		/* -a */
	const char	*rules;		/* -r */
	int		 sniff;		/* -s */
	int64_t		 req_ms;	/* -T */
	const char	*fixed;		/* -t HOST:PORT */
	char		 fixed_host[256];
	unsigned	 fixed_port;
};

/*
 * vpengine_conf(): whether the engine can serve "argv[0] argv[1]..."
 * (argv[0] names vp-dial or vp-dispatch, already known to be our
 * sibling) with the environment as it is; fills c and returns 0, or
 * returns -1 with the reason in why (the program then runs in a
 * process per connection, which reports bad arguments itself).
 */
int	vpengine_conf(char *const argv[], struct vpeng_conf *c, char *why,
	    size_t whylen);

/*
 * vpengine_start(): forks the engine. listen_fds (n of them) are closed
 * in the engine; changed: the signals whose dispositions vp-listen
 * changed (reset in the engine). Returns the engine's pid and its
 * control socket in *ctl (non-blocking, close-on-exec), or -1.
 */
pid_t	vpengine_start(const struct vpeng_conf *c, const int *listen_fds,
	    size_t n, const sigset_t *changed, int *ctl);

/*
 * vpengine_pass(): hands connection fd (with vp-listen's id; src and
 * dst the PROXY protocol addresses or NULL; loopback: the socket's
 * peer is a loopback TCP address) to the engine without blocking. Returns 0 (the caller closes its fd), or -1 with errno
 * (EAGAIN: the engine is behind; run the connection another way).
 */
int	vpengine_pass(int ctl, uint64_t id, int fd,
	    const struct sockaddr_storage *src,
	    const struct sockaddr_storage *dst, int loopback);

/*
 * vpengine_done(): connections the engine has finished, up to n of
 * them: their ids, and in status what vp-dial or vp-dispatch would have
 * exited with (a negative number: killed by that signal). Returns the
 * count (0: none ready), or -1 when the engine has gone (end of file or
 * an error on ctl).
 */
int	vpengine_done(int ctl, uint64_t *ids, int *status, size_t n);

#endif
