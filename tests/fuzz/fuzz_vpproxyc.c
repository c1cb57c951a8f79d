/*
 * Fuzz target: vpproxyc's reply parsers and proxy URL parser. The first
 * byte picks the parser; the rest is the input. Invariants: a parser
 * never claims more bytes than it was given; a complete reply stays
 * complete (same length) when more bytes follow it, and every proper
 * prefix of it is "need more"; a parsed URL formats the same whatever
 * its password; a rejected URL always carries a reason.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpproxyc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef ssize_t (*parser)(const void *, size_t, struct vppx_reply *);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const parser ps[] = { vpproxyc_socks5_method_parse,
	    vpproxyc_socks5_auth_parse, vpproxyc_socks5_reply_parse,
	    vpproxyc_socks4_reply_parse, vpproxyc_http_reply_parse };
	struct vppx_reply r;
	struct vpproxy px, q;
	char err[256], str[600], str2[600], *s, *more;
	ssize_t n, m;
	size_t i;

	if (size == 0)
		return 0;
	if (data[0] % 6 < 5) {
		parser p = ps[data[0] % 6];

		data++, size--;
		n = p(data, size, &r);
		if (n < -1 || n > (ssize_t)size)
			abort();
		if (n > 0) {
			if ((more = malloc(size + 8)) == NULL)
				return 0;
			memcpy(more, data, size);
			memset(more + size, 'x', 8);
			m = p(more, size + 8, &r);
			if (m != n)
				abort();
			/* no prefix of a complete reply is complete */
			for (i = 0; i < (size_t)n; i++)
				if (p(data, i, &r) > 0)
					abort();
			free(more);
		}
		return 0;
	}
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (vpproxyc_parse(s, &px, err, sizeof(err)) == 0) {
		vpproxyc_str(&px, str, sizeof(str));
		/*
		 * The password never shows: the string is the same with
		 * another one (searching it for ":PASS@" was wrong: a unix
		 * path, shown whole, may hold those bytes itself).
		 */
		if (px.auth && px.pass[0] != '\0') {
			q = px;
			snprintf(q.pass, sizeof(q.pass), "%s",
			    strcmp(px.pass, "Z") == 0 ? "Yy" : "Z");
			vpproxyc_str(&q, str2, sizeof(str2));
			if (strcmp(str, str2) != 0)
				abort();
			vpproxyc_clear(&q);
		}
		vpproxyc_clear(&px);
	} else if (err[0] == '\0')
		abort();
	free(s);
	return 0;
}
