/*
 * bench_proxy_load: load generator and origins for scripts/bench/
 * bench-proxy.sh (SOCKS5 proxies on loopback).
 *
 *   bench_proxy_load origin-short          answer each request, close
 *   bench_proxy_load origin-bulk BYTES     send BYTES to each connection
 *   bench_proxy_load origin-hold           keep connections open
 *   bench_proxy_load rate PROXY ORIGIN THREADS SECONDS
 *   bench_proxy_load bulk PROXY ORIGIN
 *   bench_proxy_load idle PROXY ORIGIN N   hold N proxied connections
 *                                          until stdin reaches EOF
 *
 * Origins bind 127.0.0.1:0 and print the port. PROXY and ORIGIN are
 * ports on 127.0.0.1; the SOCKS5 request names 127.0.0.1 by address
 * (greeting, reply, request, reply: no pipelining, which every proxy
 * handles).
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.0\r\n\r\n";
static char response[100];

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
listen_any(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		exit(71);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1)
		exit(71);
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

static int
writeall(int fd, const void *b, size_t n)
{
	const char *p = b;
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
readn(int fd, void *b, size_t n)
{
	char *p = b;
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Connects to the proxy and asks for 127.0.0.1:origin. fd or -1. */
static int
socks5(unsigned proxy, unsigned origin)
{
	struct sockaddr_in sin;
	unsigned char req[10] = { 5, 1, 0, 1, 127, 0, 0, 1, 0, 0 };
	unsigned char rep[10];
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)proxy);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	req[8] = (unsigned char)(origin >> 8);
	req[9] = (unsigned char)origin;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    writeall(fd, "\x05\x01\x00", 3) == -1 || readn(fd, rep, 2) == -1 ||
	    rep[0] != 5 || rep[1] != 0 || writeall(fd, req, 10) == -1 ||
	    readn(fd, rep, 4) == -1 || rep[1] != 0 ||
	    readn(fd, rep + 4, rep[3] == 4 ? 18 : 6) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- origins */

static void *
bulk_conn(void *arg)
{
	static char buf[1 << 20];
	long long left = *(long long *)((void **)arg)[1];
	int fd = (int)(intptr_t)((void **)arg)[0];
	size_t n;

	free(arg);
	while (left > 0) {
		n = left > (long long)sizeof(buf) ? sizeof(buf) : (size_t)left;
		if (writeall(fd, buf, n) == -1)
			break;
		left -= (long long)n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, 1) > 0)
		;
	close(fd);
	return NULL;
}

static void
origin(int mode, long long bytes)
{
	struct epoll_event ev, evs[256];
	char buf[4096];
	int lfd = listen_any(), ep, n, i, fd;
	pthread_t t;

	if (mode == 'b') {
		for (;;) {
			void **arg;

			if ((fd = accept(lfd, NULL, NULL)) == -1)
				continue;
			arg = malloc(2 * sizeof(void *));
			arg[0] = (void *)(intptr_t)fd;
			arg[1] = &bytes;
			if (pthread_create(&t, NULL, bulk_conn, arg) == 0)
				pthread_detach(t);
		}
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd) {
				if ((fd = accept(lfd, NULL, NULL)) == -1)
					continue;
				ev.events = EPOLLIN;
				ev.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			fd = evs[i].data.fd;
			if (read(fd, buf, sizeof(buf)) <= 0) {
				close(fd);
				continue;
			}
			if (mode == 's') {
				(void)writeall(fd, response, sizeof(response));
				close(fd);
			}
		}
	}
}

/* ---- clients */

struct rarg {
	unsigned	 proxy, origin;
	int64_t		 end;
	int64_t		*lat;
	size_t		 n, cap;
	unsigned long	 errors;
};

