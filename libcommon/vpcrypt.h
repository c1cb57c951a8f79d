/*
 * vpcrypt: datagram sealing for the keyed UDP transport.
 *
 * Datagram layout (documented in vp-tunnel(1)):
 *
 *   sender id (8) | counter (8, LE) | XChaCha20-Poly1305 ciphertext | tag (16)
 *
 * The 24-byte nonce is sender id | counter | 8 zero bytes, so the
 * clear header is authenticated through the nonce.  The sender id is
 * chosen at random per session and direction (its first 4 bytes are
 * the sender's clock in seconds, LE, so a server can refuse stale
 * session openings); the counter starts at 1 and never repeats.  Each
 * direction has its own key, derived from the pre-shared key, so a
 * datagram cannot be reflected back to its sender.  The receiver keeps
 * a 1024-datagram sliding replay window over the peer's counter.
 *
 * Nothing here exits or logs.
 */
#ifndef VPCRYPT_H
#define VPCRYPT_H

#include <stddef.h>
#include <stdint.h>

#define VPCRYPT_KEYLEN		32
#define VPCRYPT_HDRLEN		16
#define VPCRYPT_TAGLEN		16
#define VPCRYPT_OVERHEAD	(VPCRYPT_HDRLEN + VPCRYPT_TAGLEN)
#define VPCRYPT_REPLAY_WIN	1024

/* Key directions. */
#define VPCRYPT_C2S	1
#define VPCRYPT_S2C	2

struct vpcrypt_tx {
	uint8_t		key[VPCRYPT_KEYLEN];
	uint8_t		sender[8];
	uint64_t	ctr;
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

/* Sets up a sender: direction key, a new sender id, counter 1. */
void	vpcrypt_tx_init(struct vpcrypt_tx *tx,
	    const uint8_t psk[VPCRYPT_KEYLEN], int direction, uint32_t unixtime);

/*
 * Seals len bytes of in into out (len + VPCRYPT_OVERHEAD bytes; out
 * may not overlap in).  Returns the sealed length.
 */
size_t	vpcrypt_seal(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
	    size_t len);

/*
 * Opens a sealed datagram in place with the direction key.  On success
 * returns the plaintext length (the plaintext starts at
 * buf + VPCRYPT_HDRLEN) and the sender id and counter; -1 if too short
 * or not authentic.  The caller checks the counter with the replay
 * window before trusting it.
 */
long	vpcrypt_open(const uint8_t key[VPCRYPT_KEYLEN], uint8_t *buf,
	    size_t len, uint8_t sender[8], uint64_t *ctr);

/* Peeks at the clear header: 0, or -1 if too short to be sealed. */
int	vpcrypt_peek(const uint8_t *buf, size_t len, uint8_t sender[8],
	    uint64_t *ctr);
/* The clock seconds in a sender id. */
uint32_t vpcrypt_sender_time(const uint8_t sender[8]);

/* Returns 0 if ctr has not been seen and is inside the window, else -1. */
int	vpcrypt_replay_check(const struct vpcrypt_replay *r, uint64_t ctr);
/* Records ctr as seen (after authentication). */
void	vpcrypt_replay_commit(struct vpcrypt_replay *r, uint64_t ctr);

#endif
