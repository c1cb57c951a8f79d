/*
 * Unit tests for vprelay: socketpairs, pipes, files and /dev/null on
 * either side; half-close both ways, large data, pre-data, idle
 * timeout, a reader that goes away, the read/write fallback.
 *
 * The relay runs in a child process; peers are more children, so the
 * test cannot deadlock on its own buffers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vprelay.h"

/* Deterministic pattern: byte i of stream seed. */
static unsigned char
pat(unsigned seed, uint64_t i)
{
	return (unsigned char)((i * 2654435761u + seed * 40503u) >> 7);
}

/* Child: writes n pattern bytes to fd, then shutdown/close. */
static pid_t
writer(int fd, unsigned seed, uint64_t n, int closefd)
{
	pid_t pid = fork();
	unsigned char buf[8192];
	uint64_t off = 0;
	size_t k, i;

	ck_assert_int_ne(pid, -1);
	if (pid != 0)
		return pid;
	while (off < n) {
		k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
		for (i = 0; i < k; i++)
			buf[i] = pat(seed, off + i);
		if (vpio_writeall(fd, buf, k) != k)
			_exit(2);
		off += k;
	}
	if (shutdown(fd, SHUT_WR) == -1)
		close(fd);
	_exit(0);
}

/* Reads fd to EOF checking the pattern; returns bytes or -1 on mismatch. */
static int64_t
reader_check(int fd, unsigned seed, const char *prefix)
{
	unsigned char buf[8192];
	uint64_t off = 0, plen = prefix ? strlen(prefix) : 0;
	ssize_t r, i;

	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < r; i++, off++) {
			if (off < plen) {
				if (buf[i] != (unsigned char)prefix[off])
					return -1;
			} else if (buf[i] != pat(seed, off - plen))
				return -1;
		}
	}
	return r == 0 ? (int64_t)off : -1;
}

struct result {
	int ret, err;
	struct vprelay_stats st;
};

/* Runs the relay in a child; its result comes back through a pipe. */
static pid_t
relay_child(int a_in, int a_out, int b_in, int b_out,
    const struct vprelay_opts *o, int *resfd, int *closeme, int nclose)
{
	int p[2], i;
	pid_t pid;
	struct result res;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(p[0]);
		for (i = 0; i < nclose; i++)
			close(closeme[i]);
		memset(&res, 0, sizeof(res));
		res.ret = vprelay_run(a_in, a_out, b_in, b_out, o, &res.st);
		res.err = errno;
		(void)!write(p[1], &res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	*resfd = p[0];
	return pid;
}

static void
get_result(int fd, pid_t pid, struct result *res)
{
	int status;

	ck_assert_uint_eq(vpio_readall(fd, res, sizeof(*res)), sizeof(*res));
	close(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "peer failed");
}

/* Large data both ways at once over two socketpairs, half-close each. */
static void
both_ways(uint64_t nab, uint64_t nba, const char *pre, size_t pipesz)
{
	int sa[2], sb[2], rfd, cl[2];
	pid_t rp, wa, wb, ra;
	struct vprelay_opts o;
	struct result res;
	int64_t got;
	int st;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	memset(&o, 0, sizeof(o));
	o.pre = pre;
	o.prelen = pre ? strlen(pre) : 0;
	o.pipesz = pipesz;
	cl[0] = sa[0], cl[1] = sb[0];
	rp = relay_child(sa[1], sa[1], sb[1], sb[1], &o, &rfd, cl, 2);
	close(sa[1]);
	close(sb[1]);
	wa = writer(sa[0], 1, nab, 0);
	wb = writer(sb[0], 2, nba, 0);
	/* a reader child for side a, this process reads side b */
	ra = fork();
	ck_assert_int_ne(ra, -1);
	if (ra == 0) {
		close(sb[0]);
		_exit(reader_check(sa[0], 2, NULL) == (int64_t)nba ? 0 : 3);
	}
	got = reader_check(sb[0], 1, pre);
	ck_assert_int_eq(got, (int64_t)(nab + o.prelen));
	ck_assert_int_eq(waitpid(ra, &st, 0), ra);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "side a got wrong data");
	reap(wa);
	reap(wb);
	get_result(rfd, rp, &res);
	ck_assert_int_eq(res.ret, 0);
	ck_assert_int_eq(res.st.end, VPRELAY_DONE);
	ck_assert_uint_eq(res.st.ab, nab + o.prelen);
	ck_assert_uint_eq(res.st.ba, nba);
	ck_assert_int_eq(res.st.splice_ab, 1);
	ck_assert_int_eq(res.st.splice_ba, 1);
	close(sa[0]);
	close(sb[0]);
}

