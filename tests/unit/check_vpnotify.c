/*
 * Unit tests for vpnotify: READY=1 to a NOTIFY_SOCKET path and an
 * abstract name, bad addresses, the notification fd, the -1 line.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpnotify.h"

/* A datagram receiver at path (or "@name"); returns its fd. */
static int
receiver(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

START_TEST(notify_socket)
{
	char path[64], got[64], name[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/vp-ckn.%ld", (long)getpid());
	fd = receiver(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(vpnotify_ready(0), 1);
	n = recv(fd, got, sizeof(got) - 1, 0);
	ck_assert_int_eq(n, 7);
	got[n] = '\0';
	ck_assert_str_eq(got, "READY=1");
	ck_assert_str_eq(getenv("NOTIFY_SOCKET"), path);
	ck_assert_int_eq(vpnotify_send("STOPPING=1", 1), 1);
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	/* Unset: nothing to do. */
	ck_assert_int_eq(vpnotify_ready(1), 0);
	close(fd);
	unlink(path);

	snprintf(name, sizeof(name), "@vp-ckn-abstract.%ld", (long)getpid());
	fd = receiver(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(vpnotify_ready(1), 1);
	n = recv(fd, got, sizeof(got) - 1, 0);
	ck_assert_int_eq(n, 7);
	close(fd);

	/* Nobody listening, relative path, vsock, too long. */
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(vpnotify_ready(0), -1);
	setenv("NOTIFY_SOCKET", "relative/sock", 1);
	ck_assert_int_eq(vpnotify_ready(0), -1);
	ck_assert_int_eq(errno, EINVAL);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	ck_assert_int_eq(vpnotify_ready(0), -1);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp));
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		setenv("NOTIFY_SOCKET", longp, 1);
		ck_assert_int_eq(vpnotify_ready(1), -1);
		ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	}
}
END_TEST

START_TEST(notify_fd)
{
	char c[4];
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(vpnotify_fd(p[1]), 0);
	ck_assert_int_eq(read(p[0], c, sizeof(c)), 1);
	ck_assert_int_eq(c[0], '\n');
	ck_assert_int_eq(read(p[0], c, sizeof(c)), 0);	/* closed */
	close(p[0]);
	ck_assert_int_eq(vpnotify_fd(-1), -1);
	ck_assert_int_eq(vpnotify_fd(p[1]), -1);	/* already closed */
}
END_TEST

START_TEST(notify_stdout)
{
	char c[16];
	int p[2], saved;
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	saved = dup(1);
	ck_assert_int_eq(dup2(p[1], 1), 1);
	close(p[1]);
	ck_assert_int_eq(vpnotify_stdout(8022), 0);
	/* stdout now /dev/null: the reader sees the line, then EOF. */
	n = read(p[0], c, sizeof(c));
	ck_assert_int_eq(n, 5);
	ck_assert(memcmp(c, "8022\n", 5) == 0);
	ck_assert_int_eq(read(p[0], c, sizeof(c)), 0);
	ck_assert_int_eq(write(1, "x", 1), 1);
	dup2(saved, 1);
	close(saved);
	close(p[0]);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpnotify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, notify_socket);
	tcase_add_test(tc, notify_fd);
	tcase_add_test(tc, notify_stdout);
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
