/*
 * Fuzz target: vptunnel's state machines under a hostile peer.
 *
 * Input: a flags byte (role, extension offered/accepted, stall the
 * program, refuse streams), then a script: each step is a byte saying
 * what happens next (the peer sends N bytes of the input, the program
 * opens, sends on, half-closes, consumes, resets or releases a stream,
 * the clock moves), followed by its operands. Invariants: after every
 * step the buffered byte count equals the sum of the streams' buffers,
 * the stream count equals the list length, nothing is sent after the
 * tunnel died except what was queued before, a dead tunnel stays dead,
 * and a stream the program released never shows up again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpframe.h"
#include "vptunnel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	size_t	out;		/* bytes the tunnel wrote */
	size_t	room;
	int	stall;
	int	refuse;
};

static size_t
room(void *arg)
{
	return ((struct ctx *)arg)->room;
}

static ssize_t
output(void *arg, const void *p, size_t n)
{
	struct ctx *c = arg;

	if (n > c->room)
		abort();	/* more than the link said it takes */
	c->out += n;
	return n;
}

static int
accept_cb(void *arg, struct vpt_stream *s)
{
	return ((struct ctx *)arg)->refuse ? -1 : 0;
}

static size_t
deliver(void *arg, struct vpt_stream *s, const uint8_t *p, size_t n)
{
	return ((struct ctx *)arg)->stall ? 0 : n / 2;
}

static void
check(struct vptun *t)
{
	struct vpt_stream *s;
	size_t buf = 0;
	uint32_t n = 0;

	for (s = vpt_first(t); s != NULL; s = s->next) {
		buf += s->rlen;
		n++;
		if (s->state == VPS_REAL_CLOSED || s->state >= VPS_NSTATES)
			abort();
		if (s->rlen > 0 && s->rbuf == NULL)
			abort();
	}
	if (buf != vpt_buffered(t) || n != vpt_nstreams(t))
		abort();
}

/* The n-th stream (wrapping), or NULL. */
static struct vpt_stream *
nth(struct vptun *t, unsigned n)
{
	struct vpt_stream *s;
	uint32_t k = vpt_nstreams(t);

	if (k == 0)
		return NULL;
	n %= k;
	for (s = vpt_first(t); s != NULL && n > 0; s = s->next)
		n--;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[VPF_HDRLEN + 70000];
	struct vpt_config cfg;
	struct ctx c = { 0, 1 << 20, 0, 0 };
	struct vpt_cb cb = { .arg = &c, .room = room, .output = output,
	    .accept = accept_cb, .deliver = deliver };
	struct vptun *t;
	struct vpt_stream *s;
	const uint8_t *p;
	size_t off = 1, n, r;
	int64_t now = 1000;
	int dead = 0, steps = 0;
	uint8_t op;

	if (size < 1)
		return 0;
	vpt_config_default(&cfg, data[0] & 1 ? VPT_SERVER : VPT_CLIENT);
	cfg.extended = (data[0] >> 1) & 1;
	cfg.stream_window = 4096;
	cfg.tunnel_window = 65536;
	cfg.plain_buf = 8192;
	cfg.plain_total = 32768;
	cfg.max_streams = 4 + (data[0] >> 4);
	c.stall = (data[0] >> 2) & 1;
	c.refuse = (data[0] >> 3) & 1;
	if ((t = vpt_new(&cfg, &cb, now)) == NULL)
		return 0;
	while (off < size && steps++ < 10000) {
		op = data[off++];
		switch (op & 7) {
		case 0:
		case 1:
		case 2:	/* the peer sends up to 64 bytes */
			n = 1 + (op >> 3) * 8;
			if (n > size - off)
				n = size - off;
			(void)vpt_input(t, data + off, n, now);
			off += n;
			break;
		case 3:	/* the program opens a stream */
			(void)vpt_open(t, NULL);
			break;
		case 4:	/* the program sends on a stream */
			if ((s = nth(t, op >> 3)) == NULL)
				break;
			r = vpt_send_room(t, s);
			if (r > 0) {
				if (r > sizeof(frame) - VPF_HDRLEN)
					r = sizeof(frame) - VPF_HDRLEN;
				memset(frame + VPF_HDRLEN, 'x', r);
				if (vpt_send(t, s, frame, r) != 0)
					abort();
			}
			break;
		case 5:	/* FIN, RST or release */
			if ((s = nth(t, op >> 5)) == NULL)
				break;
			if (op & 8)
				(void)vpt_send_fin(t, s);
			else if (op & 16)
				vpt_send_rst(t, s);
			else
				vpt_release(t, s);
			break;
		case 6:	/* the program writes buffered bytes out */
			if ((s = nth(t, op >> 3)) != NULL &&
			    (n = vpt_peek(s, &p)) > 0)
				vpt_consume(t, s, n / 2 + 1);
			break;
		case 7:	/* time passes; the link fills or drains */
			now += (int64_t)(op >> 3) * 700;
			c.room = (op & 8) ? 100 : 1 << 20;
			if (vpt_next_timeout(t, now) == 0)
				vpt_tick(t, now);
			(void)vpt_flush(t);
			break;
		}
		if (dead && vpt_state(t) != VPT_DEAD)
			abort();
		dead = vpt_state(t) == VPT_DEAD;
		check(t);
	}
	vpt_free(t);
	return 0;
}
