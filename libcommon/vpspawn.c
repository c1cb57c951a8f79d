/*
 * vpspawn: posix_spawn wrappers and environment building.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpspawn.h"

extern char **environ;

static int
env_grow(struct vpenv *e)
{
	char **nv;
	size_t ncap;

	if (e->n + 2 <= e->cap)
		return 0;
	ncap = e->cap ? e->cap * 2 : 32;
	if ((nv = reallocarray(e->v, ncap, sizeof(*nv))) == NULL)
		return -1;
	e->v = nv;
	e->cap = ncap;
	return 0;
}

int
vpenv_init(struct vpenv *e, int from_environ)
{
	char **p;

	memset(e, 0, sizeof(*e));
	if (env_grow(e) == -1)
		return -1;
	e->v[0] = NULL;
	if (!from_environ || environ == NULL)
		return 0;
	for (p = environ; *p; p++) {
		if (env_grow(e) == -1)
			goto fail;
		if ((e->v[e->n] = strdup(*p)) == NULL)
			goto fail;
		e->v[++e->n] = NULL;
	}
	return 0;
fail:
	vpenv_free(e);
	return -1;
}

static ssize_t
env_find(const struct vpenv *e, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], key, kl) == 0 && e->v[i][kl] == '=')
			return (ssize_t)i;
	return -1;
}

int
vpenv_set(struct vpenv *e, const char *key, const char *value)
{
	char *kv;
	ssize_t i;

	if (asprintf(&kv, "%s=%s", key, value) == -1)
		return -1;
	if ((i = env_find(e, key)) >= 0) {
		free(e->v[i]);
		e->v[i] = kv;
		return 0;
	}
	if (env_grow(e) == -1) {
		free(kv);
		return -1;
	}
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
	return 0;
}

int
vpenv_setf(struct vpenv *e, const char *key, const char *fmt, ...)
{
	char *val;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	r = vpenv_set(e, key, val);
	free(val);
	return r;
}

void
vpenv_unset(struct vpenv *e, const char *key)
{
	ssize_t i;

	if ((i = env_find(e, key)) < 0)
		return;
	free(e->v[i]);
	memmove(&e->v[i], &e->v[i + 1], (e->n - i) * sizeof(e->v[0]));
	e->n--;
}

const char *
vpenv_get(const struct vpenv *e, const char *key)
{
	ssize_t i = env_find(e, key);

	return i < 0 ? NULL : e->v[i] + strlen(key) + 1;
}

void
vpenv_free(struct vpenv *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static int
spawn_prepare(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
    int fd_in, int fd_out)
{
	sigset_t all, none;

	sigfillset(&all);
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(fa) != 0)
		return -1;
	if (posix_spawnattr_init(at) != 0) {
		posix_spawn_file_actions_destroy(fa);
		return -1;
	}
	posix_spawnattr_setsigdefault(at, &all);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
	/* dup2 onto itself clears FD_CLOEXEC in glibc's posix_spawn */
	if (fd_in >= 0)
		posix_spawn_file_actions_adddup2(fa, fd_in, 0);
	if (fd_out >= 0)
		posix_spawn_file_actions_adddup2(fa, fd_out, 1);
	posix_spawn_file_actions_addclosefrom_np(fa, 3);
	return 0;
}

pid_t
vpspawn(char *const argv[], int fd_in, int fd_out, char *const envp[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;
	int r;

	if (spawn_prepare(&fa, &at, fd_in, fd_out) == -1)
		return -1;
	r = posix_spawnp(&pid, argv[0], &fa, &at, argv,
	    envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return pid;
}

pid_t
vpspawn_shell(const char *cmd, int fd_in, int fd_out, char *const envp[])
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;
	int r;

	if (spawn_prepare(&fa, &at, fd_in, fd_out) == -1)
		return -1;
	r = posix_spawn(&pid, "/bin/sh", &fa, &at, argv,
	    envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return pid;
}

void
vpspawn_reset_signals(void)
{
	vpspawn_reset_signals_in(NULL);
}

void
vpspawn_reset_signals_in(const sigset_t *which)
{
	struct sigaction sa;
	sigset_t none;
	int s;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		if (which == NULL || sigismember(which, s) == 1)
			(void)sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
exec_prepare(int fd_in, int fd_out)
{
	if (fd_in >= 0 && fd_in != 0 && dup2(fd_in, 0) == -1)
		return -1;
	if (fd_out >= 0 && fd_out != 1 && dup2(fd_out, 1) == -1)
		return -1;
	if (fd_in > 1 && fd_in != fd_out)
		close(fd_in);
	if (fd_out > 1)
		close(fd_out);
	(void)vpio_set_cloexec(0, 0);
	(void)vpio_set_cloexec(1, 0);
	vpspawn_reset_signals();
	return 0;
}

int
vpspawn_exec(char *const argv[], int fd_in, int fd_out, char *const envp[])
{
	if (exec_prepare(fd_in, fd_out) == -1)
		return -1;
	execvpe(argv[0], argv, envp ? envp : environ);
	return -1;
}

int
vpspawn_exec_shell(const char *cmd, int fd_in, int fd_out,
    char *const envp[])
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };

	if (exec_prepare(fd_in, fd_out) == -1)
		return -1;
	execve("/bin/sh", argv, envp ? envp : environ);
	return -1;
}

/* An executable regular file? */
static int
runnable(const char *path)
{
	struct stat st;

	return access(path, X_OK) == 0 && stat(path, &st) == 0 &&
	    S_ISREG(st.st_mode);
}

int
vpspawn_which(const char *prog, char *buf, size_t n)
{
	const char *path, *p, *q;
	size_t dl;
	int r;

	if (strchr(prog, '/') != NULL) {
		if (strlcpy(buf, prog, n) >= n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (runnable(buf))
			return 0;
		if (errno == 0)
			errno = EACCES;
		return -1;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = q + 1) {
		q = strchr(p, ':');
		dl = q ? (size_t)(q - p) : strlen(p);
		r = snprintf(buf, n, "%.*s%s%s", (int)dl, p, dl ? "/" : "",
		    prog);
		if (r > 0 && (size_t)r < n && runnable(buf))
			return 0;
		if (q == NULL)
			break;
	}
	errno = ENOENT;
	return -1;
}

int
vpspawn_usable(const char *prog, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	int e;

	if (vpspawn_which(prog, buf, sizeof(buf)) == 0)
		return 0;
	e = errno;
	if (strchr(prog, '/') != NULL)
		(void)snprintf(err, errlen, "program %s: %s", prog,
		    strerror(e));
	else
		(void)snprintf(err, errlen, "program %s: not found in PATH",
		    prog);
	errno = e;
	return -1;
}
