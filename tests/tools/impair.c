/*
 * impair: an impairment link for tests and benchmarks.
 *
 *   impair [options] tun NS_A DEV_A NS_B DEV_B
 *	Creates TUN device DEV_A inside network namespace NS_A and DEV_B
 *	inside NS_B (ip netns names), prints "ready" on stdout, and
 *	forwards IP packets between them, impaired.  The caller gives the
 *	devices addresses (netns.sh does).  The devices vanish when impair
 *	exits.
 *   impair [options] udp LISTEN_PORT TARGET_PORT
 *	A UDP relay on 127.0.0.1: datagrams to LISTEN_PORT go to
 *	TARGET_PORT from a second socket, replies go back to the last
 *	client; prints the listen port on stdout when ready.
 *
 * Options (per direction unless noted; A->B / B->A, or client->target):
 *   -l PCT    loss, percent (float)       -d PCT   duplication
 *   -r PCT    reordering: extra 1..R ms    -R MS    reorder spread (20)
 *   -D MS     one-way delay               -j MS    jitter (uniform 0..MS)
 *   -b BPS    rate limit, bytes/s (0 off) -q BYTES queue limit (1 MiB)
 *   -s SEED   random seed (1)
 * SIGUSR1 drops everything (100% loss), SIGUSR2 restores the settings.
 * SIGTERM/SIGINT end it; it prints counters on stderr.
 *
 * Packets wait in a fixed pool ordered by a heap on release time;
 * nothing is allocated per packet.  The random source is a seeded
 * xorshift, so a run is repeatable for the same input timing.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL	16384
#define PKTMAX	2048
#define BURST	64

struct pkt {
	uint64_t	at;	/* release time, us */
	uint64_t	seq;
	int		dir;
	uint16_t	len;
	struct sockaddr_in from;	/* udp mode, dir 1: reply target */
	uint8_t		data[PKTMAX];
};

static struct pkt pool[POOL];
static int freelist[POOL], nfree;
static int heap[POOL], nheap;
static uint64_t seqno;

static double loss, duppct, reorder;
static int reorder_ms = 20, delay_ms, jitter_ms;
static double rate;
static long qlimit = 1 << 20;
static uint64_t rng = 1;
static volatile sig_atomic_t blackhole, stop;

static struct {
	uint64_t	in, out, lost, dupd, qdrop, wfail;
	long		qbytes;
	uint64_t	busy_until;	/* us: rate limiter */
} dirst[2];

static int fds[2];		/* tun: A, B; udp: listen, target */
static int udpmode;
static struct sockaddr_in client, target;
static int have_client;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A uniform double in [0, 100). */
static double
pct(void)
{
	return (double)(rnd() >> 11) / (double)(1ULL << 53) * 100.0;
}

static int
before(int a, int b)
{
	if (pool[a].at != pool[b].at)
		return pool[a].at < pool[b].at;
	return pool[a].seq < pool[b].seq;
}

static void
heap_push(int i)
{
	int c = nheap++, p;

	heap[c] = i;
	while (c > 0 && before(heap[c], heap[p = (c - 1) / 2])) {
		int t = heap[c];

		heap[c] = heap[p];
		heap[p] = t;
		c = p;
	}
}

static int
heap_pop(void)
{
	int top = heap[0], c = 0, l, m;

	heap[0] = heap[--nheap];
	for (;;) {
		l = 2 * c + 1;
		m = c;
		if (l < nheap && before(heap[l], heap[m]))
			m = l;
		if (l + 1 < nheap && before(heap[l + 1], heap[m]))
			m = l + 1;
		if (m == c)
			break;
		int t = heap[c];

		heap[c] = heap[m];
		heap[m] = t;
		c = m;
	}
	return top;
}

/* Schedules one copy of a packet read in direction dir. */
static void
enqueue(int dir, const uint8_t *buf, size_t len, uint64_t now,
    const struct sockaddr_in *from)
{
	uint64_t at, tx;
	int i;

	if (nfree == 0 || dirst[dir].qbytes + (long)len > qlimit) {
		dirst[dir].qdrop++;
		return;
	}
	at = now;
	if (rate > 0) {
		tx = dirst[dir].busy_until > now ? dirst[dir].busy_until : now;
		tx += (uint64_t)((double)len * 1e6 / rate);
		dirst[dir].busy_until = tx;
		at = tx;
	}
	at += (uint64_t)delay_ms * 1000;
	if (jitter_ms > 0)
		at += rnd() % ((uint64_t)jitter_ms * 1000);
	if (reorder > 0 && pct() < reorder)
		at += 1000 + rnd() % ((uint64_t)reorder_ms * 1000);
	i = freelist[--nfree];
	pool[i].at = at;
	pool[i].seq = seqno++;
	pool[i].dir = dir;
	pool[i].len = len;
	if (from != NULL)
		pool[i].from = *from;
	memcpy(pool[i].data, buf, len);
	dirst[dir].qbytes += len;
	heap_push(i);
}

static void
arrive(int dir, const uint8_t *buf, size_t len, uint64_t now,
    const struct sockaddr_in *from)
{
	dirst[dir].in++;
	if (blackhole || (loss > 0 && pct() < loss)) {
		dirst[dir].lost++;
		return;
	}
	enqueue(dir, buf, len, now, from);
	if (duppct > 0 && pct() < duppct) {
		dirst[dir].dupd++;
		enqueue(dir, buf, len, now, from);
	}
}

