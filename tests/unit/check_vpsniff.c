/*
 * Unit tests for vpsniff: TLS ClientHello SNI and HTTP Host sniffers,
 * truncated at every byte, with hostile lengths.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpsniff.h"

static char name[256];

/* Builds a ClientHello record with an optional server_name; its length. */
static size_t
hello(unsigned char *b, const char *sni)
{
	size_t n = 0, hs, ext, sl = sni ? strlen(sni) : 0;

	b[n++] = 0x16; b[n++] = 0x03; b[n++] = 0x01; n += 2;	/* record */
	b[n++] = 0x01; n += 3;					/* handshake */
	hs = n;
	b[n++] = 0x03; b[n++] = 0x03;
	memset(b + n, 0xab, 32); n += 32;			/* random */
	b[n++] = 32; memset(b + n, 0xcd, 32); n += 32;		/* session id */
	b[n++] = 0; b[n++] = 4; b[n++] = 0x13; b[n++] = 0x01;
	b[n++] = 0x13; b[n++] = 0x02;				/* suites */
	b[n++] = 1; b[n++] = 0;					/* compression */
	ext = n; n += 2;
	/* An unrelated extension first (supported_groups). */
	b[n++] = 0x00; b[n++] = 0x0a; b[n++] = 0; b[n++] = 4;
	b[n++] = 0; b[n++] = 2; b[n++] = 0; b[n++] = 0x1d;
	if (sni != NULL) {
		b[n++] = 0; b[n++] = 0;
		b[n++] = (unsigned char)((sl + 5) >> 8); b[n++] = (unsigned char)(sl + 5);
		b[n++] = (unsigned char)((sl + 3) >> 8); b[n++] = (unsigned char)(sl + 3);
		b[n++] = 0;
		b[n++] = (unsigned char)(sl >> 8); b[n++] = (unsigned char)sl;
		memcpy(b + n, sni, sl); n += sl;
	}
	b[ext] = (unsigned char)((n - ext - 2) >> 8);
	b[ext + 1] = (unsigned char)(n - ext - 2);
	b[hs - 3] = 0;
	b[hs - 2] = (unsigned char)((n - hs) >> 8);
	b[hs - 1] = (unsigned char)(n - hs);
	b[3] = (unsigned char)((n - 5) >> 8);
	b[4] = (unsigned char)(n - 5);
	return n;
}

