/*
 * vpcrypt: datagram sealing for the keyed UDP transport.
 *
 * Datagram layout (documented in vp-tunnel(1)):
 *
 *   sender id (8) | counter (7, LE) | suite (1) | ciphertext | tag (16)
 *
 * The 16-byte clear header is the AEAD's associated data.  The sender
 * id is chosen at random per session and direction (its first 4 bytes
 * are the sender's clock in seconds, LE, so a server can refuse stale
 * session openings); the counter starts at 1 and never repeats.  Keys:
 * one per direction derived from the pre-shared key (so a datagram
 * cannot be reflected back to its sender), then one per sender id and
 * suite: keyed BLAKE2b of sender id | suite under the direction key.
 * With a key of its own per session, the 12-byte nonce is simply the
 * counter (LE) and 4 zero bytes.  Suites: 1 ChaCha20-Poly1305-IETF,
 * 2 AES-256-GCM (only where the CPU has AES instructions).  Bit 7 of the
 * suite byte says "I can open AES-256-GCM", so two ends that both can
 * move to it.  A receiver opens either suite it can.  It keeps a
 * 1024-datagram sliding replay window over the peer's counter.
 *
 * Bit 6 of the suite byte marks a control datagram (the server's cookie
 * challenge and the client's answer, see vplink_kcp.c), never KCP; as
 * part of the associated data it cannot be flipped.  A cookie is the
 * server's time bucket (4, LE) and a keyed BLAKE2b (12) of a secret the
 * server draws at start, the client's sender id, its address and that
 * bucket.
 *
 * Nothing here exits or logs.
 */
#ifndef VPCRYPT_H
#define VPCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define VPCRYPT_KEYLEN		32
#define VPCRYPT_HDRLEN		16
#define VPCRYPT_TAGLEN		16
#define VPCRYPT_OVERHEAD	(VPCRYPT_HDRLEN + VPCRYPT_TAGLEN)
#define VPCRYPT_REPLAY_WIN	1024

/* Key directions. */
#define VPCRYPT_C2S	1
#define VPCRYPT_S2C	2

#define VPCRYPT_F_CTL		0x40	/* suite byte: control datagram */
#define VPCRYPT_COOKIELEN	16	/* bucket (4) | MAC (12) */

#define VPCRYPT_SUITE_CHACHA	1
#define VPCRYPT_SUITE_AESGCM	2
#define VPCRYPT_CTR_MAX		((UINT64_C(1) << 56) - 1)

/* A session key for one sender id and suite, ready to use. */
struct vpcrypt_skey {
	crypto_aead_aes256gcm_state aes;	/* suite 2 */
	uint8_t		key[VPCRYPT_KEYLEN];	/* suite 1 */
	uint8_t		sender[8];
	int		suite;			/* 0: none yet */
};

struct vpcrypt_tx {
	uint8_t		dkey[VPCRYPT_KEYLEN];
	struct vpcrypt_skey sk;
	uint64_t	ctr;
};

/* The receiving side of one direction: its key and a cached session key. */
struct vpcrypt_rx {
	uint8_t		dkey[VPCRYPT_KEYLEN];
	struct vpcrypt_skey sk;
	int		peer_aes;	/* last datagram: its sender opens AES */
};

struct vpcrypt_replay {
	uint64_t	top;
	uint64_t	bits[VPCRYPT_REPLAY_WIN / 64];
	int		any;
};

/* Initialises libsodium; returns 0 or -1. */
int	vpcrypt_init(void);

/*
 * Loads a key file: comment lines (#) and blank lines, then one line
 * of 64 hex digits.  Refuses a file that is not a regular file or is
 * readable/writable by group or others.  Returns 0, or -1 with a
 * reason in err (errno EACCES for bad permissions, EINVAL for a bad
 * format, else the open/read error).
 */
int	vpcrypt_key_load(const char *path, uint8_t key[VPCRYPT_KEYLEN],
	    char *err, size_t errlen);
/*
 * Writes a fresh random key in the key-file format into buf.
 * Returns the length, or -1 if buf is too small (needs 128 bytes).
 */
int	vpcrypt_keygen(char *buf, size_t len);

