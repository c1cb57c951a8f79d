/*
 * Unit tests for vpresolve: literals answered at once, names through
 * the threads, the bound on outstanding requests, hostile arguments,
 * many requests each answered once, freeing with work pending, the
 * descriptor's readiness and the threads' signal mask. Every wait is a
 * poll() on the pool's descriptor with a deadline.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpresolve.h"

/* Generous: a resolver timing out on an unreachable server takes ~10 s. */
#define WAIT_MS		20000

struct result {
	uint64_t	 tag;
	struct addrinfo	*res;
	int		 gai;
	int		 sys_errno;
};

/* take(): vpresolve_take() into *o. */
static int
take(struct vpresolve *r, struct result *o)
{
	return vpresolve_take(r, &o->tag, &o->res, &o->gai, &o->sys_errno);
}

/*
 * readable(): 1 if the pool's descriptor polls readable within ms.
 */
static int
readable(struct vpresolve *r, int ms)
{
	struct pollfd p;
	int n;

	p.fd = vpresolve_fd(r);
	p.events = POLLIN;
	p.revents = 0;
	do
		n = poll(&p, 1, ms);
	while (n == -1 && errno == EINTR);
	ck_assert_int_ne(n, -1);
	return n == 1 && (p.revents & POLLIN) != 0;
}

/*
 * take_wait(): the next result, waiting up to ms by poll(). Returns 1,
 * or 0 on timeout. A readable descriptor must always yield a result.
 */
static int
take_wait(struct vpresolve *r, int ms, struct result *out)
{
	if (take(r, out) == 1)
		return 1;
	if (!readable(r, ms))
		return 0;
	/* Readable: the take must not come back empty. */
	ck_assert_int_eq(take(r, out), 1);
	return 1;
}

/*
 * all_loopback(): 1 if every address of res is a loopback one with the
 * given port and SOCK_STREAM, and there is at least one.
 */
static int
all_loopback(const struct addrinfo *res, unsigned port)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	int n = 0;

	for (; res != NULL; res = res->ai_next, n++) {
		if (res->ai_socktype != SOCK_STREAM)
			return 0;
		if (res->ai_family == AF_INET) {
			s4 = (const struct sockaddr_in *)(void *)res->ai_addr;
			if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127 ||
			    ntohs(s4->sin_port) != port)
				return 0;
		} else if (res->ai_family == AF_INET6) {
			s6 = (const struct sockaddr_in6 *)(void *)res->ai_addr;
			if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
			    ntohs(s6->sin6_port) != port)
				return 0;
		} else
			return 0;
	}
	return n > 0;
}

