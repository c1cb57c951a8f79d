/*
 * vplisten: listening sockets from a parsed endpoint (vpendpoint.h).
 *
 *   tcp:HOST:PORT   v4 or v6; SO_REUSEADDR; an empty HOST ("tcp::PORT",
 *                   "*") binds [::] dual-stack, or 0.0.0.0 without IPv6;
 *                   a name binds every address it resolves to, all on
 *                   the same port (port 0: the first one's)
 *   unix:PATH       with ,mode= ,owner= ,group=, applied in a private
 *                   directory next to PATH; the socket is renamed to
 *                   PATH once it listens; a stale socket file (no
 *                   listener behind it) is replaced, a live one is not;
 *                   "@name" is the abstract namespace
 *   fd:N            an inherited socket (listen() is called if needed)
 *   systemd[:NAME]  sockets passed by systemd (LISTEN_PID, LISTEN_FDS,
 *                   LISTEN_FDNAMES), only those named NAME if given
 *
 * Every descriptor returned is close-on-exec and non-blocking.
 * Nothing here exits or logs: functions return -1 with errno set and a
 * reason (one line, no trailing newline) in err.
 */
#ifndef VPLISTEN_H
#define VPLISTEN_H

#include <sys/types.h>

#include <stddef.h>

#include "vpendpoint.h"

#define VPLISTEN_MAXFDS	64

struct vplisten {
	int	fds[VPLISTEN_MAXFDS];
	size_t	nfds;
	char	path[VPEP_PATHMAX];	/* socket file we created; "" none */
	dev_t	dev;			/* its identity, to remove only ours */
	ino_t	ino;
};

/*
 * vplisten_open(): opens the listening socket(s) for ep into l
 * (backlog <= 0 means SOMAXCONN). Returns the number of descriptors
 * (>= 1), or -1 with errno set and a reason in err; nothing is left
 * open on failure. errno EADDRINUSE: the address (or a live unix
 * socket) is in use; EEXIST: the unix path is not a socket; EINVAL:
 * an endpoint kind that cannot listen or a bad inherited descriptor;
 * EHOSTUNREACH: the host name does not resolve; EAGAIN: the resolver
 * failed for now. On success err is "" or a warning worth logging (an
 * address of a name's several that could not be bound was left out).
 */
int	vplisten_open(struct vplisten *l, const struct vpendpoint *ep,
	    int backlog, char *err, size_t errlen);

/*
 * vplisten_status(): the sysexits status for a vplisten_open() errno,
 * the same in every program: in use or not an address of this host 69,
 * a host name that does not resolve 68 (75 if the resolver failed for
 * now), out of memory or descriptors 71, anything else (paths, owners,
 * systemd variables) a configuration mistake, 78.
 */
int	vplisten_status(int err);

/*
 * vplisten_systemd(): takes the sockets systemd passed to this process
 * (Accept=no style): LISTEN_PID must be ours, LISTEN_FDS gives the count
 * from fd 3, LISTEN_FDNAMES the names. With name non-NULL and non-empty
 * only sockets of that name are taken; the others are closed. Each must
 * be a socket of type socktype (0: any) and, for SOCK_STREAM, listening.
 * The LISTEN_* variables are removed from the environment so children do
 * not see them. Returns the count (>= 1) or -1 (ENOENT: none passed or
 * none by that name; EINVAL: wrong type or bad variables).
 */
int	vplisten_systemd(struct vplisten *l, const char *name, int socktype,
	    char *err, size_t errlen);

/*
 * vplisten_port(): the local port fd is bound to, or 0 for a non-IP
 * socket (or on error).
 */
unsigned vplisten_port(int fd);

/*
 * vplisten_close(): closes every descriptor in l and, when unlink_path
 * is set, removes the unix socket file it created, but only if the file
 * is still the one it bound (same device and inode). Safe to call from
 * any state, repeatedly.
 */
void	vplisten_close(struct vplisten *l, int unlink_path);

/*
 * vplisten_unlink(): removes l's unix socket file if it is still ours.
 * Returns 1 if removed, 0 if there was nothing of ours to remove.
 */
int	vplisten_unlink(struct vplisten *l);

#endif
