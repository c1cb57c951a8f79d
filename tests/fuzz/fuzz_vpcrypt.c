/*
 * Fuzz target: vpcrypt's datagram sealing, opening and replay window,
 * as the keyed UDP transport uses them (open, then check the counter
 * with the window, then commit it).
 *
 * Input: a program of operations: seal a payload; open a sealed
 * datagram (again: a replay); open it with one bit flipped, truncated,
 * or with the other direction's key; open raw bytes; switch the
 * sender's suite; run the replay window on a raw counter.
 *
 * Invariants: what was sealed opens to the same bytes, sender id and
 * counter; a flipped bit, a cut or the wrong direction never opens, and
 * a failed open leaves the receiver unchanged; random bytes never
 * open; the window agrees with a model (a counter is new iff it is not
 * 0, was never committed, and is above top - 1024) for sealed and raw
 * counters alike, so a replayed datagram is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpcrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSEALED	16
#define NSEEN	1024
#define PMAX	300

struct sealed {
	uint8_t		b[PMAX + VPCRYPT_OVERHEAD];
	size_t		len;
	uint8_t		pt[PMAX];
	size_t		ptlen;
	uint64_t	ctr;
	uint8_t		sender[8];
};

static struct sealed sealed[NSEALED];
static uint64_t seen[NSEEN];
static size_t nseen;
static uint64_t top;

/* The model of the replay window. */
static int
model_new(uint64_t ctr)
{
	size_t i;

	if (ctr == 0)
		return 0;
	if (nseen > 0 && ctr <= top && top - ctr >= VPCRYPT_REPLAY_WIN)
		return 0;
	for (i = 0; i < nseen; i++)
		if (seen[i] == ctr)
			return 0;
	return 1;
}

static void
window(struct vpcrypt_replay *w, uint64_t ctr)
{
	int fresh = model_new(ctr);

	if ((vpcrypt_replay_check(w, ctr) == 0) != fresh)
		abort();
	if (!fresh || nseen == NSEEN)
		return;
	vpcrypt_replay_commit(w, ctr);
	if (nseen == 0 || ctr > top)
		top = ctr;
	seen[nseen++] = ctr;
	if (vpcrypt_replay_check(w, ctr) == 0)
		abort();	/* just committed: a replay now */
}

/* Opens a copy of b[0..len); on failure rx must be as it was. */
static long
try_open(struct vpcrypt_rx *rx, const uint8_t *b, size_t len, uint8_t *pt,
    uint8_t sender[8], uint64_t *ctr)
{
	struct vpcrypt_rx before = *rx;
	uint8_t *copy;
	long n;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, b, len);
	n = vpcrypt_open(rx, copy, len, sender, ctr);
	if (n >= 0) {
		if ((size_t)n + VPCRYPT_OVERHEAD != len)
			abort();
		memcpy(pt, copy + VPCRYPT_HDRLEN, (size_t)n);
	} else if (memcmp(&before, rx, sizeof(before)) != 0)
		abort();
	free(copy);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t psk[VPCRYPT_KEYLEN] = { 7, 6, 5, 4, 3, 2, 1 };
	struct vpcrypt_tx tx;
	struct vpcrypt_rx rx, wrong;
	struct vpcrypt_replay w;
	struct sealed *s;
	const uint8_t *p = data, *end = data + size;
	uint8_t pt[PMAX + VPCRYPT_OVERHEAD], buf[PMAX + VPCRYPT_OVERHEAD];
	uint8_t sender[8], args[8];
	uint64_t ctr;
	size_t n, nsealed = 0, i;
	long r;

	if (vpcrypt_init() == -1)
		abort();
	if (size < 1)
		return 0;
	vpcrypt_tx_init(&tx, psk, VPCRYPT_C2S, 1700000000u,
	    (p[0] & 1) && vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM) ?
	    VPCRYPT_SUITE_AESGCM : VPCRYPT_SUITE_CHACHA);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_C2S);
	vpcrypt_rx_init(&wrong, psk, VPCRYPT_S2C);
	memset(&w, 0, sizeof(w));
	nseen = 0;
	top = 0;
	p++;
	while (p < end) {
		uint8_t op = *p++;

		memset(args, 0, sizeof(args));
		memcpy(args, p, (size_t)(end - p) < sizeof(args) ?
		    (size_t)(end - p) : sizeof(args));
		switch (op % 8) {
		case 0:		/* seal a payload */
			n = args[0] % (PMAX + 1);
			p++;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			s = &sealed[nsealed++ % NSEALED];
			memcpy(s->pt, p, n);
			s->ptlen = n;
			p += n;
			s->ctr = tx.ctr;
			memcpy(s->sender, tx.sk.sender, 8);
			s->len = vpcrypt_seal(&tx, s->b, s->pt, n);
			if (s->len != n + VPCRYPT_OVERHEAD)
				abort();
			break;
		case 1:		/* open a sealed one (maybe again) */
		case 2:
			p++;
			if (nsealed == 0)
				break;
			s = &sealed[args[0] % (nsealed < NSEALED ? nsealed :
			    NSEALED)];
			r = try_open(&rx, s->b, s->len, pt, sender, &ctr);
			if (r != (long)s->ptlen || ctr != s->ctr ||
			    memcmp(sender, s->sender, 8) != 0 ||
			    memcmp(pt, s->pt, s->ptlen) != 0)
				abort();
			window(&w, ctr);
			break;
		case 3:		/* one bit flipped in flight */
			p += 2;
			if (nsealed == 0)
				break;
			s = &sealed[args[0] % (nsealed < NSEALED ? nsealed :
			    NSEALED)];
			memcpy(buf, s->b, s->len);
			buf[args[1] % s->len] ^= (uint8_t)(1u << (args[1] >> 5));
			if (try_open(&rx, buf, s->len, pt, sender, &ctr) >= 0)
				abort();
			break;
		case 4:		/* cut short, or the other direction's key */
			p += 2;
			if (nsealed == 0)
				break;
			s = &sealed[args[0] % (nsealed < NSEALED ? nsealed :
			    NSEALED)];
			if (try_open(&wrong, s->b, s->len, pt, sender, &ctr) >= 0)
				abort();
			n = args[1] % s->len;
			if (try_open(&rx, s->b, n, pt, sender, &ctr) >= 0)
				abort();
			break;
		case 5:		/* raw bytes from the network */
			n = args[0];
			p++;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			if (try_open(&rx, p, n, pt, sender, &ctr) >= 0)
				abort();
			if (n >= VPCRYPT_OVERHEAD &&
			    vpcrypt_peek(p, n, sender, &ctr) != 0)
				abort();
			p += n;
			break;
		case 6:		/* the sender switches suite */
			if (vpcrypt_tx_set_suite(&tx, args[0] & 1 ?
			    VPCRYPT_SUITE_AESGCM : VPCRYPT_SUITE_CHACHA) == -1 &&
			    (!(args[0] & 1) ||
			    vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM)))
				abort();
			p++;
			break;
		default:	/* the window alone, on a raw counter */
			ctr = 0;
			for (i = 0; i < 8; i++)
				ctr |= (uint64_t)args[i] << (8 * i);
			if (args[7] & 0x80)
				ctr = top + (ctr % 2100) - 1050;
			window(&w, ctr);
			p += 8;
			break;
		}
		if (p > end)
			p = end;
	}
	return 0;
}
