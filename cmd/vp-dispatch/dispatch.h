/*
 * vp-dispatch internals shared by main.c and outbound.c.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <sys/socket.h>

#include <stddef.h>

#include "vpinbound.h"
#include "vpreply.h"
#include "vprules.h"
#include "vpusers.h"

#define CONNECT_MS	10000	/* outbound connect timeout */

/* One connection's state. */
struct dsp {
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
};

extern struct dsp dsp;

void	linger_close(void);
int	answer(enum vpr_class c, const struct sockaddr *bound);
void	fail(enum vpr_class c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/* outbound.c */
void	add_pre(const void *p, size_t n);
void	run_direct(void) __attribute__((noreturn));
void	run_exec(int early) __attribute__((noreturn));
void	run_socks5(void) __attribute__((noreturn));

#endif
