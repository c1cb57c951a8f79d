/*
 * vpnotify: readiness reports (DESIGN.md "Readiness").
 *
 *   READY=1 as one datagram to $NOTIFY_SOCKET (a path, or "@name" in
 *   the abstract namespace): systemd Type=notify, no libsystemd;
 *   a newline on a notification descriptor, then close (s6 style);
 *   the -1 convention: the bound port (or an empty line) on stdout,
 *   then stdout pointed at /dev/null.
 *
 * Nothing here exits or logs: -1 with errno set on failure.
 */
#ifndef VPNOTIFY_H
#define VPNOTIFY_H

/*
 * vpnotify_send(): sends state (e.g. "READY=1" or "STOPPING=1") to
 * $NOTIFY_SOCKET. Returns 1 if sent, 0 if NOTIFY_SOCKET is unset, -1
 * with errno (EINVAL for an unusable address). With unset non-zero the
 * variable is removed from the environment afterwards, so children do
 * not report for us.
 */
int	vpnotify_send(const char *state, int unset);

/* vpnotify_ready(): vpnotify_send("READY=1", unset). */
int	vpnotify_ready(int unset);

/*
 * vpnotify_fd(): writes a newline to fd and closes it (s6
 * notification-fd). Returns 0 or -1 with errno (the fd is closed
 * either way unless it was invalid).
 */
int	vpnotify_fd(int fd);

/*
 * vpnotify_stdout(): prints port followed by a newline on stdout (port
 * 0: just the newline) and then replaces stdout with /dev/null, so a
 * reader waiting for the line sees EOF next. Returns 0 or -1 with errno.
 */
int	vpnotify_stdout(unsigned port);

#endif
