/*
 * vphs: the server side of a proxy handshake as a state machine that
 * never blocks. See vphs.h for the calling convention; the outcomes
 * (bytes sent, exit statuses, log lines) are vp-dispatch's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "vphs.h"
#include "vplog.h"

enum {
	S_FIRST = 0,		/* protocol not known yet */
	S_GREETING,		/* SOCKS5 method negotiation */
	S_AUTH,			/* SOCKS5 RFC 1929 user/password */
	S_REQ5,			/* SOCKS5 request */
	S_REQ4,			/* SOCKS4/4a request */
	S_HTTP,			/* HTTP request head */
	S_END			/* DONE, FAIL or CLOSE returned */
};

static const char *const what[] = {
	"request", "socks5 greeting", "socks5 auth", "socks5 request",
	"socks4 request", "http request", "request"
};

void
vphs_init(struct vphs *h)
{
	memset(h, 0, sizeof(*h));
	h->stage = S_FIRST;
	h->reply = VPRP_NONE;
}

const char *
vphs_what(const struct vphs *h)
{
	if (h->stage < S_FIRST || h->stage > S_END)
		return "request";
	return what[h->stage];
}

void
vphs_free(struct vphs *h)
{
	vpin_free(&h->req);
}

/* Starts the refusal in h->out: what is there answered earlier stages. */
static void
refusal(struct vphs *h)
{
	h->outstages = h->outlen;
}

/* Appends n bytes to h->out (they always fit: at most 4 + a reply). */
static void
put(struct vphs *h, const void *p, size_t n)
{
	if (n > sizeof(h->out) - h->outlen)
		n = sizeof(h->out) - h->outlen;
	memcpy(h->out + h->outlen, p, n);
	h->outlen += n;
}

/* Sets the outcome of a refused or closed handshake; returns st. */
static int end(struct vphs *, int, int, int, const char *, ...)
    __attribute__((format(printf, 5, 6)));

static int
end(struct vphs *h, int st, int status, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
	if (st == VPHS_CLOSE)
		h->outstages = h->outlen;
	h->exit = status;
	h->loglevel = level;
	h->stage = S_END;
	explicit_bzero(h->req.pass, sizeof(h->req.pass));
	return st;
}

/*
 * fail_class(): refuses with the reply for class c to whoever waits
 * (nobody before the SOCKS5 request), logged as "msg: class text".
 * Returns VPHS_FAIL.
 */
