/*
 * Fuzz target: vpproxyproto's PROXY v1/v2 parser. Invariants: the
 * result is need-more, malformed or a length within the input; a
 * complete header keeps its length when more bytes follow it and every
 * proper prefix of it is "need more"; a malformed input stays malformed
 * with more bytes; a header of v1 is at most 107 bytes; addresses are
 * of the family reported; vppp_why() agrees with the result.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpproxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vppp_info info, info2;
	uint8_t *more;
	ssize_t n, m;
	size_t i;

	n = vppp_parse(data, size, &info);
	if (n < VPPP_MALFORMED || n > (ssize_t)size)
		abort();
	if ((n > 0) != (strcmp(vppp_why(data, size), "valid") == 0))
		abort();
	if ((more = malloc(size + 16)) == NULL)
		return 0;
	memcpy(more, data, size);
	memset(more + size, 'D', 16);
	m = vppp_parse(more, size + 16, &info2);
	if (n > 0) {
		if (m != n)
			abort();
		if (info.version == 1 && n > VPPP_V1_MAX)
			abort();
		if (!info.local && info.family != AF_INET &&
		    info.family != AF_INET6 && info.family != AF_UNIX)
			abort();
		if (!info.local && (info.src.ss_family != info.family ||
		    info.dst.ss_family != info.family))
			abort();
		for (i = 0; i < (size_t)n; i++)
			if (vppp_parse(data, i, &info2) != VPPP_NEEDMORE)
				abort();
	} else if (n == VPPP_MALFORMED && m != VPPP_MALFORMED)
		abort();
	free(more);
	return 0;
}
