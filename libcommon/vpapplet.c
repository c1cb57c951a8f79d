/*
 * vpapplet: the programs that can run in a forked child without exec.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpapplet.h"
#include "vpdial.h"
#include "vpdispatch.h"
#include "vplog.h"
#include "vpspawn.h"

extern char **environ;

static const struct {
	const char	*name;
	vpapplet_fn	 fn;
} applets[] = {
	{ "vp-dial", vpdial_main },
	{ "vp-dispatch", vpdispatch_main },
};

/* Resolves name like execvp would; 0 and st filled, or -1. */
static int
resolve(const char *name, struct stat *st)
{
	char path[PATH_MAX];

	if (vpspawn_which(name, path, sizeof(path)) == -1)
		return -1;
	return stat(path, st);
}

vpapplet_fn
vpapplet_find(const char *argv0)
{
	char self[PATH_MAX], sib[PATH_MAX];
	const char *base;
	struct stat want, have;
	ssize_t n;
	size_t i;
	int r;

	if (argv0 == NULL)
		return NULL;
	base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	for (i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		if (strcmp(base, applets[i].name) != 0)
			continue;
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
			return NULL;
		self[n] = '\0';
		r = snprintf(sib, sizeof(sib), "%s/%s", dirname(self),
		    applets[i].name);
		if (r < 0 || (size_t)r >= sizeof(sib))
			return NULL;
		if (stat(sib, &have) == -1 || resolve(argv0, &want) == -1)
			return NULL;
		if (have.st_dev != want.st_dev || have.st_ino != want.st_ino)
			return NULL;
		return applets[i].fn;
	}
	return NULL;
}

pid_t
vpapplet_spawn(vpapplet_fn fn, char *const argv[], int fd_in, int fd_out,
    char *const envp[], const sigset_t *changed)
{
	pid_t pid;
	int argc;

	if ((pid = fork()) != 0)
		return pid;	/* parent, or -1 with errno */
	if ((fd_in >= 0 && fd_in != 0 && dup2(fd_in, 0) == -1) ||
	    (fd_out >= 0 && fd_out != 1 && dup2(fd_out, 1) == -1))
		_exit(EX_OSERR);
	closefrom(3);
	/* whatever the parent had buffered is the parent's to write */
	__fpurge(stdout);
	__fpurge(stderr);
	vpspawn_reset_signals_in(changed);
	vplog_level = VPLOG_WARN;
	vplog_set_fd(2);
	if (envp != NULL) {
		static char **volatile keep;	/* see below */
		size_t n;

		/*
		 * The program may unsetenv() entries of envp; keep every
		 * string reachable so leak checkers see no leak at exit.
		 */
		for (n = 0; envp[n] != NULL; n++)
			;
		if ((keep = malloc((n + 1) * sizeof(*keep))) != NULL)
			memcpy(keep, envp, (n + 1) * sizeof(*keep));
		environ = (char **)envp;
	}
	for (argc = 0; argv[argc] != NULL; argc++)
		;
	/* the program sees its own name, not the parent's */
	exit(fn(argc, (char **)argv));
}
