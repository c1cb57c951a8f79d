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

int
vpcrypt_suite_ok(int suite)
{
	if (suite == VPCRYPT_SUITE_CHACHA)
		return 1;
	if (suite == VPCRYPT_SUITE_AESGCM)
		return crypto_aead_aes256gcm_is_available();
	return 0;
}

int
vpcrypt_suite_parse(const char *name)
{
	if (strcmp(name, "chacha") == 0 || strcmp(name, "chacha20") == 0)
		return VPCRYPT_SUITE_CHACHA;
	if (strcmp(name, "aes") == 0 || strcmp(name, "aes256gcm") == 0)
		return VPCRYPT_SUITE_AESGCM;
	return -1;
}

/* The session key of sender under direction key dkey, for suite. */
static void
skey_make(struct vpcrypt_skey *sk, const uint8_t dkey[VPCRYPT_KEYLEN],
    const uint8_t sender[8], int suite)
{
	uint8_t in[9];

	memcpy(in, sender, 8);
	in[8] = (uint8_t)suite;
	crypto_generichash(sk->key, VPCRYPT_KEYLEN, in, sizeof(in), dkey,
	    VPCRYPT_KEYLEN);
	if (suite == VPCRYPT_SUITE_AESGCM)
		crypto_aead_aes256gcm_beforenm(&sk->aes, sk->key);
	memcpy(sk->sender, sender, 8);
	sk->suite = suite;
}

void
vpcrypt_tx_init(struct vpcrypt_tx *tx, const uint8_t psk[VPCRYPT_KEYLEN],
    int direction, uint32_t unixtime, int suite)
{
	uint8_t sender[8];

	if (!vpcrypt_suite_ok(suite))
		suite = VPCRYPT_SUITE_CHACHA;
	vpcrypt_derive(tx->dkey, psk, direction);
	sender[0] = unixtime;
	sender[1] = unixtime >> 8;
	sender[2] = unixtime >> 16;
	sender[3] = unixtime >> 24;
	randombytes_buf(sender + 4, 4);
	skey_make(&tx->sk, tx->dkey, sender, suite);
	tx->ctr = 1;
}

int
vpcrypt_tx_set_suite(struct vpcrypt_tx *tx, int suite)
{
	uint8_t sender[8];

	if (!vpcrypt_suite_ok(suite))
		return -1;
	if (suite != tx->sk.suite) {
		memcpy(sender, tx->sk.sender, 8);
		skey_make(&tx->sk, tx->dkey, sender, suite);
	}
	return 0;
}

void
vpcrypt_rx_init(struct vpcrypt_rx *rx, const uint8_t psk[VPCRYPT_KEYLEN],
    int direction)
{
	memset(rx, 0, sizeof(*rx));
	vpcrypt_derive(rx->dkey, psk, direction);
}

uint32_t
vpcrypt_sender_time(const uint8_t sender[8])
{
	return (uint32_t)sender[0] | (uint32_t)sender[1] << 8 |
	    (uint32_t)sender[2] << 16 | (uint32_t)sender[3] << 24;
}

static void
make_nonce(uint8_t nonce[12], uint64_t ctr)
{
	int i;

	for (i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(ctr >> (8 * i));
	memset(nonce + 8, 0, 4);
}

/* Seals with flags or'ed into the suite byte; len + VPCRYPT_OVERHEAD. */
static size_t
seal_flags(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
    size_t len, int flags)
{
	uint8_t nonce[12];
	uint64_t c = tx->ctr;
	unsigned long long clen;
	int i;

	if (tx->ctr < VPCRYPT_CTR_MAX)
		tx->ctr++;	/* 2^56 datagrams: never, in practice */
	memcpy(out, tx->sk.sender, 8);
	for (i = 0; i < 7; i++)
		out[8 + i] = (uint8_t)(c >> (8 * i));
	out[15] = (uint8_t)(tx->sk.suite | flags |
	    (vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM) ? 0x80 : 0));
	make_nonce(nonce, c);
	if (tx->sk.suite == VPCRYPT_SUITE_AESGCM)
		crypto_aead_aes256gcm_encrypt_afternm(out + VPCRYPT_HDRLEN,
		    &clen, in, len, out, VPCRYPT_HDRLEN, NULL, nonce,
		    &tx->sk.aes);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt(out + VPCRYPT_HDRLEN,
		    &clen, in, len, out, VPCRYPT_HDRLEN, NULL, nonce,
		    tx->sk.key);
	return VPCRYPT_HDRLEN + (size_t)clen;
}

/*
 * vpcrypt_seal()
 * Returns len + VPCRYPT_OVERHEAD.
 */
size_t
vpcrypt_seal(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
    size_t len)
{
	return seal_flags(tx, out, in, len, 0);
}

/*
 * vpcrypt_seal_ctl()
 * Returns len + VPCRYPT_OVERHEAD.
 */
size_t
vpcrypt_seal_ctl(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *in,
    size_t len)
{
	return seal_flags(tx, out, in, len, VPCRYPT_F_CTL);
}