START_TEST(literal_v4)
{
	struct vpresolve *r = vpresolve_new(1, 4);
	const struct sockaddr_in *s4;
	struct result o;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(take(r, &o), 0);
	ck_assert(!readable(r, 0));
	ck_assert_int_eq(vpresolve_submit(r, 42, "127.0.0.1", 8080, AF_UNSPEC),
	    0);
	/* A literal needs no thread: ready before submit returns. */
	ck_assert(readable(r, 0));
	ck_assert_int_eq(take(r, &o), 1);
	ck_assert_uint_eq(o.tag, 42);
	ck_assert_int_eq(o.gai, 0);
	ck_assert_ptr_nonnull(o.res);
	ck_assert_int_eq(o.res->ai_family, AF_INET);
	ck_assert_int_eq(o.res->ai_socktype, SOCK_STREAM);
	s4 = (const struct sockaddr_in *)(void *)o.res->ai_addr;
	ck_assert_uint_eq(ntohl(s4->sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_uint_eq(ntohs(s4->sin_port), 8080);
	freeaddrinfo(o.res);
	/* Readiness cleared once everything is taken. */
	ck_assert(!readable(r, 0));
	ck_assert_int_eq(take(r, &o), 0);

	/* An IPv4 literal asked as IPv6 fails at once, no DNS. */
	ck_assert_int_eq(vpresolve_submit(r, 43, "127.0.0.1", 80, AF_INET6),
	    0);
	ck_assert(readable(r, 0));
	ck_assert_int_eq(take(r, &o), 1);
	ck_assert_uint_eq(o.tag, 43);
	ck_assert_int_ne(o.gai, 0);
	ck_assert_ptr_null(o.res);
	ck_assert(!readable(r, 0));
	vpresolve_free(r);
}
END_TEST

START_TEST(literal_v6)
{
	struct vpresolve *r = vpresolve_new(2, 4);
	const struct sockaddr_in6 *s6;
	struct result o;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(vpresolve_submit(r, 6, "::1", 443, AF_INET6), 0);
	ck_assert(readable(r, 0));
	ck_assert_int_eq(take(r, &o), 1);
	ck_assert_uint_eq(o.tag, 6);
	ck_assert_int_eq(o.gai, 0);
	ck_assert_ptr_nonnull(o.res);
	ck_assert_int_eq(o.res->ai_family, AF_INET6);
	s6 = (const struct sockaddr_in6 *)(void *)o.res->ai_addr;
	ck_assert(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	ck_assert_uint_eq(ntohs(s6->sin6_port), 443);
	ck_assert_ptr_null(o.res->ai_next);
	freeaddrinfo(o.res);

	/* An IPv6 literal asked as IPv4: a failure, at once. */
	ck_assert_int_eq(vpresolve_submit(r, 7, "::1", 443, AF_INET), 0);
	ck_assert(readable(r, 0));
	ck_assert_int_eq(take(r, &o), 1);
	ck_assert_uint_eq(o.tag, 7);
	ck_assert_int_ne(o.gai, 0);
	ck_assert_ptr_null(o.res);

	/* Port 0 and 65535 are in range. */
	ck_assert_int_eq(vpresolve_submit(r, 8, "::ffff:127.0.0.1", 65535,
	    AF_UNSPEC), 0);
	ck_assert_int_eq(take_wait(r, 0, &o), 1);
	ck_assert_int_eq(o.gai, 0);
	s6 = (const struct sockaddr_in6 *)(void *)o.res->ai_addr;
	ck_assert(IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr));
	ck_assert_uint_eq(ntohs(s6->sin6_port), 65535);
	freeaddrinfo(o.res);
	ck_assert(!readable(r, 0));
	vpresolve_free(r);
}
END_TEST

START_TEST(localhost)
{
	struct vpresolve *r = vpresolve_new(2, 4);
	struct result o;
	int fam[] = { AF_INET, AF_UNSPEC };
	size_t i;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		ck_assert_int_eq(vpresolve_submit(r, 100 + i, "localhost", 22,
		    fam[i]), 0);
		ck_assert_int_eq(take_wait(r, WAIT_MS, &o), 1);
		ck_assert_uint_eq(o.tag, 100 + i);
		ck_assert_msg(o.gai == 0, "localhost: %s", gai_strerror(o.gai));
		ck_assert(all_loopback(o.res, 22));
		if (fam[i] == AF_INET)
			ck_assert_int_eq(o.res->ai_family, AF_INET);
		freeaddrinfo(o.res);
	}
	ck_assert(!readable(r, 0));
	vpresolve_free(r);
}
END_TEST

START_TEST(no_such_name)
{
	struct vpresolve *r = vpresolve_new(1, 4);
	struct result o;
	int64_t t0;

	ck_assert_ptr_nonnull(r);
	t0 = vpio_now_ms();
	/* RFC 6761: names under .invalid never exist. */
	ck_assert_int_eq(vpresolve_submit(r, 9, "no-such-host.vp-test.invalid",
	    80, AF_UNSPEC), 0);
	ck_assert_msg(take_wait(r, WAIT_MS, &o) == 1,
	    "no answer within %d ms", WAIT_MS);
	ck_assert_uint_eq(o.tag, 9);
	ck_assert_ptr_null(o.res);
	ck_assert_msg(o.gai == EAI_NONAME || o.gai == EAI_FAIL ||
	    o.gai == EAI_AGAIN || o.gai == EAI_NODATA,
	    "unexpected %d: %s", o.gai, gai_strerror(o.gai));
	fprintf(stderr, "no_such_name: %s after %lld ms\n",
	    gai_strerror(o.gai), (long long)(vpio_now_ms() - t0));
	ck_assert(!readable(r, 0));
	vpresolve_free(r);
}
END_TEST

START_TEST(queue_full)
{
	struct vpresolve *r = vpresolve_new(1, 3);
	struct result o;
	int i;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(vpresolve_submit(r, i, "127.0.0.1", 1,
		    AF_INET), 0);
	/* Finished but not taken still counts: memory stays bounded. */
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 3, "127.0.0.1", 1, AF_INET), -1);
	ck_assert_int_eq(errno, EAGAIN);
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 3, "localhost", 1, AF_INET), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* One taken frees one place. */
	ck_assert_int_eq(take_wait(r, 0, &o), 1);
	ck_assert_uint_eq(o.tag, 0);
	freeaddrinfo(o.res);
	ck_assert_int_eq(vpresolve_submit(r, 4, "localhost", 1, AF_INET), 0);
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 5, "::1", 1, AF_INET6), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* The rest come back, FIFO among the literals. */
	ck_assert_int_eq(take_wait(r, 0, &o), 1);
	ck_assert_uint_eq(o.tag, 1);
	freeaddrinfo(o.res);
	ck_assert_int_eq(take_wait(r, 0, &o), 1);
	ck_assert_uint_eq(o.tag, 2);
	freeaddrinfo(o.res);
	ck_assert_int_eq(take_wait(r, WAIT_MS, &o), 1);
	ck_assert_uint_eq(o.tag, 4);
	ck_assert_int_eq(o.gai, 0);
	freeaddrinfo(o.res);
	ck_assert_int_eq(take_wait(r, 0, &o), 0);
	vpresolve_free(r);
}
END_TEST

