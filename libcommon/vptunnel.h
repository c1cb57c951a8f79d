/*
 * vptunnel: the tunnel and stream state machines of vproxy's frame
 * protocol (wire-spec.md Part 1), with vp's negotiated flow-control
 * extension. Transport-agnostic: bytes from the link go in through
 * vpt_input(), frames leave through two callbacks (room/output, bound
 * to a vplink by the program), and everything that happens to a stream
 * is reported through callbacks. Time is passed in (ms), so keepalive
 * and timeouts run on a fake clock in tests.
 *
 * Tunnel states: INIT -> HANDSHAKE_SENT (client sent SETTINGS) -> READY
 * (the peer's SETTINGS arrived; a server is READY when it answered the
 * client's) -> DEAD (GOAWAY sent or received, keepalive or handshake
 * timeout, link failure). vpt_reason() says why.
 *
 * Stream states (vpt_stream_next() is the whole table, one pure
 * function): NONE -> SYN_SENT (client sent SYN) -> ESTABLISHED (client:
 * SYN-ACK; server: SYN) -> FIN_SENT / FIN_RECV -> DEAD (both FINs, or
 * RST) -> REAL_CLOSED (the program released its side; the stream is
 * freed).
 *
 * The extension ("extended mode"): a vp client offers a SETTINGS frame
 * with the VPF_SET_* parameters (vpframe.h). A vp server that accepts
 * answers with its own non-empty SETTINGS; then both sides enforce
 * flow control: a sender keeps, per stream and per tunnel, the bytes
 * of DATA payload it sent minus the WINDOW_UPDATE increments it got
 * under the window the receiver announced; a receiver returns stream
 * credit as the program consumes bytes (deliver() took them, or
 * vpt_consume(): for vp-tunnel, written into the local socket, whose
 * kernel buffers are not counted; so a stalled reader holds at most
 * one stream window here) and tunnel credit as bytes leave the
 * tunnel's buffers: delivered, consumed, discarded, or dropped with a
 * released stream (so all buffers together stay under the tunnel
 * window, and stalled streams block the others only once they hold the
 * whole tunnel window: tunnel_window / stream_window of them at full
 * windows). An empty SETTINGS reply
 * (a plain peer) means plain mode: no credit, no WINDOW_UPDATE; the
 * receive side then bounds each stream's buffer at plain_buf bytes and
 * resets a stream that exceeds it (it never stops reading the link,
 * which would stall every stream). A vproxy server answers an extended
 * offer with GOAWAY: vpt_ext_refused() tells the program to reconnect
 * and offer plain.
 *
 * DATA with vproxy's flag 0x4 carries one gzip member; it is inflated
 * (zlib) into the stream, and what it inflates to counts against the
 * same per-stream bounds (a frame that inflates past them resets the
 * stream). A member that is corrupt, truncated or followed by bytes
 * fails the tunnel ("bad compressed DATA"), as vproxy does. vp never
 * sends 0x4.
 *
 * Nothing here exits, logs or does I/O.
 */
#ifndef VPTUNNEL_H
#define VPTUNNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vpframe.h"

enum vpt_role { VPT_CLIENT = 1, VPT_SERVER };

enum vpt_tstate {
	VPT_INIT = 0,
	VPT_HANDSHAKE_SENT,
	VPT_READY,
	VPT_DEAD
};

enum vpt_sstate {
	VPS_NONE = 0,
	VPS_SYN_SENT,
	VPS_ESTABLISHED,
	VPS_FIN_SENT,
	VPS_FIN_RECV,
	VPS_DEAD,
	VPS_REAL_CLOSED,
	VPS_NSTATES
};

enum vpt_sev {
	VPS_EV_SEND_SYN = 0,
	VPS_EV_RECV_SYN,	/* server: HEADERS without flags */
	VPS_EV_RECV_SYNACK,	/* client: HEADERS without flags */
	VPS_EV_SEND_DATA,
	VPS_EV_RECV_DATA,
	VPS_EV_SEND_FIN,
	VPS_EV_RECV_FIN,
	VPS_EV_SEND_RST,
	VPS_EV_RECV_RST,
	VPS_EV_CLOSE,		/* the program released the stream */
	VPS_NEVENTS
};

/* What vpt_stream_next() says to do with an event. */
enum vpt_act {
	VPS_OK = 0,	/* take the transition */
	VPS_IGNORE,	/* drop the frame, state unchanged */
	VPS_RESET,	/* a stream protocol error: send RST, stream DEAD */
	VPS_BUG		/* a local action not allowed now (caller error) */
};

