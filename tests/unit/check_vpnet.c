/*
 * Unit tests for vpnet: connects on loopback (success, refused, name
 * not found, timeout against a full backlog), unix and abstract
 * sockets, address text.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpnet.h"
#include "vpreply.h"

/* A TCP socket on 127.0.0.1 port 0; listening if backlog >= 0. */
static int
tcp_sock(int backlog, unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (backlog >= 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

START_TEST(tcp_ok)
{
	char peer[VPNET_ADDRSTRLEN], want[64];
	unsigned port;
	int l = tcp_sock(5, &port), fd, fl;

	fd = vpnet_dial_tcp("127.0.0.1", port, AF_UNSPEC, 2000, peer,
	    sizeof(peer));
	ck_assert_int_ge(fd, 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	ck_assert_str_eq(peer, want);
	fl = fcntl(fd, F_GETFL);
	ck_assert(fl & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* "localhost" may say ::1 first: happy eyeballs still gets there */
	fd = vpnet_dial_tcp("localhost", port, AF_UNSPEC, 2000, NULL, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* -4 on a v6 literal: the resolver has nothing */
	ck_assert_int_eq(vpnet_dial_tcp("::1", port, AF_INET, 2000, NULL, 0),
	    -1);
	close(l);
}
END_TEST

/* Loopback TCP sockets get fixed buffers; others are left alone. */
START_TEST(loopback_bufs)
{
	unsigned port;
	int l = tcp_sock(5, &port), fd, sv[2], v, before, after;
	socklen_t vl = sizeof(v);

	fd = vpnet_dial_tcp("127.0.0.1", port, AF_UNSPEC, 2000, NULL, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(vpnet_loopback_bufs(fd), 1);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
	ck_assert_int_ge(v, VPNET_LOOPBUF);	/* the kernel doubles it */
	ck_assert_int_le(v, 2 * VPNET_LOOPBUF);
	close(fd);
	/* a listening socket has no peer; a unix socket is not TCP */
	ck_assert_int_eq(vpnet_loopback_bufs(l), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	vl = sizeof(before);
	ck_assert_int_eq(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &before,
	    &vl), 0);
	ck_assert_int_eq(vpnet_loopback_bufs(sv[0]), 0);
	vl = sizeof(after);
	ck_assert_int_eq(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &after,
	    &vl), 0);
	ck_assert_int_eq(before, after);
	ck_assert_int_eq(vpnet_loopback_bufs(-1), 0);
	close(sv[0]);
	close(sv[1]);
	close(l);
}
END_TEST

START_TEST(tcp_refused)
{
	unsigned port;
	int s = tcp_sock(-1, &port);	/* bound, not listening */

	errno = 0;
	ck_assert_int_eq(vpnet_dial_tcp("127.0.0.1", port, AF_UNSPEC, 2000,
	    NULL, 0), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_int_eq(vpreply_class_errno(errno), VPR_REFUSED);
	close(s);
}
END_TEST

START_TEST(tcp_noname)
{
	errno = 0;
	ck_assert_int_eq(vpnet_dial_tcp("no-such-host.invalid", 80,
	    AF_UNSPEC, 2000, NULL, 0), -1);
	ck_assert_int_eq(errno, VPNET_ENONAME);
	ck_assert_str_eq(vpnet_strerror(errno), "name not found");
	ck_assert_int_eq(vpreply_class_errno(errno), VPR_NONAME);
	ck_assert_int_eq(vpnet_dial_tcp("", 80, AF_UNSPEC, 2000, NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(vpnet_dial_tcp("127.0.0.1", 70000, AF_UNSPEC, 2000,
	    NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A listener whose accept queue is full drops SYNs: the connect times out. */
START_TEST(tcp_timeout)
{
	unsigned port;
	int l = tcp_sock(0, &port), c[4], i, fd;
	int64_t t0;

	for (i = 0; i < 4; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		(void)connect(c[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	t0 = vpio_now_ms();
	errno = 0;
	fd = vpnet_dial_tcp("127.0.0.1", port, AF_UNSPEC, 300, NULL, 0);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(vpio_now_ms() - t0, 290);
	ck_assert_int_lt(vpio_now_ms() - t0, 3000);
	for (i = 0; i < 4; i++)
		close(c[i]);
	close(l);
}
END_TEST

/* A synthetic addrinfo for 127.0.0.1 or ::1 and port. */
static struct addrinfo *
mkai(int fam, unsigned port, struct addrinfo *next)
{
	struct addrinfo *ai = calloc(1, sizeof(*ai));
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;

	ai->ai_family = fam;
	ai->ai_socktype = SOCK_STREAM;
	ai->ai_protocol = IPPROTO_TCP;
	ai->ai_next = next;
	if (fam == AF_INET) {
		sin = calloc(1, sizeof(*sin));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ai->ai_addr = (struct sockaddr *)sin;
		ai->ai_addrlen = sizeof(*sin);
	} else {
		sin6 = calloc(1, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		ai->ai_addr = (struct sockaddr *)sin6;
		ai->ai_addrlen = sizeof(*sin6);
	}
	return ai;
}

static void
freeai(struct addrinfo *ai)
{
	struct addrinfo *n;

	for (; ai != NULL; ai = n) {
		n = ai->ai_next;
		free(ai->ai_addr);
		free(ai);
	}
}

START_TEST(interleave_order)
{
	const struct addrinfo *o[VPNET_MAXADDR];
	struct addrinfo *l;
	size_t n;

	/* 6 6 6 4 -> 6 4 6 6 */
	l = mkai(AF_INET6, 1, mkai(AF_INET6, 2, mkai(AF_INET6, 3,
	    mkai(AF_INET, 4, NULL))));
	n = vpnet_interleave(l, o, VPNET_MAXADDR);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(o[0]->ai_family, AF_INET6);
	ck_assert_int_eq(o[1]->ai_family, AF_INET);
	ck_assert_int_eq(o[2]->ai_family, AF_INET6);
	ck_assert_int_eq(o[3]->ai_family, AF_INET6);
	ck_assert_ptr_eq(o[2], l->ai_next);
	freeai(l);
	/* 4 4 6 6 -> 4 6 4 6 */
	l = mkai(AF_INET, 1, mkai(AF_INET, 2, mkai(AF_INET6, 3,
	    mkai(AF_INET6, 4, NULL))));
	n = vpnet_interleave(l, o, 3);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(o[0]->ai_family, AF_INET);
	ck_assert_int_eq(o[1]->ai_family, AF_INET6);
	ck_assert_int_eq(o[2]->ai_family, AF_INET);
	freeai(l);
	ck_assert_uint_eq(vpnet_interleave(NULL, o, 4), 0);
	ck_assert_int_eq(vpnet_dial_ai(NULL, 100, NULL, 0), -1);
	ck_assert_int_eq(errno, VPNET_ENONAME);
}
END_TEST

/*
 * Happy eyeballs on loopback: the first address never answers (a full
 * backlog drops the SYN), the second (IPv6) does: connected after the
 * 250 ms stagger, long before the deadline, to the second address.
 */
START_TEST(race_stagger)
{
	struct sockaddr_in6 s6;
	socklen_t len = sizeof(s6);
	char peer[VPNET_ADDRSTRLEN], want[64];
	struct addrinfo *l;
	unsigned pq, p6;
	int q, fill[3], l6, fd, i;
	int64_t t0, dt;

	q = tcp_sock(0, &pq);
	for (i = 0; i < 3; i++) {
		struct sockaddr_in sin;

		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(pq);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	l6 = socket(AF_INET6, SOCK_STREAM, 0);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	if (bind(l6, (struct sockaddr *)&s6, sizeof(s6)) == -1) {
		close(l6);	/* no IPv6 loopback here: nothing to race */
		goto out;
	}
	ck_assert_int_eq(listen(l6, 5), 0);
	ck_assert_int_eq(getsockname(l6, (struct sockaddr *)&s6, &len), 0);
	p6 = ntohs(s6.sin6_port);
	l = mkai(AF_INET, pq, mkai(AF_INET6, p6, NULL));
	t0 = vpio_now_ms();
	fd = vpnet_dial_ai(l, 5000, peer, sizeof(peer));
	dt = vpio_now_ms() - t0;
	ck_assert_int_ge(fd, 0);
	snprintf(want, sizeof(want), "[::1]:%u", p6);
	ck_assert_str_eq(peer, want);
	ck_assert_int_ge(dt, VPNET_STAGGER_MS - 10);
	ck_assert_int_lt(dt, 2000);
	close(fd);
	freeai(l);
	/* refused first: the next one starts at once, the third wins */
	l = mkai(AF_INET6, p6 == 1 ? 2 : 1, mkai(AF_INET, pq, mkai(AF_INET6,
	    p6, NULL)));
	t0 = vpio_now_ms();
	fd = vpnet_dial_ai(l, 5000, peer, sizeof(peer));
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(peer, want);
	close(fd);
	freeai(l);
	close(l6);
out:
	for (i = 0; i < 3; i++)
		close(fill[i]);
	close(q);
}
END_TEST

static int
unix_listen(const char *path, int backlog)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
	if (path[0] == '@') {
		sun.sun_path[0] = '\0';
		len--;
	}
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

START_TEST(unix_paths)
{
	char path[64], abs[64], txt[VPNET_ADDRSTRLEN], big[200];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int l, fd, a;

	snprintf(path, sizeof(path), "/tmp/check_vpnet.%ld", (long)getpid());
	unlink(path);
	l = unix_listen(path, 5);
	fd = vpnet_dial_unix(path, 1000);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	a = accept(l, NULL, NULL);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(getsockname(a, (struct sockaddr *)&ss, &len), 0);
	vpnet_addr_str((struct sockaddr *)&ss, len, txt, sizeof(txt));
	ck_assert_str_eq(txt + 5, path);
	ck_assert(strncmp(txt, "unix:", 5) == 0);
	close(a), close(fd), close(l);
	/* the socket file stays, nobody listens: refused */
	ck_assert_int_eq(vpnet_dial_unix(path, 1000), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	unlink(path);
	ck_assert_int_eq(vpnet_dial_unix(path, 1000), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(vpreply_class_errno(errno), VPR_REFUSED);

	snprintf(abs, sizeof(abs), "@check_vpnet.%ld", (long)getpid());
	l = unix_listen(abs, 5);
	fd = vpnet_dial_unix(abs, 1000);
	ck_assert_int_ge(fd, 0);
	a = accept(l, NULL, NULL);
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(a, (struct sockaddr *)&ss, &len), 0);
	vpnet_addr_str((struct sockaddr *)&ss, len, txt, sizeof(txt));
	ck_assert(strncmp(txt, "unix:@check_vpnet.", 18) == 0);
	close(a), close(fd), close(l);

	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(vpnet_dial_unix(big, 1000), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(vpnet_dial_unix("", 1000), -1);
}
END_TEST

/* A unix listener with a full backlog: the connect waits, then times out. */
START_TEST(unix_timeout)
{
	char abs[64];
	int l, c1, c2;
	int64_t t0;

	snprintf(abs, sizeof(abs), "@check_vpnet_full.%ld", (long)getpid());
	l = unix_listen(abs, 0);
	c1 = vpnet_dial_unix(abs, 200);
	c2 = vpnet_dial_unix(abs, 200);
	ck_assert(c1 >= 0 || c2 >= 0 || 1);
	t0 = vpio_now_ms();
	ck_assert_int_eq(vpnet_dial_unix(abs, 250), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(vpio_now_ms() - t0, 200);
	if (c1 >= 0)
		close(c1);
	if (c2 >= 0)
		close(c2);
	close(l);
}
END_TEST

/* vpnet_send_fd(): the descriptor arrives, with its one data byte. */
START_TEST(send_fd)
{
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	int sp[2], p[2], got = -1, f;
	char c, buf[8];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(vpnet_send_fd(sp[0], p[1]), 0);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	ck_assert_int_eq(recvmsg(sp[1], &msg, 0), 1);
	cmsg = CMSG_FIRSTHDR(&msg);
	ck_assert_ptr_nonnull(cmsg);
	ck_assert_int_eq(cmsg->cmsg_type, SCM_RIGHTS);
	memcpy(&got, CMSG_DATA(cmsg), sizeof(int));
	ck_assert_int_ge(got, 0);
	ck_assert_int_eq(write(got, "via", 3), 3);	/* the same pipe */
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	close(got), close(p[0]), close(p[1]), close(sp[0]), close(sp[1]);
	/* not a socket */
	f = open("/dev/null", O_WRONLY);
	ck_assert_int_eq(vpnet_send_fd(f, f), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(f);
}
END_TEST

START_TEST(addr_text)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	char b[VPNET_ADDRSTRLEN], ip[64];
	unsigned port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8080);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	ck_assert_str_eq(vpnet_addr_str((struct sockaddr *)&sin, sizeof(sin),
	    b, sizeof(b)), "192.0.2.7:8080");
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(443);
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	ck_assert_str_eq(vpnet_addr_str((struct sockaddr *)&sin6,
	    sizeof(sin6), b, sizeof(b)), "[::1]:443");
	ck_assert_int_eq(vpnet_addr_ip((struct sockaddr *)&sin6, ip,
	    sizeof(ip), &port), 0);
	ck_assert_str_eq(ip, "::1");
	ck_assert_uint_eq(port, 443);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_str_eq(vpnet_addr_str((struct sockaddr *)&sun,
	    sizeof(sa_family_t), b, sizeof(b)), "unix:");
	ck_assert_int_eq(vpnet_addr_ip((struct sockaddr *)&sun, ip,
	    sizeof(ip), &port), -1);
	/* truncation never overflows */
	vpnet_addr_str((struct sockaddr *)&sin, sizeof(sin), b, 4);
	ck_assert_int_lt(strlen(b), 4);
	ck_assert_int_eq(vpnet_is_ip("10.0.0.1"), 4);
	ck_assert_int_eq(vpnet_is_ip("fe80::1"), 6);
	ck_assert_int_eq(vpnet_is_ip("example.org"), 0);
	ck_assert_int_eq(vpnet_is_ip("1.2.3"), 0);
	ck_assert_int_eq(vpnet_is_ip(NULL), 0);
}
END_TEST

/*
 * The lingering close's policy: it waits VPLINGER_IDLE_MS past the last
 * byte the client sent, never past VPLINGER_MAX_MS, and ends early only
 * once what we sent is acknowledged and VPLINGER_READS reads were taken.
 */
START_TEST(linger_policy)
{
	struct vplinger l;
	int sv[2], i;
	char b[8];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	vplinger_start(&l, 1000);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 1000), 1000 + VPLINGER_IDLE_MS);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 1000 + VPLINGER_IDLE_MS), 0);
	vplinger_read(&l, 1400);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 1500), 1400 + VPLINGER_IDLE_MS);
	/* a client that keeps sending: the cap */
	vplinger_read(&l, 1000 + VPLINGER_MAX_MS - 100);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 1000 + VPLINGER_MAX_MS - 50),
	    1000 + VPLINGER_MAX_MS);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 1000 + VPLINGER_MAX_MS), 0);
	/* enough reads, but our bytes not taken yet: go on */
	vplinger_start(&l, 0);
	for (i = 0; i < VPLINGER_READS; i++)
		vplinger_read(&l, 10);
	ck_assert_int_eq(write(sv[0], "abc", 3), 3);
	ck_assert_int_gt(vpnet_unsent(sv[0]), 0);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 20), 10 + VPLINGER_IDLE_MS);
	/* taken: done */
	ck_assert_int_eq(read(sv[1], b, sizeof(b)), 3);
	ck_assert_int_eq(vpnet_unsent(sv[0]), 0);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 20), 0);
	/* fewer reads: the client is given its idle time */
	vplinger_start(&l, 0);
	vplinger_read(&l, 10);
	ck_assert_int_eq(vplinger_until(&l, sv[0], 20), 10 + VPLINGER_IDLE_MS);
	ck_assert_int_eq(vpnet_unsent(-1), -1);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
vpnet_suite(void)
{
	Suite *s = suite_create("vpnet");
	TCase *tc = tcase_create("net");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, tcp_ok);
	tcase_add_test(tc, tcp_refused);
	tcase_add_test(tc, loopback_bufs);
	tcase_add_test(tc, tcp_noname);
	tcase_add_test(tc, tcp_timeout);
	tcase_add_test(tc, interleave_order);
	tcase_add_test(tc, race_stagger);
	tcase_add_test(tc, unix_paths);
	tcase_add_test(tc, unix_timeout);
	tcase_add_test(tc, send_fd);
	tcase_add_test(tc, addr_text);
	tcase_add_test(tc, linger_policy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(vpnet_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
