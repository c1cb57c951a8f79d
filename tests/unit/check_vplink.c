/*
 * Unit tests for vplink's byte-stream link on a socketpair: ordered
 * bytes, backpressure (writable/write never take more than the queue
 * holds), shutdown_write after pending bytes, EOF and errors, and the
 * transport table.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vplink.h"

static struct vplink *l;
static int peer;

static void
setup(void)
{
	int sv[2];

	signal(SIGPIPE, SIG_IGN);	/* programs do this too */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	l = vplink_stream_new(sv[0], sv[0], 4096, "test", "peer");
	ck_assert_ptr_nonnull(l);
	peer = sv[1];
}

static void
teardown(void)
{
	vplink_close(l);
	if (peer != -1)
		close(peer);
}

/* Runs the link's I/O once (what the event loop does after poll). */
static void
run_events(void)
{
	struct pollfd p[VPLINK_MAXFDS];
	int n = l->ops->pollfds(l, p, VPLINK_MAXFDS, 1);

	(void)poll(p, n, 0);
	(void)l->ops->events(l, p, n, vpio_now_ms());
}

START_TEST(bytes_in_order)
{
	char buf[64];
	ssize_t r;

	ck_assert_int_eq(vplink_write(l, "hello", 5), 5);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), 5);
	ck_assert(memcmp(buf, "hello", 5) == 0);
	ck_assert_int_eq(write(peer, "world", 5), 5);
	r = vplink_read(l, buf, sizeof(buf));
	ck_assert_int_eq(r, 5);
	r = vplink_read(l, buf, sizeof(buf));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(l->ops->error(l), 0);
	ck_assert_str_eq(l->kind, "test");
}
END_TEST

START_TEST(backpressure)
{
	static char big[1 << 20];
	size_t total = 0, w;
	ssize_t r;
	int i;

	/* Fill the kernel buffer and the 4 KiB queue. */
	for (i = 0; i < 10000; i++) {
		w = vplink_writable(l);
		if (w == 0)
			break;
		r = vplink_write(l, big, sizeof(big));
		ck_assert_int_ge(r, 0);
		ck_assert_uint_le((size_t)r, w);	/* never above writable */
		total += r;
	}
	ck_assert_uint_eq(vplink_writable(l), 0);
	ck_assert_uint_eq(l->ops->pending(l), 4096);
	ck_assert_int_eq(vplink_write(l, big, 10), 0);
	/* The peer drains: the queue moves on, room comes back. */
	while (l->ops->pending(l) > 0) {
		r = read(peer, big, sizeof(big));
		ck_assert_int_gt(r, 0);
		total -= r;
		run_events();
	}
	ck_assert_uint_eq(vplink_writable(l), 4096);
	(void)vpio_set_nonblock(peer, 1);
	while ((r = read(peer, big, sizeof(big))) > 0)
		total -= r;
	ck_assert_uint_eq(total, 0);
}
END_TEST

START_TEST(shutdown_after_pending)
{
	char buf[16];

	ck_assert_int_eq(vplink_write(l, "abc", 3), 3);
	l->ops->shutdown_write(l);
	ck_assert_uint_eq(vplink_writable(l), 0);
	ck_assert_int_eq(vplink_write(l, "x", 1), -1);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), 3);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), 0);	/* EOF */
	/* The other direction still works. */
	ck_assert_int_eq(write(peer, "z", 1), 1);
	ck_assert_int_eq(vplink_read(l, buf, sizeof(buf)), 1);
}
END_TEST

START_TEST(eof_and_error)
{
	char buf[16];

	close(peer);
	peer = -1;
	ck_assert_int_eq(vplink_read(l, buf, sizeof(buf)), 0);
	ck_assert_int_eq(vplink_read(l, buf, sizeof(buf)), 0);	/* stays EOF */
	/* Writing to a closed peer kills the link. */
	(void)vplink_write(l, "abc", 3);
	(void)vplink_write(l, "abc", 3);
	ck_assert_int_ne(l->ops->error(l), 0);
	ck_assert_int_eq(vplink_write(l, "abc", 3), -1);
	ck_assert_uint_eq(vplink_writable(l), 0);
}
END_TEST

static int	dial_wait(struct vplink *);

