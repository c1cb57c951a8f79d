/*
 * Unit tests for vprules: every matcher kind, ordering, AND/OR, bad
 * lines with line numbers, stale/missing/corrupt compiled files.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vprules.h"

static char dir[64], path[128], err[1024];

static void
setup(void)
{
	strcpy(dir, "/tmp/vprules.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rules", dir);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ck_abort_msg("cleanup failed");
}

static void
put(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(p, 0644);
}

/* Moves a file's mtime by sec seconds. */
static void
age(const char *p, int sec)
{
	struct stat st;
	struct timeval tv[2];

	ck_assert_int_eq(stat(p, &st), 0);
	tv[0].tv_sec = tv[1].tv_sec = st.st_mtime + sec;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	ck_assert_int_eq(utimes(p, tv), 0);
}

static struct vprules *
load(const char *text)
{
	struct vprules *r;

	put(path, text);
	ck_assert_msg(vprules_compile(path, err, sizeof(err)) == 0, "%s", err);
	r = vprules_open(path, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	return r;
}

static const char *
route(struct vprules *r, const char *host, unsigned port)
{
	static struct vprules_out o;
	struct vprules_conn c;

	memset(&c, 0, sizeof(c));
	c.host = host;
	c.port = port;
	c.uid = c.gid = -1;
	ck_assert_int_eq(vprules_match(r, &c, &o), 0);
	return o.name;
}

static const char *
routec(struct vprules *r, const struct vprules_conn *c)
{
	static struct vprules_out o;

	ck_assert_int_eq(vprules_match(r, c, &o), 0);
	return o.name;
}

static const char *outs =
    "outbound a exec echo a %h %p\n"
    "outbound b exec-early ssh -W %h:%p jump\n"
    "outbound c socks5 127.0.0.1:1081\n"
    "outbound no reject\n"
    "outbound drop blackhole\n"
    "outbound d direct\n";

START_TEST(domains)
{
	char text[2048];
	struct vprules *r;
	struct vprules_out o;
	struct vprules_conn c;

	snprintf(text, sizeof(text), "%s"
	    "route no full:exact.example.com\n"
	    "route a domain:example.org\n"
	    "route b keyword:tracker\n"
	    "route c regexp:^api[0-9]+\\.svc\\.\n"
	    "default d\n", outs);
	r = load(text);
	ck_assert_uint_eq(vprules_nroutes(r), 4);
	ck_assert_str_eq(route(r, "exact.example.com", 80), "no");
	ck_assert_str_eq(route(r, "EXACT.Example.COM.", 80), "no");
	ck_assert_str_eq(route(r, "sub.exact.example.com", 80), "d");
	ck_assert_str_eq(route(r, "example.com", 80), "d");
	ck_assert_str_eq(route(r, "example.org", 80), "a");
	ck_assert_str_eq(route(r, "www.a.example.org", 80), "a");
	ck_assert_str_eq(route(r, "badexample.org", 80), "d");
	ck_assert_str_eq(route(r, "example.org.evil", 80), "d");
	ck_assert_str_eq(route(r, "mytrackerhost.net", 80), "b");
	ck_assert_str_eq(route(r, "api42.svc.local", 80), "c");
	ck_assert_str_eq(route(r, "xapi42.svc.local", 80), "d");
	/* An IP literal is not a domain. */
	ck_assert_str_eq(route(r, "10.0.0.1", 80), "d");
	/* The sniffed name overrides the host for domain matchers. */
	memset(&c, 0, sizeof(c));
	c.host = "93.184.216.34";
	c.sniffed = "cdn.example.org";
	c.port = 443;
	c.uid = c.gid = -1;
	ck_assert_str_eq(routec(r, &c), "a");
	ck_assert_int_eq(vprules_match(r, &c, &o), 0);
	ck_assert_int_eq(o.kind, VPRULE_EXEC);
	ck_assert_str_eq(o.arg, "echo a %h %p");
	/*
	 * A requested name is what the connection goes to: a sniffed name
	 * (Host, SNI) does not stand in for it, or a client could ask for
	 * a rejected name and send an allowed one.
	 */
	c.host = "exact.example.com";
	c.sniffed = "cdn.example.org";
	ck_assert_str_eq(routec(r, &c), "no");
	c.host = "other.example.net";
	ck_assert_str_eq(routec(r, &c), "d");
	/* an address in another spelling takes the sniffed name too */
	c.host = "2130706433";
	ck_assert_str_eq(routec(r, &c), "a");
	vprules_close(r);
}
END_TEST

START_TEST(ip_spellings)
{
	char text[2048];
	struct vprules *r;

	snprintf(text, sizeof(text), "%s"
	    "route no ip:127.0.0.0/8 ip:::1/128\n"
	    "route a ip:10.0.0.0/8\n"
	    "default d\n", outs);
	r = load(text);
	/* every spelling getaddrinfo() takes without DNS */
	ck_assert_str_eq(route(r, "127.0.0.1", 80), "no");
	ck_assert_str_eq(route(r, "127.1", 80), "no");
	ck_assert_str_eq(route(r, "0x7f.1", 80), "no");
	ck_assert_str_eq(route(r, "0x7F000001", 80), "no");
	ck_assert_str_eq(route(r, "2130706433", 80), "no");
	ck_assert_str_eq(route(r, "0177.0.0.1", 80), "no");
	ck_assert_str_eq(route(r, "127.0.1", 80), "no");
	ck_assert_str_eq(route(r, "012.1", 80), "a");		/* 10.0.0.1 */
	/* IPv4-mapped IPv6: connect() goes to the IPv4 address */
	ck_assert_str_eq(route(r, "::ffff:127.0.0.1", 80), "no");
	ck_assert_str_eq(route(r, "::FFFF:7f00:1", 80), "no");
	ck_assert_str_eq(route(r, "::ffff:10.9.8.7", 80), "a");
	ck_assert_str_eq(route(r, "::1", 80), "no");
	/* names, and numbers that are no address */
	ck_assert_str_eq(route(r, "127.example", 80), "d");
	ck_assert_str_eq(route(r, "4294967296", 80), "d");
	ck_assert_str_eq(route(r, "1.2.3.4.5", 80), "d");
	ck_assert_str_eq(route(r, "127.0.0.1 x", 80), "d");
	vprules_close(r);
}
END_TEST

START_TEST(ips_ports)
{
	char text[2048];
	struct vprules *r;

	snprintf(text, sizeof(text), "%s"
	    "route a ip:10.0.0.0/8 ip:fd00::/8\n"
	    "route b ip:192.168.1.7 port:22\n"
	    "route c port:8000-8999\n"
	    "route no ip:0.0.0.0/0 port:25\n"
	    "default d\n", outs);
	r = load(text);
	ck_assert_str_eq(route(r, "10.1.2.3", 80), "a");
	ck_assert_str_eq(route(r, "11.1.2.3", 80), "d");
	ck_assert_str_eq(route(r, "fd12::1", 80), "a");
	ck_assert_str_eq(route(r, "fe80::1", 80), "d");
	ck_assert_str_eq(route(r, "192.168.1.7", 22), "b");
	ck_assert_str_eq(route(r, "192.168.1.7", 23), "d");	/* AND */
	ck_assert_str_eq(route(r, "192.168.1.8", 22), "d");
	ck_assert_str_eq(route(r, "example.org", 8000), "c");
	ck_assert_str_eq(route(r, "example.org", 8999), "c");
	ck_assert_str_eq(route(r, "example.org", 9000), "d");
	ck_assert_str_eq(route(r, "1.2.3.4", 25), "no");
	ck_assert_str_eq(route(r, "example.org", 25), "d");	/* no IP */
	vprules_close(r);
}
END_TEST

START_TEST(conn_matchers)
{
	char text[2048];
	struct vprules *r;
	struct vprules_conn c;

	snprintf(text, sizeof(text), "%s"
	    "route a user:alice user:bob\n"
	    "route b source:127.0.0.0/8 inbound:socks4\n"
	    "route c uid:1000 gid:100\n"
	    "route no protocol:tls domain:blocked.example\n"
	    "route drop source:::1/128\n"
	    "default d\n", outs);
	r = load(text);
	memset(&c, 0, sizeof(c));
	c.host = "example.org";
	c.port = 443;
	c.uid = c.gid = -1;
	ck_assert_str_eq(routec(r, &c), "d");
	c.user = "bob";
	ck_assert_str_eq(routec(r, &c), "a");
	c.user = "carol";
	c.source = "127.0.0.1";
	ck_assert_str_eq(routec(r, &c), "d");
	c.inbound = "socks4";
	ck_assert_str_eq(routec(r, &c), "b");
	c.inbound = "socks5";
	c.uid = 1000;
	ck_assert_str_eq(routec(r, &c), "d");
	c.gid = 100;
	ck_assert_str_eq(routec(r, &c), "c");
	c.uid = c.gid = -1;
	c.host = "www.blocked.example";
	ck_assert_str_eq(routec(r, &c), "d");
	c.protocol = "tls";
	ck_assert_str_eq(routec(r, &c), "no");
	c.protocol = NULL;
	c.source = "::1";
	ck_assert_str_eq(routec(r, &c), "drop");
	vprules_close(r);
}
END_TEST

START_TEST(order_and_lists)
{
	char text[4096], dl[128], il[128];
	struct vprules *r;

	snprintf(dl, sizeof(dl), "%s/domains.txt", dir);
	snprintf(il, sizeof(il), "%s/nets.txt", dir);
	put(dl, "# proxied\nfoo.example\nfull:only.example\ndomain:bar.example\n\n");
	put(il, "203.0.113.0/24\n2001:db8::/32 # doc\n198.51.100.9\n");
	snprintf(text, sizeof(text), "%s"
	    "route a domain:first.example\n"
	    "route b domain:first.example\n"
	    "route c domain-list:%s\n"
	    "route drop ip-list:%s\n"
	    "default d\n", outs, dl, il);
	r = load(text);
	ck_assert_str_eq(route(r, "x.first.example", 1), "a");	/* first wins */
	ck_assert_str_eq(route(r, "a.foo.example", 1), "c");
	ck_assert_str_eq(route(r, "only.example", 1), "c");
	ck_assert_str_eq(route(r, "x.only.example", 1), "d");
	ck_assert_str_eq(route(r, "bar.example", 1), "c");
	ck_assert_str_eq(route(r, "203.0.113.77", 1), "drop");
	ck_assert_str_eq(route(r, "2001:db8:1::5", 1), "drop");
	ck_assert_str_eq(route(r, "198.51.100.9", 1), "drop");
	ck_assert_str_eq(route(r, "198.51.100.10", 1), "d");
	/* vprules_current(): a list file changed since compiling */
	ck_assert_int_eq(vprules_current(r), 1);
	age(dl, 5);
	ck_assert_int_eq(vprules_current(r), 0);
	vprules_close(r);
	/* A changed list file makes the compiled form stale. */
	ck_assert_ptr_null(vprules_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "stale") != NULL, "%s", err);
}
END_TEST

