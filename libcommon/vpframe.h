/*
 * vpframe: vproxy's tunnel frames (wire-spec.md Part 1, §1.3).
 *
 * Every frame is the 9-byte HTTP/2 frame header (RFC 9113 §4.1), all
 * fields big-endian:
 *
 *   len:24 | type:8 | flags:8 | R:1 stream_id:31
 *
 * followed by len payload bytes. vproxy uses DATA, HEADERS, SETTINGS,
 * PING and GOAWAY; vp adds WINDOW_UPDATE, sent only after both ends
 * agreed on the extension in a non-empty SETTINGS (vptunnel.h).
 *
 * The decoder is incremental: feed it any slice of the byte stream and
 * it returns one event at a time. DATA payloads are handed out in
 * pieces as they arrive (pointers into the caller's input), so no frame
 * is ever buffered whole; control frames are small and kept in the
 * decoder (at most VPF_CTLMAX bytes, the rest skipped).
 *
 * Nothing here allocates, exits or logs.
 */
#ifndef VPFRAME_H
#define VPFRAME_H

#include <stddef.h>
#include <stdint.h>

#define VPF_HDRLEN	9
#define VPF_LENMAX	0xffffffu	/* 24-bit length */
#define VPF_SIDMAX	0x7fffffffu

/* Frame types (RFC 9113 §6). */
#define VPF_DATA		0x0
#define VPF_HEADERS		0x1
#define VPF_PRIORITY		0x2
#define VPF_RST_STREAM		0x3
#define VPF_SETTINGS		0x4
#define VPF_PUSH_PROMISE	0x5
#define VPF_PING		0x6
#define VPF_GOAWAY		0x7
#define VPF_WINDOW_UPDATE	0x8
#define VPF_CONTINUATION	0x9

/* Flags. */
#define VPF_F_END	0x1	/* DATA: FIN; HEADERS: RST */
#define VPF_F_ACK	0x1	/* PING */
#define VPF_F_GZIP	0x4	/* DATA: vproxy's compressed payload */

#define VPF_PINGLEN	8
#define VPF_GOAWAYHDR	8	/* FF FF FF FF FF FF FF FF before the text */
#define VPF_CTLMAX	1024	/* control payload bytes kept */

/* vp's SETTINGS parameters (6 bytes each: id:16 value:32, RFC 9113 §6.5.1). */
#define VPF_SET_VERSION		0xf0e1	/* extension version, 1 */
#define VPF_SET_STREAM_WINDOW	0xf0e2	/* receive window per stream, bytes */
#define VPF_SET_TUNNEL_WINDOW	0xf0e3	/* receive window per tunnel, bytes */
#define VPF_SET_MAX_STREAMS	0xf0e4	/* concurrent streams accepted */
#define VPF_SET_MAX_FRAME	0xf0e5	/* largest frame payload accepted */
#define VPF_SETTINGS_MAX	16	/* parameters read from one frame */

struct vpf_hdr {
	uint32_t	len;
	uint8_t		type;
	uint8_t		flags;
	uint32_t	sid;		/* 31 bits */
	int		rbit;		/* the reserved bit was set */
};

/* Decoder errors (vpf_dec.err), each with a GOAWAY reason (vpf_strerror). */
enum vpf_err {
	VPF_OK = 0,
	VPF_ERBIT,		/* reserved bit set */
	VPF_ETOOBIG,		/* len over the limit */
	VPF_ETYPE,		/* unknown or forbidden frame type */
	VPF_EHDRPAYLOAD,	/* HEADERS with a payload */
	VPF_ESTREAM0,		/* DATA/HEADERS on stream 0 */
	VPF_ESTREAMN,		/* SETTINGS/PING/GOAWAY on a stream != 0 */
	VPF_ESETTINGS,		/* SETTINGS length not a multiple of 6, or ACK */
	VPF_EWINDOW,		/* WINDOW_UPDATE not 4 bytes, or increment 0 */
	VPF_EFLAGS		/* a flag that makes no sense */
};

