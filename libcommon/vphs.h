/*
 * vphs: the server side of a proxy handshake (SOCKS5 with RFC 1929
 * auth, SOCKS4/4a, HTTP CONNECT and absolute-form plain HTTP) as a
 * state machine that never blocks, never reads or writes a descriptor,
 * never exits and never logs. vp-dispatch's blocking reader and
 * vp-listen's event-loop engine (vpengine) both drive it.
 *
 * The caller keeps the bytes received so far in a buffer and calls
 * vphs_step() whenever more arrived (or at end of input with eof set).
 * Each call consumes a prefix of the buffer (*used) that belongs to the
 * handshake; bytes past the request are the client's early data and
 * are never consumed. Bytes the caller must send to the client now
 * (SOCKS5 method selection, RFC 1929 status, or a failure reply) are
 * appended to h->out (h->outlen); the caller sends and clears them.
 *
 *   VPHS_MORE   need more bytes (send h->out first, if any)
 *   VPHS_DONE   the request is in h->req / h->reply / h->user /
 *               h->inbound; the success/failure reply to the request is
 *               the caller's (vpreply_encode with h->reply)
 *   VPHS_FAIL   refused: send h->out (may be empty), then end our side
 *               and drain the client briefly (linger) before closing;
 *               h->exit is the status vp-dispatch exits with, h->why
 *               the log line, h->loglevel how loudly to log it
 *   VPHS_CLOSE  close without a reply (EOF, unknown protocol, a
 *               request too large to answer; h->out may still hold
 *               what the stages completed in this call answered, e.g.
 *               05 00: send it first); h->exit and h->why set
 *               (exit 0 for a connect-and-close: EOF before any byte
 *               of the current stage; why still says so, at INFO)
 *
 * On VPHS_MORE, *used covers only the stages that completed (e.g. the
 * SOCKS5 greeting); the bytes of the stage still incomplete are left
 * unconsumed, and the caller passes them again with what follows.
 *
 * The caller's buffer must hold at least VPHS_BUFMAX bytes. vphs_step()
 * never returns VPHS_MORE with VPHS_BUFMAX or more unconsumed bytes: a
 * stage that would need more ends the handshake itself (CLOSE, "request
 * too large", EX_DATAERR), so after removing *used bytes the caller
 * always has room to read more.
 *
 * Not checked here (the caller's, in this order in vp-dispatch): a
 * configuration error (answer VPR_GENERAL, exit 78), then
 * vpep_host_ok(h->req.host) (answer VPR_NONAME). A plain HTTP request's
 * rewritten head (h->req.head) is the caller's to send to the origin
 * first. Timeouts and read errors are the caller's too; vphs_what()
 * names the stage for their log lines ("socks5 auth: request timed
 * out").
 */
#ifndef VPHS_H
#define VPHS_H

#include <stddef.h>

#include "vpinbound.h"
#include "vpreply.h"
#include "vpusers.h"

/* The smallest buffer a caller may use (vp-dispatch's own). */
#define VPHS_BUFMAX	(VPIN_HEADMAX + 1024)

enum vphs_status {
	VPHS_MORE = 0,
	VPHS_DONE,
	VPHS_FAIL,
	VPHS_CLOSE
};

struct vphs_conf {
	enum vpin_proto		 forced;	/* -i; VPIN_UNKNOWN = mixed */
	const struct vpusers	*users;		/* NULL: no authentication */
};

struct vphs {
	/* private: where the handshake is */
	int			 stage;
	unsigned		 methods;
	/* the outcome */
	struct vpin_req		 req;		/* host, port, head, ... */
	enum vpr_proto		 reply;		/* who waits for an answer */
	const char		*user;		/* authenticated user or NULL */
	const char		*inbound;	/* "socks5", "socks4", "http" */
	int			 exit;		/* FAIL/CLOSE: exit status */
	int			 loglevel;	/* FAIL/CLOSE: VPLOG_INFO/WARN */
	char			 why[160];	/* FAIL/CLOSE: log line */
	int			 parsefail;	/* FAIL/CLOSE: the client's
						   bytes ended it (a parser
						   refused them, EOF, too
						   large), not a policy
						   (methods, auth, SOCKS4
						   with users) nor an
						   unknown protocol */
	unsigned char		 out[VPREPLY_MAX];
	size_t			 outlen;
	size_t			 outstages;	/* FAIL/CLOSE: out[0..
						   outstages) answers
						   stages completed in
						   this call (05 00, ...);
						   the refusal follows */
};

/* vphs_init(): starts a handshake (zeroes h). */
void	vphs_init(struct vphs *h);

/*
 * vphs_step(): advances the handshake over buf[0..len); eof: the client
 * has ended its side and no more bytes will come. *used is how many
 * bytes of buf the handshake consumed (the caller removes them from its
 * buffer). Returns a VPHS_ status as above. After DONE, FAIL or CLOSE
 * it must not be called again. The password is wiped from h->req once
 * checked. Call vphs_free() in every case.
 */
int	vphs_step(struct vphs *h, const struct vphs_conf *c,
	    const unsigned char *buf, size_t len, int eof, size_t *used);

/*
 * vphs_what(): the stage the handshake is in, for log lines: "request"
 * (protocol not known yet), "socks5 greeting", "socks5 auth", "socks5
 * request", "socks4 request" or "http request".
 */
const char *vphs_what(const struct vphs *h);

/* vphs_free(): frees what the parsers allocated (vpin_free). */
void	vphs_free(struct vphs *h);

#endif