START_TEST(large_both_ways)
{
	both_ways(8u << 20, 5u << 20, NULL, 0);
}
END_TEST

START_TEST(small_and_empty)
{
	both_ways(0, 0, NULL, 0);
	both_ways(1, 0, NULL, 0);
	both_ways(0, 1, NULL, 0);
	both_ways(65537, 3, NULL, 4096);
}
END_TEST

START_TEST(pre_data_first)
{
	both_ways(1u << 20, 1000, "GET / HTTP/1.0\r\n", 0);
	both_ways(0, 0, "only early data", 0);
}
END_TEST

/*
 * Half-close: a ends its sending at once; b sees EOF, only then
 * answers, and the answer still reaches a.
 */
START_TEST(half_close_answer_after_eof)
{
	int sa[2], sb[2], rfd, cl[2];
	char buf[64];
	struct result res;
	pid_t rp;
	ssize_t r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	cl[0] = sa[0], cl[1] = sb[0];
	rp = relay_child(sa[1], sa[1], sb[1], sb[1], NULL, &rfd, cl, 2);
	close(sa[1]);
	close(sb[1]);
	ck_assert_int_eq(write(sa[0], "ping", 4), 4);
	ck_assert_int_eq(shutdown(sa[0], SHUT_WR), 0);
	ck_assert_uint_eq(vpio_readall(sb[0], buf, 4), 4);
	ck_assert_int_eq(read(sb[0], buf, sizeof(buf)), 0);	/* EOF */
	ck_assert_int_eq(write(sb[0], "pong", 4), 4);
	ck_assert_uint_eq(vpio_readall(sa[0], buf, 4), 4);
	ck_assert(memcmp(buf, "pong", 4) == 0);
	ck_assert_int_eq(shutdown(sb[0], SHUT_WR), 0);
	r = read(sa[0], buf, sizeof(buf));
	ck_assert_int_eq(r, 0);
	get_result(rfd, rp, &res);
	ck_assert_int_eq(res.ret, 0);
	ck_assert_uint_eq(res.st.ab, 4);
	ck_assert_uint_eq(res.st.ba, 4);
	close(sa[0]);
	close(sb[0]);
}
END_TEST

/* The other way round: b ends first, a keeps sending. */
START_TEST(half_close_other_way)
{
	int sa[2], sb[2], rfd, cl[2];
	char buf[64];
	struct result res;
	pid_t rp;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	cl[0] = sa[0], cl[1] = sb[0];
	rp = relay_child(sa[1], sa[1], sb[1], sb[1], NULL, &rfd, cl, 2);
	close(sa[1]);
	close(sb[1]);
	ck_assert_int_eq(write(sb[0], "banner", 6), 6);
	ck_assert_int_eq(shutdown(sb[0], SHUT_WR), 0);
	ck_assert_uint_eq(vpio_readall(sa[0], buf, 6), 6);
	ck_assert_int_eq(read(sa[0], buf, sizeof(buf)), 0);
	ck_assert_int_eq(write(sa[0], "later", 5), 5);
	ck_assert_uint_eq(vpio_readall(sb[0], buf, 5), 5);
	ck_assert(memcmp(buf, "later", 5) == 0);
	close(sa[0]);
	get_result(rfd, rp, &res);
	ck_assert_int_eq(res.ret, 0);
	ck_assert_uint_eq(res.st.ba, 6);
	ck_assert_uint_eq(res.st.ab, 5);
	close(sb[0]);
}
END_TEST

