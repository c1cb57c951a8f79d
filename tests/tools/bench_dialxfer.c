/*
 * bench_dialxfer: a bulk sender and sink for scripts/bench/bench-dial.sh.
 *
 *	bench_dialxfer sink		listen on 127.0.0.1 port 0, print the
 *					port, then read and discard every
 *					connection to EOF, one after another
 *	bench_dialxfer send PORT BYTES [WSIZE]
 *					connect, send BYTES in write(2)s of
 *					WSIZE bytes (default 1 MiB; 128k and
 *					1m are understood), half-close, wait
 *					for EOF; print "SECONDS GBITS"
 *	bench_dialxfer rate PORT N P	N short connections (connect, 1 byte
 *					each way, close) from P parallel
 *					workers; print "SECONDS CONN/S"
 *
 * Loopback only. Not a test: it measures.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"

#define BUFSZ	(1024 * 1024)

static int
dial(unsigned port)
{
	struct sockaddr_in sin;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
sink(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char *buf = malloc(BUFSZ);
	int l, c, one = 1;
	ssize_t r;

	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (buf == NULL || bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 128) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1) {
		perror("sink");
		return 1;
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	fclose(stdout);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((c = accept(l, NULL, NULL)) == -1)
			continue;
		if (fork() == 0) {
			close(l);
			while ((r = read(c, buf, BUFSZ)) > 0 ||
			    (r == -1 && errno == EINTR))
				;
			(void)!write(c, "k", 1);
			_exit(0);
		}
		close(c);
	}
}

static int
sendbulk(unsigned port, long long bytes, size_t wsize)
{
	char *buf = calloc(1, wsize), b;
	long long left = bytes;
	int64_t t0, t1;
	size_t n;
	int fd;

	if (buf == NULL || (fd = dial(port)) == -1) {
		perror("send");
		return 1;
	}
	t0 = vpio_now_ms();
	while (left > 0) {
		n = left < (long long)wsize ? (size_t)left : wsize;
		if (vpio_writeall(fd, buf, n) != n) {
			perror("send: write");
			return 1;
		}
		left -= n;
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &b, 1) != 1) {
		fprintf(stderr, "send: no acknowledgement from the sink\n");
		return 1;
	}
	t1 = vpio_now_ms();
	printf("%.3f %.2f\n", (t1 - t0) / 1000.0,
	    bytes * 8.0 / 1e9 / ((t1 - t0) / 1000.0));
	return 0;
}

static int
rate(unsigned port, long n, long par)
{
	int64_t t0, t1;
	long i, k, each = n / par, fails = 0;
	int st, fd;
	char b;
	pid_t pid;

	t0 = vpio_now_ms();
	for (k = 0; k < par; k++) {
		if ((pid = fork()) == 0) {
			int bad = 0;

			for (i = 0; i < each; i++) {
				if ((fd = dial(port)) == -1) {
					bad++;
					continue;
				}
				if (write(fd, "x", 1) != 1)
					bad++;
				shutdown(fd, SHUT_WR);
				if (read(fd, &b, 1) != 1)
					bad++;
				close(fd);
			}
			_exit(bad > 255 ? 255 : bad);
		}
	}
	for (k = 0; k < par; k++) {
		if (wait(&st) == -1)
			break;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fails++;
	}
	t1 = vpio_now_ms();
	printf("%.3f %.0f\n", (t1 - t0) / 1000.0,
	    each * par / ((t1 - t0) / 1000.0));
	if (fails)
		fprintf(stderr, "rate: %ld workers saw failures\n", fails);
	return fails ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "sink") == 0)
		return sink();
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "send") == 0) {
		size_t w = BUFSZ;
		char *e;

		if (argc == 5) {
			w = strtoul(argv[4], &e, 10);
			if (*e == 'k' || *e == 'K')
				w <<= 10, e++;
			else if (*e == 'm' || *e == 'M')
				w <<= 20, e++;
			if (*e != '\0' || w == 0 || w > 64u << 20) {
				fprintf(stderr, "send: bad write size %s\n",
				    argv[4]);
				return 2;
			}
		}
		return sendbulk(atoi(argv[2]), atoll(argv[3]), w);
	}
	if (argc == 5 && strcmp(argv[1], "rate") == 0)
		return rate(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: bench_dialxfer sink | send PORT BYTES [WSIZE] | "
	    "rate PORT N PARALLEL\n");
	return 64;
}