START_TEST(bad_arguments)
{
	struct vpresolve *r;
	struct result o;
	char host[300];

	errno = 0;
	ck_assert_ptr_null(vpresolve_new(0, 1));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(vpresolve_new(65, 1));
	ck_assert_ptr_null(vpresolve_new(-1, 1));
	ck_assert_ptr_null(vpresolve_new(1, 0));
	vpresolve_free(NULL);

	r = vpresolve_new(64, 8);
	ck_assert_ptr_nonnull(r);

	/* 256 bytes: too long; the pool is left untouched. */
	memset(host, 'a', sizeof(host));
	host[256] = '\0';
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 1, host, 80, AF_UNSPEC), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	host[299] = '\0';
	memset(host, 'b', 299);
	ck_assert_int_eq(vpresolve_submit(r, 1, host, 80, AF_UNSPEC), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 1, NULL, 80, AF_UNSPEC), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 1, "127.0.0.1", 65536, AF_INET),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 1, "127.0.0.1", 80, AF_UNIX), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(!readable(r, 0));

	/*
	 * 255 bytes (four labels, the last under .invalid) is accepted
	 * and fails as a name; an empty name and junk fail too.
	 */
	memset(host, 'c', 255);
	host[63] = host[127] = host[191] = '.';
	memcpy(host + 255 - 8, ".invalid", 8);
	host[255] = '\0';
	ck_assert_int_eq(strlen(host), 255);
	ck_assert_int_eq(vpresolve_submit(r, 2, host, 80, AF_UNSPEC), 0);
	ck_assert_int_eq(vpresolve_submit(r, 3, "", 80, AF_UNSPEC), 0);
	ck_assert_int_eq(vpresolve_submit(r, 4, "bad name\r\n.invalid", 80,
	    AF_UNSPEC), 0);
	ck_assert_int_eq(vpresolve_submit(r, 5, "[::1]", 80, AF_UNSPEC), 0);
	ck_assert_int_eq(vpresolve_submit(r, 6, "1.2.3.4.5", 80, AF_INET), 0);
	ck_assert_int_eq(vpresolve_submit(r, 7, "::1%nosuchif", 80, AF_INET6),
	    0);
	/* Tag 7 may be refused as a literal or as a name: both fail. */
	for (int i = 0; i < 6; i++) {
		ck_assert_msg(take_wait(r, WAIT_MS, &o) == 1, "answer %d", i);
		ck_assert(o.tag >= 2 && o.tag <= 7);
		ck_assert_msg(o.gai != 0, "tag %llu resolved",
		    (unsigned long long)o.tag);
		ck_assert_ptr_null(o.res);
	}
	ck_assert(!readable(r, 0));
	vpresolve_free(r);
}
END_TEST

