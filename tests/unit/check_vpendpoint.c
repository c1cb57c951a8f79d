/*
 * Unit tests for vpendpoint: the endpoint grammar, destination checks
 * and template expansion, including hostile input.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vpendpoint.h"

static struct vpendpoint ep;
static char err[256];

START_TEST(tcp_forms)
{
	ck_assert_int_eq(vpep_parse("tcp:127.0.0.1:80", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(ep.kind, VPEP_TCP);
	ck_assert_str_eq(ep.host, "127.0.0.1");
	ck_assert_uint_eq(ep.port, 80);
	ck_assert_int_eq(vpep_parse("example.org:443", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.host, "example.org");
	ck_assert_uint_eq(ep.port, 443);
	ck_assert_int_eq(vpep_parse("[::1]:1080", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.host, "::1");
	ck_assert_int_eq(vpep_parse("tcp::1080", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.host, "");
	ck_assert_int_eq(vpep_parse("tcp:*:0", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.host, "");
	ck_assert_uint_eq(ep.port, 0);
	ck_assert_int_eq(vpep_parse("udp:0.0.0.0:4000", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(ep.kind, VPEP_UDP);
}
END_TEST

START_TEST(tcp_bad)
{
	const char *bad[] = {
		"tcp:host", "tcp:host:", "tcp:host:65536", "tcp:host:-1",
		"tcp:host:80x", "::1:80", "[::1", "[::1]x80", "[zz]:80",
		"tcp:bad;host:80", "tcp:$(id):80", "", "tcp:h:99999999999999999999",
		"[]:80", "tcp:-x:80",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(vpep_parse(bad[i], &ep, err, sizeof(err)) == -1,
		    "accepted '%s'", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for '%s'", bad[i]);
	}
	ck_assert_int_eq(vpep_parse(NULL, &ep, err, sizeof(err)), -1);
}
END_TEST

START_TEST(unix_forms)
{
	ck_assert_int_eq(vpep_parse("unix:/run/vp.sock", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(ep.kind, VPEP_UNIX);
	ck_assert_str_eq(ep.path, "/run/vp.sock");
	ck_assert_int_eq(ep.mode, -1);
	ck_assert_int_eq(vpep_parse("unix:/tmp/a,b.sock,mode=0660,owner=root,group=adm",
	    &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.path, "/tmp/a,b.sock");
	ck_assert_int_eq(ep.mode, 0660);
	ck_assert_str_eq(ep.owner, "root");
	ck_assert_str_eq(ep.group, "adm");
	ck_assert_int_eq(vpep_parse("unix:@abstract", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.path, "@abstract");
	/* commas elsewhere: part of the path; ",word=" in a directory too */
	ck_assert_int_eq(vpep_parse("unix:/tmp/a,B=1,2=x,.sock", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.path, "/tmp/a,B=1,2=x,.sock");
	ck_assert_int_eq(vpep_parse("unix:/tmp/d,x=y/s,mode=0600", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.path, "/tmp/d,x=y/s");
	ck_assert_int_eq(ep.mode, 0600);
}
END_TEST

START_TEST(unix_bad)
{
	char longp[300];

	ck_assert_int_eq(vpep_parse("unix:", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("unix:/x,mode=999", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("unix:/x,mode=", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("unix:/x,mode=0600,color=red", &ep, err, sizeof(err)), -1);
	/* a misspelt option is an error naming it, not part of the path */
	ck_assert_int_eq(vpep_parse("unix:/x/e.sock,mdoe=0600", &ep, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'mdoe'") != NULL, "%s", err);
	ck_assert_int_eq(vpep_parse("unix:/x/e.sock,mode=0600,mdoe=1", &ep, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'mdoe'") != NULL, "%s", err);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	memcpy(longp, "unix:/", 6);
	ck_assert_int_eq(vpep_parse(longp, &ep, err, sizeof(err)), -1);
}
END_TEST

START_TEST(other_forms)
{
	ck_assert_int_eq(vpep_parse("exec:ncat host 22", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(ep.kind, VPEP_EXEC);
	ck_assert_str_eq(ep.cmd, "ncat host 22");
	ck_assert_int_eq(vpep_parse("exec:", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("fd:3", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(ep.fd, 3);
	ck_assert_int_eq(vpep_parse("fd:x", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("fd:", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("systemd", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.name, "");
	ck_assert_int_eq(vpep_parse("systemd:web", &ep, err, sizeof(err)), 0);
	ck_assert_str_eq(ep.name, "web");
	ck_assert_int_eq(vpep_parse("systemd:", &ep, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("stdio", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(ep.kind, VPEP_STDIO);
	ck_assert_int_eq(vpep_parse("-", &ep, err, sizeof(err)), 0);
}
END_TEST

START_TEST(host_ok)
{
	char big[300];

	ck_assert(vpep_host_ok("example.org"));
	ck_assert(vpep_host_ok("a-b_c.d1"));
	ck_assert(vpep_host_ok("10.0.0.1"));
	ck_assert(vpep_host_ok("fe80::1"));
	ck_assert(!vpep_host_ok(""));
	ck_assert(!vpep_host_ok("a;b"));
	ck_assert(!vpep_host_ok("$(id)"));
	ck_assert(!vpep_host_ok("`id`"));
	ck_assert(!vpep_host_ok("a b"));
	ck_assert(!vpep_host_ok("a\nb"));
	ck_assert(!vpep_host_ok("-oProxyCommand=x"));
	memset(big, 'a', sizeof(big));
	big[256] = '\0';
	ck_assert(!vpep_host_ok(big));
	big[255] = '\0';
	ck_assert(vpep_host_ok(big));
}
END_TEST

START_TEST(expand)
{
	char out[256];

	ck_assert_int_eq(vpep_expand("vp-dial %h %p", "example.org", 443,
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "vp-dial 'example.org' '443'");
	ck_assert_int_eq(vpep_expand("ssh -W %h:%p j 100%%", "::1", 22,
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "ssh -W '::1':'22' j 100%");
	ck_assert_int_eq(vpep_expand("x %q", "a", 1, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(vpep_expand("x %h", "a;b", 1, out, sizeof(out)), -1);
	ck_assert_int_eq(vpep_expand("x %h", "abc", 1, out, 6), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(vpep_expand("trailing %", "abc", 1, out, sizeof(out)), -1);
}
END_TEST

START_TEST(format_roundtrip)
{
	char buf[300];
	struct vpendpoint b;
	const char *forms[] = { "tcp:[::1]:80", "tcp:127.0.0.1:8080",
	    "unix:/tmp/x", "udp:1.2.3.4:4000", "fd:3", "systemd:n", "stdio",
	    "exec:cat" };
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		ck_assert_int_eq(vpep_parse(forms[i], &ep, err, sizeof(err)), 0);
		vpep_format(&ep, buf, sizeof(buf));
		ck_assert_str_eq(buf, forms[i]);
		ck_assert_int_eq(vpep_parse(buf, &b, err, sizeof(err)), 0);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpendpoint");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tcp_forms);
	tcase_add_test(tc, tcp_bad);
	tcase_add_test(tc, unix_forms);
	tcase_add_test(tc, unix_bad);
	tcase_add_test(tc, other_forms);
	tcase_add_test(tc, host_ok);
	tcase_add_test(tc, expand);
	tcase_add_test(tc, format_roundtrip);
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
