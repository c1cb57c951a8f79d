/*
 * Unit tests for vpucspi: the UCSPI variables for tcp (v4, v6,
 * v4-mapped) and unix connections, reuse of one environment, overrides
 * and failures on things that are not connected sockets.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpspawn.h"
#include "vpucspi.h"

/* A connected loopback pair on family af; returns 0, else -1 (no v6). */
static int
tcp_pair(int af, int *c, int *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = af;
	if (af == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
		    htonl(INADDR_LOOPBACK);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		len = sizeof(struct sockaddr_in6);
	}
	if ((l = socket(af, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(l, (struct sockaddr *)&ss, len) == -1 || listen(l, 1) == -1 ||
	    getsockname(l, (struct sockaddr *)&ss, &len) == -1) {
		close(l);
		return -1;
	}
	*c = socket(af, SOCK_STREAM, 0);
	ck_assert_int_ge(*c, 0);
	ck_assert_int_eq(connect(*c, (struct sockaddr *)&ss, len), 0);
	*s = accept(l, NULL, NULL);
	ck_assert_int_ge(*s, 0);
	close(l);
	return 0;
}

static unsigned
local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;
	char ip[VPUCSPI_IPMAX];

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	ck_assert_int_eq(vpucspi_addr((struct sockaddr *)&ss, ip, sizeof(ip),
	    &port), 0);
	return port;
}

START_TEST(tcp4_env)
{
	struct vpenv e;
	char buf[16];
	int c, s;

	ck_assert_int_eq(tcp_pair(AF_INET, &c, &s), 0);
	ck_assert_int_eq(vpenv_init(&e, 0), 0);
	ck_assert_int_eq(vpenv_set(&e, "UNIXREMOTEPID", "1"), 0);
	ck_assert_int_eq(vpenv_set(&e, "TCPREMOTEHOST", "evil"), 0);
	ck_assert_int_eq(vpucspi_env(&e, s), 0);
	ck_assert_str_eq(vpenv_get(&e, "PROTO"), "TCP");
	ck_assert_str_eq(vpenv_get(&e, "TCPREMOTEIP"), "127.0.0.1");
	ck_assert_str_eq(vpenv_get(&e, "TCPLOCALIP"), "127.0.0.1");
	snprintf(buf, sizeof(buf), "%u", local_port(c));
	ck_assert_str_eq(vpenv_get(&e, "TCPREMOTEPORT"), buf);
	snprintf(buf, sizeof(buf), "%u", local_port(s));
	ck_assert_str_eq(vpenv_get(&e, "TCPLOCALPORT"), buf);
	ck_assert_ptr_null(vpenv_get(&e, "UNIXREMOTEPID"));
	ck_assert_ptr_null(vpenv_get(&e, "TCPREMOTEHOST"));
	/* Reuse: a second call replaces, never duplicates. */
	ck_assert_int_eq(vpucspi_env(&e, s), 0);
	ck_assert_uint_eq(e.n, 5);
	vpenv_free(&e);
	close(c);
	close(s);
}
END_TEST

START_TEST(tcp6_env)
{
	struct vpenv e;
	int c, s;

	if (tcp_pair(AF_INET6, &c, &s) == -1)
		return;		/* no IPv6 loopback here */
	ck_assert_int_eq(vpenv_init(&e, 0), 0);
	ck_assert_int_eq(vpucspi_env(&e, s), 0);
	ck_assert_str_eq(vpenv_get(&e, "PROTO"), "TCP");
	ck_assert_str_eq(vpenv_get(&e, "TCPREMOTEIP"), "::1");
	ck_assert_str_eq(vpenv_get(&e, "TCPLOCALIP"), "::1");
	vpenv_free(&e);
	close(c);
	close(s);
}
END_TEST

START_TEST(unix_env)
{
	struct vpenv e;
	char buf[32];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(vpenv_init(&e, 0), 0);
	ck_assert_int_eq(vpenv_set(&e, "TCPREMOTEIP", "1.2.3.4"), 0);
	ck_assert_int_eq(vpucspi_env(&e, sv[0]), 0);
	ck_assert_str_eq(vpenv_get(&e, "PROTO"), "UNIX");
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	ck_assert_str_eq(vpenv_get(&e, "UNIXREMOTEPID"), buf);
	snprintf(buf, sizeof(buf), "%lu", (unsigned long)geteuid());
	ck_assert_str_eq(vpenv_get(&e, "UNIXREMOTEEUID"), buf);
	snprintf(buf, sizeof(buf), "%lu", (unsigned long)getegid());
	ck_assert_str_eq(vpenv_get(&e, "UNIXREMOTEEGID"), buf);
	ck_assert_ptr_null(vpenv_get(&e, "TCPREMOTEIP"));
	vpenv_free(&e);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(mapped_and_override)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	struct sockaddr_un_like { sa_family_t f; char p[10]; } u;
	struct vpenv e;
	char ip[VPUCSPI_IPMAX];
	unsigned port = 0;

	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(4242);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.1.2.3",
	    &a6.sin6_addr), 1);
	ck_assert_int_eq(vpucspi_addr((struct sockaddr *)&a6, ip, sizeof(ip),
	    &port), 0);
	ck_assert_str_eq(ip, "10.1.2.3");
	ck_assert_uint_eq(port, 4242);
	/* Too small a buffer fails rather than truncating. */
	ck_assert_int_eq(vpucspi_addr((struct sockaddr *)&a6, ip, 4, &port),
	    -1);
	memset(&u, 0, sizeof(u));
	u.f = AF_UNIX;
	ck_assert_int_eq(vpucspi_addr((struct sockaddr *)&u, ip, sizeof(ip),
	    NULL), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);

	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons(80);
	a4.sin_addr.s_addr = htonl(0xc0000201);
	ck_assert_int_eq(vpenv_init(&e, 0), 0);
	ck_assert_int_eq(vpenv_set(&e, "TCPLOCALIP", "keep"), 0);
	ck_assert_int_eq(vpucspi_env_addrs(&e, (struct sockaddr *)&a4, NULL),
	    0);
	ck_assert_str_eq(vpenv_get(&e, "TCPREMOTEIP"), "192.0.2.1");
	ck_assert_str_eq(vpenv_get(&e, "TCPREMOTEPORT"), "80");
	ck_assert_str_eq(vpenv_get(&e, "TCPLOCALIP"), "keep");
	vpenv_free(&e);
}
END_TEST

