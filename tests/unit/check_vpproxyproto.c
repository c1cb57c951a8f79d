/*
 * Unit tests for vpproxyproto: valid v1 and v2 headers of every family,
 * each truncated at every byte, followed by application data that must
 * not be consumed; malformed, oversized and hostile headers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpproxyproto.h"

static const unsigned char sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static unsigned char buf[VPPP_V2_MAX + 64];

/*
 * Checks that hdr (n bytes) parses as exactly n bytes with "DATA" after
 * it, and that every shorter prefix asks for more.
 */
static void
check_complete(const void *hdr, size_t n, struct vppp_info *info)
{
	size_t k;
	ssize_t r;

	memcpy(buf, hdr, n);
	memcpy(buf + n, "DATA", 4);
	r = vppp_parse(buf, n + 4, info);
	ck_assert_msg(r == (ssize_t)n, "parsed %zd of %zu (%s)", r, n,
	    vppp_why(buf, n + 4));
	ck_assert_int_eq(vppp_parse(buf, n, info), (ssize_t)n);
	for (k = 0; k < n; k++)
		ck_assert_msg(vppp_parse(buf, k, info) == VPPP_NEEDMORE,
		    "prefix %zu of %zu: %zd", k, n, vppp_parse(buf, k, info));
}

static const char *
ip_of(const struct sockaddr_storage *ss, char *out, size_t n)
{
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)ss)->sin_addr, out, n);
	return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr,
	    out, n);
}

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

START_TEST(v1_valid)
{
	struct vppp_info in;
	char ip[64];
	const char *h4 = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";
	const char *h6 = "PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 0 65535\r\n";
	const char *hu = "PROXY UNKNOWN\r\n";
	const char *hu2 = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	char longest[128];

	check_complete(h4, strlen(h4), &in);
	ck_assert_int_eq(in.version, 1);
	ck_assert_int_eq(in.local, 0);
	ck_assert_int_eq(in.family, AF_INET);
	ck_assert_str_eq(ip_of(&in.src, ip, sizeof(ip)), "192.0.2.1");
	ck_assert_uint_eq(port_of(&in.src), 56324);
	ck_assert_str_eq(ip_of(&in.dst, ip, sizeof(ip)), "198.51.100.7");
	ck_assert_uint_eq(port_of(&in.dst), 443);

	check_complete(h6, strlen(h6), &in);
	ck_assert_int_eq(in.family, AF_INET6);
	ck_assert_str_eq(ip_of(&in.src, ip, sizeof(ip)), "2001:db8::1");
	ck_assert_uint_eq(port_of(&in.src), 0);
	ck_assert_uint_eq(port_of(&in.dst), 65535);

	check_complete(hu, strlen(hu), &in);
	ck_assert_int_eq(in.local, 1);
	check_complete(hu2, strlen(hu2), &in);
	ck_assert_int_eq(in.local, 1);

	/* The longest legal line: exactly 107 bytes. */
	snprintf(longest, sizeof(longest), "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	ck_assert_uint_eq(strlen(longest), 104);
	check_complete(longest, strlen(longest), &in);
	memset(longest, 'x', sizeof(longest));
	memcpy(longest, "PROXY UNKNOWN ", 14);
	memcpy(longest + 105, "\r\n", 2);
	check_complete(longest, 107, &in);
}
END_TEST

START_TEST(v1_malformed)
{
	const char *bad[] = {
		"GET / HTTP/1.0\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n",	/* bare LF */
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\rX",	/* bare CR */
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 9\r\n",
		"PROXY TCP4 192.0.2.1  198.51.100.7 56324 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 \r\n",
		"PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n",
		"PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 0443 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 -1 443\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 +1 443\r\n",
		"PROXY TCP4 192.0.2.256 198.51.100.7 1 443\r\n",
		"PROXY TCP4 example.org 198.51.100.7 1 443\r\n",
		"PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY tcp4 192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY\r\n",
		"PROXY \r\n",
		"proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
		"PROXY TCP4 192.0.2.1\t198.51.100.7 1 2\r\n",
		"PROXY TCP4 192.0.2.1 198.51.100.7 1 2\0\r\n",
		" PROXY TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
	};
	struct vppp_info in;
	char big[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i]);

		if (i == 21)
			n = 40;	/* embedded NUL */
		ck_assert_msg(vppp_parse(bad[i], n, &in) == VPPP_MALFORMED,
		    "accepted #%zu '%s'", i, bad[i]);
		ck_assert_str_ne(vppp_why(bad[i], n), "valid");
	}
	/* 108 bytes and no CRLF: oversized, whatever follows. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(vppp_parse(big, 106, &in), VPPP_NEEDMORE);
	ck_assert_int_eq(vppp_parse(big, 107, &in), VPPP_MALFORMED);
	ck_assert_int_eq(vppp_parse(big, sizeof(big), &in), VPPP_MALFORMED);
	/* CR as the 107th byte: the LF would be the 108th. */
	big[106] = '\r';
	big[107] = '\n';
	ck_assert_int_eq(vppp_parse(big, 107, &in), VPPP_MALFORMED);
	ck_assert_int_eq(vppp_parse(big, 108, &in), VPPP_MALFORMED);
	/* An early non-signature byte is rejected at once. */
	ck_assert_int_eq(vppp_parse("PRX", 3, &in), VPPP_MALFORMED);
	ck_assert_int_eq(vppp_parse("G", 1, &in), VPPP_MALFORMED);
}
END_TEST

