/*
 * vphttpbody: where an HTTP/1.1 request's message body ends (RFC 9112
 * 6, 7.1), for a proxy that forwards exactly one request and nothing
 * after it.
 *
 * A struct vphb is set up from the framing the request head declared
 * (none, Content-Length N, or chunked) and then fed the client's bytes
 * as they arrive, in pieces of any size: vphb_feed() says how many of
 * them belong to the request (body data, chunk-size lines, chunk
 * CRLFs, the trailer section) and vphb_done() when the request is
 * complete; bytes past that are not the request's. Malformed chunked
 * framing (a bad hex digit, a size past 2^60, a missing CRLF, a bare
 * LF, a control byte, a trailer line that is not "token: value", a
 * chunk-size line over VPHB_LINEMAX or a trailer section over
 * VPHB_TRAILMAX) is an error, and stays one.
 *
 * No allocation, no I/O, no logging; the state is a plain struct that
 * may be copied (to try a feed and take it back).
 */
#ifndef VPHTTPBODY_H
#define VPHTTPBODY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VPHB_LINEMAX	4096		/* chunk-size line with extensions */
#define VPHB_TRAILMAX	16384		/* trailer section */
#define VPHB_SIZEMAX	(UINT64_C(1) << 60)	/* largest chunk accepted */

enum vphb_frame {
	VPHB_NONE = 0,		/* no body: the head is the request */
	VPHB_LENGTH,		/* Content-Length */
	VPHB_CHUNKED		/* Transfer-Encoding: ..., chunked */
};

struct vphb {
	int		 state;
	uint64_t	 left;		/* data bytes left (length, chunk) */
	size_t		 line;		/* bytes in the current line */
	size_t		 trail;		/* bytes of trailer section */
	int		 digits;	/* hex digits of the chunk size */
};

/* vphb_init(): a request with framing f (len: its Content-Length). */
void	vphb_init(struct vphb *b, enum vphb_frame f, uint64_t len);

/*
 * vphb_feed(): the next n bytes from the client. Returns how many of
 * them belong to the request (all n unless it completes within them),
 * or -1 when the framing is malformed (then, and after, always -1).
 */
ssize_t	vphb_feed(struct vphb *b, const void *buf, size_t n);

/*
 * vphb_begin(): vphb_init(), then the n bytes that came with the head
 * (buf). Returns how many of them are the request's (0 when malformed:
 * then vphb_failed()); *more is set to 1 when bytes came after it.
 */
size_t	vphb_begin(struct vphb *b, enum vphb_frame f, uint64_t len,
	    const void *buf, size_t n, int *more);

/*
 * vphb_raw(): how many of the next bytes are body data that need not
 * be looked at (they may be moved without a copy, then counted with
 * vphb_skip()); 0 when framing bytes come next or the request is done.
 */
uint64_t vphb_raw(const struct vphb *b);

/* vphb_skip(): counts n <= vphb_raw() data bytes as passed. */
void	vphb_skip(struct vphb *b, uint64_t n);

/* vphb_done(): 1 when the request is complete, else 0. */
int	vphb_done(const struct vphb *b);

/* vphb_failed(): 1 after malformed framing, else 0. */
int	vphb_failed(const struct vphb *b);

#endif