START_TEST(not_a_connection)
{
	struct vpenv e;
	int p[2], l;

	ck_assert_int_eq(vpenv_init(&e, 0), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(vpucspi_env(&e, p[0]), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	ck_assert_int_eq(vpucspi_env(&e, -1), -1);
	/* An unconnected tcp socket has no peer. */
	l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(vpucspi_env(&e, l), -1);
	ck_assert_int_eq(errno, ENOTCONN);
	ck_assert_ptr_null(vpenv_get(&e, "PROTO"));
	close(l);
	close(p[0]);
	close(p[1]);
	vpenv_free(&e);
}
END_TEST

START_TEST(fill_environ)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	unsetenv("PROTO");
	setenv("TCPREMOTEIP", "stale", 1);
	ck_assert_int_eq(vpucspi_fill_environ(sv[0]), 1);
	ck_assert_str_eq(getenv("PROTO"), "UNIX");
	ck_assert_ptr_null(getenv("TCPREMOTEIP"));
	ck_assert_ptr_nonnull(getenv("UNIXREMOTEPID"));
	/* Already set: left alone. */
	ck_assert_int_eq(vpucspi_fill_environ(sv[0]), 0);
	unsetenv("PROTO");
	ck_assert_int_eq(vpucspi_fill_environ(-1), -1);
	ck_assert_ptr_null(getenv("PROTO"));
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpucspi");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tcp4_env);
	tcase_add_test(tc, tcp6_env);
	tcase_add_test(tc, unix_env);
	tcase_add_test(tc, mapped_and_override);
	tcase_add_test(tc, not_a_connection);
	tcase_add_test(tc, fill_environ);
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
