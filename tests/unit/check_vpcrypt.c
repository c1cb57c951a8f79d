/*
 * Unit tests for vpcrypt: seal/open, tampering, direction keys, the
 * replay window and its edges, key files and their permissions,
 * control datagrams and the server's cookies.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpcrypt.h"

static uint8_t psk[VPCRYPT_KEYLEN];

static void
setup(void)
{
	size_t i;

	ck_assert_int_eq(vpcrypt_init(), 0);
	for (i = 0; i < sizeof(psk); i++)
		psk[i] = (uint8_t)(i * 7 + 1);
}

static const int suites[] = { VPCRYPT_SUITE_CHACHA, VPCRYPT_SUITE_AESGCM };

START_TEST(seal_open)
{
	struct vpcrypt_tx tx;
	struct vpcrypt_rx rx;
	uint8_t buf[2000], sender[8];
	uint64_t ctr;
	long n;
	size_t len, i;
	int suite = suites[_i];

	if (!vpcrypt_suite_ok(suite))
		return;		/* AES-GCM without AES-NI: nothing to test */
	vpcrypt_tx_init(&tx, psk, VPCRYPT_C2S, 0x01020304, suite);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_C2S);
	for (i = 0; i < 3; i++) {
		len = vpcrypt_seal(&tx, buf, (const uint8_t *)"hello kcp", 9);
		ck_assert_uint_eq(len, 9 + VPCRYPT_OVERHEAD);
		ck_assert_uint_eq(buf[15] & 0x7f, suite);
		/* bit 7: this end can open AES-GCM */
		ck_assert_uint_eq(buf[15] & 0x80,
		    vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM) ? 0x80 : 0);
		n = vpcrypt_open(&rx, buf, len, sender, &ctr);
		ck_assert_int_eq(n, 9);
		ck_assert(memcmp(buf + VPCRYPT_HDRLEN, "hello kcp", 9) == 0);
		ck_assert_uint_eq(ctr, i + 1);
		ck_assert(memcmp(sender, tx.sk.sender, 8) == 0);
		ck_assert_uint_eq(vpcrypt_sender_time(sender), 0x01020304);
	}
	ck_assert_int_eq(rx.peer_aes, vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM));
	/* empty payload */
	len = vpcrypt_seal(&tx, buf, NULL, 0);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 0);
	/* a second sender through the same receiver */
	{
		struct vpcrypt_tx tx2;

		vpcrypt_tx_init(&tx2, psk, VPCRYPT_C2S, 5, suite);
		len = vpcrypt_seal(&tx2, buf, (const uint8_t *)"x", 1);
		ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 1);
		ck_assert_uint_eq(ctr, 1);
		len = vpcrypt_seal(&tx, buf, (const uint8_t *)"yy", 2);
		ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 2);
		ck_assert_uint_eq(ctr, 5);
	}
}
END_TEST

START_TEST(tamper)
{
	struct vpcrypt_tx tx;
	struct vpcrypt_rx rx, other;
	uint8_t okey[VPCRYPT_KEYLEN];
	uint8_t orig[200], buf[200], sender[8];
	uint64_t ctr;
	size_t len, i;
	int suite = suites[_i];

	if (!vpcrypt_suite_ok(suite))
		return;
	vpcrypt_tx_init(&tx, psk, VPCRYPT_C2S, 1, suite);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_C2S);
	memset(buf, 'p', 100);
	len = vpcrypt_seal(&tx, orig, buf, 100);
	/* every single-bit flip anywhere (header included) fails */
	for (i = 0; i < len * 8; i++) {
		memcpy(buf, orig, len);
		buf[i / 8] ^= 1 << (i % 8);
		ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), -1);
	}
	/* truncation, too short */
	memcpy(buf, orig, len);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len - 1, sender, &ctr), -1);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, VPCRYPT_OVERHEAD - 1, sender,
	    &ctr), -1);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, 0, sender, &ctr), -1);
	/* unknown suites */
	buf[15] = 0;
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), -1);
	buf[15] = 3;
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), -1);
	/* the other direction, and a different PSK */
	vpcrypt_rx_init(&other, psk, VPCRYPT_S2C);
	memcpy(buf, orig, len);
	ck_assert_int_eq(vpcrypt_open(&other, buf, len, sender, &ctr), -1);
	memset(okey, 9, sizeof(okey));
	vpcrypt_rx_init(&other, okey, VPCRYPT_C2S);
	memcpy(buf, orig, len);
	ck_assert_int_eq(vpcrypt_open(&other, buf, len, sender, &ctr), -1);
	/* the original still opens */
	memcpy(buf, orig, len);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 100);
}
END_TEST

