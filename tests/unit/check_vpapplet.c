/*
 * Unit tests for vpapplet: only exact siblings are applets, and a
 * spawned applet gets its descriptors, environment and arguments as an
 * exec'd program would.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpapplet.h"
#include "vpspawn.h"

START_TEST(find_rejects_non_siblings)
{
	/* the test binary has no vp-dispatch next to it */
	ck_assert_ptr_null(vpapplet_find("vp-dispatch"));
	ck_assert_ptr_null(vpapplet_find("/bin/sh"));
	ck_assert_ptr_null(vpapplet_find("cat"));
	ck_assert_ptr_null(vpapplet_find(""));
	ck_assert_ptr_null(vpapplet_find(NULL));
	ck_assert_ptr_null(vpapplet_find("/nonexistent/vp-dispatch"));
}
END_TEST

static int
probe(int argc, char *argv[])
{
	char buf[256];
	const char *v = getenv("VP_APPLET_PROBE");
	int n, stray = 0, fd;
	struct sigaction sa;

	for (fd = 3; fd < 64; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			stray++;
	sigaction(SIGPIPE, NULL, &sa);
	n = snprintf(buf, sizeof(buf), "%d %s %s %s %d %d\n", argc, argv[0],
	    argv[1], v ? v : "-", stray, sa.sa_handler == SIG_DFL);
	if (write(1, buf, n) != n)
		return 3;
	n = read(0, buf, sizeof(buf));
	return n == 2 && memcmp(buf, "ok", 2) == 0 ? 7 : 5;
}

START_TEST(spawn_runs_like_exec)
{
	int sv[2], st, stray;
	char *argv[] = { "vp-probe", "arg1", NULL };
	struct vpenv env;
	char buf[256];
	ssize_t n;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	stray = open("/dev/null", O_RDONLY);	/* not close-on-exec */
	ck_assert_int_ge(stray, 3);
	ck_assert_int_eq(vpenv_init(&env, 1), 0);
	ck_assert_int_eq(vpenv_set(&env, "VP_APPLET_PROBE", "yes"), 0);
	{
		sigset_t changed;

		sigemptyset(&changed);
		sigaddset(&changed, SIGPIPE);
		pid = vpapplet_spawn(probe, argv, sv[1], sv[1], env.v,
		    &changed);
	}
	ck_assert_int_gt(pid, 0);
	close(sv[1]);
	n = read(sv[0], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "2 vp-probe arg1 yes 0 1\n");
	ck_assert_int_eq(write(sv[0], "ok", 2), 2);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 7);
	vpenv_free(&env);
	close(sv[0]);
	close(stray);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpapplet");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, find_rejects_non_siblings);
	tcase_add_test(tc, spawn_runs_like_exec);
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
