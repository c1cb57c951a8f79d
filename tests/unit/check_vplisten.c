/*
 * Unit tests for vplisten: tcp (port 0, wildcard dual-stack), unix
 * (mode, stale file replaced, live socket refused, non-socket and bad
 * directory refused, abstract), fd:N and the systemd protocol.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vplisten.h"

static char err[256];
static char dir[64];

static void
setup(void)
{
	strlcpy(dir, "/tmp/vp-ckl.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void
parse(const char *s, struct vpendpoint *ep)
{
	ck_assert_msg(vpep_parse(s, ep, err, sizeof(err)) == 0, "%s: %s", s,
	    err);
}

static int
flags_ok(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
	    (fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/* Connects to 127.0.0.1:port; 0 on success. */
static int
connect4(unsigned port)
{
	struct sockaddr_in sin;
	int fd, r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return r;
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return r;
}

START_TEST(tcp_loopback_port0)
{
	struct vpendpoint ep;
	struct vplisten l;
	unsigned port;

	parse("tcp:127.0.0.1:0", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 16, err, sizeof(err)), 1);
	ck_assert(flags_ok(l.fds[0]));
	port = vplisten_port(l.fds[0]);
	ck_assert_uint_gt(port, 0);
	ck_assert_int_eq(connect4(port), 0);
	/* The same port again: in use. */
	ep.port = port;
	ck_assert_int_eq(vplisten_open(&(struct vplisten){0}, &ep, 16, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert(strstr(err, "in use") != NULL);
	vplisten_close(&l, 1);
}
END_TEST

START_TEST(tcp_wildcard_dual)
{
	struct vpendpoint ep;
	struct vplisten l;

	parse("tcp::0", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 0, err, sizeof(err)), 1);
	/* An IPv4 client reaches the wildcard socket. */
	ck_assert_int_eq(connect4(vplisten_port(l.fds[0])), 0);
	vplisten_close(&l, 1);
	parse("tcp:no-such-host.invalid:0", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	ck_assert(err[0] != '\0');
	/* a name that does not resolve: EHOSTUNREACH (vp-listen's 68) */
	ck_assert_int_eq(errno, EHOSTUNREACH);
}
END_TEST

START_TEST(unix_mode_stale_live)
{
	struct vpendpoint ep;
	struct vplisten l, l2;
	struct stat st;
	char spec[200], path[120];

	snprintf(path, sizeof(path), "%s/s.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s,mode=0660", path);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), 1);
	ck_assert(flags_ok(l.fds[0]));
	ck_assert_int_eq(vplisten_port(l.fds[0]), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(connect_unix(path), 0);

	/* Live: a second listener is refused and the file stays. */
	ck_assert_int_eq(vplisten_open(&l2, &ep, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert(strstr(err, "running listener") != NULL);
	ck_assert_int_eq(stat(path, &st), 0);

	/* Dead listener, file left behind: stale, replaced. */
	vplisten_close(&l, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(vplisten_open(&l2, &ep, 8, err, sizeof(err)), 1);
	ck_assert_int_eq(connect_unix(path), 0);

	/* Close removes only our own file. */
	vplisten_close(&l2, 1);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Idempotent. */
	vplisten_close(&l2, 1);
}
END_TEST

START_TEST(unix_not_ours_kept)
{
	struct vpendpoint ep;
	struct vplisten l, l2;
	char spec[200], path[120];
	struct stat st;

	snprintf(path, sizeof(path), "%s/s.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), 1);
	/* Someone replaced the file: ours must not remove theirs. */
	vplisten_close(&l, 0);
	l.path[0] = '\0';
	ck_assert_int_eq(vplisten_open(&l2, &ep, 8, err, sizeof(err)), 1);
	strlcpy(l.path, path, sizeof(l.path));
	l.ino = l2.ino + 1;	/* not the file there now */
	ck_assert_int_eq(vplisten_unlink(&l), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(vplisten_unlink(&l2), 1);
	vplisten_close(&l2, 1);
}
END_TEST

START_TEST(unix_refusals)
{
	struct vpendpoint ep;
	struct vplisten l;
	char spec[200], path[120];
	int fd;

	/* A regular file is never replaced. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert(strstr(err, "not a socket") != NULL);

	/* A directory that does not exist. */
	snprintf(spec, sizeof(spec), "unix:%s/nodir/s.sock", dir);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(strstr(err, "cannot create") != NULL);

	/* Unknown user and group. */
	snprintf(spec, sizeof(spec), "unix:%s/u.sock,owner=no-such-user-vp",
	    dir);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	ck_assert(strstr(err, "unknown user") != NULL);
	snprintf(spec, sizeof(spec), "unix:%s/u.sock,group=no-such-grp-vp",
	    dir);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	ck_assert(strstr(err, "unknown group") != NULL);

	/* Abstract sockets have no file and no mode. */
	parse("unix:@vp-ck-abstract-test,mode=0600", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	parse("unix:@vp-ck-abstract-test", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), 1);
	ck_assert_str_eq(l.path, "");
	vplisten_close(&l, 1);

	/* Endpoints that cannot listen. */
	parse("exec:cat", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	parse("udp:127.0.0.1:0", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
}
END_TEST

START_TEST(fd_endpoint)
{
	struct vpendpoint ep;
	struct vplisten l;
	struct sockaddr_in sin;
	char spec[32];
	int fd, p[2];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Bound, not yet listening: listen() is done for us. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	snprintf(spec, sizeof(spec), "fd:%d", fd);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), 1);
	ck_assert_int_eq(l.fds[0], fd);
	ck_assert(flags_ok(fd));
	ck_assert_int_eq(connect4(vplisten_port(fd)), 0);
	vplisten_close(&l, 1);

	/* A pipe is not a socket; a datagram socket cannot listen. */
	ck_assert_int_eq(pipe(p), 0);
	snprintf(spec, sizeof(spec), "fd:%d", p[0]);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(spec, sizeof(spec), "fd:%d", fd);
	parse(spec, &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
	close(fd);
	/* A closed descriptor. */
	parse("fd:999", &ep);
	ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)), -1);
}
END_TEST

/* An unbound socket would listen on 0.0.0.0:ephemeral: refused. */
START_TEST(fd_unbound)
{
	struct vpendpoint ep;
	struct vplisten l;
	char spec[32];
	int acc, fd;
	socklen_t len = sizeof(acc);
	int fams[] = { AF_INET, AF_INET6, AF_UNIX };
	size_t i;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		fd = socket(fams[i], SOCK_STREAM, 0);
		if (fd == -1 && fams[i] == AF_INET6)
			continue;
		ck_assert_int_ge(fd, 0);
		snprintf(spec, sizeof(spec), "fd:%d", fd);
		parse(spec, &ep);
		ck_assert_int_eq(vplisten_open(&l, &ep, 8, err, sizeof(err)),
		    -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_msg(strstr(err, "bound") != NULL, "%s", err);
		/* and it was not made to listen */
		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
		    &acc, &len), 0);
		ck_assert_int_eq(acc, 0);
		ck_assert_uint_eq(vplisten_port(fd), 0);
		close(fd);
	}
}
END_TEST

/*
 * Check keeps its own descriptors around fd 3, so the systemd protocol
 * (which owns fds 3 and up) runs in a child of ours; CK() there exits
 * with the failing line.
 */
#define CK(x)	do {							\
	if (!(x))							\
		_exit(__LINE__ & 0xff ? __LINE__ & 0xff : 1);		\
} while (0)
#define CK_EQ(a, b)	CK((a) == (b))
#define CK_NULL(a)	CK((a) == NULL)

