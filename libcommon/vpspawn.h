/*
 * vpspawn: start programs with a connection on fd 0/1 (posix_spawn,
 * so vfork cost), default signal dispositions, an empty signal mask
 * and no stray descriptors; and build their environment.
 */
#ifndef VPSPAWN_H
#define VPSPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include <signal.h>

/* An environment under construction: a copy of environ plus changes. */
struct vpenv {
	char	**v;	/* NULL-terminated */
	size_t	  n, cap;
};

/* Starts from environ (or empty when from_environ is 0). 0 or -1. */
int	vpenv_init(struct vpenv *e, int from_environ);
/* Sets KEY=VALUE, replacing an existing KEY. 0 or -1 (ENOMEM). */
int	vpenv_set(struct vpenv *e, const char *key, const char *value);
int	vpenv_setf(struct vpenv *e, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	vpenv_unset(struct vpenv *e, const char *key);
const char *vpenv_get(const struct vpenv *e, const char *key);
void	vpenv_free(struct vpenv *e);

/*
 * Spawns argv[0] (searched in PATH) with fd_in on 0 and fd_out on 1
 * (-1: inherit), stderr inherited, descriptors >= 3 closed, all signals
 * at default and unblocked. envp NULL means environ.
 * Returns the pid, or -1 with errno set.
 */
pid_t	vpspawn(char *const argv[], int fd_in, int fd_out, char *const envp[]);
/* The same for "/bin/sh -c cmd". */
pid_t	vpspawn_shell(const char *cmd, int fd_in, int fd_out,
	    char *const envp[]);

/*
 * Replaces this process with argv (PATH search) after moving fd_in to 0
 * and fd_out to 1 (-1 leaves them) and resetting signals. Returns -1
 * with errno only on failure.
 */
int	vpspawn_exec(char *const argv[], int fd_in, int fd_out,
	    char *const envp[]);
int	vpspawn_exec_shell(const char *cmd, int fd_in, int fd_out,
	    char *const envp[]);

/*
 * Finds prog as execvp would: a name with a '/' as it is, else the
 * first executable regular file of that name in $PATH (default
 * /usr/local/bin:/usr/bin:/bin). Stores the path in buf (n bytes) and
 * returns 0, or -1 with errno (ENOENT, EACCES, ENAMETOOLONG).
 */
int	vpspawn_which(const char *prog, char *buf, size_t n);

/*
 * vpspawn_usable(): 0 if prog can be run (vpspawn_which() finds it),
 * else -1 with errno and the reason a user is told in err ("program
 * PROG: not found in PATH", or with the error for a name with a '/').
 */
int	vpspawn_usable(const char *prog, char *err, size_t errlen);

/* Resets every signal to its default disposition and unblocks them all. */
void	vpspawn_reset_signals(void);
/* The same for the signals in which only (NULL: all); the mask is emptied. */
void	vpspawn_reset_signals_in(const sigset_t *which);

#endif