START_TEST(big_lists)
{
	char text[1024], dl[128], il[128];
	struct vprules *r;
	FILE *f;
	int i;

	snprintf(dl, sizeof(dl), "%s/big-domains.txt", dir);
	snprintf(il, sizeof(il), "%s/big-nets.txt", dir);
	f = fopen(dl, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 20000; i++)
		fprintf(f, "host%d.zone%d.example\n", i, i % 97);
	fclose(f);
	f = fopen(il, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < 5000; i++)
		fprintf(f, "10.%d.%d.0/24\n", i / 256, i % 256);
	fclose(f);
	snprintf(text, sizeof(text), "%s"
	    "route a domain-list:%s\nroute b ip-list:%s\ndefault d\n",
	    outs, dl, il);
	r = load(text);
	ck_assert_str_eq(route(r, "host0.zone0.example", 1), "a");
	ck_assert_str_eq(route(r, "www.host19999.zone17.example", 1), "a");
	ck_assert_str_eq(route(r, "host19999.zone16.example", 1), "d");
	ck_assert_str_eq(route(r, "10.0.0.1", 1), "b");
	ck_assert_str_eq(route(r, "10.19.135.200", 1), "b");	/* 4999 */
	ck_assert_str_eq(route(r, "10.19.136.1", 1), "d");
	vprules_close(r);
}
END_TEST

