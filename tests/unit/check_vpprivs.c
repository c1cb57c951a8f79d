/*
 * Unit tests for vpprivs: name/number resolution, bad names, and (as
 * root, in the forked test process) a real drop that cannot be undone.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpprivs.h"

START_TEST(resolve_names_and_numbers)
{
	uid_t u;
	gid_t g;
	char err[128];

	ck_assert_int_eq(vpprivs_resolve("root", NULL, &u, &g, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(u, 0);
	ck_assert_int_eq(g, 0);
	ck_assert_int_eq(vpprivs_resolve("65534", "65534", &u, &g, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(u, 65534);
	ck_assert_int_eq(g, 65534);
	ck_assert_int_eq(vpprivs_resolve(NULL, "0", &u, &g, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(u, (uid_t)-1);
	ck_assert_int_eq(g, 0);
	ck_assert_int_eq(vpprivs_resolve(NULL, NULL, &u, &g, err,
	    sizeof(err)), 0);
}
END_TEST

START_TEST(resolve_bad)
{
	uid_t u;
	gid_t g;
	char err[128];

	ck_assert_int_eq(vpprivs_resolve("no-such-user-vp", NULL, &u, &g,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no such user"));
	ck_assert_int_eq(vpprivs_resolve(NULL, "no-such-group-vp", &u, &g,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no such group"));
	ck_assert_int_eq(vpprivs_resolve("", NULL, &u, &g, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(vpprivs_resolve("-5", NULL, &u, &g, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(vpprivs_resolve("99999999999", NULL, &u, &g, err,
	    sizeof(err)), -1);
}
END_TEST

START_TEST(drop_for_real)
{
	char err[128];
	gid_t groups[4];

	if (geteuid() != 0)
		return;		/* needs root; CI runs as root */
	ck_assert_int_eq(vpprivs_drop("nobody", NULL, err, sizeof(err)), 0);
	ck_assert_int_ne(getuid(), 0);
	ck_assert_int_ne(geteuid(), 0);
	ck_assert_int_eq(setuid(0), -1);
	ck_assert_int_le(getgroups(4, groups), 4);
}
END_TEST

START_TEST(drop_group_only)
{
	char err[128];
	gid_t groups[4];
	int n;

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(vpprivs_drop(NULL, "65534", err, sizeof(err)), 0);
	ck_assert_int_eq(getgid(), 65534);
	ck_assert_int_eq(getegid(), 65534);
	n = getgroups(4, groups);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(groups[0], 65534);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpprivs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, resolve_names_and_numbers);
	tcase_add_test(tc, resolve_bad);
	tcase_add_test(tc, drop_for_real);
	tcase_add_test(tc, drop_group_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_set_fork_status(sr, CK_FORK);	/* drops stay in the child */
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