/* Tag i is one of three kinds of request, by i % 3. */
static const char *
many_host(unsigned i)
{
	static const char *h[] = { "127.0.0.1", "::1", "localhost" };

	return h[i % 3];
}

START_TEST(many_once)
{
	enum { N = 500 };
	struct vpresolve *r = vpresolve_new(4, N);
	static unsigned char seen[N];
	struct result o;
	uint64_t base = UINT64_C(0xfeed000000000000);
	unsigned i, got = 0;

	ck_assert_ptr_nonnull(r);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < N; i++)
		ck_assert_int_eq(vpresolve_submit(r, base + i, many_host(i),
		    1000 + i, AF_UNSPEC), 0);
	errno = 0;
	ck_assert_int_eq(vpresolve_submit(r, 0, "localhost", 1, AF_UNSPEC), -1);
	ck_assert_int_eq(errno, EAGAIN);
	while (got < N) {
		ck_assert_msg(take_wait(r, WAIT_MS, &o) == 1,
		    "only %u of %d came back", got, N);
		ck_assert(o.tag >= base && o.tag < base + N);
		i = (unsigned)(o.tag - base);
		ck_assert_msg(seen[i] == 0, "tag %u came back twice", i);
		seen[i] = 1;
		got++;
		ck_assert_msg(o.gai == 0, "%s: %s", many_host(i),
		    gai_strerror(o.gai));
		ck_assert_msg(all_loopback(o.res, 1000 + i), "%s", many_host(i));
		freeaddrinfo(o.res);
	}
	ck_assert(!readable(r, 0));
	ck_assert_int_eq(take(r, &o), 0);
	vpresolve_free(r);
}
END_TEST

START_TEST(small_queue_stream)
{
	/* 300 names through a queue of 5: EAGAIN, take, submit again. */
	enum { N = 300 };
	struct vpresolve *r = vpresolve_new(3, 5);
	static unsigned char seen[N];
	struct result o;
	unsigned next = 0, got = 0, eagain = 0;
	int guard;

	ck_assert_ptr_nonnull(r);
	memset(seen, 0, sizeof(seen));
	for (guard = 0; got < N && guard < 100000; guard++) {
		while (next < N) {
			if (vpresolve_submit(r, next, "localhost", 7,
			    AF_INET) == -1) {
				ck_assert_int_eq(errno, EAGAIN);
				eagain++;
				break;
			}
			next++;
		}
		ck_assert_msg(take_wait(r, WAIT_MS, &o) == 1, "stalled");
		ck_assert(o.tag < N && seen[o.tag] == 0);
		seen[o.tag] = 1;
		got++;
		ck_assert_int_eq(o.gai, 0);
		freeaddrinfo(o.res);
	}
	ck_assert_uint_eq(got, N);
	ck_assert_uint_gt(eagain, 0);
	vpresolve_free(r);
}
END_TEST