/* Compiling text must fail with "rules:LINE:" and words of want. */
static void
bad(const char *text, int line, const char *want)
{
	char pfx[160];

	put(path, text);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	snprintf(pfx, sizeof(pfx), "%s:%d: ", path, line);
	ck_assert_msg(strncmp(err, pfx, strlen(pfx)) == 0, "'%s' for '%s'",
	    err, text);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
}

START_TEST(bad_lines)
{
	bad("outbound a exec\n", 1, "needs an argument");
	bad("outbound a teleport x\n", 1, "unknown outbound kind");
	bad("outbound a reject now\n", 1, "takes no argument");
	bad("outbound a direct\noutbound a direct\n", 2, "defined twice");
	bad("outbound a direct\n# c\nroute b domain:x\n", 3, "undefined outbound");
	bad("outbound a direct\nroute a\n", 2, "at least one matcher");
	bad("outbound a direct\nroute a colour:red\n", 2, "unknown matcher");
	bad("outbound a direct\nroute a domain:bad..name\n", 2, "bad domain");
	bad("outbound a direct\nroute a domain:a;b\n", 2, "bad domain");
	bad("outbound a direct\nroute a ip:10.0.0.0/33\n", 2, "bad IP");
	bad("outbound a direct\nroute a ip:300.1.1.1\n", 2, "bad IP");
	bad("outbound a direct\nroute a port:70000\n", 2, "bad port");
	bad("outbound a direct\nroute a port:90-80\n", 2, "bad port range");
	bad("outbound a direct\nroute a regexp:(\n", 2, "bad regexp");
	bad("outbound a direct\nroute a inbound:ftp\n", 2, "inbound:");
	bad("outbound a direct\nroute a protocol:quic\n", 2, "protocol:");
	bad("outbound a direct\nroute a uid:-1\n", 2, "bad number");
	bad("outbound a direct\nroute a domain:\n", 2, "empty value");
	bad("outbound a direct\nfrobnicate\n", 2, "unknown statement");
	bad("outbound a direct\n", 2, "no default");
	bad("outbound a direct\ndefault a\ndefault a\n", 3, "second default");
	bad("outbound a direct\ndefault b\n", 2, "undefined outbound");
	bad("outbound a/b direct\n", 1, "bad outbound name");
	bad("outbound a socks5 1.2.3.4:1 extra\n", 1, "one endpoint");
	/* a socks5 endpoint is checked now, not at each connection */
	bad("outbound a socks5 notanendpoint\ndefault a\n", 1, "bad endpoint");
	bad("outbound a socks5 1.2.3.4:0\ndefault a\n", 1, "bad endpoint");
	bad("outbound a socks5 1.2.3.4:65536\ndefault a\n", 1, "bad endpoint");
	bad("outbound a socks5 bad_host!:1\ndefault a\n", 1, "bad endpoint");
	bad("outbound a socks5 unix:\ndefault a\n", 1, "bad endpoint");
	bad("outbound a socks5 http://1.2.3.4:1\ndefault a\n", 1,
	    "bad endpoint");
	bad("outbound a socks5 u:%zz@1.2.3.4:1\ndefault a\n", 1,
	    "bad endpoint");
	bad("outbound a socks5 user@1.2.3.4:1\ndefault a\n", 1,
	    "needs a password");
	/* a command template vp-dispatch could never expand */
	bad("outbound a exec nc %h %x\ndefault a\n", 1, "'%' must be");
	bad("outbound a exec-early echo 100%\ndefault a\n", 1, "'%' must be");
}
END_TEST

