/*
 * vpusers: users file loading and constant-time password checks.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpusers.h"

#define USERS_MAX	10000
#define FIELD_MAX	255

struct vpuser {
	char	name[FIELD_MAX + 1];
	char	pass[FIELD_MAX + 1];
	size_t	plen;
};

struct vpusers {
	struct vpuser	*v;
	size_t		 n;
};

void
vpusers_free(struct vpusers *u)
{
	if (u == NULL)
		return;
	if (u->v != NULL) {
		explicit_bzero(u->v, u->n * sizeof(*u->v));
		free(u->v);
	}
	free(u);
}

struct vpusers *
vpusers_load(const char *path, char *err, size_t errlen)
{
	struct vpusers *u;
	struct vpuser *nv;
	struct stat st;
	char *line = NULL, *colon, *e;
	size_t cap = 0, ln = 0, ul, pl;
	ssize_t n;
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: readable or writable by group or "
		    "others (mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL || (u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		else
			close(fd);
		return NULL;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		ln++;
		e = line + n;
		while (e > line && (e[-1] == '\n' || e[-1] == '\r'))
			*--e = '\0';
		/* Blank by length: a line of NULs is refused below. */
		if (line[0] == '#' || e == line)
			continue;
		if (memchr(line, '\0', (size_t)(e - line)) != NULL ||
		    (colon = strchr(line, ':')) == NULL || colon == line) {
			snprintf(err, errlen, "%s:%zu: expected user:password",
			    path, ln);
			goto fail;
		}
		ul = (size_t)(colon - line);
		pl = (size_t)(e - colon - 1);
		if (ul > FIELD_MAX || pl > FIELD_MAX || pl == 0) {
			snprintf(err, errlen, "%s:%zu: user or password empty or "
			    "longer than 255 bytes", path, ln);
			goto fail;
		}
		if (u->n == USERS_MAX) {
			snprintf(err, errlen, "%s: more than %d users", path,
			    USERS_MAX);
			goto fail;
		}
		if ((nv = reallocarray(u->v, u->n + 1, sizeof(*nv))) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
		u->v = nv;
		memset(&nv[u->n], 0, sizeof(nv[u->n]));
		memcpy(nv[u->n].name, line, ul);
		memcpy(nv[u->n].pass, colon + 1, pl);
		nv[u->n].plen = pl;
		u->n++;
		explicit_bzero(line, cap);
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	return u;
fail:
	explicit_bzero(line, cap);
	free(line);
	fclose(f);
	vpusers_free(u);
	return NULL;
}

/* Compares a and b over max bytes without an early exit. */
static int
ct_eq(const char *a, size_t al, const char *b, size_t bl)
{
	unsigned char d = al != bl;
	size_t i;

	for (i = 0; i < FIELD_MAX + 1; i++)
		d |= (unsigned char)((i < al ? (unsigned char)a[i] : 0) ^
		    (i < bl ? (unsigned char)b[i] : 0));
	return d == 0;
}

int
vpusers_check(const struct vpusers *u, const char *user, const char *pass)
{
	size_t i, pl = strnlen(pass, FIELD_MAX + 1);
	int ok = 0;

	if (pl > FIELD_MAX)
		return 0;
	for (i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, user) == 0)
			ok |= ct_eq(u->v[i].pass, u->v[i].plen, pass, pl);
	return ok;
}