/* Side a as two pipes (stdin/stdout of a ProxyCommand); EOF closes a_out. */
START_TEST(pipes_on_side_a)
{
	int in[2], out[2], sb[2], rfd, cl[3];
	struct result res;
	pid_t rp, wa, wb, rb;
	int64_t got;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	cl[0] = in[1], cl[1] = out[0], cl[2] = sb[0];
	rp = relay_child(in[0], out[1], sb[1], sb[1], NULL, &rfd, cl, 3);
	close(in[0]);
	close(out[1]);
	close(sb[1]);
	wa = writer(in[1], 3, 3u << 20, 1);
	close(in[1]);
	wb = writer(sb[0], 4, 2u << 20, 0);
	if ((rb = fork()) == 0) {
		close(out[0]);
		_exit(reader_check(sb[0], 3, NULL) == (int64_t)(3u << 20) ?
		    0 : 3);
	}
	got = reader_check(out[0], 4, NULL);	/* EOF: relay closed a_out */
	ck_assert_int_eq(got, (int64_t)(2u << 20));
	reap(wa);
	reap(wb);
	reap(rb);
	get_result(rfd, rp, &res);
	ck_assert_int_eq(res.ret, 0);
	ck_assert_int_eq(res.st.end, VPRELAY_DONE);
	close(out[0]);
	close(sb[0]);
}
END_TEST

/* A regular file as input, /dev/null (read/write fallback) as output. */
START_TEST(file_and_devnull)
{
	char path[] = "/tmp/check_vprelay.XXXXXX";
	unsigned char buf[4096];
	int f, nul, sb[2], rfd, cl[1];
	struct result res;
	pid_t rp;
	size_t i;
	int64_t got;

	f = mkstemp(path);
	ck_assert_int_ne(f, -1);
	unlink(path);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pat(5, i);
	ck_assert_uint_eq(vpio_writeall(f, buf, sizeof(buf)), sizeof(buf));
	ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
	nul = open("/dev/null", O_WRONLY);
	ck_assert_int_ne(nul, -1);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	cl[0] = sb[0];
	rp = relay_child(f, nul, sb[1], sb[1], NULL, &rfd, cl, 1);
	close(sb[1]);
	ck_assert_int_eq(write(sb[0], "discarded", 9), 9);
	ck_assert_int_eq(shutdown(sb[0], SHUT_WR), 0);
	got = reader_check(sb[0], 5, NULL);
	ck_assert_int_eq(got, (int64_t)sizeof(buf));
	get_result(rfd, rp, &res);
	ck_assert_int_eq(res.ret, 0);
	ck_assert_uint_eq(res.st.ab, sizeof(buf));
	ck_assert_uint_eq(res.st.ba, 9);
	ck_assert_int_eq(res.st.splice_ba, 0);
	close(sb[0]);
	close(f);
	close(nul);
}
END_TEST

/*
 * EOF read in the last round of a wake-up must still end the direction
 * (a file of exactly 7 pipe loads: the 8th read is the EOF).
 */
START_TEST(eof_in_last_round)
{
	char path[] = "/tmp/check_vprelay.XXXXXX";
	static unsigned char buf[7 * 4096];
	struct vprelay_opts o;
	int f, sb[2], rfd, cl[1];
	struct result res;
	pid_t rp;
	size_t i;

	f = mkstemp(path);
	ck_assert_int_ne(f, -1);
	unlink(path);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pat(9, i);
	ck_assert_uint_eq(vpio_writeall(f, buf, sizeof(buf)), sizeof(buf));
	ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	memset(&o, 0, sizeof(o));
	o.pipesz = 4096;
	cl[0] = sb[0];
	rp = relay_child(f, sb[1] == 1 ? 1 : dup(1), sb[1], sb[1], &o, &rfd,
	    cl, 1);
	close(sb[1]);
	ck_assert_int_eq(shutdown(sb[0], SHUT_WR), 0);
	ck_assert_int_eq(reader_check(sb[0], 9, NULL), (int64_t)sizeof(buf));
	get_result(rfd, rp, &res);
	ck_assert_int_eq(res.ret, 0);
	ck_assert_uint_eq(res.st.ab, sizeof(buf));
	close(sb[0]);
	close(f);
}
END_TEST

