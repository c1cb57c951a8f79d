/*
 * tunnel_bench: load generator for scripts/bench/bench-tunnel.sh.
 *
 *   tunnel_bench sink            discard server: prints its port; per
 *                                connection reads an 8-byte length and
 *                                that many bytes, replies with the count
 *                                (8 bytes), closes
 *   tunnel_bench echo            echo server: prints its port
 *   tunnel_bench send PORT BYTES [PAR]
 *                                PAR connections at once, each sends
 *                                BYTES then waits for the sink's count;
 *                                prints "total_gbps g1 g2 ..." (Gbit/s,
 *                                per connection from its own start/end)
 *   tunnel_bench open PORT N [PAR]
 *                                N short connections (1-byte echo, then
 *                                close), PAR at a time; prints conn/s
 *   tunnel_bench idle PORT N     opens N connections, checks each with a
 *                                1-byte echo, prints "ready", then holds
 *                                them until stdin ends
 * Loopback only (127.0.0.1).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"

static int
listener(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		perror("listen");
		exit(1);
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

static int
dial(unsigned port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sink: an 8-byte length, then that many bytes; the reply is the count
 * read. No half-close is needed (v2ray's mux does not carry one).
 */
static void *
sink_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *b = malloc(256 * 1024);
	uint64_t n = 0, want = 0;
	ssize_t r;

	if (b != NULL && vpio_readall(fd, &want, sizeof(want)) == sizeof(want))
		while (n < want && (r = read(fd, b, want - n < 256 * 1024 ?
		    want - n : 256 * 1024)) > 0)
			n += r;
	free(b);
	(void)vpio_writeall(fd, &n, sizeof(n));
	(void)close(fd);
	return NULL;
}

static void *
echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char b[16384];
	ssize_t r;

	while ((r = read(fd, b, sizeof(b))) > 0)
		if (vpio_writeall(fd, b, r) != (size_t)r)
			break;
	(void)close(fd);
	return NULL;
}

static int
serve(void *(*fn)(void *))
{
	int l = listener(), fd;

	/* Bounded by the process: this runs until killed. */
	pthread_t t;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 512 * 1024);
	for (;;) {
		if ((fd = accept(l, NULL, NULL)) == -1)
			continue;
		if (pthread_create(&t, &a, fn, (void *)(intptr_t)fd) != 0)
			(void)close(fd);
	}
	return 0;
}

struct job {
	unsigned	port;
	uint64_t	bytes;
	double		gbps;
	int		ok;
	int64_t		t0, t1;
};

static void *
send_one(void *arg)
{
	struct job *j = arg;
	static char b[256 * 1024];	/* shared: contents do not matter */
	uint64_t left = j->bytes, got = 0;
	size_t k;
	int fd;

	j->t0 = vpio_now_ms();
	if ((fd = dial(j->port)) == -1)
		return NULL;
	if (vpio_writeall(fd, &j->bytes, sizeof(j->bytes)) != sizeof(j->bytes)) {
		(void)close(fd);
		return NULL;
	}
	while (left > 0) {
		k = left < sizeof(b) ? left : sizeof(b);
		if (vpio_writeall(fd, b, k) != k)
			break;
		left -= k;
	}
	if (left == 0 && vpio_readall(fd, &got, sizeof(got)) == sizeof(got) &&
	    got == j->bytes)
		j->ok = 1;
	(void)close(fd);
	j->t1 = vpio_now_ms();
	if (j->t1 == j->t0)
		j->t1++;
	j->gbps = j->bytes * 8.0 / ((j->t1 - j->t0) / 1000.0) / 1e9;
	return NULL;
}

static int
sendbench(unsigned port, uint64_t bytes, int par)
{
	struct job *j = calloc(par, sizeof(*j));
	pthread_t *t = calloc(par, sizeof(*t));
	int64_t t0 = vpio_now_ms(), t1;
	int i, bad = 0;

	for (i = 0; i < par; i++) {
		j[i].port = port;
		j[i].bytes = bytes;
		pthread_create(&t[i], NULL, send_one, &j[i]);
	}
	for (i = 0; i < par; i++) {
		pthread_join(t[i], NULL);
		bad += !j[i].ok;
	}
	t1 = vpio_now_ms();
	printf("%.2f", bytes * par * 8.0 / ((t1 - t0) / 1000.0) / 1e9);
	for (i = 0; i < par; i++)
		printf(" %.2f", j[i].gbps);
	printf("\n");
	if (bad)
		fprintf(stderr, "tunnel_bench: %d transfers failed\n", bad);
	return bad ? 1 : 0;
}

struct ojob {
	unsigned	port;
	int		n;
	int		fails;
};

static void *
open_some(void *arg)
{
	struct ojob *o = arg;
	char c = 'x';
	int i, fd;

	for (i = 0; i < o->n; i++) {
		if ((fd = dial(o->port)) == -1 || write(fd, &c, 1) != 1 ||
		    read(fd, &c, 1) != 1)
			o->fails++;
		if (fd != -1)
			(void)close(fd);
	}
	return NULL;
}

static int
openbench(unsigned port, int n, int par)
{
	struct ojob *o = calloc(par, sizeof(*o));
	pthread_t *t = calloc(par, sizeof(*t));
	int64_t t0 = vpio_now_ms(), t1;
	int i, fails = 0;

	for (i = 0; i < par; i++) {
		o[i].port = port;
		o[i].n = n / par;
		pthread_create(&t[i], NULL, open_some, &o[i]);
	}
	for (i = 0; i < par; i++) {
		pthread_join(t[i], NULL);
		fails += o[i].fails;
	}
	t1 = vpio_now_ms();
	printf("%.0f\n", (n / par) * par / ((t1 - t0 + 1) / 1000.0));
	if (fails)
		fprintf(stderr, "tunnel_bench: %d opens failed\n", fails);
	return fails ? 1 : 0;
}

static int
idlebench(unsigned port, int n)
{
	int *fds = calloc(n, sizeof(int)), i, bad = 0;
	char c = 'x', b[64];

	for (i = 0; i < n; i++) {
		if ((fds[i] = dial(port)) == -1 || write(fds[i], &c, 1) != 1 ||
		    read(fds[i], &c, 1) != 1) {
			bad++;
			break;
		}
	}
	printf(bad ? "failed at %d\n" : "ready %d\n", i);
	fflush(stdout);
	while (read(0, b, sizeof(b)) > 0)
		;
	for (i = 0; i < n; i++)
		if (fds[i] > 0)
			(void)close(fds[i]);
	return bad;
}

int
main(int argc, char *argv[])
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "sink") == 0)
		return serve(sink_conn);
	if (argc >= 2 && strcmp(argv[1], "echo") == 0)
		return serve(echo_conn);
	if (argc >= 4 && strcmp(argv[1], "send") == 0)
		return sendbench(atoi(argv[2]), strtoull(argv[3], NULL, 10),
		    argc > 4 ? atoi(argv[4]) : 1);
	if (argc >= 4 && strcmp(argv[1], "open") == 0)
		return openbench(atoi(argv[2]), atoi(argv[3]),
		    argc > 4 ? atoi(argv[4]) : 1);
	if (argc >= 4 && strcmp(argv[1], "idle") == 0)
		return idlebench(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: tunnel_bench sink|echo | send PORT BYTES [PAR] "
	    "| open PORT N [PAR] | idle PORT N\n");
	return 2;
}
