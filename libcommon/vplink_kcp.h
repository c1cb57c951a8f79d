/*
 * vplink_kcp: the UDP/KCP link under vp-tunnel (vplink.h contract).
 *
 * Client: one connected UDP socket, one KCP session.  Server: one UDP
 * socket (the listener) demultiplexing datagrams into sessions: keyed
 * mode by the sealed datagram's sender id (so a client whose address
 * changes is followed once its datagram authenticates), plain mode by
 * peer address and conv.  Plain mode creates a session for a datagram
 * that opens a KCP conversation; keyed mode answers an authentic opener
 * with a stateless challenge (a cookie bound to the sender id, address
 * and time bucket) and creates the session only for the client's answer
 * with a valid cookie, so recorded datagrams replayed later open
 * nothing.  A keyed client latches the server's sender id from the
 * first authentic datagram of its own conv.  A failed send (EAGAIN,
 * ENOBUFS, EPERM, ...) is a lost datagram, never an error.
 *
 * Keyed mode seals every datagram with vpcrypt (ChaCha20-Poly1305 or
 * AES-256-GCM, replay window); plain mode is bare KCP, conv 0 from a client, as
 * vproxy expects, and is refused on non-loopback addresses unless
 * allow_plain is set.
 *
 * vp-tunnel sets the options once (vplink_kcp_set_options) before it
 * dials or listens through the transport table.  Nothing here exits
 * or logs.
 */
#ifndef VPLINK_KCP_H
#define VPLINK_KCP_H

#include <stddef.h>
#include <stdint.h>

#include "vpcrypt.h"
#include "vpkcp.h"
#include "vplink.h"

struct vplink_kcp_opts {
	struct vpkcp_config kcp;	/* mtu here is the UDP payload size */
	int		keyed;
	uint8_t		psk[VPCRYPT_KEYLEN];
	int		allow_plain;	/* plain mode off loopback */
	int		idle_ms;	/* no datagram this long: dead */
	int		max_sessions;	/* server */
	int		sockbuf;	/* SO_SNDBUF/SO_RCVBUF bytes */
	int		clock_skew;	/* keyed server: max sender clock skew, s */
	int		suite;		/* keyed: VPCRYPT_SUITE_* we send with,
					   0: auto (AES-GCM when both ends can) */
	unsigned	given;		/* knobs set by name (vplink_kcp_option):
					   a profile or nodelay leaves them */
};

/* Defaults: fast3 with 1024/1024 windows, mtu 1350, idle 60 s, 256 sessions. */
void	vplink_kcp_default_options(struct vplink_kcp_opts *o);
/*
 * Parses one knob NAME=VALUE (nodelay, interval, resend, nc, sndwnd,
 * rcvwnd, mtu, minrto, maxrto, deadlink, idle, sessions, sockbuf, skew,
 * cipher=auto|chacha|aes) or a profile
 * name (normal, fast, fast2, fast3) into o.  A knob given by name wins
 * whatever the order: a later profile, or nodelay's own minrto (10, or
 * 100 for nodelay=0), does not replace it.  Returns 0, or -1 with a
 * reason in err.
 */
int	vplink_kcp_option(struct vplink_kcp_opts *o, const char *s, char *err,
	    size_t errlen);
/* Checks the knobs together (e.g. minrto <= maxrto); 0 or -1 + err. */
int	vplink_kcp_options_check(const struct vplink_kcp_opts *o, char *err,
	    size_t errlen);
/* Copies o for later dial/listen calls; wipes nothing (caller owns o). */
void	vplink_kcp_set_options(const struct vplink_kcp_opts *o);

/*
 * Transport-table entries for udp:HOST:PORT.  Return a link/listener,
 * or NULL with errno and a reason in err (EPERM: plain mode refused
 * off loopback).
 */
struct vplink *vplink_kcp_dial(const struct vpendpoint *ep, char *err,
	    size_t errlen);
struct vplink_listener *vplink_kcp_listen(const struct vpendpoint *ep,
	    char *err, size_t errlen);

/*
 * Returns 0 if ep may be used with the current options: keyed, or
 * plain on a loopback address, or plain allowed explicitly.  Else -1
 * with errno EPERM (or a resolver failure) and a reason in err.
 */
int	vplink_kcp_check(const struct vpendpoint *ep, int passive, char *err,
	    size_t errlen);

/*
 * A udp listener (from vplink_kcp_listen) in a drain: it creates no new
 * sessions and drops the ones never accepted, while the accepted ones
 * keep using its socket. Returns how many it still serves (0: close it).
 */
int	vplink_kcp_listen_stop(struct vplink_listener *l);

/* Counters of one link (for logs and tests). */
struct vplink_kcp_stats {
	uint64_t	dgrams_in, dgrams_out, send_fail, bad_dgrams;
	struct vpkcp_stats kcp;
};
int	vplink_kcp_stats(struct vplink *l, struct vplink_kcp_stats *st);

#endif