static void *
rate_thread(void *p)
{
	struct rarg *a = p;
	char buf[512];
	int64_t t0;
	ssize_t r;
	size_t got;
	int fd;

	while (now_us() < a->end) {
		t0 = now_us();
		if ((fd = socks5(a->proxy, a->origin)) == -1) {
			a->errors++;
			continue;
		}
		got = 0;
		if (writeall(fd, request, sizeof(request) - 1) == 0)
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				got += (size_t)r;
		close(fd);
		if (got != sizeof(response)) {
			a->errors++;
			continue;
		}
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 4096;
			a->lat = realloc(a->lat, a->cap * sizeof(*a->lat));
		}
		a->lat[a->n++] = now_us() - t0;
	}
	return NULL;
}

static int
cmp64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static void
rate(unsigned proxy, unsigned orig, int threads, double secs)
{
	struct rarg *a = calloc((size_t)threads, sizeof(*a));
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	int64_t *all, start = now_us();
	size_t n = 0, k;
	unsigned long errors = 0;
	int i;

	for (i = 0; i < threads; i++) {
		a[i].proxy = proxy;
		a[i].origin = orig;
		a[i].end = start + (int64_t)(secs * 1e6);
		pthread_create(&t[i], NULL, rate_thread, &a[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		n += a[i].n;
		errors += a[i].errors;
	}
	all = malloc((n + 1) * sizeof(*all));
	for (i = 0, k = 0; i < threads; i++) {
		memcpy(all + k, a[i].lat, a[i].n * sizeof(*all));
		k += a[i].n;
	}
	qsort(all, n, sizeof(*all), cmp64);
	printf("conns %zu rate %.0f p50_us %lld p99_us %lld errors %lu\n", n,
	    (double)n / ((double)(now_us() - start) / 1e6),
	    n ? (long long)all[n / 2] : -1LL,
	    n ? (long long)all[n * 99 / 100] : -1LL, errors);
}

static void
bulk(unsigned proxy, unsigned orig)
{
	static char buf[1 << 20];
	long long total = 0;
	int64_t t0;
	ssize_t r;
	int fd;

	t0 = now_us();
	if ((fd = socks5(proxy, orig)) == -1) {
		printf("bytes 0 secs 0 gbit 0 error\n");
		exit(69);
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		total += r;
	close(fd);
	printf("bytes %lld secs %.3f gbit %.2f\n", total,
	    (double)(now_us() - t0) / 1e6,
	    (double)total * 8 / ((double)(now_us() - t0) / 1e6) / 1e9);
}

static void
idle(unsigned proxy, unsigned orig, int n)
{
	int i, ok = 0, *fds = calloc((size_t)n, sizeof(int));
	char c;

	for (i = 0; i < n; i++)
		if ((fds[i] = socks5(proxy, orig)) != -1)
			ok++;
	printf("ready %d\n", ok);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			close(fds[i]);
}

static unsigned
port(const char *s)
{
	long v = strtol(s, NULL, 10);

	if (v <= 0 || v > 65535) {
		fprintf(stderr, "bad port %s\n", s);
		exit(64);
	}
	return (unsigned)v;
}

int
main(int argc, char *argv[])
{
	signal(SIGPIPE, SIG_IGN);
	memset(response, 'r', sizeof(response));
	if (argc == 2 && strcmp(argv[1], "origin-short") == 0)
		origin('s', 0);
	else if (argc == 3 && strcmp(argv[1], "origin-bulk") == 0)
		origin('b', atoll(argv[2]));
	else if (argc == 2 && strcmp(argv[1], "origin-hold") == 0)
		origin('h', 0);
	else if (argc == 6 && strcmp(argv[1], "rate") == 0)
		rate(port(argv[2]), port(argv[3]), atoi(argv[4]), atof(argv[5]));
	else if (argc == 4 && strcmp(argv[1], "bulk") == 0)
		bulk(port(argv[2]), port(argv[3]));
	else if (argc == 5 && strcmp(argv[1], "idle") == 0)
		idle(port(argv[2]), port(argv[3]), atoi(argv[4]));
	else {
		fprintf(stderr, "usage: see the comment in bench_proxy_load.c\n");
		return 64;
	}
	return 0;
}
