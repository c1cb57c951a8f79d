/*
 * vpucspi: the UCSPI environment describing a connection (DESIGN.md
 * "Per-connection environment"): PROTO=TCP with TCPREMOTEIP/PORT and
 * TCPLOCALIP/PORT, or PROTO=UNIX with UNIXREMOTEPID/EUID/EGID from
 * SO_PEERCRED. IPv4-mapped IPv6 addresses are shown as IPv4.
 * Nothing here exits or logs.
 */
#ifndef VPUCSPI_H
#define VPUCSPI_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "vpspawn.h"

/* Room for any address text vpucspi_addr() writes (INET6_ADDRSTRLEN). */
#define VPUCSPI_IPMAX	46

/*
 * vpucspi_addr(): writes the numeric address of sa (AF_INET or
 * AF_INET6; a v4-mapped v6 address as plain v4) into ip (iplen bytes,
 * VPUCSPI_IPMAX is enough) and its port into *port (may be NULL).
 * Returns 0, or -1 with errno EAFNOSUPPORT (other family) or ENOSPC.
 */
int	vpucspi_addr(const struct sockaddr *sa, char *ip, size_t iplen,
	    unsigned *port);

/*
 * vpucspi_env(): sets the UCSPI variables for the connected socket fd in
 * e: PROTO=TCP plus TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT
 * for TCP/IP, or PROTO=UNIX plus UNIXREMOTEPID, UNIXREMOTEEUID,
 * UNIXREMOTEEGID for a unix socket. Variables of the other protocol and
 * stale TCPREMOTEHOST/TCPREMOTEINFO/TCPLOCALHOST are removed, so one e
 * can be reused for every connection.
 * Returns 0, or -1 with errno set (ENOTSOCK, ENOTCONN, EAFNOSUPPORT,
 * ENOMEM, ...); e is then unchanged or partly updated.
 */
int	vpucspi_env(struct vpenv *e, int fd);

/*
 * vpucspi_env_addrs(): sets PROTO=TCP and the four TCP variables from
 * explicit addresses, e.g. those carried by a PROXY protocol header:
 * remote is the client, local the address it connected to (either may
 * be NULL to leave that pair alone). Returns 0, or -1 with errno.
 */
int	vpucspi_env_addrs(struct vpenv *e, const struct sockaddr *remote,
	    const struct sockaddr *local);

/*
 * vpucspi_fill_environ(): as tcp-env does, when PROTO is not set in the
 * process environment, describes fd (normally 0) with setenv(3) so that
 * a program started under inetd or systemd Accept=yes sees the same
 * variables as under vp-listen. Returns 1 if variables were set, 0 if
 * PROTO was already set, -1 with errno if fd is not a usable socket
 * (nothing set then).
 */
int	vpucspi_fill_environ(int fd);

#endif