/*
 * The stream state table. Returns the action for event ev in state st
 * for role; when it is VPS_OK, *next is the new state.
 */
enum vpt_act vpt_stream_next(enum vpt_role role, enum vpt_sstate st,
	    enum vpt_sev ev, enum vpt_sstate *next);

const char *vpt_sstate_name(enum vpt_sstate);
const char *vpt_tstate_name(enum vpt_tstate);

struct vptun;

struct vpt_stream {
	uint32_t	 id;
	uint8_t		 state;		/* enum vpt_sstate */
	uint8_t		 fin_pending;	/* peer FIN arrived, data still buffered */
	uint8_t		 gzip;		/* current frame is compressed */
	int64_t		 credit;	/* send credit (extended mode) */
	uint32_t	 unacked;	/* consumed bytes not yet credited */
	uint64_t	 synq;		/* client: where its queued SYN ends */
	uint8_t		*rbuf;		/* received, not yet consumed (lazy) */
	uint32_t	 roff, rlen, rcap;
	void		*user;		/* the program's */
	struct vpt_stream *prev, *next;	/* all streams of the tunnel */
};

struct vpt_config {
	enum vpt_role	role;
	int		extended;	/* client: offer; server: accept */
	uint32_t	stream_window;	/* our receive window per stream */
	uint32_t	tunnel_window;	/* our receive window per tunnel */
	uint32_t	max_streams;	/* concurrent streams we accept */
	uint32_t	max_frame;	/* largest payload we accept (plain: */
					/* 0 = any 24-bit length) */
	uint32_t	send_frame;	/* largest payload we send */
	uint32_t	plain_buf;	/* per-stream buffer cap, plain mode */
	uint32_t	plain_total;	/* all streams' buffers, plain mode */
	int64_t		handshake_ms;	/* handshake timeout */
	int64_t		ka_interval_ms;	/* keepalive tick (vproxy: 10 s/30 s) */
	int64_t		ka_idle_ms;	/* PING only after this long without input */
	int64_t		ka_timeout_ms;	/* PING answer timeout */
	uint32_t	first_sid;	/* client: first stream id, odd (0: 1); */
					/* tests start near the end of the ids */
};

/* Fills c with the defaults for role (vproxy's timings, 256 KiB windows). */
void	vpt_config_default(struct vpt_config *c, enum vpt_role role);

struct vpt_cb {
	void	*arg;
	/* Link room in bytes now, and output of whole frames (returns bytes taken). */
	size_t	(*room)(void *arg);
	ssize_t	(*output)(void *arg, const void *p, size_t n);
	/* Server: a SYN. 0 accepts (SYN-ACK is sent), -1 refuses (RST). */
	int	(*accept)(void *arg, struct vpt_stream *s);
	/* Client: the SYN-ACK arrived. */
	void	(*established)(void *arg, struct vpt_stream *s);
	/*
	 * Payload for s while nothing is buffered: the program may write it
	 * straight out and returns how many bytes it took (the rest is
	 * buffered in s->rbuf). NULL: always buffer.
	 */
	size_t	(*deliver)(void *arg, struct vpt_stream *s, const uint8_t *p,
		    size_t n);
	/* The peer's FIN, after every byte before it was delivered or buffered. */
	void	(*fin)(void *arg, struct vpt_stream *s);
	/*
	 * s was reset (peer RST, protocol error, tunnel death). why stays
	 * valid while the tunnel lives.
	 */
	void	(*reset)(void *arg, struct vpt_stream *s, const char *why);
	/* A non-fatal protocol event worth a log line (may be NULL). */
	void	(*notice)(void *arg, const char *msg);
	/*
	 * Bytes the link took but has not sent yet (may be NULL: none).
	 * No PING is sent while it is not 0: queued behind bulk data on a
	 * slow link it would miss its answer deadline (wire-spec 1.6:
	 * PING only when nothing is queued to write).
	 */
	size_t	(*pending)(void *arg);
};

/*
 * Callbacks run inside vpt_input()/vpt_tick()/vpt_goaway(); they must
 * not call vpt_release() or vpt_free() (mark the stream and release it
 * after the call returns). Other vpt_* calls are fine.
 */

/*
 * Creates a tunnel. A client sends its SETTINGS at once (state
 * HANDSHAKE_SENT); a server waits. Returns NULL with errno on failure.
 */
struct vptun *vpt_new(const struct vpt_config *c, const struct vpt_cb *cb,
	    int64_t now);
