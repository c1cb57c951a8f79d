/*
 * bench_proxy_rules: the per-connection cost of compiled rules, as
 * vp-dispatch pays it: map FILE.vprc (with its staleness checks), match
 * one destination, unmap; N times. Prints microseconds per connection.
 *
 *   bench_proxy_rules FILE N HOST PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpio.h"
#include "vprules.h"

int
main(int argc, char *argv[])
{
	struct vprules_conn c;
	struct vprules_out o;
	struct vprules *r;
	char err[1024], name[80] = "";
	int64_t t0;
	long i, n;

	if (argc != 5)
		return 64;
	n = atol(argv[2]);
	memset(&c, 0, sizeof(c));
	c.host = argv[3];
	c.port = (unsigned)atoi(argv[4]);
	c.uid = c.gid = -1;
	c.inbound = "socks5";
	t0 = vpio_now_ms();
	for (i = 0; i < n; i++) {
		if ((r = vprules_open(argv[1], err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 78;
		}
		if (vprules_match(r, &c, &o) == -1)
			return 70;
		if (i == 0)	/* o points into the mapping: copy it */
			snprintf(name, sizeof(name), "%s", o.name);
		vprules_close(r);
	}
	printf("route %s us_per_conn %.2f\n", name,
	    (double)(vpio_now_ms() - t0) * 1000.0 / (double)n);
	return 0;
}
