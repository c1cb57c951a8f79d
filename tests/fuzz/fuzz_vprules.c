/*
 * Fuzz target: vprules' text parser and compiler, and the matcher on
 * what it compiled. The input is a rules file; when it compiles, a few
 * destinations are matched and the outbound must be one of the file's.
 * Errors must name the file and a line (>= 1): the rules file's, or a
 * list file's it names.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vprules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* Removes the rules file and its compiled form when the fuzzer exits. */
static void
cleanup(void)
{
	char c[80];

	unlink(path);
	snprintf(c, sizeof(c), "%s.vprc", path);
	unlink(c);
}

/*
 * Does error message err start "FILE:LINE: " with LINE >= 1: the rules
 * file, or a list file it names (an entry in it that is wrong)?
 */
static int
names_line(const char *err)
{
	const char *p;
	size_t n;

	if (strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':')
		p = err + strlen(path) + 1;
	else if ((p = strchr(err, ':')) != NULL && p > err)
		p++;
	else
		return 0;
	if ((n = strspn(p, "0123456789")) == 0 || *p == '0')
		return 0;
	return p[n] == ':' && p[n + 1] == ' ';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *hosts[] = {
		"example.org", "www.example.org", "10.1.2.3", "fd00::1",
		"a.b.c.d.e", "tracker.example",
	};
	struct vprules_conn c;
	struct vprules_out o;
	struct vprules *r;
	char err[1024];
	FILE *f;
	size_t i;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz_vprules.%ld", (long)getpid());
		atexit(cleanup);
	}
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	chmod(path, 0644);
	if (vprules_compile(path, err, sizeof(err)) == -1) {
		if (!names_line(err))
			abort();
		return 0;
	}
	if ((r = vprules_open(path, err, sizeof(err))) == NULL)
		abort();	/* just compiled: must open */
	memset(&c, 0, sizeof(c));
	c.uid = c.gid = -1;
	c.inbound = "socks5";
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		c.host = hosts[i];
		c.port = (unsigned)(i * 1000 + 80);
		if (vprules_match(r, &c, &o) == -1 || o.name == NULL ||
		    o.name[0] == '\0' || o.arg == NULL)
			abort();
	}
	vprules_close(r);
	return 0;
}