START_TEST(idle_timeout)
{
	int sa[2], sb[2];
	struct vprelay_opts o;
	struct vprelay_stats st;
	int64_t t0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	memset(&o, 0, sizeof(o));
	o.idle_ms = 150;
	t0 = vpio_now_ms();
	ck_assert_int_eq(vprelay_run(sa[1], sa[1], sb[1], sb[1], &o, &st), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(st.end, VPRELAY_IDLE);
	ck_assert_int_ge(vpio_now_ms() - t0, 140);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}
END_TEST

static volatile sig_atomic_t stopflag;

static void
on_alarm(int sig)
{
	(void)sig;
	stopflag = 1;
}

/* A signal during the wait ends the relay cleanly (ppoll mask). */
START_TEST(stop_by_signal)
{
	int sa[2], sb[2];
	struct vprelay_opts o;
	struct vprelay_stats st;
	struct sigaction sa_;
	sigset_t block, old;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	memset(&sa_, 0, sizeof(sa_));
	sa_.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa_, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	memset(&o, 0, sizeof(o));
	o.sigmask = &old;
	o.stop = &stopflag;
	o.idle_ms = 10000;
	stopflag = 0;
	alarm(1);
	ck_assert_int_eq(vprelay_run(sa[1], sa[1], sb[1], sb[1], &o, &st), 0);
	ck_assert_int_eq(st.end, VPRELAY_STOPPED);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}
END_TEST

/* b_out is a pipe whose reader exits: that direction ends quietly. */
START_TEST(reader_goes_away)
{
	int in[2], bo[2], bi[2], out[2];
	struct vprelay_stats st;
	pid_t w;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(bo), 0);
	ck_assert_int_eq(pipe(bi), 0);
	ck_assert_int_eq(pipe(out), 0);
	close(bo[0]);		/* nobody reads b_out */
	close(bi[1]);		/* b_in at EOF at once */
	w = writer(in[1], 7, 1u << 20, 1);
	close(in[1]);
	ck_assert_int_eq(vprelay_run(in[0], out[1], bi[0], bo[1], NULL, &st),
	    0);
	ck_assert_int_eq(st.end, VPRELAY_DONE);
	ck_assert_uint_eq(st.ab, 0);
	kill(w, SIGKILL);
	waitpid(w, NULL, 0);
	close(in[0]), close(bo[1]), close(bi[0]), close(out[0]), close(out[1]);
}
END_TEST

/*
 * b's socket can no longer be written (its peer is gone; a TCP origin
 * that answered and reset): a->b ends with the error, and b->a still
 * passes on all that b sent before, as the engine does. It used to end
 * both ways at the failed write, with b's bytes unread.
 */
START_TEST(write_reset_other_way_delivered)
{
	char path[] = "/tmp/check_vprelay.XXXXXX";
	static unsigned char big[1u << 20], resp[100000], back[100001];
	struct vprelay_stats st;
	int in, out, keep, sb[2];
	size_t i;

	memset(big, 'q', sizeof(big));
	for (i = 0; i < sizeof(resp); i++)
		resp[i] = pat(9, i);
	in = mkstemp(path);
	ck_assert_int_ne(in, -1);
	unlink(path);
	ck_assert_uint_eq(vpio_writeall(in, big, sizeof(big)), sizeof(big));
	ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
	strcpy(path, "/tmp/check_vprelay.XXXXXX");
	out = mkstemp(path);
	ck_assert_int_ne(out, -1);
	unlink(path);
	keep = dup(out);	/* the relay ends out's file when b->a ends */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	ck_assert_uint_eq(vpio_writeall(sb[1], resp, sizeof(resp)),
	    sizeof(resp));
	close(sb[1]);		/* answered and gone */
	ck_assert_int_eq(vprelay_run(in, out, sb[0], sb[0], NULL, &st), -1);
	ck_assert_int_eq(st.end, VPRELAY_ERROR);
	ck_assert_int_eq(st.err, EPIPE);
	ck_assert_uint_eq(st.ba, sizeof(resp));
	ck_assert_int_eq(lseek(keep, 0, SEEK_SET), 0);
	ck_assert_int_eq(read(keep, back, sizeof(back)), (ssize_t)sizeof(resp));
	ck_assert_int_eq(memcmp(back, resp, sizeof(resp)), 0);
	close(in);
	close(out);
	close(keep);
	close(sb[0]);
}
END_TEST

