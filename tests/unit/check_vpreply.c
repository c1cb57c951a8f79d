/*
 * Unit tests for vpreply: the reply bytes byte for byte, the class ->
 * code/status/exit tables, VP_REPLY parsing, small buffers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vpnet.h"
#include "vpreply.h"

static struct sockaddr_in sin4;
static struct sockaddr_in6 sin6;

static void
setup(void)
{
	memset(&sin4, 0, sizeof(sin4));
	sin4.sin_family = AF_INET;
	sin4.sin_port = htons(0x1234);
	inet_pton(AF_INET, "10.1.2.3", &sin4.sin_addr);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
}

START_TEST(socks5_bytes)
{
	char b[64];
	static const unsigned char ok4[] = { 5, 0, 0, 1, 10, 1, 2, 3, 0x12,
	    0x34 };
	static const unsigned char refused[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0,
	    0 };
	static const unsigned char ok6[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d,
	    0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x01, 0xbb };

	ck_assert_int_eq(vpreply_socks5(VPR_OK, (struct sockaddr *)&sin4, b,
	    sizeof(b)), 10);
	ck_assert(memcmp(b, ok4, 10) == 0);
	ck_assert_int_eq(vpreply_socks5(VPR_REFUSED, NULL, b, sizeof(b)), 10);
	ck_assert(memcmp(b, refused, 10) == 0);
	ck_assert_int_eq(vpreply_socks5(VPR_OK, (struct sockaddr *)&sin6, b,
	    sizeof(b)), 22);
	ck_assert(memcmp(b, ok6, 22) == 0);
	/* too small */
	ck_assert_int_eq(vpreply_socks5(VPR_OK, NULL, b, 9), -1);
	ck_assert_int_eq(vpreply_socks5(VPR_OK, (struct sockaddr *)&sin6, b,
	    21), -1);
}
END_TEST

START_TEST(socks5_codes)
{
	ck_assert_int_eq(vpreply_socks5_code(VPR_OK), 0);
	ck_assert_int_eq(vpreply_socks5_code(VPR_GENERAL), 1);
	ck_assert_int_eq(vpreply_socks5_code(VPR_NOTALLOWED), 2);
	ck_assert_int_eq(vpreply_socks5_code(VPR_NETUNREACH), 3);
	ck_assert_int_eq(vpreply_socks5_code(VPR_HOSTUNREACH), 4);
	ck_assert_int_eq(vpreply_socks5_code(VPR_NONAME), 4);
	ck_assert_int_eq(vpreply_socks5_code(VPR_REFUSED), 5);
	ck_assert_int_eq(vpreply_socks5_code(VPR_TIMEOUT), 6);
	ck_assert_int_eq(vpreply_socks5_code(VPR_CMDUNSUPP), 7);
	ck_assert_int_eq(vpreply_socks5_code(VPR_ATYPUNSUPP), 8);
	ck_assert_int_eq(vpreply_socks5_code((enum vpr_class)99), 1);
	/* and back, for upstream replies */
	ck_assert_int_eq(vpreply_socks5_class(0), VPR_OK);
	ck_assert_int_eq(vpreply_socks5_class(5), VPR_REFUSED);
	ck_assert_int_eq(vpreply_socks5_class(4), VPR_HOSTUNREACH);
	ck_assert_int_eq(vpreply_socks5_class(6), VPR_TIMEOUT);
	ck_assert_int_eq(vpreply_socks5_class(2), VPR_NOTALLOWED);
	ck_assert_int_eq(vpreply_socks5_class(0x42), VPR_GENERAL);
}
END_TEST