/*
 * A regexp whose automaton would be huge is refused before regcomp()
 * builds it ("b" and 90 '+' took 2.3 GB: found by fuzz_vprules); the
 * usual ones, and repetition characters that are literal, still pass.
 */
START_TEST(regexp_too_complex)
{
	static const char *good[] = {
		"^api[0-9]+\\.svc\\.",
		"^[a-z0-9]{1,63}(\\.[a-z0-9]{1,63}){1,10}$",
		"(ads|track|metrics)+\\.",
		"[{}+*?]+x",
		"a\\{9999\\}b",
		"[[:alpha:]]{1,9}[]{]{2}",
		"x{9998}",
		"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$",
		"([a-z]*\\.)*example\\.com$",
	};
	static const char *complex[] = {
		"b++++++++++++++++",
		"(a{1,255}){1,255}",
		"((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
		"x{10000}",
		"(a|b{100}){200}",
		/* closures: optional copies in a row (250 MB, 200 MB) */
		"b*+++++++++++",
		"(b*){5000}",
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text),
		    "outbound a direct\nroute a regexp:%s\ndefault a\n", good[i]);
		put(path, text);
		ck_assert_msg(vprules_compile(path, err, sizeof(err)) == 0,
		    "%s: %s", good[i], err);
	}
	for (i = 0; i < sizeof(complex) / sizeof(complex[0]); i++) {
		snprintf(text, sizeof(text),
		    "outbound a direct\nroute a regexp:%s\n", complex[i]);
		bad(text, 2, "too complex");
	}
	/* a file's regexps are bounded in all: 5 big ones pass, not 6 */
	snprintf(text, sizeof(text), "outbound a direct\n");
	for (i = 0; i < 5; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "route a regexp:x{9998}%zu\n", i);
	put(path, text);
	ck_assert_msg(vprules_compile(path, err, sizeof(err)) == -1 &&
	    strstr(err, "no default") != NULL, "%s", err);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "route a regexp:x{9998}y\n");
	bad(text, 7, "too complex in all");
}
END_TEST

