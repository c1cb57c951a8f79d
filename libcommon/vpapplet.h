/*
 * vpapplet: run a program of this project in a forked child without an
 * exec. A connection then costs a fork of the (small) parent instead of
 * fork + exec + ELF loading + dynamic linking, and the child shares the
 * parent's pages until it writes them, so an idle connection costs only
 * what it touched.
 *
 * A program is run this way only when it is exactly the program the user
 * named: its name is one of the applets and the file that PATH (or the
 * path given) resolves to is the sibling of the running binary
 * (dirname of /proc/self/exe). Anything else is exec'd as usual.
 */
#ifndef VPAPPLET_H
#define VPAPPLET_H

#include <sys/types.h>

#include <signal.h>

typedef int (*vpapplet_fn)(int, char *[]);

/*
 * Returns the applet's entry for argv0 (a name or a path), or NULL if
 * argv0 is not an applet or resolves to another file than our sibling.
 */
vpapplet_fn vpapplet_find(const char *argv0);

/*
 * Forks; the child moves fd_in to 0 and fd_out to 1, closes every other
 * descriptor >= 3, resets signals and the log state, takes envp as its
 * environment and runs fn(argc, argv), exiting with its result. The
 * same contract as vpspawn(). Returns the pid, or -1 with errno.
 *
 * changed: the signals whose disposition the caller changed from the
 * default (the child puts them back, as an exec would for caught ones;
 * one system call each instead of one per signal number, which matters
 * per connection), or NULL to reset every signal. The signal mask is
 * always emptied.
 */
pid_t	vpapplet_spawn(vpapplet_fn fn, char *const argv[], int fd_in,
	    int fd_out, char *const envp[], const sigset_t *changed);

#endif
