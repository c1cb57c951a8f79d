/*
 * Unit tests for vphttpbody: where a request body ends, for
 * Content-Length and chunked framing, fed whole, byte at a time and at
 * every split, with hostile and oversized input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vphttpbody.h"

#define S(x)	(x), (sizeof(x) - 1)

/* Feeds n bytes whole: returns what the request took, -1 on error. */
static ssize_t
whole(enum vphb_frame f, uint64_t len, const char *s, size_t n, int *done)
{
	struct vphb b;
	ssize_t r;

	vphb_init(&b, f, len);
	r = vphb_feed(&b, s, n);
	*done = vphb_done(&b);
	return r;
}

/* Feeds byte at a time; returns the request's length or -1. */
static ssize_t
bytewise(enum vphb_frame f, uint64_t len, const char *s, size_t n,
    int *done)
{
	struct vphb b;
	ssize_t r;
	size_t i, took = 0;

	vphb_init(&b, f, len);
	for (i = 0; i < n; i++) {
		r = vphb_feed(&b, s + i, 1);
		if (r < 0)
			return -1;
		took += (size_t)r;
		if (r == 0)
			break;
	}
	*done = vphb_done(&b);
	return (ssize_t)took;
}

/* Every split in two must give the same answer as feeding it whole. */
static void
splits_agree(enum vphb_frame f, uint64_t len, const char *s, size_t n,
    ssize_t want, int wdone)
{
	struct vphb b;
	ssize_t r1, r2;
	size_t i;
	int done;

	ck_assert_int_eq(whole(f, len, s, n, &done), want);
	ck_assert_int_eq(done, wdone);
	ck_assert_int_eq(bytewise(f, len, s, n, &done), want);
	if (want >= 0)
		ck_assert_int_eq(done, wdone);
	for (i = 0; i <= n; i++) {
		vphb_init(&b, f, len);
		r1 = vphb_feed(&b, s, i);
		if (r1 < 0) {
			ck_assert_msg(want < 0, "split %zu failed early", i);
			continue;
		}
		if ((size_t)r1 < i) {
			ck_assert_int_eq(r1, want);
			ck_assert(vphb_done(&b));
			continue;
		}
		r2 = vphb_feed(&b, s + i, n - i);
		if (want < 0)
			ck_assert_msg(r2 < 0, "split %zu: not an error", i);
		else {
			ck_assert_msg(r2 >= 0 && r1 + r2 == want,
			    "split %zu: %zd + %zd != %zd", i, r1, r2, want);
			ck_assert_int_eq(vphb_done(&b), wdone);
		}
	}
}

START_TEST(none)
{
	struct vphb b;

	vphb_init(&b, VPHB_NONE, 0);
	ck_assert(vphb_done(&b));
	ck_assert_int_eq(vphb_feed(&b, "GET / HTTP/1.1\r\n\r\n", 18), 0);
	ck_assert_int_eq(vphb_raw(&b), 0);
	vphb_init(&b, VPHB_LENGTH, 0);
	ck_assert(vphb_done(&b));
	ck_assert_int_eq(vphb_feed(&b, "x", 1), 0);
	ck_assert_int_eq(vphb_feed(&b, "", 0), 0);
}
END_TEST

START_TEST(length)
{
	struct vphb b;

	splits_agree(VPHB_LENGTH, 5, S("helloGET / HTTP/1.1\r\n"), 5, 1);
	splits_agree(VPHB_LENGTH, 5, S("hello"), 5, 1);
	splits_agree(VPHB_LENGTH, 10, S("hello"), 5, 0);
	/* the data is never looked at */
	vphb_init(&b, VPHB_LENGTH, 4);
	ck_assert_int_eq(vphb_raw(&b), 4);
	ck_assert_int_eq(vphb_feed(&b, "\0\r\n\0", 4), 4);
	ck_assert(vphb_done(&b));
	/* huge: skipped in bulk without looking */
	vphb_init(&b, VPHB_LENGTH, UINT64_MAX);
	ck_assert(vphb_raw(&b) == UINT64_MAX);
	vphb_skip(&b, UINT64_MAX - 1);
	ck_assert(!vphb_done(&b));
	ck_assert(vphb_raw(&b) == 1);
	vphb_skip(&b, 7);		/* more than left: clamped */
	ck_assert(vphb_done(&b));
	ck_assert_int_eq(vphb_feed(&b, "x", 1), 0);
}
END_TEST

