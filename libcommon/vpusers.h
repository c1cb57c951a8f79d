/*
 * vpusers: the users file of vp-dispatch -a: "user:password" lines,
 * '#' comments. A file readable by group or others is refused, and
 * passwords are compared in constant time.
 */
#ifndef VPUSERS_H
#define VPUSERS_H

#include <stddef.h>

struct vpusers;

/*
 * vpusers_load(): reads path. Returns the table, or NULL with a
 * message (naming the file and line) in err.
 */
struct vpusers *vpusers_load(const char *path, char *err, size_t errlen);

/* vpusers_check(): 1 if user exists with this password, else 0. */
int	vpusers_check(const struct vpusers *u, const char *user,
	    const char *pass);

/* Wipes the passwords and frees the table. */
void	vpusers_free(struct vpusers *u);

#endif
