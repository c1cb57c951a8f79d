/*
 * vpucspi: UCSPI environment for a connected socket.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpspawn.h"
#include "vpucspi.h"

static const char *const tcp_vars[] = {
	"TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT",
	"TCPREMOTEHOST", "TCPREMOTEINFO", "TCPLOCALHOST", NULL
};
static const char *const unix_vars[] = {
	"UNIXREMOTEPID", "UNIXREMOTEEUID", "UNIXREMOTEEGID", NULL
};

int
vpucspi_addr(const struct sockaddr *sa, char *ip, size_t iplen,
    unsigned *port)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in_addr a4;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, ip, iplen) == NULL)
			return -1;
		if (port)
			*port = ntohs(sin->sin_port);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&a4, &sin6->sin6_addr.s6_addr[12], 4);
			if (inet_ntop(AF_INET, &a4, ip, iplen) == NULL)
				return -1;
		} else if (inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
		    iplen) == NULL)
			return -1;
		if (port)
			*port = ntohs(sin6->sin6_port);
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

static void
unset_list(struct vpenv *e, const char *const *names)
{
	for (; *names; names++)
		vpenv_unset(e, *names);
}

/* Sets PREFIXIP and PREFIXPORT from sa. 0 or -1. */
static int
set_pair(struct vpenv *e, const char *ipvar, const char *portvar,
    const struct sockaddr *sa)
{
	char ip[VPUCSPI_IPMAX];
	unsigned port;

	if (vpucspi_addr(sa, ip, sizeof(ip), &port) == -1)
		return -1;
	if (vpenv_set(e, ipvar, ip) == -1 ||
	    vpenv_setf(e, portvar, "%u", port) == -1)
		return -1;
	return 0;
}

int
vpucspi_env_addrs(struct vpenv *e, const struct sockaddr *remote,
    const struct sockaddr *local)
{
	if (vpenv_set(e, "PROTO", "TCP") == -1)
		return -1;
	unset_list(e, unix_vars);
	vpenv_unset(e, "TCPREMOTEHOST");
	vpenv_unset(e, "TCPREMOTEINFO");
	vpenv_unset(e, "TCPLOCALHOST");
	if (remote && set_pair(e, "TCPREMOTEIP", "TCPREMOTEPORT", remote) == -1)
		return -1;
	if (local && set_pair(e, "TCPLOCALIP", "TCPLOCALPORT", local) == -1)
		return -1;
	return 0;
}

int
vpucspi_env(struct vpenv *e, int fd)
{
	struct sockaddr_storage rss, lss;
	socklen_t rlen = sizeof(rss), llen = sizeof(lss);
	struct ucred uc;
	socklen_t uclen = sizeof(uc);

	memset(&lss, 0, sizeof(lss));
	if (getsockname(fd, (struct sockaddr *)&lss, &llen) == -1)
		return -1;
	switch (lss.ss_family) {
	case AF_INET:
	case AF_INET6:
		memset(&rss, 0, sizeof(rss));
		if (getpeername(fd, (struct sockaddr *)&rss, &rlen) == -1)
			return -1;
		return vpucspi_env_addrs(e, (struct sockaddr *)&rss,
		    (struct sockaddr *)&lss);
	case AF_UNIX:
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) == -1)
			return -1;
		if (vpenv_set(e, "PROTO", "UNIX") == -1)
			return -1;
		unset_list(e, tcp_vars);
		if (vpenv_setf(e, "UNIXREMOTEPID", "%ld", (long)uc.pid) == -1 ||
		    vpenv_setf(e, "UNIXREMOTEEUID", "%lu",
		    (unsigned long)uc.uid) == -1 ||
		    vpenv_setf(e, "UNIXREMOTEEGID", "%lu",
		    (unsigned long)uc.gid) == -1)
			return -1;
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

int
vpucspi_fill_environ(int fd)
{
	struct vpenv e;
	const char *const *p;
	size_t i;
	char *eq;

	if (getenv("PROTO") != NULL)
		return 0;
	if (vpenv_init(&e, 0) == -1)
		return -1;
	if (vpucspi_env(&e, fd) == -1) {
		vpenv_free(&e);
		return -1;
	}
	for (p = strcmp(vpenv_get(&e, "PROTO"), "TCP") == 0 ? unix_vars :
	    tcp_vars; *p; p++)
		(void)unsetenv(*p);
	for (i = 0; i < e.n; i++) {
		if ((eq = strchr(e.v[i], '=')) == NULL)
			continue;
		*eq = '\0';
		if (setenv(e.v[i], eq + 1, 1) == -1) {
			vpenv_free(&e);
			return -1;
		}
	}
	vpenv_free(&e);
	return 1;
}