START_TEST(socks4_bytes)
{
	char b[16];
	static const unsigned char ok[] = { 0, 0x5a, 0x12, 0x34, 10, 1, 2, 3 };
	static const unsigned char no[] = { 0, 0x5b, 0, 0, 0, 0, 0, 0 };

	ck_assert_int_eq(vpreply_socks4(VPR_OK, (struct sockaddr *)&sin4, b,
	    sizeof(b)), 8);
	ck_assert(memcmp(b, ok, 8) == 0);
	ck_assert_int_eq(vpreply_socks4(VPR_TIMEOUT, NULL, b, sizeof(b)), 8);
	ck_assert(memcmp(b, no, 8) == 0);
	/* an IPv6 bound address cannot be said: zeros */
	ck_assert_int_eq(vpreply_socks4(VPR_OK, (struct sockaddr *)&sin6, b,
	    sizeof(b)), 8);
	ck_assert_int_eq(b[1], 0x5a);
	ck_assert_int_eq(b[4] | b[5] | b[6] | b[7], 0);
	ck_assert_int_eq(vpreply_socks4(VPR_OK, NULL, b, 7), -1);
}
END_TEST

START_TEST(http_bytes)
{
	char b[VPREPLY_MAX];
	ssize_t n;

	n = vpreply_http(VPR_OK, NULL, b, sizeof(b));
	ck_assert_int_eq(n, (ssize_t)strlen(
	    "HTTP/1.1 200 Connection established\r\n\r\n"));
	ck_assert(memcmp(b, "HTTP/1.1 200 Connection established\r\n\r\n",
	    n) == 0);
	n = vpreply_http(VPR_REFUSED, NULL, b, sizeof(b));
	b[n] = '\0';
	ck_assert_str_eq(b, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n");
	n = vpreply_http(VPR_TIMEOUT, NULL, b, sizeof(b));
	ck_assert(strncmp(b, "HTTP/1.1 504 Gateway Timeout\r\n", 30) == 0);
	n = vpreply_http(VPR_NOTALLOWED, NULL, b, sizeof(b));
	ck_assert(strncmp(b, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
	n = vpreply_http(VPR_BADREQ, NULL, b, sizeof(b));
	ck_assert(strncmp(b, "HTTP/1.1 400 ", 13) == 0);
	n = vpreply_http(VPR_AUTH, "we\"ird\r\nrealm\\", b, sizeof(b));
	ck_assert_int_gt(n, 0);
	b[n] = '\0';
	ck_assert_ptr_nonnull(strstr(b, "HTTP/1.1 407 Proxy Authentication "
	    "Required\r\nProxy-Authenticate: Basic realm=\"weirdrealm\"\r\n"));
	/* too small never overflows */
	ck_assert_int_eq(vpreply_http(VPR_OK, NULL, b, 10), -1);
	ck_assert_int_eq(vpreply_http(VPR_NONAME, NULL, b, 0), -1);
}
END_TEST

START_TEST(http_status_map)
{
	ck_assert_int_eq(vpreply_http_status(VPR_NONAME), 502);
	ck_assert_int_eq(vpreply_http_status(VPR_HOSTUNREACH), 502);
	ck_assert_int_eq(vpreply_http_status(VPR_TIMEOUT), 504);
	ck_assert_int_eq(vpreply_http_status(VPR_AUTH), 407);
	ck_assert_int_eq(vpreply_http_class(200), VPR_OK);
	ck_assert_int_eq(vpreply_http_class(299), VPR_OK);
	ck_assert_int_eq(vpreply_http_class(403), VPR_NOTALLOWED);
	ck_assert_int_eq(vpreply_http_class(407), VPR_AUTH);
	ck_assert_int_eq(vpreply_http_class(504), VPR_TIMEOUT);
	ck_assert_int_eq(vpreply_http_class(502), VPR_GENERAL);
	ck_assert_int_eq(vpreply_http_class(0), VPR_GENERAL);
}
END_TEST

START_TEST(exit_and_errno)
{
	ck_assert_int_eq(vpreply_exit(VPR_OK), 0);
	ck_assert_int_eq(vpreply_exit(VPR_NONAME), EX_NOHOST);
	ck_assert_int_eq(vpreply_exit(VPR_REFUSED), EX_UNAVAILABLE);
	ck_assert_int_eq(vpreply_exit(VPR_HOSTUNREACH), EX_UNAVAILABLE);
	ck_assert_int_eq(vpreply_exit(VPR_NETUNREACH), EX_UNAVAILABLE);
	ck_assert_int_eq(vpreply_exit(VPR_NOTALLOWED), EX_UNAVAILABLE);
	ck_assert_int_eq(vpreply_exit(VPR_TIMEOUT), EX_TEMPFAIL);
	ck_assert_int_eq(vpreply_exit(VPR_PROTO), EX_DATAERR);
	ck_assert_int_eq(vpreply_exit(VPR_INTERNAL), EX_OSERR);
	ck_assert_int_eq(vpreply_exit((enum vpr_class)-1), EX_SOFTWARE);
	ck_assert_int_eq(vpreply_class_errno(0), VPR_OK);
	ck_assert_int_eq(vpreply_class_errno(ECONNREFUSED), VPR_REFUSED);
	ck_assert_int_eq(vpreply_class_errno(ETIMEDOUT), VPR_TIMEOUT);
	ck_assert_int_eq(vpreply_class_errno(ENETUNREACH), VPR_NETUNREACH);
	ck_assert_int_eq(vpreply_class_errno(EHOSTUNREACH), VPR_HOSTUNREACH);
	ck_assert_int_eq(vpreply_class_errno(VPNET_ENONAME), VPR_NONAME);
	ck_assert_int_eq(vpreply_class_errno(VPNET_EAGAIN), VPR_TIMEOUT);
	ck_assert_int_eq(vpreply_class_errno(EMFILE), VPR_INTERNAL);
	ck_assert_int_eq(vpreply_class_errno(EXDEV), VPR_GENERAL);
	ck_assert_str_eq(vpreply_class_str(VPR_REFUSED), "connection refused");
	ck_assert_str_eq(vpreply_class_str((enum vpr_class)1000),
	    "unknown failure");
}
END_TEST

START_TEST(proto_parse)
{
	enum vpr_proto p;

	ck_assert_int_eq(vpreply_proto_parse("socks5", &p), 0);
	ck_assert_int_eq(p, VPRP_SOCKS5);
	ck_assert_int_eq(vpreply_proto_parse("socks4", &p), 0);
	ck_assert_int_eq(p, VPRP_SOCKS4);
	ck_assert_int_eq(vpreply_proto_parse("http", &p), 0);
	ck_assert_int_eq(p, VPRP_HTTP);
	ck_assert_int_eq(vpreply_proto_parse(NULL, &p), 0);
	ck_assert_int_eq(p, VPRP_NONE);
	ck_assert_int_eq(vpreply_proto_parse("", &p), 0);
	ck_assert_int_eq(p, VPRP_NONE);
	ck_assert_int_eq(vpreply_proto_parse("SOCKS5", &p), -1);
	ck_assert_int_eq(vpreply_proto_parse("socks5 ", &p), -1);
	ck_assert_int_eq(vpreply_proto_parse("https", &p), -1);
	ck_assert_str_eq(vpreply_proto_name(VPRP_HTTP), "http");
}
END_TEST

START_TEST(send_to_fd)
{
	int sp[2];
	char b[64];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(vpreply_send(sp[0], VPRP_NONE, VPR_OK, NULL), 0);
	ck_assert_int_eq(vpreply_send(sp[0], VPRP_SOCKS4, VPR_REFUSED, NULL),
	    0);
	ck_assert_int_eq(read(sp[1], b, sizeof(b)), 8);
	ck_assert_int_eq((unsigned char)b[1], 0x5b);
	close(sp[1]);
	ck_assert_int_eq(vpreply_send(sp[0], VPRP_SOCKS5, VPR_OK, NULL), -1);
	close(sp[0]);
}
END_TEST

static Suite *
vpreply_suite(void)
{
	Suite *s = suite_create("vpreply");
	TCase *tc = tcase_create("reply");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, socks5_bytes);
	tcase_add_test(tc, socks5_codes);
	tcase_add_test(tc, socks4_bytes);
	tcase_add_test(tc, http_bytes);
	tcase_add_test(tc, http_status_map);
	tcase_add_test(tc, exit_and_errno);
	tcase_add_test(tc, proto_parse);
	tcase_add_test(tc, send_to_fd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(vpreply_suite());
	int nf;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