START_TEST(switch_suite)
{
	struct vpcrypt_tx tx;
	struct vpcrypt_rx rx;
	uint8_t buf[200], sender[8];
	uint64_t ctr;
	size_t len;

	if (!vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM))
		return;
	vpcrypt_tx_init(&tx, psk, VPCRYPT_S2C, 9, VPCRYPT_SUITE_CHACHA);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_S2C);
	len = vpcrypt_seal(&tx, buf, (const uint8_t *)"one", 3);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 3);
	ck_assert_int_eq(vpcrypt_tx_set_suite(&tx, VPCRYPT_SUITE_AESGCM), 0);
	len = vpcrypt_seal(&tx, buf, (const uint8_t *)"two", 3);
	ck_assert_uint_eq(buf[15] & 0x7f, VPCRYPT_SUITE_AESGCM);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 3);
	ck_assert_uint_eq(ctr, 2);	/* one counter across suites */
	ck_assert(memcmp(sender, tx.sk.sender, 8) == 0);
	ck_assert_int_eq(vpcrypt_tx_set_suite(&tx, 7), -1);
}
END_TEST

START_TEST(senders_differ)
{
	struct vpcrypt_tx a, b;
	uint8_t d1[VPCRYPT_KEYLEN], d2[VPCRYPT_KEYLEN];

	vpcrypt_tx_init(&a, psk, VPCRYPT_C2S, 5, VPCRYPT_SUITE_CHACHA);
	vpcrypt_tx_init(&b, psk, VPCRYPT_C2S, 5, VPCRYPT_SUITE_CHACHA);
	ck_assert(memcmp(a.sk.sender, b.sk.sender, 8) != 0);
	ck_assert(memcmp(a.sk.key, b.sk.key, VPCRYPT_KEYLEN) != 0);
	vpcrypt_derive(d1, psk, VPCRYPT_C2S);
	vpcrypt_derive(d2, psk, VPCRYPT_S2C);
	ck_assert(memcmp(d1, d2, sizeof(d1)) != 0);
	ck_assert_int_eq(vpcrypt_suite_parse("aes"), VPCRYPT_SUITE_AESGCM);
	ck_assert_int_eq(vpcrypt_suite_parse("chacha"), VPCRYPT_SUITE_CHACHA);
	ck_assert_int_eq(vpcrypt_suite_parse("des"), -1);
	ck_assert(vpcrypt_suite_ok(VPCRYPT_SUITE_CHACHA));
	ck_assert(!vpcrypt_suite_ok(0));
}
END_TEST

START_TEST(replay_window)
{
	struct vpcrypt_replay r;
	uint64_t c;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(vpcrypt_replay_check(&r, 0), -1);	/* never valid */
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5), 0);
	vpcrypt_replay_commit(&r, 5);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 4), 0);	/* late, fresh */
	vpcrypt_replay_commit(&r, 4);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 4), -1);
	/* in order for a while */
	for (c = 6; c < 5000; c++) {
		ck_assert_int_eq(vpcrypt_replay_check(&r, c), 0);
		vpcrypt_replay_commit(&r, c);
		ck_assert_int_eq(vpcrypt_replay_check(&r, c), -1);
	}
	/* window edges: top 4999; 3976 is the oldest inside */
	ck_assert_int_eq(vpcrypt_replay_check(&r, 4999 - 1023), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 4999 - 1024), -1);
	/* a jump leaves a hole that is fresh, then filled */
	vpcrypt_replay_commit(&r, 5100);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5050), 0);
	vpcrypt_replay_commit(&r, 5050);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5050), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5100 - 1023), -1); /* seen */
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5100 - 1024), -1); /* old */
	/* slots reused after the window moved are fresh again */
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5099), 0);
	/* a jump past the whole window clears it */
	vpcrypt_replay_commit(&r, 100000);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 100000 - 1), 0);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 100000 - 1023), 0);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 100000 - 1024), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 100000), -1);
	/* huge counters */
	vpcrypt_replay_commit(&r, UINT64_MAX);
	ck_assert_int_eq(vpcrypt_replay_check(&r, UINT64_MAX), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, UINT64_MAX - 1), 0);
}
END_TEST