/* Builds a v2 header into out; returns its length. */
static size_t
v2(unsigned char *out, unsigned vc, unsigned ft, const void *addr,
    size_t alen, const void *tlv, size_t tlen)
{
	size_t blen = alen + tlen;

	memcpy(out, sig, 12);
	out[12] = (unsigned char)vc;
	out[13] = (unsigned char)ft;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	if (alen)
		memcpy(out + 16, addr, alen);
	if (tlen)
		memcpy(out + 16 + alen, tlv, tlen);
	return 16 + blen;
}

START_TEST(v2_valid)
{
	static unsigned char h[VPPP_V2_MAX];
	unsigned char a4[12] = { 192, 0, 2, 1, 198, 51, 100, 7,
	    0xdc, 0x04, 0x01, 0xbb };
	unsigned char a6[36], au[216];
	unsigned char tlv[] = { 0x04, 0x00, 0x02, 0, 0,	/* NOOP */
	    0x01, 0x00, 0x02, 'h', '2',			/* ALPN */
	    0x20, 0x00, 0x00 };				/* SSL, empty */
	struct vppp_info in;
	char ip[64];
	size_t n;

	n = v2(h, 0x21, 0x11, a4, sizeof(a4), NULL, 0);
	check_complete(h, n, &in);
	ck_assert_int_eq(in.version, 2);
	ck_assert_int_eq(in.local, 0);
	ck_assert_int_eq(in.family, AF_INET);
	ck_assert_int_eq(in.socktype, SOCK_STREAM);
	ck_assert_str_eq(ip_of(&in.src, ip, sizeof(ip)), "192.0.2.1");
	ck_assert_uint_eq(port_of(&in.src), 56324);
	ck_assert_str_eq(ip_of(&in.dst, ip, sizeof(ip)), "198.51.100.7");
	ck_assert_uint_eq(port_of(&in.dst), 443);

	n = v2(h, 0x21, 0x11, a4, sizeof(a4), tlv, sizeof(tlv));
	check_complete(h, n, &in);
	ck_assert_uint_eq(in.ntlv, 3);

	memset(a6, 0, sizeof(a6));
	inet_pton(AF_INET6, "2001:db8::5", a6);
	inet_pton(AF_INET6, "::1", a6 + 16);
	a6[32] = 0x12; a6[33] = 0x34; a6[34] = 0; a6[35] = 80;
	n = v2(h, 0x21, 0x21, a6, sizeof(a6), tlv, sizeof(tlv));
	check_complete(h, n, &in);
	ck_assert_int_eq(in.family, AF_INET6);
	ck_assert_str_eq(ip_of(&in.src, ip, sizeof(ip)), "2001:db8::5");
	ck_assert_uint_eq(port_of(&in.src), 0x1234);
	ck_assert_uint_eq(port_of(&in.dst), 80);

	/* UDP4 is parsed (socktype tells); unix paths are carried. */
	n = v2(h, 0x21, 0x12, a4, sizeof(a4), NULL, 0);
	check_complete(h, n, &in);
	ck_assert_int_eq(in.socktype, SOCK_DGRAM);
	memset(au, 0, sizeof(au));
	strcpy((char *)au, "/run/client.sock");
	strcpy((char *)au + 108, "/run/server.sock");
	n = v2(h, 0x21, 0x31, au, sizeof(au), NULL, 0);
	check_complete(h, n, &in);
	ck_assert_int_eq(in.family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&in.src)->sun_path,
	    "/run/client.sock");
	/* Unterminated 108-byte paths stay terminated. */
	memset(au, 'A', sizeof(au));
	n = v2(h, 0x21, 0x31, au, sizeof(au), NULL, 0);
	check_complete(h, n, &in);
	ck_assert_uint_eq(strlen(((struct sockaddr_un *)&in.src)->sun_path),
	    107);

	/* LOCAL: a health check; the block (any content) is skipped. */
	n = v2(h, 0x20, 0x00, NULL, 0, NULL, 0);
	check_complete(h, n, &in);
	ck_assert_int_eq(in.local, 1);
	n = v2(h, 0x20, 0x11, "\xff\xff\xff", 3, NULL, 0);
	check_complete(h, n, &in);
	ck_assert_int_eq(in.local, 1);
	/* PROXY with UNSPEC: keep the real addresses. */
	n = v2(h, 0x21, 0x00, "junk", 4, NULL, 0);
	check_complete(h, n, &in);
	ck_assert_int_eq(in.local, 1);

	/* The largest header: 65535 bytes of block, TLVs filling it. */
	memset(h, 0, sizeof(h));
	memcpy(h, sig, 12);
	h[12] = 0x21; h[13] = 0x11; h[14] = 0xff; h[15] = 0xff;
	memcpy(h + 16, a4, 12);
	/* one NOOP TLV: 65535 - 12 - 3 = 65520 (0xfff0) bytes of value */
	h[28] = 0x04; h[29] = 0xff; h[30] = 0xf0;
	ck_assert_int_eq(vppp_parse(h, VPPP_V2_MAX, &in), VPPP_V2_MAX);
	ck_assert_int_eq(vppp_parse(h, VPPP_V2_MAX - 1, &in), VPPP_NEEDMORE);
}
END_TEST

