/*
 * kcpcat: drives the UDP/KCP link (vplink_kcp) without the frame layer,
 * for tests and benchmarks.
 *
 *   kcpcat [-1] [-k KEYFILE] [-o KNOB]... server udp:HOST:PORT
 *       echoes every session's bytes back to it.
 *   kcpcat [-k KEYFILE] [-o KNOB]... [-n BYTES] client udp:HOST:PORT
 *       sends stdin (or -n BYTES of a counter pattern) and writes the
 *       echo to stdout; exits 0 once everything sent came back, 75 if
 *       the link died, 1 on other errors.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vplink.h"
#include "vplink_kcp.h"

#define MAXL	64

static void
usage(void)
{
	fprintf(stderr, "usage: kcpcat [-1] [-k keyfile] [-o knob] [-n bytes] "
	    "server|client udp:HOST:PORT\n");
	exit(64);
}

static void
echo(struct vplink *l)
{
	static char buf[65536];
	ssize_t n;
	size_t w;

	for (;;) {
		w = l->ops->writable(l);
		if (w == 0)
			return;
		if (w > sizeof(buf))
			w = sizeof(buf);
		if ((n = l->ops->read(l, buf, w)) <= 0)
			return;
		(void)l->ops->write(l, buf, (size_t)n);
	}
}

static int
server(struct vplink_listener *ln, int ready)
{
	struct vplink *links[MAXL];
	struct pollfd pfd[1 + MAXL];
	int nl = 0, i, n, t;
	int64_t now, tt;

	if (ready) {
		printf("%u\n", ln->port);
		fflush(stdout);
	}
	for (;;) {
		n = ln->ops->pollfds(ln, pfd, 1);
		now = vpio_now_ms();
		t = 1000;
		for (i = 0; i < nl; i++) {
			tt = links[i]->ops->next_timeout(links[i], now);
			if (tt >= 0 && tt < t)
				t = (int)tt;
		}
		if (poll(pfd, n, t) == -1 && errno != EINTR)
			return 1;
		now = vpio_now_ms();
		ln->ops->events(ln, pfd, n, now);
		while (nl < MAXL && (links[nl] = ln->ops->accept(ln)) != NULL)
			nl++;
		for (i = 0; i < nl; i++) {
			links[i]->ops->events(links[i], pfd, 0, now);
			if (links[i]->ops->next_timeout(links[i], now) == 0)
				links[i]->ops->tick(links[i], now);
			echo(links[i]);
			if (links[i]->ops->error(links[i]) != 0) {
				fprintf(stderr, "kcpcat: session %s: %s\n",
				    links[i]->peer,
				    strerror(links[i]->ops->error(links[i])));
				links[i]->ops->close(links[i]);
				links[i--] = links[--nl];
			}
		}
	}
}

static int
client(struct vplink *l, long long total)
{
	static char in[65536], out[65536];
	size_t inlen = 0, inoff = 0, w;
	long long sent = 0, got = 0, pat = 0;
	int eof = 0, n, t;
	struct pollfd pfd[VPLINK_MAXFDS + 1];
	int64_t now, tt;
	ssize_t r;
	int i;

	if (total < 0)
		vpio_set_nonblock(0, 1);
	for (;;) {
		n = l->ops->pollfds(l, pfd, VPLINK_MAXFDS, 1);
		if (total < 0 && !eof && inoff == inlen) {
			pfd[n].fd = 0;
			pfd[n].events = POLLIN;
			n++;
		}
		now = vpio_now_ms();
		tt = l->ops->next_timeout(l, now);
		t = tt < 0 || tt > 1000 ? 1000 : (int)tt;
		if (total >= 0 && sent < total && l->ops->writable(l) > 0)
			t = 0;
		if (poll(pfd, n, t) == -1 && errno != EINTR)
			return 1;
		now = vpio_now_ms();
		if (l->ops->events(l, pfd, n, now) == -1)
			goto dead;
		if (l->ops->next_timeout(l, now) == 0)
			l->ops->tick(l, now);
		/* source */
		if (total >= 0) {
			while (sent < total && (w = l->ops->writable(l)) > 0) {
				if (w > sizeof(in))
					w = sizeof(in);
				if ((long long)w > total - sent)
					w = (size_t)(total - sent);
				for (i = 0; i < (int)w; i++)
					in[i] = (char)(pat++ * 131 >> 3);
				sent += l->ops->write(l, in, w);
			}
			if (sent == total)
				eof = 1;
		} else {
			if (!eof && inoff == inlen) {
				r = read(0, in, sizeof(in));
				if (r == 0)
					eof = 1;
				else if (r > 0) {
					inlen = (size_t)r;
					inoff = 0;
				}
			}
			while (inoff < inlen && (w = l->ops->writable(l)) > 0) {
				if (w > inlen - inoff)
					w = inlen - inoff;
				r = l->ops->write(l, in + inoff, w);
				if (r <= 0)
					break;
				inoff += (size_t)r;
				sent += r;
			}
		}
		/* sink */
		while ((r = l->ops->read(l, out, sizeof(out))) > 0) {
			if (vpio_writeall(1, out, (size_t)r) != (size_t)r)
				return 1;
			got += r;
		}
		if (l->ops->error(l) != 0)
			goto dead;
		if (eof && got == sent && inoff == inlen)
			return 0;
	}
dead:
	fprintf(stderr, "kcpcat: link %s: %s (sent %lld, got %lld)\n",
	    l->peer, strerror(l->ops->error(l)), sent, got);
	return 75;
}

int
main(int argc, char **argv)
{
	struct vplink_kcp_opts o;
	struct vpendpoint ep;
	char err[256];
	long long total = -1;
	int c, ready = 0, r;

	vplink_kcp_default_options(&o);
	while ((c = getopt(argc, argv, "1k:n:o:P")) != -1) {
		switch (c) {
		case '1':
			ready = 1;
			break;
		case 'k':
			if (vpcrypt_init() == -1 ||
			    vpcrypt_key_load(optarg, o.psk, err, sizeof(err))) {
				fprintf(stderr, "kcpcat: %s\n", err);
				return 78;
			}
			o.keyed = 1;
			break;
		case 'n':
			total = strtoll(optarg, NULL, 10);
			break;
		case 'o':
			if (vplink_kcp_option(&o, optarg, err, sizeof(err))) {
				fprintf(stderr, "kcpcat: %s\n", err);
				return 64;
			}
			break;
		case 'P':
			o.allow_plain = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || vpep_parse(argv[1], &ep, err, sizeof(err)) == -1 ||
	    ep.kind != VPEP_UDP)
		usage();
	vplink_kcp_set_options(&o);
	if (strcmp(argv[0], "server") == 0) {
		struct vplink_listener *ln = vplink_kcp_listen(&ep, err,
		    sizeof(err));

		if (ln == NULL) {
			fprintf(stderr, "kcpcat: %s\n", err);
			return errno == EPERM ? 78 : 71;
		}
		return server(ln, ready);
	}
	if (strcmp(argv[0], "client") == 0) {
		struct vplink *l = vplink_kcp_dial(&ep, err, sizeof(err));

		if (l == NULL) {
			fprintf(stderr, "kcpcat: %s\n", err);
			return errno == EPERM ? 78 : 71;
		}
		r = client(l, total);
		l->ops->close(l);
		return r;
	}
	usage();
	return 64;
}
