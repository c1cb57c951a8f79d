/*
 * Fuzz target: vphs, the proxy handshake state machine that vp-dispatch
 * and vp-listen's engine drive, fed the way the engine feeds it: the
 * client's bytes arrive in chunks, consumed bytes are removed from the
 * buffer, the rest is passed again with what follows, and end of input
 * comes last.
 *
 * Input: a flags byte (bit 0: users configured; bits 1-2: forced
 * protocol, 0 = mixed), a chunk-size byte (1..256), then the bytes.
 *
 * Invariants: a status of MORE, DONE, FAIL or CLOSE; *used <= len;
 * outlen <= VPREPLY_MAX and outstages <= outlen; never MORE with
 * VPHS_BUFMAX or more bytes unconsumed, nor at end of input; after DONE a host of 1..255
 * bytes, a port 1..65535, a known reply protocol and inbound name, the
 * user (if any) pointing into the request and no password left; after
 * FAIL or CLOSE an exit status in 0..78 and a NUL-terminated reason. The
 * outcome does not depend on the chunking: fed in one piece, the same
 * status, the same bytes sent back, the same destination and the same
 * number of bytes left over.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vphs.h"
#include "vpusers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	int		status;
	unsigned char	sent[8 * VPREPLY_MAX];
	size_t		nsent;
	char		host[VPIN_NAMEMAX + 1];
	unsigned	port;
	size_t		left;
};

static struct vpusers *users;
static char path[64];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

static void
setup(void)
{
	char err[256];
	int fd;

	snprintf(path, sizeof(path), "/tmp/fuzz_vphs.%ld", (long)getpid());
	atexit(cleanup);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, "alice:secret\nbob:pw\n", 20) != 20)
		abort();
	close(fd);
	if ((users = vpusers_load(path, err, sizeof(err))) == NULL)
		abort();
}

static void
run(const unsigned char *in, size_t len, size_t chunk,
    const struct vphs_conf *c, struct outcome *o)
{
	static unsigned char buf[VPHS_BUFMAX];
	struct vphs h;
	size_t have = 0, fed = 0, used, n;
	int r, eof;

	memset(o, 0, sizeof(*o));
	vphs_init(&h);
	for (;;) {
		n = len - fed < chunk ? len - fed : chunk;
		if (n > sizeof(buf) - have)
			n = sizeof(buf) - have;
		memcpy(buf + have, in + fed, n);
		have += n;
		fed += n;
		eof = fed == len;
		do {
			used = 0;
			r = vphs_step(&h, c, buf, have, eof, &used);
			if (r < VPHS_MORE || r > VPHS_CLOSE || used > have ||
			    h.outlen > VPREPLY_MAX || h.outstages > h.outlen)
				abort();
			memmove(buf, buf + used, have - used);
			have -= used;
			if (o->nsent + h.outlen > sizeof(o->sent))
				abort();
			memcpy(o->sent + o->nsent, h.out, h.outlen);
			o->nsent += h.outlen;
			h.outlen = 0;
		} while (r == VPHS_MORE && used > 0 && have > 0);
		if (r == VPHS_MORE && (have >= VPHS_BUFMAX || eof))
			abort();	/* end of input always ends it */
		if (r != VPHS_MORE)
			break;
	}
	o->status = r;
	o->left = have + (len - fed);	/* early data, fed or not yet */
	if (r == VPHS_DONE) {
		size_t hl = strnlen(h.req.host, sizeof(h.req.host));

		if (hl == 0 || hl > VPIN_NAMEMAX || h.req.port == 0 ||
		    h.req.port > 65535 || h.inbound == NULL ||
		    (h.reply != VPRP_SOCKS5 && h.reply != VPRP_SOCKS4 &&
		    h.reply != VPRP_HTTP) || h.req.pass[0] != '\0' ||
		    (h.user != NULL && h.user != h.req.user))
			abort();
		memcpy(o->host, h.req.host, hl + 1);
		o->port = h.req.port;
	} else if (r == VPHS_FAIL || r == VPHS_CLOSE) {
		if (h.exit < 0 || h.exit > 78 ||
		    strnlen(h.why, sizeof(h.why)) == sizeof(h.why))
			abort();
	}
	vphs_free(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome a, b;
	struct vphs_conf c;
	size_t chunk;

	if (size < 2)
		return 0;
	if (users == NULL)
		setup();
	memset(&c, 0, sizeof(c));
	c.users = (data[0] & 1) ? users : NULL;
	c.forced = (enum vpin_proto)((data[0] >> 1) & 3);
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	if (size > VPHS_BUFMAX)
		size = VPHS_BUFMAX;
	run(data, size, chunk, &c, &a);
	run(data, size, size > 0 ? size : 1, &c, &b);
	if (a.status != b.status || a.nsent != b.nsent ||
	    memcmp(a.sent, b.sent, a.nsent) != 0 || a.port != b.port ||
	    strcmp(a.host, b.host) != 0 ||
	    (a.status == VPHS_DONE && a.left != b.left))
		abort();
	return 0;
}
