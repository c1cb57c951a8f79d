/*
 * Fuzz target: vprules_open() and vprules_match() over a compiled rules
 * file (FILE.vprc) that the input corrupts. Once, a rules text using
 * every matcher kind (with a domain list and an IP list) is compiled;
 * each input then patches bytes of that compiled file (XOR at chosen
 * offsets), may cut or extend it and may fix up the header's total
 * size, and the result is opened and matched against a set of
 * connections.
 *
 * Invariants: a corrupt file is either rejected with a message or, if
 * its shape is accepted, matched without any read outside it; every
 * answer has a name and an argument. To make "outside it" exact, this
 * target replaces mmap() while vprules_open() runs: the file is read
 * into an exact-size heap block, so AddressSanitizer sees any read past
 * its end (a real mapping would hide it in the page's tail).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vprules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void	*mmap(void *, size_t, int, int, int, off_t);
int	 munmap(void *, size_t);

static int intercept;
static void *ours;

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	if (intercept && fd >= 0 && ours == NULL) {
		if ((p = malloc(len > 0 ? len : 1)) == NULL)
			return MAP_FAILED;
		if (pread(fd, p, len, off) != (ssize_t)len) {
			free(p);
			return MAP_FAILED;
		}
		ours = p;
		return p;
	}
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int
munmap(void *addr, size_t len)
{
	if (addr != NULL && addr == ours) {
		free(ours);
		ours = NULL;
		return 0;
	}
	return (int)syscall(SYS_munmap, addr, len);
}

static char dir[64], path[128], cpath[160];
static uint8_t *base;
static size_t baselen;

static void
cleanup(void)
{
	char p[160];

	unlink(cpath);
	unlink(path);
	snprintf(p, sizeof(p), "%s/domains", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/nets", dir);
	unlink(p);
	rmdir(dir);
}

static void
put(const char *p, const char *text, int mode)
{
	FILE *f;

	if ((f = fopen(p, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

/* Compiles the base rules once and keeps the compiled bytes. */
static void
setup(void)
{
	char text[2048], p[160], err[512];
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/fuzz_vprc.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/rules", dir);
	snprintf(cpath, sizeof(cpath), "%s.vprc", path);
	snprintf(p, sizeof(p), "%s/domains", dir);
	put(p, "# list\nfoo.example\nfull:only.example\nbar.example\n", 0644);
	snprintf(p, sizeof(p), "%s/nets", dir);
	put(p, "203.0.113.0/24\n2001:db8::/32\n198.51.100.9\n", 0644);
	snprintf(text, sizeof(text),
	    "outbound direct direct\n"
	    "outbound ex exec vp-dial %%h %%p\n"
	    "outbound early exec-early nc %%h %%p\n"
	    "outbound up socks5 127.0.0.1:1080\n"
	    "outbound no reject\n"
	    "outbound hole blackhole\n"
	    "route no domain:blocked.example full:ads.example\n"
	    "route up keyword:track regexp:^cdn[0-9]+\\.\n"
	    "route ex domain-list:%s/domains port:443\n"
	    "route hole ip-list:%s/nets\n"
	    "route early ip:10.0.0.0/8 ip:fd00::/8 port:1000-2000\n"
	    "route up source:192.168.0.0/16 source:::1/128\n"
	    "route no user:mallory uid:666 gid:13\n"
	    "route ex inbound:socks4 protocol:tls\n"
	    "default direct\n", dir, dir);
	put(path, text, 0644);
	if (vprules_compile(path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	if ((fd = open(cpath, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		abort();
	baselen = (size_t)st.st_size;
	if ((base = malloc(baselen)) == NULL ||
	    read(fd, base, baselen) != (ssize_t)baselen)
		abort();
	close(fd);
}

static void
match_all(struct vprules *r)
{
	static const char *hosts[] = {
		"www.blocked.example", "ads.example", "x.ads.example",
		"tracker.example", "cdn12.example", "a.foo.example",
		"only.example", "203.0.113.9", "198.51.100.9", "10.1.2.3",
		"fd00::1", "2001:db8::5", "example.org", "A.B.C.D.E.F.G.",
		".", "1.2.3.4",
	};
	static const char *sources[] = { NULL, "192.168.1.1", "::1", "1.1.1.1" };
	struct vprules_conn c;
	struct vprules_out o;
	size_t i;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.host = hosts[i];
		c.port = (unsigned)(i * 131 + 80) % 2100;
		c.source = sources[i % 4];
		c.user = i % 3 ? "mallory" : NULL;
		c.uid = i % 5 == 0 ? 666 : -1;
		c.gid = i % 7 == 0 ? 13 : -1;
		c.inbound = i % 2 ? "socks4" : "http";
		c.protocol = i % 3 == 1 ? "tls" : NULL;
		c.sniffed = i % 4 == 1 ? "sniffed.foo.example" : NULL;
		memset(&o, 0, sizeof(o));
		if (vprules_match(r, &c, &o) == -1)
			continue;
		if (o.name == NULL || o.arg == NULL)
			abort();
		(void)strlen(o.name);
		(void)strlen(o.arg);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vprules *r;
	char err[512];
	uint8_t *buf;
	size_t len, i, off;
	uint64_t total;
	int fd;

	if (base == NULL)
		setup();
	if (size < 2)
		return 0;
	/* The new length: the same, cut, or extended with zeros. */
	len = baselen;
	if (data[0] & 0x80)
		len = (size_t)data[1] * 4 % (baselen + 256);
	if ((buf = calloc(1, len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, base, len < baselen ? len : baselen);
	/* XOR patches: (offset LE16, value) triples. */
	for (i = 2; i + 3 <= size && len > 0; i += 3) {
		off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % len;
		buf[off] ^= data[i + 2];
	}
	/* Fix up the total so a changed length reaches the deeper checks. */
	if ((data[0] & 0x40) && len >= 64) {
		total = len;
		memcpy(buf + 56, &total, sizeof(total));
	}
	if ((fd = open(cpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
	free(buf);
	intercept = 1;
	r = vprules_open(path, err, sizeof(err));
	intercept = 0;
	if (r == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if (ours == NULL)
		abort();	/* the mmap() replacement was not used */
	match_all(r);
	(void)vprules_nroutes(r);
	vprules_close(r);
	if (ours != NULL)
		abort();	/* the mapping was not released */
	return 0;
}