int
vpcrypt_is_ctl(const uint8_t *buf, size_t len)
{
	return len >= VPCRYPT_OVERHEAD && (buf[15] & VPCRYPT_F_CTL) != 0;
}

/* The MAC part of a cookie. */
static void
cookie_mac(uint8_t out[VPCRYPT_COOKIELEN - 4],
    const uint8_t secret[VPCRYPT_KEYLEN], const uint8_t sender[8],
    const void *addr, size_t addrlen, uint32_t b)
{
	crypto_generichash_state st;
	uint8_t bb[4];

	bb[0] = b;
	bb[1] = b >> 8;
	bb[2] = b >> 16;
	bb[3] = b >> 24;
	crypto_generichash_init(&st, secret, VPCRYPT_KEYLEN,
	    VPCRYPT_COOKIELEN - 4);
	crypto_generichash_update(&st, sender, 8);
	crypto_generichash_update(&st, bb, 4);
	crypto_generichash_update(&st, addr, addrlen);
	crypto_generichash_final(&st, out, VPCRYPT_COOKIELEN - 4);
	sodium_memzero(&st, sizeof(st));
}

void
vpcrypt_cookie(uint8_t out[VPCRYPT_COOKIELEN],
    const uint8_t secret[VPCRYPT_KEYLEN], const uint8_t sender[8],
    const void *addr, size_t addrlen, uint32_t b)
{
	out[0] = b;
	out[1] = b >> 8;
	out[2] = b >> 16;
	out[3] = b >> 24;
	cookie_mac(out + 4, secret, sender, addr, addrlen, b);
}

/*
 * vpcrypt_cookie_check()
 * Returns 0 for a cookie of this sender and address from bucket now_b
 * or now_b - 1 (and not before floor), else -1.
 */
int
vpcrypt_cookie_check(const uint8_t cookie[VPCRYPT_COOKIELEN],
    const uint8_t secret[VPCRYPT_KEYLEN], const uint8_t sender[8],
    const void *addr, size_t addrlen, uint32_t now_b, uint32_t floor)
{
	uint8_t mac[VPCRYPT_COOKIELEN - 4];
	uint32_t b;

	b = (uint32_t)cookie[0] | (uint32_t)cookie[1] << 8 |
	    (uint32_t)cookie[2] << 16 | (uint32_t)cookie[3] << 24;
	if (b != now_b && b + 1 != now_b)
		return -1;
	if ((int32_t)(b - floor) < 0)
		return -1;
	cookie_mac(mac, secret, sender, addr, addrlen, b);
	return sodium_memcmp(mac, cookie + 4, sizeof(mac)) == 0 ? 0 : -1;
}

int
vpcrypt_peek(const uint8_t *buf, size_t len, uint8_t sender[8], uint64_t *ctr)
{
	int i;

	if (len < VPCRYPT_OVERHEAD)
		return -1;
	memcpy(sender, buf, 8);
	*ctr = 0;
	for (i = 6; i >= 0; i--)
		*ctr = *ctr << 8 | buf[8 + i];
	return 0;
}

/*
 * vpcrypt_open()
 * Returns the plaintext length (at buf + VPCRYPT_HDRLEN) or -1.
 */
long
vpcrypt_open(struct vpcrypt_rx *rx, uint8_t *buf, size_t len,
    uint8_t sender[8], uint64_t *ctr)
{
	struct vpcrypt_skey tmp, *sk = &rx->sk;
	uint8_t nonce[12];
	unsigned long long mlen;
	int suite, r;

	if (vpcrypt_peek(buf, len, sender, ctr) == -1)
		return -1;
	suite = buf[15] & 0x3f;	/* bit 7: opens AES; bit 6: control */
	if (!vpcrypt_suite_ok(suite))
		return -1;
	if (sk->suite != suite || memcmp(sk->sender, sender, 8) != 0) {
		skey_make(&tmp, rx->dkey, sender, suite);
		sk = &tmp;
	}
	make_nonce(nonce, *ctr);
	if (suite == VPCRYPT_SUITE_AESGCM)
		r = crypto_aead_aes256gcm_decrypt_afternm(buf + VPCRYPT_HDRLEN,
		    &mlen, NULL, buf + VPCRYPT_HDRLEN, len - VPCRYPT_HDRLEN,
		    buf, VPCRYPT_HDRLEN, nonce, &sk->aes);
	else
		r = crypto_aead_chacha20poly1305_ietf_decrypt(buf +
		    VPCRYPT_HDRLEN, &mlen, NULL, buf + VPCRYPT_HDRLEN,
		    len - VPCRYPT_HDRLEN, buf, VPCRYPT_HDRLEN, nonce, sk->key);
	if (r != 0) {
		if (sk == &tmp)
			sodium_memzero(&tmp, sizeof(tmp));
		return -1;
	}
	if (sk == &tmp) {
		rx->sk = tmp;
		sodium_memzero(&tmp, sizeof(tmp));
	}
	rx->peer_aes = (buf[15] & 0x80) != 0;
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
vpcrypt_replay_start(struct vpcrypt_replay *r, uint64_t ctr)
{
	memset(r->bits, 0xff, sizeof(r->bits));
	r->any = 1;
	r->top = ctr;
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
