/*
 * Unit tests for vpdial, the in-process outbound vp-dispatch runs:
 * reply + early data + relay over a socketpair, failure replies and
 * statuses, exec: connections and their exit status, VP_EARLY_FD.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vpdial.h"
#include "vpio.h"
#include "vplog.h"

/* A one-shot origin on 127.0.0.1: reads to EOF, answers "got:" + data. */
static pid_t
origin(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char buf[256];
	size_t n = 0;
	ssize_t r;
	int l, c;
	pid_t pid;

	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	if ((pid = fork()) == 0) {
		if ((c = accept(l, NULL, NULL)) == -1)
			_exit(2);
		memcpy(buf, "got:", 4);
		n = 4;
		while (n < sizeof(buf) &&
		    (r = read(c, buf + n, sizeof(buf) - n)) > 0)
			n += r;
		(void)vpio_writeall(c, buf, n);
		_exit(0);
	}
	close(l);
	return pid;
}

static unsigned
closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(s, (struct sockaddr *)&sin, &len);
	close(s);
	return ntohs(sin.sin_port);
}

START_TEST(run_reply_early_relay)
{
	struct vpdial_opts o;
	unsigned port;
	pid_t op, dp;
	int sp[2], st;
	char buf[256];
	ssize_t n;

	vplog_set_fd(-1);
	op = origin(&port);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = port;
	o.reply = VPRP_SOCKS5;
	o.early = "EARLY|";
	o.earlylen = 6;
	o.route = "direct";
	if ((dp = fork()) == 0) {
		close(sp[0]);
		_exit(vpdial_run(&o, sp[1], sp[1]));
	}
	close(sp[1]);
	ck_assert_uint_eq(vpio_readall(sp[0], buf, 10), 10);
	ck_assert(memcmp(buf, "\x05\x00\x00\x01\x7f\x00\x00\x01", 8) == 0);
	ck_assert_int_eq(write(sp[0], "client", 6), 6);
	ck_assert_int_eq(shutdown(sp[0], SHUT_WR), 0);
	n = (ssize_t)vpio_readall(sp[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_str_eq(buf, "got:EARLY|client");
	ck_assert_int_eq(waitpid(dp, &st, 0), dp);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	waitpid(op, NULL, 0);
	close(sp[0]);
}
END_TEST

static void
fails_with(const char *host, unsigned port, enum vpr_proto rp, int status,
    const void *reply, size_t rlen)
{
	struct vpdial_opts o;
	int sp[2];
	char buf[128];

	vplog_set_fd(-1);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(&o, 0, sizeof(o));
	o.host = host;
	o.port = port;
	o.reply = rp;
	o.connect_timeout_ms = 2000;
	ck_assert_int_eq(vpdial_run(&o, sp[1], sp[1]), status);
	close(sp[1]);
	ck_assert_uint_eq(vpio_readall(sp[0], buf, sizeof(buf)), rlen);
	ck_assert(memcmp(buf, reply, rlen) == 0);
	close(sp[0]);
}

START_TEST(run_failures)
{
	unsigned cp = closed_port();

	fails_with("127.0.0.1", cp, VPRP_SOCKS5, EX_UNAVAILABLE,
	    "\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	fails_with("no-such-host.invalid", 80, VPRP_SOCKS5, EX_NOHOST,
	    "\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	fails_with("127.0.0.1", cp, VPRP_SOCKS4, EX_UNAVAILABLE,
	    "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	fails_with("127.0.0.1", cp, VPRP_NONE, EX_UNAVAILABLE, "", 0);
}
END_TEST

START_TEST(connect_classes)
{
	struct vpdial_opts o;
	struct vpdial_conn c;
	enum vpr_class cls;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.host = "127.0.0.1";
	o.port = closed_port();
	ck_assert_int_eq(vpdial_connect(&o, &c, &cls, err, sizeof(err)), -1);
	ck_assert_int_eq(cls, VPR_REFUSED);
	ck_assert_str_eq(err, "connection refused");
	o.host = "no-such-host.invalid";
	ck_assert_int_eq(vpdial_connect(&o, &c, &cls, err, sizeof(err)), -1);
	ck_assert_int_eq(cls, VPR_NONAME);
	o.host = NULL;
	ck_assert_int_eq(vpdial_connect(&o, &c, &cls, err, sizeof(err)), -1);
	ck_assert_int_eq(cls, VPR_INTERNAL);
}
END_TEST

START_TEST(exec_conn)
{
	struct vpendpoint ep;
	struct vpdial_opts o;
	struct vpdial_conn c;
	enum vpr_class cls;
	char err[256], buf[64];
	ssize_t n;

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(vpep_parse("exec:read x; printf \"hi $x\"; exit 7",
	    &ep, err, sizeof(err)), 0);
	o.ep = &ep;
	ck_assert_int_eq(vpdial_connect(&o, &c, &cls, err, sizeof(err)), 0);
	ck_assert_int_ne(c.in, c.out);
	ck_assert_int_gt(c.pid, 0);
	ck_assert_int_eq(write(c.out, "there\n", 6), 6);
	n = (ssize_t)vpio_readall(c.in, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_str_eq(buf, "hi there");
	ck_assert_int_eq(vpdial_close(&c), 7);
	/* proxies carry only host/port destinations */
	{
		struct vpproxy px;

		ck_assert_int_eq(vpproxyc_parse("socks5://127.0.0.1:1", &px,
		    err, sizeof(err)), 0);
		o.proxies = &px;
		o.nproxies = 1;
		ck_assert_int_eq(vpdial_connect(&o, &c, &cls, err,
		    sizeof(err)), -1);
		ck_assert_int_eq(cls, VPR_CMDUNSUPP);
	}
}
END_TEST

START_TEST(early_env)
{
	void *buf;
	size_t len;
	char err[128], num[16];
	int p[2];
	static char big[VPDIAL_EARLY_MAX + 10];

	unsetenv("VP_EARLY_FD");
	ck_assert_int_eq(vpdial_early_from_env(&buf, &len, err, sizeof(err)),
	    0);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "hello", 5), 5);
	close(p[1]);
	snprintf(num, sizeof(num), "%d", p[0]);
	setenv("VP_EARLY_FD", num, 1);
	ck_assert_int_eq(vpdial_early_from_env(&buf, &len, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(buf, "hello", 5) == 0);
	ck_assert_ptr_null(getenv("VP_EARLY_FD"));
	ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);	/* closed */
	free(buf);

	setenv("VP_EARLY_FD", "12x", 1);
	ck_assert_int_eq(vpdial_early_from_env(&buf, &len, err, sizeof(err)),
	    -1);
	ck_assert(err[0] != '\0');

	/* more than VPDIAL_EARLY_MAX: refused, memory bounded */
	if (fork() == 0) {
		ck_assert_int_eq(pipe(p), 0);
		if (fork() == 0) {
			close(p[0]);
			(void)vpio_writeall(p[1], big, sizeof(big));
			_exit(0);
		}
		close(p[1]);
		snprintf(num, sizeof(num), "%d", p[0]);
		setenv("VP_EARLY_FD", num, 1);
		_exit(vpdial_early_from_env(&buf, &len, err,
		    sizeof(err)) == -1 ? 0 : 1);
	}
	{
		int st;

		ck_assert_int_ne(wait(&st), -1);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}
END_TEST

static Suite *
vpdial_suite(void)
{
	Suite *s = suite_create("vpdial");
	TCase *tc = tcase_create("dial");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, run_reply_early_relay);
	tcase_add_test(tc, run_failures);
	tcase_add_test(tc, connect_classes);
	tcase_add_test(tc, exec_conn);
	tcase_add_test(tc, early_env);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(vpdial_suite());
	int nf;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
