/*
 * vpprivs: drop to an unprivileged user and group after binding
 * (tcpserver's -u/-g, s6-applyuidgid). Never exits, never logs.
 */
#ifndef VPPRIVS_H
#define VPPRIVS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Resolves user (a name or a number; NULL: none) and group (likewise).
 * With a user and no group, the user's primary group is used. Stores
 * (uid_t)-1 / (gid_t)-1 for what is not asked. Returns 0, or -1 with a
 * reason in err.
 */
int	vpprivs_resolve(const char *user, const char *group, uid_t *uid,
	    gid_t *gid, char *err, size_t errlen);

/*
 * Drops to user/group (as vpprivs_resolve takes them): supplementary
 * groups set to the user's when no group is given, else to just the
 * group (the user's others are dropped), then the real, effective
 * and saved gid and uid. Checks that root cannot be regained. Returns 0,
 * or -1 with a reason in err. Both NULL is a no-op.
 */
int	vpprivs_drop(const char *user, const char *group, char *err,
	    size_t errlen);

#endif