/* The socks5 endpoints vp-dispatch takes per connection compile. */
START_TEST(socks5_endpoints)
{
	static const char *good[] = {
		"127.0.0.1:1080", "[::1]:1080", "proxy.example:1080",
		"unix:/run/vp/tunnel.sock", "unix:@abstract",
		"alice:s3cret@127.0.0.1:1080", "a%40b:p%3aw@proxy.example:1",
		"alice:s3cret@unix:/run/vp/proxy.sock",
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text),
		    "outbound a socks5 %s\ndefault a\n", good[i]);
		put(path, text);
		ck_assert_msg(vprules_compile(path, err, sizeof(err)) == 0,
		    "%s: %s", good[i], err);
	}
	/* the password is not in the message */
	bad("outbound a socks5 alice:s3cret@nohost\ndefault a\n", 1,
	    "bad endpoint");
	ck_assert_msg(strstr(err, "s3cret") == NULL, "%s", err);
}
END_TEST

/*
 * The compiled file cannot be written (its temporary name is taken, as
 * a directory would be unwritable): the message names that file, not a
 * line of the rules (it said rules:2:, the last line).
 */
START_TEST(write_error)
{
	char tmp[200];

	snprintf(tmp, sizeof(tmp), "%s.vprc.tmp.%ld", path, (long)getpid());
	ck_assert_int_eq(mkdir(tmp, 0755), 0);
	put(path, "outbound d direct\ndefault d\n");
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "cannot write ", 13) == 0 &&
	    strstr(err, tmp) != NULL && strstr(err, "rules:") == NULL, "%s",
	    err);
	ck_assert_int_eq(rmdir(tmp), 0);
	/* rename(2) onto a directory fails after the file is written */
	snprintf(tmp, sizeof(tmp), "%s.vprc", path);
	ck_assert_int_eq(mkdir(tmp, 0755), 0);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "cannot write ", 13) == 0 &&
	    strstr(err, "rules:") == NULL, "%s", err);
}
END_TEST