START_TEST(free_pending)
{
	struct vpresolve *r;
	int i, round;

	/* Queued, running and finished requests, none taken. */
	for (round = 0; round < 5; round++) {
		r = vpresolve_new(1 + round, 200);
		ck_assert_ptr_nonnull(r);
		for (i = 0; i < 200; i++)
			ck_assert_int_eq(vpresolve_submit(r, i, i % 4 ?
			    "localhost" : "127.0.0.1", 80, AF_UNSPEC), 0);
		if (round % 2)
			ck_assert(readable(r, WAIT_MS));
		vpresolve_free(r);
	}
	/* A pool never used. */
	r = vpresolve_new(8, 1);
	ck_assert_ptr_nonnull(r);
	vpresolve_free(r);
}
END_TEST

START_TEST(fd_wakes)
{
	struct vpresolve *r = vpresolve_new(1, 2);
	struct result o;
	int fd, fl;

	ck_assert_ptr_nonnull(r);
	fd = vpresolve_fd(r);
	ck_assert_int_ge(fd, 0);
	fl = fcntl(fd, F_GETFL);
	ck_assert(fl != -1 && (fl & O_NONBLOCK));
	fl = fcntl(fd, F_GETFD);
	ck_assert(fl != -1 && (fl & FD_CLOEXEC));
	ck_assert(!readable(r, 0));
	/* A name goes to the thread; poll() must wake when it is done. */
	ck_assert_int_eq(vpresolve_submit(r, 77, "localhost", 5, AF_INET), 0);
	ck_assert(readable(r, WAIT_MS));
	ck_assert(readable(r, 0));	/* level: still readable */
	ck_assert_int_eq(take(r, &o), 1);
	ck_assert_uint_eq(o.tag, 77);
	freeaddrinfo(o.res);
	ck_assert(!readable(r, 0));
	ck_assert(!readable(r, 20));
	vpresolve_free(r);
}
END_TEST

/*
 * sigblk(): the blocked-signal mask of thread tid, from /proc.
 */
static unsigned long long
sigblk(pid_t tid)
{
	char path[64], line[256];
	unsigned long long m = 0;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "SigBlk: %llx", &m) == 1) {
			found = 1;
			break;
		}
	fclose(f);
	ck_assert(found);
	return m;
}

#define SIGBIT(s)	(1ULL << ((s) - 1))

START_TEST(threads_block_signals)
{
	struct vpresolve *r;
	sigset_t usr, cur;
	unsigned long long want, before;
	struct dirent *de;
	DIR *d;
	int others = 0;
	pid_t tid;

	/* The owner's own mask, with one signal blocked, is kept. */
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR2);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr, NULL), 0);
	before = sigblk(getpid());
	r = vpresolve_new(3, 4);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	ck_assert(sigismember(&cur, SIGUSR2));
	ck_assert(!sigismember(&cur, SIGTERM));
	ck_assert(sigblk(getpid()) == before);

	want = SIGBIT(SIGHUP) | SIGBIT(SIGINT) | SIGBIT(SIGTERM) |
	    SIGBIT(SIGCHLD) | SIGBIT(SIGPIPE) | SIGBIT(SIGUSR1) |
	    SIGBIT(SIGALRM) | SIGBIT(SIGQUIT);
	d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		tid = (pid_t)atoi(de->d_name);
		if (tid == getpid())
			continue;
		others++;
		ck_assert_msg((sigblk(tid) & want) == want,
		    "thread %d mask %llx", (int)tid, sigblk(tid));
	}
	closedir(d);
	ck_assert_int_ge(others, 3);
	vpresolve_free(r);
}
END_TEST

