/*
 * kcpbulk: the bulk sender and sink of scripts/bench/bench-kcp.sh,
 * in C so the harness costs little CPU next to the tunnels it measures.
 *
 *   kcpbulk sink PORT
 *	Listens on 0.0.0.0:PORT; per connection (one at a time): reads a
 *	decimal length line, then that many bytes, then writes the count
 *	and a newline.  No half-close needed (kcptun's smux v1 has none).
 *   kcpbulk send HOST PORT BYTES
 *	Connects, sends the length line and BYTES bytes, waits for the
 *	count; prints "ok=1 ms=N" and exits 0 if the count matches.
 */
#include <sys/socket.h>
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

static char buf[1 << 20];

static int
sink(int port)
{
	struct sockaddr_in sin;
	char line[64], reply[64];
	long long n, got;
	size_t i;
	ssize_t r;
	int ls, c, one = 1;

	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 16) == -1)
		return 1;
	for (;;) {
		if ((c = accept(ls, NULL, NULL)) == -1)
			continue;
		/* the length line, byte by byte: it is short */
		for (i = 0; i < sizeof(line) - 1; i++) {
			if (read(c, line + i, 1) != 1)
				break;
			if (line[i] == '\n')
				break;
		}
		line[i] = '\0';
		n = atoll(line);
		got = 0;
		while (i > 0 && got < n) {
			r = read(c, buf, n - got < (long long)sizeof(buf) ?
			    (size_t)(n - got) : sizeof(buf));
			if (r <= 0)
				break;
			got += r;
		}
		if (i > 0) {
			snprintf(reply, sizeof(reply), "%lld\n", got);
			(void)vpio_writeall(c, reply, strlen(reply));
		}
		close(c);
	}
}

static int
sendbulk(const char *host, int port, long long n)
{
	struct sockaddr_in sin;
	char line[64];
	long long left = n;
	int64_t t0;
	size_t k;
	ssize_t r;
	int s;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return 2;
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "kcpbulk: connect: %s\n", strerror(errno));
		return 1;
	}
	for (k = 0; k < sizeof(buf); k++)
		buf[k] = (char)(k * 7);
	t0 = vpio_now_ms();
	snprintf(line, sizeof(line), "%lld\n", n);
	if (vpio_writeall(s, line, strlen(line)) != strlen(line))
		return 1;
	while (left > 0) {
		k = left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf);
		if (vpio_writeall(s, buf, k) != k) {
			fprintf(stderr, "kcpbulk: write: %s\n", strerror(errno));
			return 1;
		}
		left -= k;
	}
	r = vpio_read_timeout(s, line, sizeof(line) - 1, 300000);
	if (r <= 0) {
		fprintf(stderr, "kcpbulk: no count back\n");
		return 1;
	}
	line[r] = '\0';
	if (atoll(line) != n) {
		fprintf(stderr, "kcpbulk: sink got %s of %lld\n", line, n);
		return 1;
	}
	printf("ok=1 ms=%lld\n", (long long)(vpio_now_ms() - t0));
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "sink") == 0)
		return sink(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return sendbulk(argv[2], atoi(argv[3]), atoll(argv[4]));
	fprintf(stderr, "usage: kcpbulk sink PORT | send HOST PORT BYTES\n");
	return 64;
}
