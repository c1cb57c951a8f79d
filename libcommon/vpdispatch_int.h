/*
 * vpdispatch internals shared by vpdispatch.c and vpdispatch_out.c.
 */
#ifndef VPDISPATCH_INT_H
#define VPDISPATCH_INT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "vphttpbody.h"
#include "vpinbound.h"
#include "vpreply.h"
#include "vprules.h"
#include "vpusers.h"

#define CONNECT_MS	10000	/* outbound connect timeout */

/*
 * An exec route of exactly this command is the direct route spelled
 * out: vp-dispatch and the engine both run it as direct (a plain HTTP
 * request then gets 502/504 on a failed connect, as on direct).
 */
#define VPDSP_DIAL_ROUTE	"vp-dial %h %p"

/*
 * vp-dispatch's command line options, read by vp-dispatch itself and by
 * vp-listen's engine. vpdsp_args_opt() takes one option as getopt(3)
 * returned it (with VPDSP_OPTSTR), without side effects: -1 with a
 * sentence in err for a bad value.
 */
#define VPDSP_OPTSTR	":a:C:i:qr:sT:t:v"
struct vpdsp_args {
	const char	*users;		/* -a */
	const char	*compile;	/* -C */
	enum vpin_proto	 forced;	/* -i; VPIN_UNKNOWN: mixed */
	int		 loglevel;	/* -q, -v */
	int		 quiet;		/* -q: wins over -v */
	int		 others;	/* options besides -C, -q, -v */
	const char	*rules;		/* -r */
	int		 sniff;		/* -s */
	int64_t		 req_ms;	/* -T */
	const char	*fixed;		/* -t HOST:PORT */
};
void	vpdsp_args_init(struct vpdsp_args *a);
int	vpdsp_args_opt(struct vpdsp_args *a, int ch, char *arg, char *err,
	    size_t errlen);

/* One connection's state. */
struct vpdsp {
	struct vpin_req	 req;
	enum vpr_proto	 reply;		/* who waits for an answer */
	int		 replied;
	struct vpusers	*users;
	struct vprules	*rules;
	const char	*user;		/* authenticated user */
	const char	*inbound;	/* "socks5", "socks4", "http", "fixed" */
	const char	*protocol;	/* sniffed "tls"/"http" */
	const char	*host;
	unsigned	 port;
	const char	*route;
	enum vprules_kind kind;
	const char	*arg;
	char		 sniffed[256];
	unsigned char	*pre;		/* bytes the outbound gets first */
	size_t		 prelen;
	int		 framed;	/* a plain HTTP request: body below */
	int		 bodymore;	/* bytes came after it (dropped) */
	struct vphb	 body;		/* where its body ends */
};

extern struct vpdsp vpdsp;

void	vpdsp_linger_close(void);
int	vpdsp_answer(enum vpr_class c, const struct sockaddr *bound);
void	vpdsp_fail(enum vpr_class c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/*
 * vpdsp_resume(): the route's outbound (reject, blackhole, exec,
 * exec-early, socks5, direct) takes the connection, as at the end of
 * vp-dispatch. For vp-listen's engine: call it in a forked child with
 * the client socket on fd 0 and 1, the UCSPI environment set, and vpdsp
 * filled in (req, reply, replied, user, inbound, protocol, host, port,
 * route, kind, arg, sniffed, pre by vpdsp_add_pre, users, rules).
 */
void	vpdsp_resume(void) __attribute__((noreturn));

/* vpdispatch_out.c */
void	vpdsp_add_pre(const void *p, size_t n);
void	vpdsp_frame(void);
void	vpdsp_run_direct(void) __attribute__((noreturn));
void	vpdsp_run_exec(int early) __attribute__((noreturn));
void	vpdsp_run_socks5(void) __attribute__((noreturn));

#endif
