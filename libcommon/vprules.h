/*
 * vprules: vp-dispatch's routing rules. A text file is parsed and
 * compiled once into an indexed file (FILE.vprc, written to a temporary
 * name and renamed into place); each connection maps the compiled file
 * and matches in microseconds: domains by binary search in a sorted
 * table of reversed names, IP rules by binary search per prefix length,
 * the small matchers (port, user, keyword, regexp, ...) directly.
 *
 * Text format, one statement a line, '#' starts a comment:
 *
 *   outbound NAME exec|exec-early COMMAND...
 *   outbound NAME socks5 ENDPOINT
 *   outbound NAME direct|reject|blackhole
 *   route NAME MATCHER...
 *   default NAME
 *
 * Matchers: full: domain: keyword: regexp: domain-list: (one group),
 * ip: ip-list: (one group), port:N[-M], source:CIDR, user:, uid:, gid:,
 * inbound:socks5|socks4|http, protocol:tls|http. In one route, matchers
 * of one group are ORed and different groups ANDed; first match wins.
 */
#ifndef VPRULES_H
#define VPRULES_H

#include <stddef.h>

enum vprules_kind {
	VPRULE_DIRECT = 1,
	VPRULE_EXEC,
	VPRULE_EXEC_EARLY,
	VPRULE_SOCKS5,
	VPRULE_REJECT,
	VPRULE_BLACKHOLE
};

/* One connection, as the matcher sees it. NULL/-1: unknown. */
struct vprules_conn {
	const char	*host;		/* destination: a name or IP literal */
	const char	*sniffed;	/* sniffed name: overrides host for domains */
	unsigned	 port;
	const char	*source;	/* client IP literal */
	const char	*user;
	long		 uid, gid;	/* peer credentials (unix sockets) */
	const char	*inbound;	/* "socks5", "socks4", "http" */
	const char	*protocol;	/* sniffed: "tls", "http" */
};

struct vprules_out {
	const char	*name;
	enum vprules_kind kind;
	const char	*arg;		/* command or endpoint; "" if none */
};

struct vprules;		/* a mapped compiled file */

/*
 * vprules_compile(): parses text file path (and its list files) and
 * writes path.vprc atomically. A relative list file is taken from
 * path's directory; the compiled file records absolute paths, so it
 * opens from any cwd. Returns 0, or -1 with a message naming the file
 * and line in err.
 */
int	vprules_compile(const char *path, char *err, size_t errlen);

/*
 * vprules_open(): maps path.vprc. Fails (-1, message in err) when it
 * is missing, malformed, or older than path or one of its list files.
 */
struct vprules *vprules_open(const char *path, char *err, size_t errlen);
void	vprules_close(struct vprules *r);

/*
 * vprules_current(): 1 while r is still what vprules_open() would give:
 * the compiled file is the one mapped (vpio_same_file: same inode, size,
 * times, so also no chmod since) and
 * the text and list files it was compiled from are unchanged; else 0.
 * A few stat(2) calls; for a long-lived process that maps once.
 */
int	vprules_current(const struct vprules *r);

/*
 * vprules_match(): the outbound for c: the first route whose matchers
 * all hold, else the default. Returns 0 and fills out (pointing into
 * the mapping), or -1 (ENOMEM).
 */
int	vprules_match(struct vprules *r, const struct vprules_conn *c,
	    struct vprules_out *out);

/* Counts in the compiled file (for logs and tests). */
size_t	vprules_nroutes(const struct vprules *r);

#endif