START_TEST(list_errors)
{
	char text[512], dl[128];

	snprintf(dl, sizeof(dl), "%s/l.txt", dir);
	put(dl, "ok.example\nbad name\n");
	snprintf(text, sizeof(text), "outbound a direct\nroute a domain-list:%s\n"
	    "default a\n", dl);
	put(path, text);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "l.txt:2:") != NULL, "%s", err);
	snprintf(text, sizeof(text), "outbound a direct\nroute a ip-list:%s/none\n"
	    "default a\n", dir);
	put(path, text);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "rules:2:") != NULL, "%s", err);
	/* a list others may write decides routes: refused, line named */
	put(dl, "ok.example\n");
	chmod(dl, 0664);
	snprintf(text, sizeof(text), "outbound a direct\nroute a domain-list:%s\n"
	    "default a\n", dl);
	put(path, text);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "rules:2:") != NULL &&
	    strstr(err, "writable by group or others") != NULL, "%s", err);
	chmod(dl, 0644);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), 0);
	/*
	 * A list that is a directory, or fails to read: the rules line
	 * that names it, and why (was "DIR:0: read error": found by
	 * fuzz_vprules with domain-list:/).
	 */
	snprintf(text, sizeof(text), "outbound a direct\nroute a domain-list:%s\n"
	    "default a\n", dir);
	put(path, text);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "rules:2:") != NULL &&
	    strstr(err, "not a regular file") != NULL, "%s", err);
	snprintf(text, sizeof(text), "outbound a direct\nroute a ip-list:%s\n"
	    "default a\n", "/proc/self/mem");
	put(path, text);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "rules:2:") != NULL &&
	    strstr(err, "read error: ") != NULL, "%s", err);
}
END_TEST

START_TEST(stale_missing_corrupt)
{
	char cpath[160];
	struct vprules *r;
	struct stat st;
	unsigned char *buf;
	size_t i, n;
	int fd;

	put(path, "outbound a direct\ndefault a\n");
	/* Not compiled yet. */
	ck_assert_ptr_null(vprules_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "vp-dispatch -C") != NULL, "%s", err);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), 0);
	r = vprules_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(vprules_current(r), 1);
	/* recompiled (a new file renamed over the old): not current */
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), 0);
	ck_assert_int_eq(vprules_current(r), 0);
	vprules_close(r);
	r = vprules_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(vprules_current(r), 1);
	/* made group-writable after mapping: no longer current, refused */
	snprintf(cpath, sizeof(cpath), "%s.vprc", path);
	ck_assert_int_eq(chmod(cpath, 0664), 0);
	ck_assert_int_eq(vprules_current(r), 0);
	ck_assert_ptr_null(vprules_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "writable") != NULL, "%s", err);
	ck_assert_int_eq(chmod(cpath, 0644), 0);
	vprules_close(r);
	r = vprules_open(path, err, sizeof(err));
	ck_assert_ptr_nonnull(r);
	/* The text changed after compiling. */
	age(path, 10);
	ck_assert_int_eq(vprules_current(r), 0);
	vprules_close(r);
	ck_assert_ptr_null(vprules_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "stale") != NULL, "%s", err);
	/* A rules file others can write is refused. */
	chmod(path, 0666);
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "writable") != NULL, "%s", err);
	chmod(path, 0644);
	/* Truncated or bit-flipped compiled files: an error or a safe match. */
	put(path, "outbound a direct\noutbound b reject\nroute b domain:x.example "
	    "ip:10.0.0.0/8 port:1-2 keyword:k regexp:^r\ndefault a\n");
	ck_assert_int_eq(vprules_compile(path, err, sizeof(err)), 0);
	snprintf(cpath, sizeof(cpath), "%s.vprc", path);
	ck_assert_int_eq(stat(cpath, &st), 0);
	n = (size_t)st.st_size;
	buf = malloc(n);
	ck_assert_ptr_nonnull(buf);
	fd = open(cpath, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, n), (ssize_t)n);
	close(fd);
	for (i = 0; i < n; i++) {
		unsigned char save = buf[i];

		buf[i] ^= 0x5a;
		fd = open(cpath, O_WRONLY | O_TRUNC);
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		close(fd);
		buf[i] = save;
		if ((r = vprules_open(path, err, sizeof(err))) != NULL) {
			(void)route(r, "www.x.example", 1);
			(void)route(r, "10.1.1.1", 2);
			(void)route(r, "rk", 2);
			vprules_close(r);
		}
	}
	fd = open(cpath, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, buf, n / 2), (ssize_t)(n / 2));
	close(fd);
	ck_assert_ptr_null(vprules_open(path, err, sizeof(err)));
	ck_assert_msg(strstr(err, "malformed") != NULL, "%s", err);
	free(buf);
}
END_TEST

