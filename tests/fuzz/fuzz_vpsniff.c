/*
 * Fuzz target: vpsniff's TLS SNI and HTTP Host sniffers, on the peeked
 * bytes vp-dispatch hands them (an exact-size heap copy, so a read past
 * len is caught). Invariants: results are NOT, MORE or FOUND; vpsniff()
 * agrees with the two sniffers it combines; a found name is
 * NUL-terminated within the caller's buffer (a large one and a 16-byte
 * one) and is a valid host name or empty; FOUND stays FOUND with the
 * same name and protocol when more bytes follow, NOT stays NOT; a
 * prefix of a FOUND input is MORE or that same FOUND.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpendpoint.h"
#include "vpsniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sniff(const uint8_t *data, size_t size, char *name, size_t namelen,
    const char **proto)
{
	uint8_t *copy;
	int r, t, h;
	char tn[256], hn[256];

	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	memset(name, 'X', namelen);
	r = vpsniff(copy, size, name, namelen, proto);
	t = vpsniff_tls(copy, size, tn, namelen);
	h = vpsniff_http(copy, size, hn, namelen);
	free(copy);
	if (r != VPSNIFF_NOT && r != VPSNIFF_MORE && r != VPSNIFF_FOUND)
		abort();
	if (t != VPSNIFF_NOT && t != VPSNIFF_MORE && t != VPSNIFF_FOUND)
		abort();
	if (h != VPSNIFF_NOT && h != VPSNIFF_MORE && h != VPSNIFF_FOUND)
		abort();
	if (r == VPSNIFF_FOUND) {
		if (*proto == NULL || memchr(name, '\0', namelen) == NULL ||
		    (name[0] != '\0' && !vpep_host_ok(name)) ||
		    strlen(name) >= namelen)
			abort();
		if (strcmp(*proto, VPSNIFF_TLS) == 0) {
			if (t != VPSNIFF_FOUND || strcmp(tn, name) != 0)
				abort();
		} else if (t == VPSNIFF_FOUND || h != VPSNIFF_FOUND ||
		    strcmp(hn, name) != 0)
			abort();
	} else if (t == VPSNIFF_FOUND || h == VPSNIFF_FOUND ||
	    (r == VPSNIFF_NOT) != (t == VPSNIFF_NOT && h == VPSNIFF_NOT))
		abort();
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lens[] = { 256, 16 };
	char name[256], name2[256];
	const char *proto, *proto2;
	uint8_t *more;
	size_t k, cut;
	int r, r2;

	for (k = 0; k < 2; k++) {
		r = sniff(data, size, name, lens[k], &proto);
		if (r == VPSNIFF_MORE)
			continue;
		if ((more = malloc(size + 32)) == NULL)
			abort();
		memcpy(more, data, size);
		memset(more + size, size & 1 ? '\n' : 0, 32);
		r2 = sniff(more, size + 32, name2, lens[k], &proto2);
		free(more);
		if (r2 != r)
			abort();
		if (r == VPSNIFF_NOT)
			continue;
		if (strcmp(name, name2) != 0 || strcmp(proto, proto2) != 0)
			abort();
		/* Two prefixes: each is MORE or the same answer. */
		for (cut = size / 2; cut < size; cut += (size - cut + 1) / 2) {
			r2 = sniff(data, cut, name2, lens[k], &proto2);
			if (r2 == VPSNIFF_NOT || (r2 == VPSNIFF_FOUND &&
			    (strcmp(name, name2) != 0 ||
			    strcmp(proto, proto2) != 0)))
				abort();
		}
	}
	return 0;
}
