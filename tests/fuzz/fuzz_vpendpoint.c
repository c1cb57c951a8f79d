/*
 * Fuzz target: the endpoint grammar, the destination check and the
 * command template expansion, fed as the programs feed them (a
 * NUL-terminated argument string). Invariants: a parsed endpoint
 * formats to a string that parses again to the same kind; an expansion
 * only ever contains the host inside single quotes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpendpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vpendpoint ep, ep2;
	char err[128], buf[8192], out[512];
	char *s, *tmpl;
	size_t half;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vpep_parse(s, &ep, err, sizeof(err)) == 0) {
		vpep_format(&ep, buf, sizeof(buf));
		if (ep.kind != VPEP_EXEC || strlen(ep.cmd) < sizeof(buf) - 6) {
			if (vpep_parse(buf, &ep2, err, sizeof(err)) != 0 ||
			    ep2.kind != ep.kind)
				abort();
		}
	} else if (err[0] == '\0')
		abort();	/* every rejection carries a reason */
	/* split the input: template | host */
	half = size / 2;
	if ((tmpl = strndup(s, half)) != NULL) {
		const char *host = s + strlen(tmpl);
		if (vpep_expand(tmpl, host, 443, out, sizeof(out)) == 0) {
			if (!vpep_host_ok(host) || strlen(out) >= sizeof(out))
				abort();
		}
		free(tmpl);
	}
	free(s);
	return 0;
}