/*
 * Rules compiled from a relative path, with relative list files, from
 * a cwd that is neither: the lists are the rules file's neighbours, and
 * the compiled file still opens (and stays current) from another cwd,
 * as systemd's / (the relative paths were stored: every connection
 * failed).
 */
START_TEST(relative_paths)
{
	char sub[160], lists[160], l[200], rel[200];
	struct vprules *r;

	snprintf(sub, sizeof(sub), "%s/elsewhere", dir);
	snprintf(lists, sizeof(lists), "%s/lists", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_int_eq(mkdir(lists, 0755), 0);
	snprintf(l, sizeof(l), "%s/blocked.txt", lists);
	put(l, "ads.example\n");
	snprintf(l, sizeof(l), "%s/nets.txt", lists);
	put(l, "10.9.0.0/16\n");
	put(path, "outbound d direct\noutbound n reject\n"
	    "route n domain-list:lists/blocked.txt\n"
	    "route n ip-list:./lists/nets.txt\n"
	    "default d\n");
	/* from elsewhere/, the rules named as ../rules */
	ck_assert_int_eq(chdir(sub), 0);
	snprintf(rel, sizeof(rel), "../rules");
	ck_assert_msg(vprules_compile(rel, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(chdir("/"), 0);
	r = vprules_open(path, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(vprules_current(r), 1);
	ck_assert_str_eq(route(r, "www.ads.example", 80), "n");
	ck_assert_str_eq(route(r, "10.9.1.1", 80), "n");
	ck_assert_str_eq(route(r, "example.org", 80), "d");
	vprules_close(r);
	/* from the rules file's own directory, as "rules" */
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_msg(vprules_compile("rules", err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(chdir("/"), 0);
	r = vprules_open(path, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_str_eq(route(r, "ads.example", 80), "n");
	vprules_close(r);
	/* a missing relative list is named as resolved */
	put(path, "outbound d direct\nroute d domain-list:none.txt\n"
	    "default d\n");
	ck_assert_int_eq(chdir(sub), 0);
	ck_assert_int_eq(vprules_compile("../rules", err, sizeof(err)), -1);
	snprintf(l, sizeof(l), "%s/none.txt", dir);
	ck_assert_msg(strstr(err, "../rules:2: ") == err &&
	    strstr(err, l) != NULL, "%s", err);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vprules");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, domains);
	tcase_add_test(tc, ip_spellings);
	tcase_add_test(tc, ips_ports);
	tcase_add_test(tc, conn_matchers);
	tcase_add_test(tc, order_and_lists);
	tcase_add_test(tc, big_lists);
	tcase_add_test(tc, bad_lines);
	tcase_add_test(tc, regexp_too_complex);
	tcase_add_test(tc, socks5_endpoints);
	tcase_add_test(tc, write_error);
	tcase_add_test(tc, list_errors);
	tcase_add_test(tc, stale_missing_corrupt);
	tcase_add_test(tc, relative_paths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