START_TEST(chunked_good)
{
	splits_agree(VPHB_CHUNKED, 0, S("5\r\nhello\r\n0\r\n\r\n"), 15, 1);
	splits_agree(VPHB_CHUNKED, 0,
	    S("5\r\nhello\r\n0\r\n\r\nGET http://x/ HTTP/1.1\r\n\r\n"), 15, 1);
	splits_agree(VPHB_CHUNKED, 0, S("0\r\n\r\n"), 5, 1);
	splits_agree(VPHB_CHUNKED, 0, S("000\r\n\r\nX"), 7, 1);
	/* upper and lower case hex, leading zeros, extensions */
	splits_agree(VPHB_CHUNKED, 0,
	    S("00A;name=val;q=\"a b\"\r\n0123456789\r\n"
	    "b ; x\r\n0123456789a\r\n0;last\r\n\r\n"), 64, 1);
	/* trailers */
	splits_agree(VPHB_CHUNKED, 0,
	    S("1\r\nZ\r\n0\r\nX-Sum: 1\r\nX-Two: a\tb\r\n\r\nnext"), 33, 1);
	/* any token is a name; the value may hold ':' and obs-text */
	splits_agree(VPHB_CHUNKED, 0,
	    S("0\r\n!#$%&'*+-.^_`|~09az:\r\nA:b: \351\r\n\r\n"), 35, 1);
	/* data holds CRLFs and "0\r\n\r\n": never looked at */
	splits_agree(VPHB_CHUNKED, 0, S("7\r\n0\r\n\r\n\r\n\r\n0\r\n\r\n"), 17,
	    1);
	/* incomplete: everything taken, not done */
	splits_agree(VPHB_CHUNKED, 0, S("5\r\nhel"), 6, 0);
	splits_agree(VPHB_CHUNKED, 0, S("5\r\nhello\r\n0\r\nX: y\r\n"), 19, 0);
}
END_TEST

START_TEST(chunked_bad)
{
	static const char *bad[] = {
		"\r\n",			/* no size */
		";x\r\n",		/* extension without size */
		"g\r\n",		/* not hex */
		"-1\r\n",
		"+1\r\n",
		" 1\r\n",		/* leading white space */
		"0x5\r\n",
		"5\n",			/* bare LF */
		"5\r\r\n",
		"5\rX",
		"5 x\r\n",		/* junk after white space */
		"5;a\nb\r\n",		/* LF in an extension */
		"5;a\001\r\n",		/* control byte */
		"3\r\nabcX\r\n",	/* data longer than said */
		"3\r\nabc\r0",
		"3\r\nabc\n",		/* bare LF after data */
		"0\r\nX: y\n\r\n",	/* bare LF in a trailer */
		"0\r\n folded\r\n\r\n",	/* obs-fold */
		"0\r\n\tfolded\r\n\r\n",	/* obs-fold with HTAB */
		"0\r\nA: 1\r\n\tfold\r\n\r\n",
		"0\r\n: v\r\n\r\n",	/* empty field name */
		/* not field lines: a request line, no colon, a bad name */
		"0\r\nGET http://evil/ HTTP/1.1\r\nHost: evil\r\n\r\n",
		"0\r\nX\r\n\r\n",
		"0\r\nA B: c\r\n\r\n",
		"0\r\nA(1): c\r\n\r\n",
		"0\r\nA\t: c\r\n\r\n",
		"0\r\n\351: c\r\n\r\n",
		"0\r\nA: \001\r\n\r\n",
		"0\r\n\rX",		/* final CR without LF */
		"10000000000000000\r\n",	/* 2^64 */
		"1000000000000001\r\n",	/* just over 2^60 */
		"fffffffffffffffffffffffff\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int done;

		ck_assert_msg(whole(VPHB_CHUNKED, 0, bad[i], strlen(bad[i]),
		    &done) == -1, "accepted %zu", i);
		ck_assert_msg(bytewise(VPHB_CHUNKED, 0, bad[i], strlen(bad[i]),
		    &done) == -1, "accepted bytewise %zu", i);
	}
}
END_TEST

START_TEST(chunked_sticky_error)
{
	struct vphb b;

	vphb_init(&b, VPHB_CHUNKED, 0);
	ck_assert_int_eq(vphb_feed(&b, "z", 1), -1);
	ck_assert(vphb_failed(&b));
	ck_assert(!vphb_done(&b));
	ck_assert_int_eq(vphb_feed(&b, "0\r\n\r\n", 5), -1);
	ck_assert_int_eq(vphb_raw(&b), 0);
}
END_TEST