/* A descriptor that is not open: an error, not a spin. */
START_TEST(bad_fd)
{
	int sa[2];
	struct vprelay_stats st;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(vprelay_run(sa[1], sa[1], 987, 987, NULL, &st), -1);
	ck_assert_int_eq(st.end, VPRELAY_ERROR);
	close(sa[0]), close(sa[1]);
}
END_TEST

/*
 * opts.body: a->b carries one HTTP request: its body and nothing after
 * it; what follows (left unread in a_in) shuts b_out down; the other
 * way flows to its end. Malformed chunked framing is EPROTO.
 */
static void
body_case_fed(enum vphb_frame f, uint64_t len, const char *fed,
    const char *in, const char *want, const char *left, int ok)
{
	int sa[2], sb[2];
	struct vprelay_opts o;
	struct vprelay_stats st;
	struct vphb b;
	char got[256];
	ssize_t n;
	size_t have = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	ck_assert_int_eq(write(sa[0], in, strlen(in)), (ssize_t)strlen(in));
	ck_assert_int_eq(write(sb[0], "resp", 4), 4);
	ck_assert_int_eq(shutdown(sb[0], SHUT_WR), 0);
	memset(&o, 0, sizeof(o));
	o.pre = "HEAD|";
	o.prelen = 5;
	vphb_init(&b, f, len);
	/* what the caller had already passed on (in its pre-data) */
	if (fed != NULL)
		ck_assert_int_eq(vphb_feed(&b, fed, strlen(fed)),
		    ok ? (ssize_t)strlen(fed) : -1);
	o.body = &b;
	o.idle_ms = 5000;
	if (ok) {
		ck_assert_int_eq(vprelay_run(sa[1], sa[1], sb[1], sb[1], &o,
		    &st), 0);
		ck_assert_int_eq(st.body_done, 1);
		ck_assert_uint_eq(st.ba, 4);
	} else {
		ck_assert_int_eq(vprelay_run(sa[1], sa[1], sb[1], sb[1], &o,
		    &st), -1);
		ck_assert_int_eq(errno, EPROTO);
		close(sb[1]);
	}
	/* what b got, then its EOF */
	while ((n = read(sb[0], got + have, sizeof(got) - 1 - have)) > 0)
		have += (size_t)n;
	got[have] = '\0';
	ck_assert_str_eq(got, want);
	if (left != NULL) {
		n = recv(sa[1], got, sizeof(got) - 1, MSG_DONTWAIT);
		ck_assert_int_eq(n, (ssize_t)strlen(left));
		got[n] = '\0';
		ck_assert_str_eq(got, left);
	}
	close(sa[0]), close(sa[1]), close(sb[0]);
	if (ok)
		close(sb[1]);
}

static void
body_case(enum vphb_frame f, uint64_t len, const char *in, const char *want,
    const char *left, int ok)
{
	body_case_fed(f, len, NULL, in, want, left, ok);
}