START_TEST(tls_sni)
{
	unsigned char b[1024];
	size_t n = hello(b, "www.Example.org"), i;
	const char *proto;

	ck_assert_int_eq(vpsniff_tls(b, n, name, sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "www.Example.org");
	for (i = 0; i < n; i++)
		ck_assert_msg(vpsniff_tls(b, i, name, sizeof(name)) == VPSNIFF_MORE,
		    "prefix %zu", i);
	ck_assert_int_eq(vpsniff(b, n, name, sizeof(name), &proto), VPSNIFF_FOUND);
	ck_assert_str_eq(proto, "tls");
	/* Without SNI: TLS, no name. */
	n = hello(b, NULL);
	ck_assert_int_eq(vpsniff_tls(b, n, name, sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "");
	/* A name with a bad character is dropped, the protocol kept. */
	n = hello(b, "a;b");
	ck_assert_int_eq(vpsniff_tls(b, n, name, sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "");
}
END_TEST

START_TEST(tls_hostile)
{
	unsigned char b[1024], c[1024];
	size_t n = hello(b, "example.org"), i;
	int r;

	ck_assert_int_eq(vpsniff_tls((const unsigned char *)"\x17\x03\x01", 3,
	    name, sizeof(name)), VPSNIFF_NOT);
	ck_assert_int_eq(vpsniff_tls((const unsigned char *)"\x16\x02", 2,
	    name, sizeof(name)), VPSNIFF_NOT);
	ck_assert_int_eq(vpsniff_tls((const unsigned char *)"\x16\x03\x01\x00\x05\x02",
	    6, name, sizeof(name)), VPSNIFF_NOT);
	/* Corrupt every byte in turn: never crash, never read past n. */
	for (i = 0; i < n; i++) {
		memcpy(c, b, n);
		c[i] ^= 0xff;
		r = vpsniff_tls(c, n, name, sizeof(name));
		ck_assert(r == VPSNIFF_NOT || r == VPSNIFF_MORE || r == VPSNIFF_FOUND);
		memcpy(c, b, n);
		c[i] = 0xff;
		r = vpsniff_tls(c, n, name, sizeof(name));
		ck_assert(r >= VPSNIFF_NOT && r <= VPSNIFF_FOUND);
	}
	/* A huge record length is refused, not waited for. */
	memcpy(c, b, n);
	c[3] = 0xff;
	c[4] = 0xff;
	ck_assert_int_eq(vpsniff_tls(c, n, name, sizeof(name)), VPSNIFF_NOT);
}
END_TEST

START_TEST(http_host)
{
	const char *g = "GET / HTTP/1.1\r\nUser-Agent: x\r\nhost: Example.org:8080\r\n\r\n";
	const char *proto;
	size_t i, hostend = strstr(g, "8080\r\n") - g + 6;

	ck_assert_int_eq(vpsniff_http((const unsigned char *)g, strlen(g), name,
	    sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "Example.org");
	for (i = 0; i < hostend; i++)
		ck_assert_msg(vpsniff_http((const unsigned char *)g, i, name,
		    sizeof(name)) == VPSNIFF_MORE, "prefix %zu", i);
	ck_assert_int_eq(vpsniff((const unsigned char *)g, strlen(g), name,
	    sizeof(name), &proto), VPSNIFF_FOUND);
	ck_assert_str_eq(proto, "http");
	ck_assert_int_eq(vpsniff_http((const unsigned char *)"POST /x HTTP/1.0\n"
	    "Host: [::1]:80\n\n", 33, name, sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "::1");
	ck_assert_int_eq(vpsniff_http((const unsigned char *)"GET / HTTP/1.1\r\n\r\n",
	    18, name, sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "");
	ck_assert_int_eq(vpsniff_http((const unsigned char *)"SSH-2.0-OpenSSH\r\n",
	    17, name, sizeof(name)), VPSNIFF_NOT);
	ck_assert_int_eq(vpsniff_http((const unsigned char *)"GET / FTP/1.1\r\n",
	    15, name, sizeof(name)), VPSNIFF_NOT);
	ck_assert_int_eq(vpsniff((const unsigned char *)"SSH-2.0-x\r\n", 11,
	    name, sizeof(name), &proto), VPSNIFF_NOT);
	ck_assert_int_eq(vpsniff((const unsigned char *)"", 0, name,
	    sizeof(name), &proto), VPSNIFF_MORE);
}
END_TEST

START_TEST(http_huge)
{
	char *b = malloc(VPSNIFF_MAX + 100);
	size_t n;

	ck_assert_ptr_nonnull(b);
	n = (size_t)snprintf(b, 64, "GET / HTTP/1.1\r\nX: ");
	memset(b + n, 'x', VPSNIFF_MAX + 100 - n);
	/* No Host within the bound: protocol known, no name. */
	ck_assert_int_eq(vpsniff_http((unsigned char *)b, VPSNIFF_MAX + 100, name,
	    sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "");
	/* An endless request line is not HTTP. */
	memcpy(b, "GET /", 5);
	memset(b + 5, 'a', VPSNIFF_MAX + 95);
	ck_assert_int_eq(vpsniff_http((unsigned char *)b, VPSNIFF_MAX + 100, name,
	    sizeof(name)), VPSNIFF_NOT);
	/* A 300-byte Host does not fit a name. */
	n = (size_t)snprintf(b, 64, "GET / HTTP/1.1\r\nHost: ");
	memset(b + n, 'a', 300);
	memcpy(b + n + 300, "\r\n\r\n", 4);
	ck_assert_int_eq(vpsniff_http((unsigned char *)b, n + 304, name,
	    sizeof(name)), VPSNIFF_FOUND);
	ck_assert_str_eq(name, "");
	free(b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpsniff");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tls_sni);
	tcase_add_test(tc, tls_hostile);
	tcase_add_test(tc, http_host);
	tcase_add_test(tc, http_huge);
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
