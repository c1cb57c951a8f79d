/*
 * vpprivs: resolve and drop to a user and group.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpprivs.h"

/* reason(err, errlen, fmt, ...): a reason, errno kept, -1. */
#define reason(err, errlen, ...) vpio_errf(err, errlen, 0, __VA_ARGS__)

int
vpprivs_resolve(const char *user, const char *group, uid_t *uid,
    gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	long long v;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (user != NULL) {
		if (*user == '\0')
			return reason(err, errlen, "empty user name");
		errno = 0;
		if ((pw = getpwnam(user)) != NULL) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
		} else if (vpio_parse_num(user, 0, 0x7fffffff, &v) == 0) {
			*uid = (uid_t)v;
			if ((pw = getpwuid(*uid)) != NULL)
				*gid = pw->pw_gid;
		} else
			return reason(err, errlen, "no such user: %s", user);
	}
	if (group != NULL) {
		if (*group == '\0')
			return reason(err, errlen, "empty group name");
		if ((gr = getgrnam(group)) != NULL)
			*gid = gr->gr_gid;
		else if (vpio_parse_num(group, 0, 0x7fffffff, &v) == 0)
			*gid = (gid_t)v;
		else
			return reason(err, errlen, "no such group: %s", group);
	}
	if (user != NULL && *gid == (gid_t)-1)
		return reason(err, errlen, "user %s has no group; give one",
		    user);
	return 0;
}

int
vpprivs_drop(const char *user, const char *group, char *err, size_t errlen)
{
	struct passwd *pw = NULL;
	uid_t uid;
	gid_t gid;

	if (user == NULL && group == NULL)
		return 0;
	if (vpprivs_resolve(user, group, &uid, &gid, err, errlen) == -1)
		return -1;
	if (uid != (uid_t)-1)
		pw = getpwuid(uid);
	if (pw != NULL && group == NULL) {
		if (initgroups(pw->pw_name, gid) == -1)
			return reason(err, errlen, "initgroups %s: %s",
			    pw->pw_name, strerror(errno));
	} else if (setgroups(1, &gid) == -1)
		return reason(err, errlen, "setgroups %ld: %s", (long)gid,
		    strerror(errno));
	if (setresgid(gid, gid, gid) == -1)
		return reason(err, errlen, "setgid %ld: %s", (long)gid,
		    strerror(errno));
	if (uid != (uid_t)-1) {
		if (setresuid(uid, uid, uid) == -1)
			return reason(err, errlen, "setuid %ld: %s", (long)uid,
			    strerror(errno));
		if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
			return reason(err, errlen,
			    "could regain root after dropping to uid %ld",
			    (long)uid);
	}
	return 0;
}