START_TEST(http_body)
{
	body_case(VPHB_LENGTH, 5, "helloGET /2", "HEAD|hello", "GET /2", 1);
	body_case(VPHB_NONE, 0, "GET /2", "HEAD|", "GET /2", 1);
	body_case(VPHB_CHUNKED, 0, "3\r\nabc\r\n0\r\n\r\nGET /2",
	    "HEAD|3\r\nabc\r\n0\r\n\r\n", NULL, 1);
	/* one read: nothing of it passes */
	body_case(VPHB_CHUNKED, 0, "3\r\nabc\r\nzz\r\nGET /2", "HEAD|",
	    NULL, 0);
	/*
	 * The caller's pre-data ended inside a chunk's data: the rest of
	 * it is spliced, then the framing after it is still parsed (the
	 * relay once took the 0-byte splice at the chunk's end for EOF).
	 */
	body_case_fed(VPHB_CHUNKED, 0, "5\r\nhel",
	    "lo\r\n4\r\nabcd\r\n0\r\n\r\nGET /2",
	    "HEAD|lo\r\n4\r\nabcd\r\n0\r\n\r\n", NULL, 1);
	/* malformed among the caller's bytes: the head, then EPROTO */
	body_case_fed(VPHB_CHUNKED, 0, "zz", "3\r\nabc\r\n0\r\n\r\n", "HEAD|",
	    NULL, 0);
}
END_TEST

/*
 * A complete request and nothing after it: b_out stays open (an origin
 * may take a half-close for an abort) until a sends more or closes.
 */
START_TEST(http_body_no_early_eof)
{
	int sa[2], sb[2], st;
	struct vprelay_opts o;
	struct vprelay_stats rs;
	struct vphb b;
	struct pollfd pf;
	char got[64];
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	ck_assert_int_eq(write(sa[0], "hello", 5), 5);
	if ((pid = fork()) == 0) {
		memset(&o, 0, sizeof(o));
		o.pre = "HEAD|";
		o.prelen = 5;
		vphb_init(&b, VPHB_LENGTH, 5);
		o.body = &b;
		o.idle_ms = 10000;
		_exit(vprelay_run(sa[1], sa[1], sb[1], sb[1], &o, &rs) == 0 &&
		    rs.body_done ? 0 : 1);
	}
	ck_assert_int_ge(pid, 0);
	while (have < 10 && (n = read(sb[0], got + have, 10 - have)) > 0)
		have += (size_t)n;
	ck_assert_uint_eq(have, 10);
	ck_assert(memcmp(got, "HEAD|hello", 10) == 0);
	/* no EOF while a is quiet */
	pf.fd = sb[0];
	pf.events = POLLIN;
	ck_assert_int_eq(poll(&pf, 1, 200), 0);
	/* a's next request: b's EOF, the request itself not relayed */
	ck_assert_int_eq(write(sa[0], "GET /2", 6), 6);
	ck_assert_int_eq(poll(&pf, 1, 5000), 1);
	ck_assert_int_eq(read(sb[0], got, sizeof(got)), 0);
	ck_assert_int_eq(write(sb[0], "resp", 4), 4);
	ck_assert_int_eq(shutdown(sb[0], SHUT_WR), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(read(sa[0], got, sizeof(got)), 4);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}
END_TEST

static Suite *
vprelay_suite(void)
{
	Suite *s = suite_create("vprelay");
	TCase *tc = tcase_create("relay");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, large_both_ways);
	tcase_add_test(tc, small_and_empty);
	tcase_add_test(tc, pre_data_first);
	tcase_add_test(tc, half_close_answer_after_eof);
	tcase_add_test(tc, half_close_other_way);
	tcase_add_test(tc, pipes_on_side_a);
	tcase_add_test(tc, file_and_devnull);
	tcase_add_test(tc, eof_in_last_round);
	tcase_add_test(tc, idle_timeout);
	tcase_add_test(tc, stop_by_signal);
	tcase_add_test(tc, reader_goes_away);
	tcase_add_test(tc, write_reset_other_way_delivered);
	tcase_add_test(tc, bad_fd);
	tcase_add_test(tc, http_body);
	tcase_add_test(tc, http_body_no_early_eof);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(vprelay_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
