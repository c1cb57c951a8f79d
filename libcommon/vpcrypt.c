/*
 * vpcrypt: AEAD for KCP datagrams, replay window, key files.
 * See vpcrypt.h for the layout.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vpcrypt.h"

#define KDF_CONTEXT	"vpkcp-v1"

int
vpcrypt_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static void
seterr(char *err, size_t errlen, const char *path, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "key file %s: %s", path, what);
}

/* Parses the key-file text; 0 or -1. */
static int
parse_key(const char *s, size_t n, uint8_t key[VPCRYPT_KEYLEN])
{
	size_t i = 0, j, end, binlen;

	while (i < n) {
		for (end = i; end < n && s[end] != '\n'; end++)
			;
		j = i;
		while (j < end && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r'))
			j++;
		if (j == end || s[j] == '#') {
			i = end + 1;
			continue;
		}
		while (end > j && (s[end - 1] == ' ' || s[end - 1] == '\t' ||
		    s[end - 1] == '\r'))
			end--;
		if (end - j != 2 * VPCRYPT_KEYLEN ||
		    sodium_hex2bin(key, VPCRYPT_KEYLEN, s + j, end - j, NULL,
		    &binlen, NULL) != 0 || binlen != VPCRYPT_KEYLEN)
			return -1;
		return 0;
	}
	return -1;
}

/*
 * vpcrypt_key_load()
 * Returns 0 with the key, or -1 with errno and a reason.
 */
int
vpcrypt_key_load(const char *path, uint8_t key[VPCRYPT_KEYLEN], char *err,
    size_t errlen)
{
	char buf[4096];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		e = errno;
		seterr(err, errlen, path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		seterr(err, errlen, path, strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		seterr(err, errlen, path,
		    "not a regular file");
		errno = EINVAL;
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		seterr(err, errlen, path, "permissions too open (group or "
		    "others have access); chmod 600 it");
		errno = EACCES;
		return -1;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			close(fd);
			sodium_memzero(buf, sizeof(buf));
			seterr(err, errlen, path,
			    strerror(e));
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (len == sizeof(buf) || parse_key(buf, len, key) == -1) {
		sodium_memzero(buf, sizeof(buf));
		seterr(err, errlen, path,
		    "expected one line of 64 hex digits (vp-tunnel keygen)");
		errno = EINVAL;
		return -1;
	}
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

/*
 * vpcrypt_keygen()
 * Returns the length of the key-file text written into buf, or -1.
 */
int
vpcrypt_keygen(char *buf, size_t len)
{
	uint8_t key[VPCRYPT_KEYLEN];
	char hex[2 * VPCRYPT_KEYLEN + 1];
	int n;

	if (len < 128)
		return -1;
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	n = snprintf(buf, len, "# vp-tunnel pre-shared key: keep it secret "
	    "(mode 0600)\n%s\n", hex);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	return n < 0 || (size_t)n >= len ? -1 : n;
}

void
vpcrypt_derive(uint8_t out[VPCRYPT_KEYLEN], const uint8_t psk[VPCRYPT_KEYLEN],
    int direction)
{
	crypto_kdf_derive_from_key(out, VPCRYPT_KEYLEN, (uint64_t)direction,
	    KDF_CONTEXT, psk);
}

void
vpcrypt_tx_init(struct vpcrypt_tx *tx, const uint8_t psk[VPCRYPT_KEYLEN],
    int direction, uint32_t unixtime)
{
	vpcrypt_derive(tx->key, psk, direction);
	tx->sender[0] = unixtime;
	tx->sender[1] = unixtime >> 8;
	tx->sender[2] = unixtime >> 16;
	tx->sender[3] = unixtime >> 24;
	randombytes_buf(tx->sender + 4, 4);
	tx->ctr = 1;
}

uint32_t
vpcrypt_sender_time(const uint8_t sender[8])
{
	return (uint32_t)sender[0] | (uint32_t)sender[1] << 8 |
	    (uint32_t)sender[2] << 16 | (uint32_t)sender[3] << 24;
}

static void
make_nonce(uint8_t nonce[24], const uint8_t hdr[VPCRYPT_HDRLEN])
{
	memcpy(nonce, hdr, VPCRYPT_HDRLEN);
	memset(nonce + VPCRYPT_HDRLEN, 0, 24 - VPCRYPT_HDRLEN);
}

/*
 * vpcrypt_seal()
 * Returns len + VPCRYPT_OVERHEAD.
 */
size_t
vpcrypt_seal(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
    size_t len)
{
	uint8_t nonce[24];
	uint64_t c = tx->ctr++;
	unsigned long long clen;
	int i;

	memcpy(out, tx->sender, 8);
	for (i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(c >> (8 * i));
	make_nonce(nonce, out);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + VPCRYPT_HDRLEN,
	    &clen, in, len, NULL, 0, NULL, nonce, tx->key);
	return VPCRYPT_HDRLEN + (size_t)clen;
}

int
vpcrypt_peek(const uint8_t *buf, size_t len, uint8_t sender[8], uint64_t *ctr)
{
	int i;

	if (len < VPCRYPT_OVERHEAD)
		return -1;
	memcpy(sender, buf, 8);
	*ctr = 0;
	for (i = 7; i >= 0; i--)
		*ctr = *ctr << 8 | buf[8 + i];
	return 0;
}

/*
 * vpcrypt_open()
 * Returns the plaintext length (at buf + VPCRYPT_HDRLEN) or -1.
 */
long
vpcrypt_open(const uint8_t key[VPCRYPT_KEYLEN], uint8_t *buf, size_t len,
    uint8_t sender[8], uint64_t *ctr)
{
	uint8_t nonce[24];
	unsigned long long mlen;

	if (vpcrypt_peek(buf, len, sender, ctr) == -1)
		return -1;
	make_nonce(nonce, buf);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(buf + VPCRYPT_HDRLEN,
	    &mlen, NULL, buf + VPCRYPT_HDRLEN, len - VPCRYPT_HDRLEN, NULL, 0,
	    nonce, key) != 0)
		return -1;
	return (long)mlen;
}

int
vpcrypt_replay_check(const struct vpcrypt_replay *r, uint64_t ctr)
{
	if (ctr == 0)
		return -1;
	if (!r->any || ctr > r->top)
		return 0;
	if (r->top - ctr >= VPCRYPT_REPLAY_WIN)
		return -1;
	if (r->bits[(ctr / 64) % (VPCRYPT_REPLAY_WIN / 64)] &
	    (UINT64_C(1) << (ctr % 64)))
		return -1;
	return 0;
}

void
vpcrypt_replay_commit(struct vpcrypt_replay *r, uint64_t ctr)
{
	uint64_t c;

	if (!r->any) {
		memset(r->bits, 0, sizeof(r->bits));
		r->any = 1;
		r->top = ctr;
	} else if (ctr > r->top) {
		if (ctr - r->top >= VPCRYPT_REPLAY_WIN)
			memset(r->bits, 0, sizeof(r->bits));
		else
			for (c = r->top + 1; c < ctr; c++)
				r->bits[(c / 64) % (VPCRYPT_REPLAY_WIN / 64)] &=
				    ~(UINT64_C(1) << (c % 64));
		r->top = ctr;
	}
	r->bits[(ctr / 64) % (VPCRYPT_REPLAY_WIN / 64)] |=
	    UINT64_C(1) << (ctr % 64);
}