static void
release(uint64_t now)
{
	struct pkt *p;
	ssize_t r;
	int i;

	while (nheap > 0 && pool[heap[0]].at <= now) {
		i = heap_pop();
		p = &pool[i];
		if (!udpmode)
			r = write(fds[!p->dir], p->data, p->len);
		else if (p->dir == 0)
			r = sendto(fds[1], p->data, p->len, 0,
			    (struct sockaddr *)&target, sizeof(target));
		else
			r = have_client ? sendto(fds[0], p->data, p->len, 0,
			    (struct sockaddr *)&client, sizeof(client)) : -1;
		if (r == -1)
			dirst[p->dir].wfail++;
		else
			dirst[p->dir].out++;
		dirst[p->dir].qbytes -= p->len;
		freelist[nfree++] = i;
	}
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		blackhole = 1;
	else if (sig == SIGUSR2)
		blackhole = 0;
	else
		stop = 1;
}

static int
enter_ns(const char *ns)
{
	char path[256];
	int fd, r;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

static int
tun_open(const char *ns, const char *dev)
{
	struct ifreq ifr;
	int fd;

	if (enter_ns(ns) == -1) {
		fprintf(stderr, "impair: netns %s: %s\n", ns, strerror(errno));
		return -1;
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK)) == -1) {
		fprintf(stderr, "impair: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		fprintf(stderr, "impair: TUNSETIFF %s: %s\n", dev,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
udp_socket(unsigned port)
{
	struct sockaddr_in sin;
	int fd, sz = 4 << 20;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: impair [-l loss%%] [-d dup%%] [-r reorder%%] "
	    "[-R ms] [-D delay_ms] [-j jitter_ms] [-b bytes/s] [-q bytes] "
	    "[-s seed]\n"
	    "              tun NS_A DEV_A NS_B DEV_B | udp LISTEN_PORT "
	    "TARGET_PORT\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	static uint8_t buf[PKTMAX];
	struct sockaddr_in from, sin;
	socklen_t flen;
	struct pollfd pfd[2];
	struct sigaction sa;
	uint64_t now;
	ssize_t n;
	int c, i, d, t, self;

	while ((c = getopt(argc, argv, "b:d:D:j:l:q:r:R:s:")) != -1) {
		switch (c) {
		case 'b': rate = atof(optarg); break;
		case 'd': duppct = atof(optarg); break;
		case 'D': delay_ms = atoi(optarg); break;
		case 'j': jitter_ms = atoi(optarg); break;
		case 'l': loss = atof(optarg); break;
		case 'q': qlimit = atol(optarg); break;
		case 'r': reorder = atof(optarg); break;
		case 'R': reorder_ms = atoi(optarg); break;
		case 's': rng = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (rng == 0)
		rng = 1;
	if (reorder_ms < 1)
		reorder_ms = 1;
	if (argc == 5 && strcmp(argv[0], "tun") == 0) {
		if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
			return 71;
		if ((fds[0] = tun_open(argv[1], argv[2])) == -1 ||
		    (fds[1] = tun_open(argv[3], argv[4])) == -1)
			return 71;
		if (setns(self, CLONE_NEWNET) == -1)
			return 71;
		close(self);
		printf("ready\n");
	} else if (argc == 3 && strcmp(argv[0], "udp") == 0) {
		udpmode = 1;
		memset(&target, 0, sizeof(target));
		target.sin_family = AF_INET;
		target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		target.sin_port = htons(atoi(argv[2]));
		if ((fds[0] = udp_socket(atoi(argv[1]))) == -1 ||
		    (fds[1] = udp_socket(0)) == -1) {
			fprintf(stderr, "impair: udp: %s\n", strerror(errno));
			return 71;
		}
		flen = sizeof(sin);
		getsockname(fds[0], (struct sockaddr *)&sin, &flen);
		printf("%u\n", ntohs(sin.sin_port));
	} else
		usage();
	fflush(stdout);
	if (freopen("/dev/null", "w", stdout) == NULL)
		return 71;
	for (i = 0; i < POOL; i++)
		freelist[nfree++] = POOL - 1 - i;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	while (!stop) {
		now = now_us();
		release(now);
		t = -1;
		if (nheap > 0) {
			uint64_t at = pool[heap[0]].at;

			t = at <= now ? 0 : (int)((at - now + 999) / 1000);
		}
		for (d = 0; d < 2; d++) {
			pfd[d].fd = fds[d];
			pfd[d].events = POLLIN;
			pfd[d].revents = 0;
		}
		if (poll(pfd, 2, t) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		now = now_us();
		for (d = 0; d < 2; d++) {
			if (!(pfd[d].revents & POLLIN))
				continue;
			for (i = 0; i < BURST; i++) {
				if (!udpmode)
					n = read(fds[d], buf, sizeof(buf));
				else {
					flen = sizeof(from);
					n = recvfrom(fds[d], buf, sizeof(buf), 0,
					    (struct sockaddr *)&from, &flen);
				}
				if (n <= 0)
					break;
				if (udpmode && d == 0) {
					client = from;
					have_client = 1;
				}
				arrive(d, buf, (size_t)n, now,
				    udpmode ? &from : NULL);
			}
		}
	}
	for (d = 0; d < 2; d++)
		fprintf(stderr, "impair: %s: in %llu out %llu lost %llu dup %llu "
		    "queue-drop %llu write-fail %llu\n", d ? "B->A" : "A->B",
		    (unsigned long long)dirst[d].in,
		    (unsigned long long)dirst[d].out,
		    (unsigned long long)dirst[d].lost,
		    (unsigned long long)dirst[d].dupd,
		    (unsigned long long)dirst[d].qdrop,
		    (unsigned long long)dirst[d].wfail);
	return 0;
}
