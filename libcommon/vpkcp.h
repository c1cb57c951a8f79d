/*
 * vpkcp: a KCP engine (ARQ over datagrams), segment-compatible with
 * ikcp as wire-spec.md Part 2 describes: 24-byte little-endian header
 * (conv, cmd, frg, wnd, ts, sn, una, len), PUSH/ACK/WASK/WINS, several
 * segments per datagram, fast retransmit, RTO estimation, window
 * probing, optional congestion window.  Stream mode (vpkcp_send,
 * vpkcp_recv: frg 0, one byte stream, a peer's frg ignored) and message
 * mode (vpkcp_send_msg, vpkcp_recv_msg: frg counts a message's
 * fragments down to 0, messages keep their boundaries).
 *
 * Memory is allocated once at creation: the send and receive windows
 * are rings of fixed-size slots indexed by sn, so acknowledgement,
 * insertion and delivery cost O(1) and nothing is allocated per
 * segment.  Time is a caller-supplied 32-bit millisecond clock and is
 * compared only through signed differences, so it may wrap.
 *
 * Nothing here does I/O: datagrams leave through the output callback
 * and arrive through vpkcp_input().  Nothing here exits or logs.
 */
#ifndef VPKCP_H
#define VPKCP_H

#include <stddef.h>
#include <stdint.h>

#define VPKCP_OVERHEAD	24
#define VPKCP_CMD_PUSH	81
#define VPKCP_CMD_ACK	82
#define VPKCP_CMD_WASK	83
#define VPKCP_CMD_WINS	84

#define VPKCP_MTU_MIN	64
#define VPKCP_MTU_MAX	65000
#define VPKCP_WND_MAX	32768

/* vpkcp_input() results (negative). */
#define VPKCP_ECONV	-1	/* segment with another conv: rest dropped */
#define VPKCP_ELEN	-2	/* len beyond the datagram */
#define VPKCP_ECMD	-3	/* unknown cmd */
#define VPKCP_ESHORT	-4	/* shorter than one header */

struct vpkcp;

/*
 * Called with each datagram to send (len <= mtu).  The return value
 * is ignored: a datagram that cannot be sent is simply lost and
 * retransmitted later.
 */
typedef void vpkcp_output_fn(const uint8_t *buf, size_t len, void *arg);

struct vpkcp_config {
	int	nodelay;	/* 0 normal RTO growth, 1 x1.5, 2 +rx_rto/2 */
	int	interval;	/* flush period, ms, 1..5000 */
	int	resend;		/* fast retransmit after this many skips, 0 off */
	int	nc;		/* 1: no congestion window */
	int	sndwnd;		/* send window, segments */
	int	rcvwnd;		/* receive window, segments */
	int	mtu;		/* datagram size for KCP (after any crypto) */
	int	minrto;		/* ms */
	int	maxrto;		/* cap on any segment's RTO, ms */
	int	deadlink;	/* retransmissions of one segment = dead */
	int	fastlimit;	/* fast retransmits allowed per segment, <=0 any */
};

/* Fills c with defaults matching kcptun's "fast3" profile. */
void	vpkcp_config_default(struct vpkcp_config *c);
/*
 * Applies a named profile (normal, fast, fast2, fast3) on top of c.
 * Returns 0, or -1 for an unknown name.
 */
int	vpkcp_config_profile(struct vpkcp_config *c, const char *name);
/* Checks ranges; returns 0, or -1 with a reason in err. */
int	vpkcp_config_check(const struct vpkcp_config *c, char *err,
	    size_t errlen);

/*
 * Creates an engine for conversation conv.  now is the current clock.
 * Returns NULL on allocation failure or bad configuration (errno).
 */
struct vpkcp *vpkcp_new(uint32_t conv, const struct vpkcp_config *c,
	    vpkcp_output_fn *out, void *arg, uint32_t now);
void	vpkcp_free(struct vpkcp *k);

/*
 * Feeds one received datagram.  Every segment is parsed until the end
 * or a bad one.  Returns 0, or a negative VPKCP_E* code (segments
 * before the bad one have been applied).  Call vpkcp_flush() after a
 * batch of inputs: it sends the ACKs (packed several per datagram) and
 * the data the ACKs released.
 */
int	vpkcp_input(struct vpkcp *k, const uint8_t *buf, size_t len,
	    uint32_t now);

/*
 * Queues bytes to send (stream mode).  Returns the count accepted,
 * which is less than len when the send buffer is full (possibly 0).
 */
size_t	vpkcp_send(struct vpkcp *k, const void *buf, size_t len);
/*
 * Queues one message (message mode): up to 255 segments, frg counting
 * down.  Returns 0, or -1 with errno EMSGSIZE (too long) or EAGAIN (no
 * room now).  The peer's receive window must hold the whole message.
 */
int	vpkcp_send_msg(struct vpkcp *k, const void *buf, size_t len);
/* Bytes vpkcp_send() would accept now. */
size_t	vpkcp_writable(const struct vpkcp *k);
/*
 * Copies up to len received in-order bytes into buf.  Returns the
 * count, 0 if nothing is readable.
 */
size_t	vpkcp_recv(struct vpkcp *k, void *buf, size_t len);
/*
 * Copies the next whole message into buf (message mode).  Returns its
 * size, or -1 with errno EAGAIN (incomplete), EMSGSIZE (buf too small;
 * the message stays) or EINVAL (after a partial stream read).
 */
long	vpkcp_recv_msg(struct vpkcp *k, void *buf, size_t len);
/* Bytes readable now. */
size_t	vpkcp_readable(const struct vpkcp *k);

/*
 * Runs timers: flushes when the interval has elapsed (and always
 * emits pending ACKs).  Call at least when vpkcp_check() says.
 */
void	vpkcp_update(struct vpkcp *k, uint32_t now);
/* Sends what can be sent now (new data, due retransmits, ACKs). */
void	vpkcp_flush(struct vpkcp *k, uint32_t now);
/*
 * Sends every unacknowledged segment again now, neither counting a loss
 * nor growing its RTO: for when the peer is known to have dropped them
 * (keyed mode: before the server's cookie round trip).
 */
void	vpkcp_resend_now(struct vpkcp *k, uint32_t now);
/* Returns the clock value at which vpkcp_update() next has work. */
uint32_t vpkcp_check(const struct vpkcp *k, uint32_t now);

/* 1 when some segment was retransmitted deadlink times, else 0. */
int	vpkcp_dead(const struct vpkcp *k);
/* Segments sent but not yet acknowledged plus those queued. */
size_t	vpkcp_waitsnd(const struct vpkcp *k);
uint32_t vpkcp_conv(const struct vpkcp *k);
/* Reads the conv field of a datagram; 0 and -1 if shorter than 24. */
int	vpkcp_peek_conv(const uint8_t *buf, size_t len, uint32_t *conv);

/*
 * For tests: starts the send and receive sequence numbers at snd and
 * rcv (default 0).  Only before any traffic.
 */
void	vpkcp_set_seq(struct vpkcp *k, uint32_t snd, uint32_t rcv);

struct vpkcp_stats {
	uint64_t	out_segs, out_bytes, retrans, fast_retrans, lost;
	uint64_t	in_segs, in_bytes, dup_segs;
	int		srtt, rttvar, rto, cwnd, rmt_wnd;
};
void	vpkcp_get_stats(const struct vpkcp *k, struct vpkcp_stats *st);

#endif