/* Control datagrams: bit 6 of the suite byte, authenticated. */
START_TEST(control)
{
	struct vpcrypt_tx tx;
	struct vpcrypt_rx rx;
	uint8_t buf[256], copy[256], sender[8];
	uint64_t ctr;
	size_t len;

	vpcrypt_tx_init(&tx, psk, VPCRYPT_S2C, 1000, VPCRYPT_SUITE_CHACHA);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_S2C);
	len = vpcrypt_seal_ctl(&tx, buf, (const uint8_t *)"challenge", 9);
	ck_assert_uint_eq(len, 9 + VPCRYPT_OVERHEAD);
	ck_assert_int_eq(vpcrypt_is_ctl(buf, len), 1);
	ck_assert_uint_eq(buf[15] & 0x3f, VPCRYPT_SUITE_CHACHA);
	memcpy(copy, buf, len);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), 9);
	/* the flag cannot be cleared (nor set on a KCP datagram) */
	copy[15] &= ~VPCRYPT_F_CTL;
	ck_assert_int_eq(vpcrypt_is_ctl(copy, len), 0);
	ck_assert_int_eq(vpcrypt_open(&rx, copy, len, sender, &ctr), -1);
	len = vpcrypt_seal(&tx, buf, (const uint8_t *)"kcp", 3);
	ck_assert_int_eq(vpcrypt_is_ctl(buf, len), 0);
	buf[15] |= VPCRYPT_F_CTL;
	ck_assert_int_eq(vpcrypt_open(&rx, buf, len, sender, &ctr), -1);
	ck_assert_int_eq(vpcrypt_is_ctl(buf, VPCRYPT_OVERHEAD - 1), 0);
}
END_TEST

START_TEST(cookies)
{
	uint8_t secret[VPCRYPT_KEYLEN], other[VPCRYPT_KEYLEN];
	uint8_t c[VPCRYPT_COOKIELEN], d[VPCRYPT_COOKIELEN];
	const uint8_t sender[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint8_t sender2[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	const char *a = "\x04\x12\x34\x7f\x00\x00\x01", *b = "\x04\x12\x35\x7f\x00\x00\x01";
	size_t i;

	for (i = 0; i < sizeof(secret); i++) {
		secret[i] = (uint8_t)i;
		other[i] = (uint8_t)(i + 1);
	}
	vpcrypt_cookie(c, secret, sender, a, 7, 1000);
	/* this bucket and the next only */
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 1000, 0), 0);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 1001, 0), 0);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 1002, 0), -1);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 999, 0), -1);
	/* not before the floor */
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 1000, 1000), 0);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 1000, 1001), -1);
	/* another secret (a restarted server), sender, address */
	ck_assert_int_eq(vpcrypt_cookie_check(c, other, sender, a, 7, 1000, 0), -1);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender2, a, 7, 1000, 0), -1);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, b, 7, 1000, 0), -1);
	/* a bucket relabelled, a bit flipped */
	memcpy(d, c, sizeof(d));
	d[0]++;
	ck_assert_int_eq(vpcrypt_cookie_check(d, secret, sender, a, 7, 1001, 0), -1);
	for (i = 4; i < VPCRYPT_COOKIELEN; i++) {
		memcpy(d, c, sizeof(d));
		d[i] ^= 0x10;
		ck_assert_int_eq(vpcrypt_cookie_check(d, secret, sender, a, 7,
		    1000, 0), -1);
	}
	/* bucket numbers wrap */
	vpcrypt_cookie(c, secret, sender, a, 7, UINT32_MAX);
	ck_assert_int_eq(vpcrypt_cookie_check(c, secret, sender, a, 7, 0,
	    UINT32_MAX - 5), 0);
}
END_TEST

