/*
 * Fuzz target: the KCP engine's input parser and state machine, as a
 * hostile peer drives it (plain mode, or a peer that holds the key),
 * in stream and message mode, and vpcrypt_open on the same bytes.  The input is a sequence of
 * records: one control byte, then for datagram records a length byte
 * and that many bytes.  Invariants: vpkcp_recv never returns more than
 * asked or than vpkcp_readable said; what the engine sends fits the
 * MTU; random bytes never authenticate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpcrypt.h"
#include "vpkcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t maxout;

static void
out(const uint8_t *buf, size_t len, void *arg)
{
	(void)buf;
	(void)arg;
	if (len > maxout)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[VPCRYPT_KEYLEN] = { 1, 2, 3 };
	struct vpcrypt_rx rx;
	struct vpkcp_config c;
	struct vpkcp *k;
	uint8_t buf[4096], copy[512], sender[8];
	uint64_t ctr;
	uint32_t now = 0xFFFFFF00u;	/* the clock wraps during a run */
	size_t i = 0, n, r, avail;

	if (vpcrypt_init() == -1)
		return 0;
	vpcrypt_rx_init(&rx, key, VPCRYPT_C2S);
	vpkcp_config_default(&c);
	c.sndwnd = 16;
	c.rcvwnd = 16;
	c.mtu = 200;
	maxout = (size_t)c.mtu;
	if ((k = vpkcp_new(0, &c, out, NULL, now)) == NULL)
		return 0;
	vpkcp_update(k, now);
	while (i < size) {
		uint8_t op = data[i++];

		switch (op & 7) {
		case 0:		/* a datagram */
			if (i >= size)
				break;
			n = data[i++];
			if (n > size - i)
				n = size - i;
			memcpy(copy, data + i, n);
			(void)vpkcp_input(k, data + i, n, now);
			if (vpcrypt_open(&rx, copy, n, sender, &ctr) >= 0)
				abort();
			i += n;
			break;
		case 1:		/* the app writes */
			memset(buf, op, sizeof(buf));
			(void)vpkcp_send(k, buf, (size_t)op * 16);
			vpkcp_flush(k, now);
			break;
		case 2:		/* the app reads */
			avail = vpkcp_readable(k);
			r = vpkcp_recv(k, buf, (size_t)op * 8);
			if (r > (size_t)op * 8 || r > avail)
				abort();
			break;
		case 4:		/* a message */
			memset(buf, op, sizeof(buf));
			(void)vpkcp_send_msg(k, buf, (size_t)op * 4);
			break;
		case 5: {	/* read a message */
			long m;

			avail = vpkcp_readable(k);
			m = vpkcp_recv_msg(k, buf, (size_t)op * 8);
			if (m > (long)op * 8 || (m > 0 && (size_t)m > avail))
				abort();
			break;
		}
		default:	/* time passes */
			now += op;
			vpkcp_update(k, now);
			(void)vpkcp_check(k, now);
			break;
		}
	}
	vpkcp_free(k);
	return 0;
}