/* Frees the tunnel and every stream left (no callbacks). */
void	vpt_free(struct vptun *t);

/*
 * Feeds n bytes that arrived from the link. Returns 0, or -1 when the
 * tunnel failed (it is DEAD: a GOAWAY is queued unless the peer sent
 * one, every stream was reset; vpt_reason()).
 */
int	vpt_input(struct vptun *t, const uint8_t *p, size_t n, int64_t now);
/* The link reached EOF or failed: the tunnel dies, streams are reset. */
void	vpt_link_down(struct vptun *t, const char *why);
/* Pushes queued control frames to the link. Returns bytes still queued. */
size_t	vpt_flush(struct vptun *t);
/* Ms until vpt_tick() is due (0: now), or -1 for no timer. */
int64_t	vpt_next_timeout(struct vptun *t, int64_t now);
/* Runs the handshake timeout and keepalive; may kill the tunnel. */
void	vpt_tick(struct vptun *t, int64_t now);
/* Whether the program should keep reading the link. */
int	vpt_want_read(struct vptun *t);
/*
 * Whether any stream could send now as far as the tunnel goes (READY,
 * no control frames waiting, link room, tunnel credit). A program that
 * caches per-stream readiness rechecks every stream when this changes.
 */
int	vpt_send_ok(struct vptun *t);
/*
 * Sets a callback run (with the vpt_cb arg) when a stream's send credit
 * comes back after it ran out (a WINDOW_UPDATE). NULL: none.
 */
void	vpt_on_credit(struct vptun *t,
	    void (*fn)(void *arg, struct vpt_stream *s));

/* Sends GOAWAY with reason and kills the tunnel (streams are reset). */
void	vpt_goaway(struct vptun *t, const char *reason);

enum vpt_tstate vpt_state(const struct vptun *t);
int	vpt_extended(const struct vptun *t);	/* extension in use */
int	vpt_ext_refused(const struct vptun *t);	/* GOAWAY answered our offer */
const char *vpt_reason(const struct vptun *t);	/* why DEAD, or "" */
int	vpt_peer_goaway(const struct vptun *t);	/* the peer sent GOAWAY */
uint32_t vpt_nstreams(const struct vptun *t);
size_t	vpt_buffered(const struct vptun *t);	/* bytes in all rbufs */
struct vpt_stream *vpt_first(struct vptun *t);	/* iterate with ->next */

/*
 * Client: opens a stream (SYN queued; state SYN_SENT). Returns NULL
 * with errno EAGAIN before READY, EPIPE when DEAD, EMFILE at the peer's
 * stream limit, ENOSPC when stream ids are used up, ENOBUFS while the
 * control queue holds 16 KiB the link did not take (a stalled peer:
 * retry once it drains; this bounds the queue), ENOMEM. A stream
 * reset or released while its SYN is still the last thing queued
 * takes the SYN back and sends no RST: the peer never sees it.
 */
struct vpt_stream *vpt_open(struct vptun *t, void *user);

/*
 * Payload bytes s may send now: limited by the state, the credits, the
 * frame size and the link's room (0 while control frames wait). A
 * client may send in SYN_SENT (the peer creates the stream on the SYN
 * and the link keeps order, wire-spec 1.5), but must not send FIN
 * before the SYN-ACK: vproxy then kills the stream.
 */
size_t	vpt_send_room(struct vptun *t, struct vpt_stream *s);
/*
 * Sends frame[VPF_HDRLEN .. VPF_HDRLEN+n) as one DATA frame (the
 * header is written into frame[0..9)); n <= vpt_send_room(). Returns
 * 0, or -1 (EINVAL n too large / state does not allow it).
 */
int	vpt_send(struct vptun *t, struct vpt_stream *s, uint8_t *frame,
	    size_t n);
/* Sends FIN (half-close). 0, or -1 EINVAL if the state does not allow it. */
int	vpt_send_fin(struct vptun *t, struct vpt_stream *s);
/* Sends RST; the stream becomes DEAD. */
void	vpt_send_rst(struct vptun *t, struct vpt_stream *s);

/* Buffered bytes of s: *p and the count (0: empty). */
size_t	vpt_peek(struct vpt_stream *s, const uint8_t **p);
/* n buffered bytes were written out: frees them, returns credit. */
void	vpt_consume(struct vptun *t, struct vpt_stream *s, size_t n);

/*
 * The program is done with s (its local side is closed): an RST is sent
 * if the stream is not DEAD yet, then s is freed. Always valid once.
 */
void	vpt_release(struct vptun *t, struct vpt_stream *s);

#endif