START_TEST(forget_in_child)
{
	struct vpresolve *r = vpresolve_new(2, 4);
	struct result o;
	pid_t pid;
	int fd, st;

	ck_assert_ptr_nonnull(r);
	fd = vpresolve_fd(r);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		vpresolve_forget(r);
		_exit(fcntl(fd, F_GETFD) == -1 && errno == EBADF ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* The parent's pool is unharmed. */
	ck_assert_int_eq(vpresolve_submit(r, 5, "localhost", 1, AF_INET), 0);
	ck_assert_int_eq(take_wait(r, WAIT_MS, &o), 1);
	ck_assert_uint_eq(o.tag, 5);
	ck_assert_int_eq(o.gai, 0);
	freeaddrinfo(o.res);
	vpresolve_free(r);
}
END_TEST

/* vplookup: a literal is ready at once, without a thread. */
START_TEST(lookup_literal)
{
	struct vplookup *l;
	struct addrinfo *res;
	struct pollfd p;
	int gai, sys;

	l = vplookup_start("127.0.0.1", 4242);
	ck_assert_ptr_nonnull(l);
	p.fd = vplookup_fd(l);
	p.events = POLLIN;
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert_int_eq(vplookup_take(l, &res, &gai, &sys), 1);
	ck_assert_int_eq(gai, 0);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq(res->ai_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port),
	    4242);
	freeaddrinfo(res);
	/* only once */
	ck_assert_int_eq(vplookup_take(l, &res, &gai, &sys), 0);
	vplookup_free(l);
	ck_assert_ptr_null(vplookup_start(NULL, 1));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(vplookup_start("x", 65536));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* vplookup: a name on its thread; the fd wakes the owner. */
START_TEST(lookup_name)
{
	struct vplookup *l;
	struct addrinfo *res;
	struct pollfd p;
	int gai, sys;
	char big[300];

	l = vplookup_start("localhost", 80);
	ck_assert_ptr_nonnull(l);
	p.fd = vplookup_fd(l);
	p.events = POLLIN;
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(vplookup_take(l, &res, &gai, &sys), 1);
	ck_assert_int_eq(gai, 0);
	ck_assert_ptr_nonnull(res);
	freeaddrinfo(res);
	vplookup_free(l);
	/* a failure is a result too */
	l = vplookup_start("no-such-name.invalid", 80);
	ck_assert_ptr_nonnull(l);
	p.fd = vplookup_fd(l);
	ck_assert_int_eq(poll(&p, 1, 30000), 1);
	ck_assert_int_eq(vplookup_take(l, &res, &gai, &sys), 1);
	ck_assert_int_ne(gai, 0);
	ck_assert_ptr_null(res);
	vplookup_free(l);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_null(vplookup_start(big, 80));
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

/*
 * vplookup: freed while its thread runs, it is abandoned, never waited
 * for; the thread frees the rest (ASan's leak check sees to it).
 */
START_TEST(lookup_abandon)
{
	struct vplookup *l;
	int i;

	for (i = 0; i < 20; i++) {
		l = vplookup_start("localhost", 80);
		ck_assert_ptr_nonnull(l);
		vplookup_free(l);
	}
	vplookup_free(NULL);
	/* let the threads end before the process does */
	for (i = 0; i < 20; i++) {
		l = vplookup_start("localhost", 81);
		ck_assert_ptr_nonnull(l);
		{
			struct pollfd p = { .fd = vplookup_fd(l),
			    .events = POLLIN };

			ck_assert_int_eq(poll(&p, 1, 10000), 1);
		}
		vplookup_free(l);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpresolve");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, literal_v4);
	tcase_add_test(tc, literal_v6);
	tcase_add_test(tc, localhost);
	tcase_add_test(tc, no_such_name);
	tcase_add_test(tc, queue_full);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, many_once);
	tcase_add_test(tc, small_queue_stream);
	tcase_add_test(tc, free_pending);
	tcase_add_test(tc, fd_wakes);
	tcase_add_test(tc, threads_block_signals);
	tcase_add_test(tc, forget_in_child);
	tcase_add_test(tc, lookup_literal);
	tcase_add_test(tc, lookup_name);
	tcase_add_test(tc, lookup_abandon);
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