START_TEST(replay_start)
{
	struct vpcrypt_replay r;

	memset(&r, 0, sizeof(r));
	vpcrypt_replay_start(&r, 7);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 1), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 6), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 7), -1);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 8), 0);
	vpcrypt_replay_commit(&r, 10);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 9), 0);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 5), -1);
	vpcrypt_replay_commit(&r, 9);
	ck_assert_int_eq(vpcrypt_replay_check(&r, 9), -1);
}
END_TEST

static char dir[64];

static char *
keyfile(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

START_TEST(key_files)
{
	char gen[256], err[256];
	uint8_t key[VPCRYPT_KEYLEN], key2[VPCRYPT_KEYLEN];
	const char *good = "# comment\n\n  00112233445566778899aabbccddeeff"
	    "00112233445566778899AABBCCDDEEFF  \r\n";
	int n;

	strcpy(dir, "/tmp/check_vpcrypt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));

	ck_assert_int_eq(vpcrypt_key_load(keyfile("good", good, 0600), key,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(key[0], 0x00);
	ck_assert_uint_eq(key[15], 0xff);
	ck_assert_uint_eq(key[31], 0xff);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("ro", good, 0400), key,
	    err, sizeof(err)), 0);

	/* group or other access: refused, like ssh */
	errno = 0;
	ck_assert_int_eq(vpcrypt_key_load(keyfile("g", good, 0640), key,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert(strstr(err, "permissions") != NULL);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("o", good, 0604), key,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("gw", good, 0620), key,
	    err, sizeof(err)), -1);

	/* bad formats */
	ck_assert_int_eq(vpcrypt_key_load(keyfile("short", "abcd\n", 0600),
	    key, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("empty", "", 0600),
	    key, err, sizeof(err)), -1);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("comments", "# x\n#y\n",
	    0600), key, err, sizeof(err)), -1);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("nothex",
	    "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
	    0600), key, err, sizeof(err)), -1);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("long",
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0\n",
	    0600), key, err, sizeof(err)), -1);
	/* missing file, directory */
	ck_assert_int_eq(vpcrypt_key_load("/nonexistent/key", key, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(vpcrypt_key_load(dir, key, err, sizeof(err)), -1);

	/* keygen output loads back; two keys differ */
	n = vpcrypt_keygen(gen, sizeof(gen));
	ck_assert_int_gt(n, 64);
	ck_assert_int_eq(vpcrypt_key_load(keyfile("gen1", gen, 0600), key,
	    err, sizeof(err)), 0);
	vpcrypt_keygen(gen, sizeof(gen));
	ck_assert_int_eq(vpcrypt_key_load(keyfile("gen2", gen, 0600), key2,
	    err, sizeof(err)), 0);
	ck_assert(memcmp(key, key2, sizeof(key)) != 0);
	ck_assert_int_eq(vpcrypt_keygen(gen, 10), -1);

	/* a huge file is refused, not read without bound */
	{
		char *big = malloc(100000);

		memset(big, '#', 99999);
		big[99999] = '\0';
		ck_assert_int_eq(vpcrypt_key_load(keyfile("big", big, 0600),
		    key, err, sizeof(err)), -1);
		free(big);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpcrypt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, seal_open, 0, 2);
	tcase_add_loop_test(tc, tamper, 0, 2);
	tcase_add_test(tc, switch_suite);
	tcase_add_test(tc, senders_differ);
	tcase_add_test(tc, replay_window);
	tcase_add_test(tc, key_files);
	tcase_add_test(tc, control);
	tcase_add_test(tc, cookies);
	tcase_add_test(tc, replay_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