/* Puts a listening loopback socket on fd target. */
static void
listener_at(int target)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CK_EQ(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CK_EQ(listen(fd, 4), 0);
	if (fd != target) {
		CK_EQ(dup2(fd, target), target);
		close(fd);
	}
}

static void
set_listen_env(const char *pid, const char *n, const char *names)
{
	char buf[32];

	if (pid == NULL) {
		snprintf(buf, sizeof(buf), "%ld", (long)getpid());
		pid = buf;
	}
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", n, 1);
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void
systemd_child(void)
{
	struct vpendpoint ep;
	struct vplisten l;

	/* Two sockets, pick by name; variables removed afterwards. */
	listener_at(3);
	listener_at(4);
	set_listen_env(NULL, "2", "web:admin");
	CK_EQ(vpep_parse("systemd:admin", &ep, err, sizeof(err)), 0);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), 1);
	CK_EQ(l.fds[0], 4);
	CK(flags_ok(4));
	CK_NULL(getenv("LISTEN_PID"));
	CK_NULL(getenv("LISTEN_FDS"));
	CK_NULL(getenv("LISTEN_FDNAMES"));
	CK_EQ(fcntl(3, F_GETFD), -1);	/* the other: closed */
	vplisten_close(&l, 1);

	/* All of them. */
	listener_at(3);
	listener_at(4);
	set_listen_env(NULL, "2", NULL);
	CK_EQ(vpep_parse("systemd", &ep, err, sizeof(err)), 0);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), 2);
	vplisten_close(&l, 1);

	/* Meant for another process. */
	listener_at(3);
	set_listen_env("1", "1", NULL);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	CK_EQ(errno, ENOENT);
	CK(fcntl(3, F_GETFD) != -1);	/* not ours: untouched */

	/* No such name, garbage counts, nothing passed. */
	set_listen_env(NULL, "1", "other");
	CK_EQ(vpep_parse("systemd:web", &ep, err, sizeof(err)), 0);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	CK(strstr(err, "no socket named") != NULL);
	set_listen_env(NULL, "x1", NULL);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	set_listen_env("-5", "1", NULL);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	CK_EQ(errno, ENOENT);

	/* Wrong type: a datagram socket where a stream one is needed. */
	CK_EQ(dup2(socket(AF_INET, SOCK_DGRAM, 0), 3), 3);
	set_listen_env(NULL, "1", NULL);
	CK_EQ(vpep_parse("systemd", &ep, err, sizeof(err)), 0);
	CK_EQ(vplisten_open(&l, &ep, 0, err, sizeof(err)), -1);
	CK_EQ(errno, EINVAL);
	/* ... which a datagram user may take. */
	listener_at(4);
	close(4);
	CK_EQ(dup2(socket(AF_INET, SOCK_DGRAM, 0), 3), 3);
	set_listen_env(NULL, "1", NULL);
	CK_EQ(vplisten_systemd(&l, NULL, SOCK_DGRAM, err,
	    sizeof(err)), 1);
	vplisten_close(&l, 1);
	_exit(0);
}

START_TEST(systemd_protocol)
{
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (st = 3; st < 64; st++)
			close(st);
		systemd_child();
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "systemd child failed near line %d (mod 256), signal %d",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vplisten");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tcp_loopback_port0);
	tcase_add_test(tc, tcp_wildcard_dual);
	tcase_add_test(tc, unix_mode_stale_live);
	tcase_add_test(tc, unix_not_ours_kept);
	tcase_add_test(tc, unix_refusals);
	tcase_add_test(tc, fd_endpoint);
	tcase_add_test(tc, fd_unbound);
	tcase_add_test(tc, systemd_protocol);
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
