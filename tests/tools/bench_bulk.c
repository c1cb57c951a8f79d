/*
 * bench_bulk: bulk-transfer load tool for scripts/bench (loopback only).
 *
 *	bench_bulk sink PORT		listen on 127.0.0.1:PORT (0: any),
 *					print the port, then for each
 *					connection read to EOF and close
 *	bench_bulk send PORT BYTES	connect to 127.0.0.1:PORT, send BYTES,
 *					half-close, wait for EOF; prints
 *					"BYTES SECONDS GBITPS"
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ	(256 * 1024)

static char buf[BUFSZ];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
addr(struct sockaddr_in *sin, const char *port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((unsigned short)strtoul(port, NULL, 10));
}

static int
sink(const char *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, c, one = 1;
	ssize_t n;

	addr(&sin, port);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 128) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1) {
		perror("bench_bulk: listen");
		return 1;
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		if ((c = accept(l, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			perror("bench_bulk: accept");
			return 1;
		}
		while ((n = read(c, buf, sizeof(buf))) > 0 ||
		    (n == -1 && errno == EINTR))
			;
		close(c);
	}
}

static int
send_bytes(const char *port, const char *bytes)
{
	struct sockaddr_in sin;
	unsigned long long total = strtoull(bytes, NULL, 10), left;
	double t0, t;
	ssize_t n;
	size_t want;
	int fd;

	addr(&sin, port);
	memset(buf, 'v', sizeof(buf));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("bench_bulk: connect");
		return 1;
	}
	t0 = now();
	for (left = total; left > 0; ) {
		want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		if ((n = write(fd, buf, want)) == -1) {
			if (errno == EINTR)
				continue;
			perror("bench_bulk: write");
			return 1;
		}
		left -= (unsigned long long)n;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0 ||
	    (n == -1 && errno == EINTR))
		;
	t = now() - t0;
	printf("%llu %.3f %.2f\n", total, t, (double)total * 8 / t / 1e9);
	close(fd);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return sink(argv[2]);
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return send_bytes(argv[2], argv[3]);
	fprintf(stderr, "usage: bench_bulk sink PORT | send PORT BYTES\n");
	return 64;
}
