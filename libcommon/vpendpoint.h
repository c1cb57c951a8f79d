/*
 * vpendpoint: the one endpoint grammar (DESIGN.md "Endpoints").
 *
 *   tcp:HOST:PORT  HOST:PORT  [V6]:PORT    TCP (HOST empty or "*": any)
 *   unix:PATH[,mode=0660][,owner=U][,group=G]  unix stream ("@name": abstract)
 *   udp:HOST:PORT                          UDP
 *   exec:COMMAND                           /bin/sh -c COMMAND on stdin/stdout
 *   fd:N  systemd  systemd:NAME            an inherited socket
 *   stdio  -                               our own stdin/stdout
 */
#ifndef VPENDPOINT_H
#define VPENDPOINT_H

#include <stddef.h>
#include <sys/types.h>

enum vpep_kind {
	VPEP_TCP = 1,
	VPEP_UNIX,
	VPEP_UDP,
	VPEP_EXEC,
	VPEP_FD,
	VPEP_SYSTEMD,
	VPEP_STDIO
};

#define VPEP_HOSTMAX	255
#define VPEP_PATHMAX	108	/* sun_path */
#define VPEP_CMDMAX	4096

struct vpendpoint {
	enum vpep_kind	kind;
	char		host[VPEP_HOSTMAX + 1];	/* tcp/udp; "" = any */
	unsigned	port;			/* tcp/udp */
	char		path[VPEP_PATHMAX];	/* unix; '@' = abstract */
	int		mode;			/* unix listener; -1 unset */
	char		owner[64];		/* unix listener; "" unset */
	char		group[64];
	char		cmd[VPEP_CMDMAX];	/* exec */
	int		fd;			/* fd:N */
	char		name[256];		/* systemd:NAME; "" = all */
};

/*
 * Parses s into ep. Returns 0, or -1 with a reason in err (errlen
 * bytes). Never exits, never logs.
 */
int	vpep_parse(const char *s, struct vpendpoint *ep, char *err,
	    size_t errlen);

/* Writes a canonical form of ep into buf ("tcp:[::1]:80", ...). */
const char *vpep_format(const struct vpendpoint *ep, char *buf, size_t n);

/*
 * vpep_host_ok(): is host safe to use as a destination? An IPv4 or
 * IPv6 literal, or a name of letters, digits, '-', '_' and '.', 1-255
 * bytes. Nothing else may reach a command template (CVE-2023-51385).
 */
int	vpep_host_ok(const char *host);

/*
 * Expands %h, %p and %% in tmpl with host and port, each substituted
 * shell-quoted ('...'), into out. Returns 0, or -1 (ENAMETOOLONG if out
 * is too small, EINVAL for an unknown % sequence or an unsafe host).
 */
int	vpep_expand(const char *tmpl, const char *host, unsigned port,
	    char *out, size_t outlen);

/* Splits "HOST:PORT" / "[V6]:PORT"; 0 or -1. port_required: 0 allows "HOST". */
int	vpep_split_hostport(const char *s, char *host, size_t hostlen,
	    unsigned *port, int port_required);

#endif