enum vpf_ev {
	VPF_EV_NONE = 0,	/* all input consumed, need more bytes */
	VPF_EV_DATA,		/* a piece of a DATA frame: ev.p/ev.n */
	VPF_EV_CTL,		/* a whole non-DATA frame: ev.p/ev.n */
	VPF_EV_ERROR		/* dec.err says why; the stream is unusable */
};

struct vpf_event {
	enum vpf_ev	 kind;
	struct vpf_hdr	 h;
	const uint8_t	*p;	/* DATA: into the input; CTL: into the decoder */
	size_t		 n;
	int		 first;	/* DATA: first piece of this frame */
	int		 last;	/* DATA: last piece (END_STREAM applies after) */
};

struct vpf_dec {
	uint32_t	maxlen;		/* frames longer are an error */
	uint8_t		hdr[VPF_HDRLEN];
	size_t		hlen;		/* header bytes collected */
	struct vpf_hdr	h;
	uint32_t	got;		/* payload bytes seen of the current frame */
	int		started;	/* a DATA piece was already delivered */
	uint8_t		ctl[VPF_CTLMAX];
	enum vpf_err	err;
	uint64_t	frames;		/* frames completed */
};

/* Initialises a decoder that accepts payloads up to maxlen (<= 2^24-1). */
void	vpf_dec_init(struct vpf_dec *d, uint32_t maxlen);

/*
 * Decodes from in[0..n). Returns the number of bytes consumed and fills
 * ev: VPF_EV_NONE when every byte was consumed without completing an
 * event; VPF_EV_DATA / VPF_EV_CTL for one event (call again with the
 * rest); VPF_EV_ERROR for a malformed frame (d->err; the decoder stays
 * in error and consumes nothing more).
 * Zero-length DATA (a FIN) is one DATA event with n 0, first and last.
 */
size_t	vpf_dec_feed(struct vpf_dec *d, const uint8_t *in, size_t n,
	    struct vpf_event *ev);

/* Parses a 9-byte header. Never fails (rbit reports the reserved bit). */
void	vpf_hdr_parse(const uint8_t in[VPF_HDRLEN], struct vpf_hdr *h);

/* Writes a 9-byte header. sid is masked to 31 bits; len to 24. */
void	vpf_hdr_put(uint8_t out[VPF_HDRLEN], uint32_t len, uint8_t type,
	    uint8_t flags, uint32_t sid);

/*
 * Whole-frame builders into out (size cap). Each returns the frame's
 * length, or 0 if cap is too small.
 */
size_t	vpf_put_settings_empty(uint8_t *out, size_t cap);
size_t	vpf_put_settings(uint8_t *out, size_t cap, const uint16_t *ids,
	    const uint32_t *vals, size_t n);
size_t	vpf_put_syn(uint8_t *out, size_t cap, uint32_t sid);	/* = SYN-ACK */
size_t	vpf_put_rst(uint8_t *out, size_t cap, uint32_t sid);
size_t	vpf_put_fin(uint8_t *out, size_t cap, uint32_t sid);
size_t	vpf_put_data(uint8_t *out, size_t cap, uint32_t sid,
	    const void *p, size_t n, int fin);
size_t	vpf_put_ping(uint8_t *out, size_t cap, uint64_t id, int ack);
size_t	vpf_put_goaway(uint8_t *out, size_t cap, const char *reason);
size_t	vpf_put_window(uint8_t *out, size_t cap, uint32_t sid, uint32_t inc);

/*
 * Reads the SETTINGS parameters in p[0..n) (n a multiple of 6) into
 * ids/vals (room for max). Returns the count stored (extra ones are
 * ignored), or -1 if n is not a multiple of 6.
 */
int	vpf_parse_settings(const uint8_t *p, size_t n, uint16_t *ids,
	    uint32_t *vals, size_t max);

uint64_t vpf_get64(const uint8_t *p);
uint32_t vpf_get32(const uint8_t *p);

/* A GOAWAY reason for a decoder error (static string). */
const char *vpf_strerror(enum vpf_err e);

/* Name of a frame type for logs ("DATA", "HEADERS", ..., "UNKNOWN"). */
const char *vpf_typename(uint8_t type);

#endif