/* Derives the key for one direction (VPCRYPT_C2S/S2C) from the PSK. */
void	vpcrypt_derive(uint8_t out[VPCRYPT_KEYLEN],
	    const uint8_t psk[VPCRYPT_KEYLEN], int direction);

/* 1 if this machine can use suite (AES-256-GCM needs AES-NI). */
int	vpcrypt_suite_ok(int suite);
/* Parses "chacha" or "aes" into a suite; -1 if unknown. */
int	vpcrypt_suite_parse(const char *name);

/*
 * Sets up a sender: a new sender id, its session key for suite,
 * counter 1.
 */
void	vpcrypt_tx_init(struct vpcrypt_tx *tx,
	    const uint8_t psk[VPCRYPT_KEYLEN], int direction, uint32_t unixtime,
	    int suite);
/*
 * Switches a sender to suite (same sender id and counter, the session
 * key for the new suite).  Returns 0, or -1 if suite is unusable here.
 */
int	vpcrypt_tx_set_suite(struct vpcrypt_tx *tx, int suite);
/* Sets up a receiver for direction. */
void	vpcrypt_rx_init(struct vpcrypt_rx *rx,
	    const uint8_t psk[VPCRYPT_KEYLEN], int direction);

/*
 * Seals len bytes of in into out (len + VPCRYPT_OVERHEAD bytes; out
 * may not overlap in).  Returns the sealed length.
 */
size_t	vpcrypt_seal(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
	    size_t len);

/* As vpcrypt_seal(), with bit 6 of the suite byte set: a control datagram. */
size_t	vpcrypt_seal_ctl(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
	    size_t len);
/*
 * 1 if the clear header marks a control datagram, 0 if not (or too
 * short).  Authentic only once vpcrypt_open() has accepted it.
 */
int	vpcrypt_is_ctl(const uint8_t *buf, size_t len);

/*
 * Makes the cookie for a client's sender id and address (any bytes
 * that name it) in time bucket b, under the server's secret.
 */
void	vpcrypt_cookie(uint8_t out[VPCRYPT_COOKIELEN],
	    const uint8_t secret[VPCRYPT_KEYLEN], const uint8_t sender[8],
	    const void *addr, size_t addrlen, uint32_t b);
/*
 * Returns 0 if cookie was made by vpcrypt_cookie() for these sender,
 * addr and secret in bucket now_b or now_b - 1, and not before bucket
 * floor; else -1.
 */
int	vpcrypt_cookie_check(const uint8_t cookie[VPCRYPT_COOKIELEN],
	    const uint8_t secret[VPCRYPT_KEYLEN], const uint8_t sender[8],
	    const void *addr, size_t addrlen, uint32_t now_b, uint32_t floor);

/*
 * Opens a sealed datagram in place.  On success returns the plaintext
 * length (the plaintext starts at buf + VPCRYPT_HDRLEN) and the sender
 * id and counter, and caches that sender's session key in rx; -1 if
 * too short, of an unknown or unusable suite, or not authentic (rx is
 * then unchanged).  The caller checks the counter with the replay
 * window before trusting it.
 */
long	vpcrypt_open(struct vpcrypt_rx *rx, uint8_t *buf, size_t len,
	    uint8_t sender[8], uint64_t *ctr);

/* Peeks at the clear header: 0, or -1 if too short to be sealed. */
int	vpcrypt_peek(const uint8_t *buf, size_t len, uint8_t sender[8],
	    uint64_t *ctr);
/* The clock seconds in a sender id. */
uint32_t vpcrypt_sender_time(const uint8_t sender[8]);

/* Returns 0 if ctr has not been seen and is inside the window, else -1. */
int	vpcrypt_replay_check(const struct vpcrypt_replay *r, uint64_t ctr);
/*
 * Starts a window at ctr with every counter up to ctr seen: what the
 * peer sealed before it is refused.
 */
void	vpcrypt_replay_start(struct vpcrypt_replay *r, uint64_t ctr);
/* Records ctr as seen (after authentication). */
void	vpcrypt_replay_commit(struct vpcrypt_replay *r, uint64_t ctr);

#endif
