/*
 * bench_connrate: short-connection load tool for scripts/bench.
 *
 *	bench_connrate serve PORT	listen on 127.0.0.1:PORT (0: any),
 *					print the port, answer every
 *					connection with one byte and close
 *	bench_connrate run PORT N PAR	N connections to 127.0.0.1:PORT from
 *					PAR threads; each reads the byte and
 *					EOF. Prints "N FAILED SECONDS CONN/S"
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long remaining, failed;

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
serve(const char *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, c, one = 1;

	addr(&sin, port);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l, 1024) == -1 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) == -1) {
		perror("bench_connrate: listen");
		return 1;
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		if ((c = accept(l, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("bench_connrate: accept");
			return 1;
		}
		if (write(c, "x", 1) != 1)
			failed++;	/* the client counts it too */
		close(c);
	}
}

static void *
worker(void *arg)
{
	char b[16];
	ssize_t n;
	int fd, ok;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		if (remaining <= 0) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		remaining--;
		pthread_mutex_unlock(&mu);
		ok = 0;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1 &&
		    connect(fd, (struct sockaddr *)&target,
		    sizeof(target)) == 0) {
			n = read(fd, b, sizeof(b));
			ok = n == 1 && b[0] == 'x' && read(fd, b, 1) == 0;
		}
		if (fd != -1)
			close(fd);
		if (!ok) {
			pthread_mutex_lock(&mu);
			failed++;
			pthread_mutex_unlock(&mu);
		}
	}
}

static int
run(const char *port, long n, int par)
{
	pthread_t *t;
	double t0, el;
	int i;

	addr(&target, port);
	remaining = n;
	if ((t = calloc((size_t)par, sizeof(*t))) == NULL)
		return 1;
	t0 = now();
	for (i = 0; i < par; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < par; i++)
		pthread_join(t[i], NULL);
	el = now() - t0;
	printf("%ld %ld %.3f %.0f\n", n, failed, el, (double)n / el);
	free(t);
	return failed ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	long n;
	int par;

	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if (argc == 5 && strcmp(argv[1], "run") == 0) {
		n = strtol(argv[3], NULL, 10);
		par = (int)strtol(argv[4], NULL, 10);
		if (n > 0 && n <= 1000000 && par > 0 && par <= 256)
			return run(argv[2], n, par);
	}
	fprintf(stderr, "usage: bench_connrate serve PORT | "
	    "run PORT N PAR\n");
	return 64;
}