static int
fail_class(struct vphs *h, enum vpr_class c, const char *msg)
{
	char rep[VPREPLY_MAX];
	ssize_t n;

	refusal(h);
	n = vpreply_encode(h->reply, c, NULL, rep, sizeof(rep));
	if (n > 0)
		put(h, rep, (size_t)n);
	return end(h, VPHS_FAIL, vpreply_exit(c), VPLOG_INFO, "%s: %s", msg,
	    vpreply_class_str(c));
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

/* A parser refused the current stage's bytes. */
static int
stage_bad(struct vphs *h)
{
	char msg[128];
	const char *w = vphs_what(h);

	h->parsefail = 1;
	if (h->stage == S_AUTH) {
		/*
		 * RFC 1929: the client waits for a status after "05 02"; a
		 * malformed request gets the failure status too (not a bare
		 * close, whose reset could take the "05 02" with it).
		 */
		refusal(h);
		put(h, "\x01\x01", 2);
		return end(h, VPHS_FAIL, EX_DATAERR, VPLOG_INFO, "%s: %s", w,
		    h->req.reason != NULL ? h->req.reason : "bad request");
	}
	switch (h->req.err) {
	case VPIN_E_NONE:
	case VPIN_E_VERSION:
		return end(h, VPHS_CLOSE, EX_DATAERR, VPLOG_INFO, "%s: %s", w,
		    h->req.reason != NULL ? h->req.reason : "request too large");
	case VPIN_E_NOMETHOD:
		refusal(h);
		put(h, "\x05\xff", 2);
		return end(h, VPHS_FAIL, EX_DATAERR, VPLOG_INFO, "%s: %s", w,
		    h->req.reason);
	default:
		(void)snprintf(msg, sizeof(msg), "%s: %s", w, h->req.reason);
		return fail_class(h, inbound_class(h->req.err), msg);
	}
}

/* The current stage is complete: the policy after it. */
static int
stage_done(struct vphs *h, const struct vphs_conf *c)
{
	char msg[160], u[80];
	int ok;

	switch (h->stage) {
	case S_GREETING:
		if (c->users != NULL) {
			if (!(h->methods & (1u << 2))) {
				refusal(h);
				put(h, "\x05\xff", 2);
				return end(h, VPHS_FAIL, vpreply_exit(VPR_AUTH),
				    VPLOG_INFO, "socks5: client offers no "
				    "user/password method");
			}
			put(h, "\x05\x02", 2);
			h->stage = S_AUTH;
			return VPHS_MORE;
		}
		if (!(h->methods & 1u)) {
			refusal(h);
			put(h, "\x05\xff", 2);
			return end(h, VPHS_FAIL, EX_DATAERR, VPLOG_INFO,
			    "socks5: client offers no 'no authentication' method");
		}
		put(h, "\x05\x00", 2);
		h->stage = S_REQ5;
		h->reply = VPRP_SOCKS5;
		return VPHS_MORE;
	case S_AUTH:
		ok = vpusers_check(c->users, h->req.user, h->req.pass);
		explicit_bzero(h->req.pass, sizeof(h->req.pass));
		if (!ok) {
			refusal(h);
			put(h, "\x01\x01", 2);
			return end(h, VPHS_FAIL, vpreply_exit(VPR_AUTH), VPLOG_WARN,
			    "socks5: authentication failed for user '%s'",
			    vplog_safe(u, sizeof(u), h->req.user));
		}
		put(h, "\x01\x00", 2);
		h->user = h->req.user;
		h->stage = S_REQ5;
		h->reply = VPRP_SOCKS5;
		return VPHS_MORE;
	case S_REQ4:
		if (c->users != NULL)
			return fail_class(h, VPR_NOTALLOWED, "socks4: users are "
			    "configured and SOCKS4 cannot authenticate");
		h->user = NULL;	/* the SOCKS4 user id is not authenticated */
		break;
	case S_HTTP:
		if (c->users != NULL) {
			if (!h->req.has_auth)
				return fail_class(h, VPR_AUTH,
				    "http: no Proxy-Authorization");
			ok = vpusers_check(c->users, h->req.user, h->req.pass);
			explicit_bzero(h->req.pass, sizeof(h->req.pass));
			if (!ok) {
				(void)snprintf(msg, sizeof(msg), "http: "
				    "authentication failed for user '%s'",
				    vplog_safe(u, sizeof(u), h->req.user));
				return fail_class(h, VPR_AUTH, msg);
			}
			h->user = h->req.user;
		}
		explicit_bzero(h->req.pass, sizeof(h->req.pass));
		break;
	default:	/* S_REQ5 */
		break;
	}
	h->stage = S_END;
	return VPHS_DONE;
}

/* Enters the first stage of protocol p. */
static void
begin(struct vphs *h, enum vpin_proto p)
{
	switch (p) {
	case VPIN_SOCKS5:
		h->stage = S_GREETING;
		h->reply = VPRP_NONE;	/* no request yet: nothing to answer */
		h->inbound = "socks5";
		break;
	case VPIN_SOCKS4:
		h->stage = S_REQ4;
		h->reply = VPRP_SOCKS4;
		h->inbound = "socks4";
		break;
	default:
		h->stage = S_HTTP;
		h->reply = VPRP_HTTP;
		h->inbound = "http";
		break;
	}
}

int
vphs_step(struct vphs *h, const struct vphs_conf *c,
    const unsigned char *buf, size_t len, int eof, size_t *used)
{
	const unsigned char *b;
	enum vpin_proto p;
	size_t off = 0, n, u;
	int r;

	*used = 0;
	if (buf == NULL)
		len = 0;
	for (;;) {
		b = len > 0 ? buf + off : (const unsigned char *)"";
		n = len - off;
		u = 0;
		switch (h->stage) {
		case S_FIRST:
			if (c->forced != VPIN_UNKNOWN) {
				begin(h, c->forced);
				continue;
			}
			if (n == 0) {
				r = VPIN_MORE;
				break;
			}
			if ((p = vpin_detect(b, n)) == VPIN_UNKNOWN)
				return end(h, VPHS_CLOSE, EX_DATAERR, VPLOG_INFO,
				    "request: unknown protocol");
			begin(h, p);
			continue;
		case S_GREETING:
			r = vpin_socks5_greeting(b, n, &u, &h->methods, &h->req);
			break;
		case S_AUTH:
			r = vpin_socks5_auth(b, n, &u, &h->req);
			break;
		case S_REQ5:
			r = vpin_socks5_request(b, n, &u, &h->req);
			break;
		case S_REQ4:
			r = vpin_socks4(b, n, &u, &h->req);
			break;
		case S_HTTP:
			r = vpin_http(b, n, &u, &h->req);
			break;
		default:
			return end(h, VPHS_CLOSE, EX_SOFTWARE, VPLOG_WARN,
			    "request: handshake stepped after its end");
		}
		if (r == VPIN_BAD)
			return stage_bad(h);
		if (r == VPIN_MORE) {
			if (eof) {
				/* A connect-and-close is a health check. */
				h->parsefail = 1;
				return end(h, VPHS_CLOSE, n == 0 ? 0 : EX_DATAERR,
				    VPLOG_INFO, "%s: client closed the connection",
				    vphs_what(h));
			}
			if (n >= VPHS_BUFMAX) {
				h->parsefail = 1;
				return end(h, VPHS_CLOSE, EX_DATAERR, VPLOG_INFO,
				    "%s: request too large", vphs_what(h));
			}
			return VPHS_MORE;
		}
		off += u;
		*used = off;
		if ((r = stage_done(h, c)) != VPHS_MORE)
			return r;
	}
}