START_TEST(chunked_bounds)
{
	static char big[VPHB_TRAILMAX + 64];
	struct vphb b;
	size_t i;

	/* 2^60 is the largest chunk; data then skipped in bulk */
	vphb_init(&b, VPHB_CHUNKED, 0);
	ck_assert_int_eq(vphb_feed(&b, "1000000000000000\r\n", 18), 18);
	ck_assert(vphb_raw(&b) == (UINT64_C(1) << 60));
	vphb_skip(&b, UINT64_C(1) << 60);
	ck_assert_int_eq(vphb_raw(&b), 0);
	ck_assert_int_eq(vphb_feed(&b, "\r\n0\r\n\r\n", 7), 7);
	ck_assert(vphb_done(&b));
	/* many leading zeros are fine up to the line bound */
	memset(big, '0', VPHB_LINEMAX - 3);
	memcpy(big + VPHB_LINEMAX - 3, "1\r\n", 3);
	vphb_init(&b, VPHB_CHUNKED, 0);
	ck_assert_int_eq(vphb_feed(&b, big, VPHB_LINEMAX), VPHB_LINEMAX);
	ck_assert_int_eq(vphb_raw(&b), 1);
	/* a size line one past the bound, in extensions */
	big[0] = '1';
	big[1] = ';';
	memset(big + 2, 'e', VPHB_LINEMAX);
	vphb_init(&b, VPHB_CHUNKED, 0);
	ck_assert_int_eq(vphb_feed(&b, big, VPHB_LINEMAX), VPHB_LINEMAX);
	ck_assert_int_eq(vphb_feed(&b, big + VPHB_LINEMAX, 1), -1);
	/* the same fed byte at a time */
	vphb_init(&b, VPHB_CHUNKED, 0);
	for (i = 0; i < VPHB_LINEMAX; i++)
		ck_assert_int_eq(vphb_feed(&b, big + i, 1), 1);
	ck_assert_int_eq(vphb_feed(&b, big + i, 1), -1);
	/* an endless trailer section: bounded */
	vphb_init(&b, VPHB_CHUNKED, 0);
	ck_assert_int_eq(vphb_feed(&b, "0\r\n", 3), 3);
	for (i = 0; i < VPHB_TRAILMAX / 9; i++)
		ck_assert_int_eq(vphb_feed(&b, "X: 1234\r\n", 9), 9);
	ck_assert_int_eq(vphb_feed(&b, "X: 1234\r\n", 9), -1);
	memset(big, 'a', sizeof(big));
	/* one endless trailer line */
	vphb_init(&b, VPHB_CHUNKED, 0);
	ck_assert_int_eq(vphb_feed(&b, "0\r\nA:", 5), 5);
	for (i = 0; i < VPHB_TRAILMAX / 1000; i++)
		ck_assert_int_eq(vphb_feed(&b, big, 1000), 1000);
	ck_assert_int_eq(vphb_feed(&b, big, 1000), -1);
}
END_TEST

START_TEST(many_small_chunks)
{
	static char buf[20000];
	struct vphb b;
	size_t n = 0, i;
	ssize_t r;

	for (i = 0; i < 2000; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "3\r\nabc\r\n");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "0\r\n\r\nPOST");
	vphb_init(&b, VPHB_CHUNKED, 0);
	for (i = 0; i < n; i += 7) {
		r = vphb_feed(&b, buf + i, n - i < 7 ? n - i : 7);
		ck_assert(r >= 0);
		if (vphb_done(&b)) {
			ck_assert_uint_eq(i + (size_t)r, n - 4);
			break;
		}
	}
	ck_assert(vphb_done(&b));
}
END_TEST

/* vphb_begin(): the bytes read with the head, trimmed to the request. */
START_TEST(begin)
{
	struct vphb b;
	int more = -1;

	ck_assert_uint_eq(vphb_begin(&b, VPHB_LENGTH, 5, "helloGET", 8,
	    &more), 5);
	ck_assert(vphb_done(&b) && more == 1);
	ck_assert_uint_eq(vphb_begin(&b, VPHB_LENGTH, 5, "hel", 3, &more), 3);
	ck_assert(!vphb_done(&b) && more == 0);
	ck_assert_uint_eq(vphb_raw(&b), 2);
	ck_assert_uint_eq(vphb_begin(&b, VPHB_NONE, 0, NULL, 0, &more), 0);
	ck_assert(vphb_done(&b) && more == 0);
	ck_assert_uint_eq(vphb_begin(&b, VPHB_NONE, 0, "GET", 3, &more), 0);
	ck_assert(vphb_done(&b) && more == 1);
	ck_assert_uint_eq(vphb_begin(&b, VPHB_CHUNKED, 0, "0\r\n\r\n", 5,
	    &more), 5);
	ck_assert(vphb_done(&b) && more == 0);
	/* malformed: nothing is the request's, and no "more" */
	ck_assert_uint_eq(vphb_begin(&b, VPHB_CHUNKED, 0, "zz", 2, &more), 0);
	ck_assert(vphb_failed(&b) && more == 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vphttpbody");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, none);
	tcase_add_test(tc, length);
	tcase_add_test(tc, chunked_good);
	tcase_add_test(tc, chunked_bad);
	tcase_add_test(tc, chunked_sticky_error);
	tcase_add_test(tc, chunked_bounds);
	tcase_add_test(tc, many_small_chunks);
	tcase_add_test(tc, begin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