START_TEST(v2_malformed)
{
	static unsigned char h[512];
	unsigned char a4[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2 };
	struct vppp_info in;
	size_t n;

	/* Bad signature at each of its bytes. */
	for (n = 1; n < 12; n++) {
		v2(h, 0x21, 0x11, a4, 12, NULL, 0);
		h[n] ^= 0x40;
		ck_assert_msg(vppp_parse(h, 28, &in) == VPPP_MALFORMED,
		    "sig byte %zu", n);
		ck_assert_int_eq(vppp_parse(h, n + 1, &in), VPPP_MALFORMED);
	}
	/* Version 1 or 3 in the binary form; command 2..15. */
	v2(h, 0x11, 0x11, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 13, &in), VPPP_MALFORMED);
	v2(h, 0x31, 0x11, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 28, &in), VPPP_MALFORMED);
	v2(h, 0x22, 0x11, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 28, &in), VPPP_MALFORMED);
	v2(h, 0x2f, 0x11, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 28, &in), VPPP_MALFORMED);
	/* Unknown family or transport. */
	v2(h, 0x21, 0x41, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 14, &in), VPPP_MALFORMED);
	v2(h, 0x21, 0x13, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 28, &in), VPPP_MALFORMED);
	/* Address block shorter than the family needs: rejected early. */
	n = v2(h, 0x21, 0x11, a4, 11, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, 16, &in), VPPP_MALFORMED);
	n = v2(h, 0x21, 0x21, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, n, &in), VPPP_MALFORMED);
	n = v2(h, 0x21, 0x31, a4, 12, NULL, 0);
	ck_assert_int_eq(vppp_parse(h, n, &in), VPPP_MALFORMED);
	/* TLVs that overrun the block, or a partial TLV header. */
	n = v2(h, 0x21, 0x11, a4, 12, "\x04\x00\x05zz", 5);
	ck_assert_int_eq(vppp_parse(h, n, &in), VPPP_MALFORMED);
	n = v2(h, 0x21, 0x11, a4, 12, "\x04\x00", 2);
	ck_assert_int_eq(vppp_parse(h, n, &in), VPPP_MALFORMED);
	n = v2(h, 0x21, 0x11, a4, 12, "\x04\xff\xff", 3);
	ck_assert_int_eq(vppp_parse(h, n, &in), VPPP_MALFORMED);
	/* A huge declared length with little data: waits, never overreads. */
	v2(h, 0x21, 0x11, a4, 12, NULL, 0);
	h[14] = 0xff;
	h[15] = 0xff;
	ck_assert_int_eq(vppp_parse(h, 28, &in), VPPP_NEEDMORE);
}
END_TEST

START_TEST(random_input)
{
	static unsigned char r[300];
	struct vppp_info in;
	unsigned seed = 12345;
	size_t i, n;
	ssize_t res;
	int iter;

	/* Whatever comes in, the result never exceeds the input. */
	for (iter = 0; iter < 200000; iter++) {
		n = rand_r(&seed) % sizeof(r);
		for (i = 0; i < n; i++)
			r[i] = (unsigned char)rand_r(&seed);
		if (iter % 3 == 0 && n >= 12)
			memcpy(r, sig, 12);
		else if (iter % 3 == 1 && n >= 6)
			memcpy(r, "PROXY ", 6);
		if (iter % 6 == 0 && n >= 14) {
			r[12] = 0x21;
			r[13] = 0x11;
			r[14] = 0;
		}
		res = vppp_parse(r, n, &in);
		ck_assert(res >= VPPP_MALFORMED && res <= (ssize_t)n);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpproxyproto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, v1_valid);
	tcase_add_test(tc, v1_malformed);
	tcase_add_test(tc, v2_valid);
	tcase_add_test(tc, v2_malformed);
	tcase_add_test(tc, random_input);
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