START_TEST(transports)
{
	struct vpendpoint ep;
	struct vplink *x;
	char err[256], buf[16];

	ck_assert_ptr_nonnull(vplink_transport_for(VPEP_TCP));
	ck_assert_ptr_nonnull(vplink_transport_for(VPEP_UNIX));
	ck_assert_ptr_nonnull(vplink_transport_for(VPEP_EXEC)->dial);
	ck_assert_ptr_null(vplink_transport_for(VPEP_EXEC)->listen);
	ck_assert_ptr_null(vplink_transport_for(0));
	/* exec: a socketpair on the command's stdin/stdout */
	ck_assert_int_eq(vpep_parse("exec:cat", &ep, err, sizeof(err)), 0);
	x = vplink_transport_for(VPEP_EXEC)->dial(&ep, err, sizeof(err));
	ck_assert_ptr_nonnull(x);
	ck_assert_int_gt(x->child, 0);
	ck_assert_int_eq(vplink_write(x, "ping", 4), 4);
	{
		struct pollfd p[VPLINK_MAXFDS];
		int n = x->ops->pollfds(x, p, VPLINK_MAXFDS, 1);

		ck_assert_int_ge(poll(p, n, 5000), 1);
	}
	ck_assert_int_eq(vplink_read(x, buf, sizeof(buf)), 4);
	vplink_close(x);
	/* a refused tcp peer: at once, or through the loop */
	ck_assert_int_eq(vpep_parse("tcp:127.0.0.1:1", &ep, err, sizeof(err)), 0);
	x = vplink_transport_for(VPEP_TCP)->dial(&ep, err, sizeof(err));
	if (x == NULL)
		ck_assert(strstr(err, "connect 127.0.0.1") != NULL);
	else {
		ck_assert_int_eq(dial_wait(x), ECONNREFUSED);
		vplink_close(x);
	}
}
END_TEST

/*
 * Runs a dialling link's loop until it connected or failed (bounded).
 * Returns its error() (0: connected).
 */
static int
dial_wait(struct vplink *x)
{
	struct pollfd p[VPLINK_MAXFDS];
	int64_t t;
	int i, n;

	for (i = 0; i < 500 && vplink_connecting(x) && x->ops->error(x) == 0;
	    i++) {
		n = x->ops->pollfds(x, p, VPLINK_MAXFDS, 1);
		t = x->ops->next_timeout(x, vpio_now_ms());
		(void)poll(p, n, t < 0 || t > 10 ? 10 : (int)t);
		(void)x->ops->events(x, p, n, vpio_now_ms());
		if (x->ops->next_timeout(x, vpio_now_ms()) == 0)
			x->ops->tick(x, vpio_now_ms());
	}
	return x->ops->error(x);
}

/*
 * tcp: and unix: dials do not block: the link is connecting, takes no
 * bytes and reads EAGAIN until the loop sees the connect finish.
 */
START_TEST(dial_nonblocking)
{
	struct sockaddr_in sin;
	struct vpendpoint ep;
	struct vplink *x;
	socklen_t sl = sizeof(sin);
	char err[256], spec[64], buf[8];
	int ls, c;

	ck_assert_int_ne(ls = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(ls, 4), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sin, &sl), 0);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(vpep_parse(spec, &ep, err, sizeof(err)), 0);
	x = vplink_transport_for(VPEP_TCP)->dial(&ep, err, sizeof(err));
	ck_assert_ptr_nonnull(x);
	if (vplink_connecting(x)) {
		ck_assert_uint_eq(vplink_writable(x), 0);
		ck_assert_int_eq(vplink_read(x, buf, sizeof(buf)), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_eq(dial_wait(x), 0);
	ck_assert_int_eq(vplink_connecting(x), 0);
	ck_assert_int_eq(vplink_write(x, "ping", 4), 4);
	ck_assert_int_ne(c = accept(ls, NULL, NULL), -1);
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 4);
	ck_assert(memcmp(buf, "ping", 4) == 0);
	close(c);
	vplink_close(x);
	/* a connecting link can be closed at any time */
	x = vplink_transport_for(VPEP_TCP)->dial(&ep, err, sizeof(err));
	ck_assert_ptr_nonnull(x);
	vplink_close(x);
	close(ls);
	/* unix: nobody there fails at once */
	ck_assert_int_eq(vpep_parse("unix:/nonexistent/vp.sock", &ep, err,
	    sizeof(err)), 0);
	ck_assert_ptr_null(vplink_transport_for(VPEP_UNIX)->dial(&ep, err,
	    sizeof(err)));
	ck_assert(strstr(err, "connect /nonexistent/vp.sock") != NULL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vplink");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bytes_in_order);
	tcase_add_test(tc, backpressure);
	tcase_add_test(tc, shutdown_after_pending);
	tcase_add_test(tc, eof_and_error);
	tcase_add_test(tc, transports);
	tcase_add_test(tc, dial_nonblocking);
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
