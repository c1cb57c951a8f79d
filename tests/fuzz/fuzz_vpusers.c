/*
 * Fuzz target: vpusers, the users file of vp-dispatch -a. The input is
 * the file (written with mode 0600 and loaded through vpusers_load()).
 * A model parses the same bytes: lines split at LF, trailing CR/LF
 * removed, '#' lines and empty lines skipped, "user:password" at the
 * first colon, user 1..255 bytes, password 1..255 bytes, no NUL, at
 * most 10000 users.
 *
 * Invariants: the file loads iff the model accepts it, and a refusal
 * names the file; every user:password of the file checks out; the same
 * user with a changed, longer, shorter or empty password does not
 * (unless the file itself lists that password for the user); an
 * unknown user never does.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpusers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NMAX	10000
#define FMAX	255

struct ent {
	char	user[FMAX + 1], pass[FMAX + 1];
};

static char path[64];
static struct ent *ents;

static void
cleanup(void)
{
	unlink(path);
}

/* The model: returns the number of users, or -1 if the file is bad. */
static long
model(const uint8_t *d, size_t n)
{
	size_t i = 0, b, e, c, nu = 0;

	while (i < n) {
		b = i;
		while (i < n && d[i] != '\n')
			i++;
		e = i;
		if (i < n)
			i++;
		while (e > b && (d[e - 1] == '\n' || d[e - 1] == '\r'))
			e--;
		if (e == b || d[b] == '#')
			continue;
		if (memchr(d + b, '\0', e - b) != NULL)
			return -1;
		for (c = b; c < e && d[c] != ':'; c++)
			;
		if (c == e || c == b)
			return -1;
		if (c - b > FMAX || e - c - 1 > FMAX || e - c - 1 == 0)
			return -1;
		if (nu == NMAX)
			return -1;
		memset(&ents[nu], 0, sizeof(ents[nu]));
		memcpy(ents[nu].user, d + b, c - b);
		memcpy(ents[nu].pass, d + c + 1, e - c - 1);
		nu++;
	}
	return (long)nu;
}

static int
listed(long nu, const char *user, const char *pass)
{
	long i;

	for (i = 0; i < nu; i++)
		if (strcmp(ents[i].user, user) == 0 &&
		    strcmp(ents[i].pass, pass) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vpusers *u;
	char err[512], pw[FMAX + 2];
	long nu, i;
	size_t pl;
	int fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz_vpusers.%ld",
		    (long)getpid());
		atexit(cleanup);
		if ((ents = calloc(NMAX, sizeof(*ents))) == NULL)
			abort();
	}
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	nu = model(data, size);
	err[0] = '\0';
	u = vpusers_load(path, err, sizeof(err));
	if ((u != NULL) != (nu >= 0))
		abort();
	if (u == NULL) {
		if (strncmp(err, path, strlen(path)) != 0)
			abort();
		return 0;
	}
	for (i = 0; i < nu && i < 64; i++) {
		const struct ent *e = &ents[i];

		if (!vpusers_check(u, e->user, e->pass))
			abort();
		pl = strlen(e->pass);
		memcpy(pw, e->pass, pl + 1);
		pw[pl - 1] ^= 1;			/* changed */
		if (vpusers_check(u, e->user, pw) != listed(nu, e->user, pw))
			abort();
		memcpy(pw, e->pass, pl);
		pw[pl] = 'x';				/* longer */
		pw[pl + 1] = '\0';
		if (vpusers_check(u, e->user, pw) != listed(nu, e->user, pw))
			abort();
		pw[pl - 1] = '\0';			/* shorter */
		if (vpusers_check(u, e->user, pw) != listed(nu, e->user, pw))
			abort();
		if (vpusers_check(u, e->user, ""))
			abort();
	}
	if (vpusers_check(u, "", "x") || (!listed(nu, "nobody\x01", "x") &&
	    vpusers_check(u, "nobody\x01", "x")))
		abort();
	vpusers_free(u);
	return 0;
}
