/*
 * vplisten: listening sockets from an endpoint.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vpio.h"
#include "vplisten.h"

#define SD_LISTEN_FDS_START	3

/* fail(err, errlen, e, fmt, ...): a reason, errno e, -1. */
#define fail vpio_errf

static void
init(struct vplisten *l)
{
	memset(l, 0, sizeof(*l));
}

static void
close_all(struct vplisten *l)
{
	size_t i;
	int save = errno;

	for (i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	l->nfds = 0;
	errno = save;
}

/*
 * Binds and listens one TCP socket at sa; dual: 1 IPv6 takes IPv4 too,
 * -1 IPv6 only, 0 the system's default. fd or -1.
 */
static int
tcp_one(const struct sockaddr *sa, socklen_t len, int backlog, int dual)
{
	int fd, one = 1, zero = 0, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dual > 0 && sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
	else if (dual < 0 && sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, sa, len) == -1 || listen(fd, backlog) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int	tcp_all(struct vplisten *, const struct addrinfo *,
		    const struct vpendpoint *, int, char *, size_t);

static int
open_tcp(struct vplisten *l, const struct vpendpoint *ep, int backlog,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	char port[8];
	int fd, r;

	if (ep->host[0] == '\0') {
		/* Wildcard: [::] dual-stack, or 0.0.0.0 without IPv6. */
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_addr = in6addr_any;
		s6.sin6_port = htons(ep->port);
		fd = tcp_one((struct sockaddr *)&s6, sizeof(s6), backlog, 1);
		if (fd == -1 && (errno == EAFNOSUPPORT ||
		    errno == EADDRNOTAVAIL)) {
			memset(&s4, 0, sizeof(s4));
			s4.sin_family = AF_INET;
			s4.sin_addr.s_addr = htonl(INADDR_ANY);
			s4.sin_port = htons(ep->port);
			fd = tcp_one((struct sockaddr *)&s4, sizeof(s4),
			    backlog, 0);
		}
		if (fd == -1)
			return fail(err, errlen, errno, "listen on port %u: %s",
			    ep->port, strerror(errno));
		l->fds[l->nfds++] = fd;
		return 0;
	}
	snprintf(port, sizeof(port), "%u", ep->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(ep->host, port, &hints, &res)) != 0)
		return fail(err, errlen, r == EAI_SYSTEM ? errno :
		    r == EAI_MEMORY ? ENOMEM : r == EAI_AGAIN ? EAGAIN :
		    EHOSTUNREACH, "listen on %s: %s", ep->host,
		    gai_strerror(r));
	r = tcp_all(l, res, ep, backlog, err, errlen);
	freeaddrinfo(res);
	return r;
}

/* Is ai's address the same as that of an earlier entry from res? */
static int
seen(const struct addrinfo *res, const struct addrinfo *ai)
{
	const struct addrinfo *p;

	for (p = res; p != ai; p = p->ai_next)
		if (p->ai_family == ai->ai_family &&
		    p->ai_addrlen == ai->ai_addrlen &&
		    memcmp(p->ai_addr, ai->ai_addr, ai->ai_addrlen) == 0)
			return 1;
	return 0;
}

/*
 * Listens on every address of res (a host name may have several, as
 * localhost has 127.0.0.1 and ::1), all on the same port: with port 0
 * the one the first socket got (tried again with another if a later
 * address has it in use). An address the system cannot bind (no such
 * family, not a local address) is left out when another one works, with
 * a note in err. 0, or -1 with everything closed.
 */
static int
tcp_all(struct vplisten *l, const struct addrinfo *res,
    const struct vpendpoint *ep, int backlog, char *err, size_t errlen)
{
	const struct addrinfo *ai;
	struct sockaddr_storage ss;
	char host[64], skipped[160];
	unsigned port, over = 0;
	int fd, e = 0, n = 0, tries, multi;

	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (!seen(res, ai))
			n++;
	multi = n > 1;
	for (tries = 0; tries < 8; tries++) {
		port = ep->port;
		skipped[0] = '\0';
		over = 0;
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (seen(res, ai) || ai->ai_addrlen > sizeof(ss))
				continue;
			if (l->nfds >= VPLISTEN_MAXFDS) {
				over++;
				continue;
			}
			memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
			if (ss.ss_family == AF_INET)
				((struct sockaddr_in *)&ss)->sin_port =
				    htons(port);
			else if (ss.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&ss)->sin6_port =
				    htons(port);
			/* with several addresses, [::] must not take v4 */
			fd = tcp_one((struct sockaddr *)&ss, ai->ai_addrlen,
			    backlog, multi ? -1 : 0);
			if (fd != -1) {
				l->fds[l->nfds++] = fd;
				if (port == 0)
					port = vplisten_port(fd);
				continue;
			}
			e = errno;
			if (multi && (e == EADDRNOTAVAIL ||
			    e == EAFNOSUPPORT)) {
				if (getnameinfo(ai->ai_addr, ai->ai_addrlen,
				    host, sizeof(host), NULL, 0,
				    NI_NUMERICHOST) != 0)
					strlcpy(host, "?", sizeof(host));
				if (skipped[0] != '\0')
					strlcat(skipped, ", ", sizeof(skipped));
				strlcat(skipped, host, sizeof(skipped));
				continue;
			}
			close_all(l);
			if (e == EADDRINUSE && ep->port == 0)
				break;		/* a later one had that port */
			return fail(err, errlen, e, "listen on %s port %u: %s",
			    ep->host, port, strerror(e));
		}
		if (l->nfds > 0)
			break;
		if (e != EADDRINUSE || ep->port != 0)
			return fail(err, errlen, e, "listen on %s port %u: %s",
			    ep->host, ep->port, strerror(e));
	}
	if (l->nfds == 0)
		return fail(err, errlen, EADDRINUSE, "listen on %s: no port "
		    "free on all of its addresses", ep->host);
	if (skipped[0] != '\0')
		snprintf(err, errlen, "%s: not listening on %s (%s)",
		    ep->host, skipped, strerror(EADDRNOTAVAIL));
	else if (over > 0)
		snprintf(err, errlen, "%s: not listening on its last %u "
		    "addresses (at most %d)", ep->host, over, VPLISTEN_MAXFDS);
	return 0;
}

/* Resolves a user or group given by name or number. 0 or -1. */
static int
resolve_id(const char *s, int group, unsigned *id)
{
	long long v;
	struct passwd *pw;
	struct group *gr;

	if (vpio_parse_num(s, 0, 0x7fffffff, &v) == 0) {
		*id = (unsigned)v;
		return 0;
	}
	if (group) {
		if ((gr = getgrnam(s)) == NULL)
			return -1;
		*id = gr->gr_gid;
	} else {
		if ((pw = getpwnam(s)) == NULL)
			return -1;
		*id = pw->pw_uid;
	}
	return 0;
}

/*
 * Is the socket file at sun live? 1 live (something accepts or its
 * backlog is full), 0 stale (refused), -1 gone or unknown (errno).
 */
static int
unix_live(const struct sockaddr_un *sun, socklen_t len)
{
	int fd, r, e;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	r = connect(fd, (const struct sockaddr *)sun, len);
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1;
	if (e == ECONNREFUSED)
		return 0;
	errno = e;
	return -1;
}

/* Fills sun with the file path p. 0, or -1 if it does not fit. */
static int
unix_addr(struct sockaddr_un *sun, socklen_t *len, const char *p)
{
	size_t n = strlen(p);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, p, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/*
 * The address of the file base in the private directory (descriptor
 * tdfd, name tname in dir): through /proc/self/fd, so that no path that
 * someone else may rename is walked (with dir/tname, a symbolic link put
 * in place of our directory would have bind() create the socket in a
 * directory of their choosing). Without /proc, by its path: a directory
 * renamed away meanwhile then makes the fchownat()/fstatat() on tdfd
 * fail, so nothing is ever done to a file elsewhere. 0 or -1.
 */
static int
priv_addr(struct sockaddr_un *sun, socklen_t *len, int tdfd,
    const char *dir, const char *tname, const char *base)
{
	char p[sizeof(sun->sun_path)];
	int r;

	if (access("/proc/self/fd", X_OK) == 0)
		r = snprintf(p, sizeof(p), "/proc/self/fd/%d/%s", tdfd, base);
	else
		r = snprintf(p, sizeof(p), "%s/%s/%s", dir, tname, base);
	if (r < 0 || (size_t)r >= sizeof(p))
		return -1;
	return unix_addr(sun, len, p);
}

/*
 * Creates a directory only we may write, named .vp-listen.XXXXXXXX in
 * pfd, and opens it. Its descriptor (name in tname), or -1.
 */
static int
priv_dir(int pfd, char *tname, size_t n)
{
	static const char cs[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[8];
	struct stat st;
	size_t i;
	int tries, fd, e;

	for (tries = 0; tries < 16; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			for (i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(vpio_now_ms() >>
				    (i * 3) ^ (getpid() + tries) * 131);
		}
		snprintf(tname, n, ".vp-listen.");
		for (i = 0; i < sizeof(rnd); i++)
			tname[11 + i] = cs[rnd[i] % (sizeof(cs) - 1)];
		tname[11 + sizeof(rnd)] = '\0';
		if (mkdirat(pfd, tname, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (tries == 16) {
		errno = EEXIST;
		return -1;
	}
	/* Ours: a directory, owned by us, no symbolic link followed. */
	fd = openat(pfd, tname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || fchmod(fd, 0700) == -1) {
		e = fd == -1 ? errno : EPERM;
		if (fd != -1)
			close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * Moves the listening socket iname of tdfd to base in pfd (path: its
 * full path) without ever replacing a live socket or anything that is
 * not a socket. 0, or -1 with errno (EADDRINUSE, EEXIST, other).
 */
static int
place(int tdfd, int pfd, const char *iname, const char *base,
    const char *path, const struct sockaddr_un *priv, socklen_t privlen)
{
	struct sockaddr_un sun;
	struct stat st;
	socklen_t len;
	int tries, live;

	if (unix_addr(&sun, &len, path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (tries = 0; tries < 4; tries++) {
		if (renameat2(tdfd, iname, pfd, base, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* No RENAME_NOREPLACE here: a smaller window. */
			if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) ==
			    -1 && errno == ENOENT)
				return renameat(tdfd, iname, pfd, base);
			errno = EEXIST;
		}
		if (errno != EEXIST)
			return -1;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;	/* went away: again */
			return -1;
		}
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		if ((live = unix_live(&sun, len)) == 1) {
			errno = EADDRINUSE;
			return -1;
		}
		if (live == -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		/*
		 * Stale: exchange it for ours in one step, then look at
		 * what came out (in our own directory, where nobody can
		 * swap it): a live socket that another listener put there
		 * meanwhile goes back.
		 */
		if (renameat2(tdfd, iname, pfd, base, RENAME_EXCHANGE) == -1) {
			if (errno == ENOENT)
				continue;
			if (errno != EINVAL && errno != ENOSYS)
				return -1;
			return renameat(tdfd, iname, pfd, base);
		}
		if (unix_live(priv, privlen) == 1) {
			(void)renameat2(tdfd, iname, pfd, base,
			    RENAME_EXCHANGE);
			errno = EADDRINUSE;
			return -1;
		}
		(void)unlinkat(tdfd, iname, 0);
		return 0;
	}
	errno = EADDRINUSE;
	return -1;
}

/*
 * A unix socket file: bound, given its owner and mode and listening in
 * a private directory next to the path (same file system), then renamed
 * into place. So nothing is ever done through a path another user may
 * swap for a symbolic link, and a socket appears at the path only once
 * it listens: a refused connection means a stale socket.
 */
static int
open_unix(struct vplisten *l, const struct vpendpoint *ep, int backlog,
    char *err, size_t errlen)
{
	struct sockaddr_un sun, priv;
	struct stat st;
	socklen_t len, privlen;
	unsigned uid = (unsigned)-1, gid = (unsigned)-1;
	size_t plen = strlen(ep->path);
	char dir[VPEP_PATHMAX], tname[32];
	const char *base, *iname, *slash, *what = "cannot create the socket";
	mode_t omask = 0;
	int fd = -1, pfd = -1, tdfd = -1, e, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen == 0 || plen >= sizeof(sun.sun_path))
		return fail(err, errlen, ENAMETOOLONG,
		    "unix socket path empty or too long");
	if (ep->path[0] == '@') {
		if (ep->mode != -1 || ep->owner[0] || ep->group[0])
			return fail(err, errlen, EINVAL, "unix:%s: mode, owner "
			    "and group do not apply to an abstract socket",
			    ep->path);
		memcpy(sun.sun_path + 1, ep->path + 1, plen - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    plen);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1)
			return fail(err, errlen, errno, "socket: %s",
			    strerror(errno));
		if (bind(fd, (struct sockaddr *)&sun, len) == -1 ||
		    listen(fd, backlog) == -1) {
			e = errno;
			close(fd);
			return fail(err, errlen, e, "unix:%s: %s: %s",
			    ep->path, what, strerror(e));
		}
		l->fds[l->nfds++] = fd;
		return 0;
	}
	if (ep->owner[0] && resolve_id(ep->owner, 0, &uid) == -1)
		return fail(err, errlen, EINVAL, "unix:%s: unknown user '%s'",
		    ep->path, ep->owner);
	if (ep->group[0] && resolve_id(ep->group, 1, &gid) == -1)
		return fail(err, errlen, EINVAL, "unix:%s: unknown group '%s'",
		    ep->path, ep->group);
	if ((slash = strrchr(ep->path, '/')) == NULL) {
		strlcpy(dir, ".", sizeof(dir));
		base = ep->path;
	} else {
		if (slash == ep->path)
			strlcpy(dir, "/", sizeof(dir));
		else {
			memcpy(dir, ep->path, (size_t)(slash - ep->path));
			dir[slash - ep->path] = '\0';
		}
		base = slash + 1;
	}
	if (*base == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0)
		return fail(err, errlen, EISDIR, "unix:%s: not a file name",
		    ep->path);
	iname = base;

	if ((pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (tdfd = priv_dir(pfd, tname, sizeof(tname))) == -1) {
		e = errno;
		goto fail;
	}
	/*
	 * Bound under its own name (so ss(8) shows it), or under a short
	 * one when that does not fit in a socket address this way.
	 */
	if (priv_addr(&priv, &privlen, tdfd, dir, tname, base) == -1) {
		iname = "s";
		if (priv_addr(&priv, &privlen, tdfd, dir, tname, iname) == -1) {
			e = ENAMETOOLONG;
			goto fail;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		e = errno;
		goto fail;
	}
	if (ep->mode != -1)
		omask = umask(0177);
	r = bind(fd, (struct sockaddr *)&priv, privlen);
	e = errno;
	if (ep->mode != -1)
		umask(omask);
	if (r == -1)
		goto fail;
	if ((uid != (unsigned)-1 || gid != (unsigned)-1) &&
	    fchownat(tdfd, iname, (uid_t)uid, (gid_t)gid,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		e = errno;
		what = "chown";
		goto fail;
	}
	if (ep->mode != -1 && fchmodat(tdfd, iname, (mode_t)ep->mode, 0) == -1) {
		e = errno;
		what = "chmod";
		goto fail;
	}
	if (listen(fd, backlog) == -1 ||
	    fstatat(tdfd, iname, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		e = errno;
		what = "listen";
		goto fail;
	}
	if (place(tdfd, pfd, iname, base, ep->path, &priv, privlen) == -1) {
		e = errno;
		if (e == EEXIST) {
			what = "exists and is not a socket; not replacing it";
			goto fail;
		}
		if (e == EADDRINUSE) {
			what = "a running listener already owns this socket";
			goto fail;
		}
		goto fail;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	strlcpy(l->path, ep->path, sizeof(l->path));
	(void)unlinkat(pfd, tname, AT_REMOVEDIR);
	close(tdfd);
	close(pfd);
	l->fds[l->nfds++] = fd;
	return 0;

fail:
	if (tdfd != -1) {
		(void)unlinkat(tdfd, iname, 0);
		(void)unlinkat(pfd, tname, AT_REMOVEDIR);
		close(tdfd);
	}
	if (pfd != -1)
		close(pfd);
	if (fd != -1)
		close(fd);
	if (e == EEXIST || e == EADDRINUSE)
		return fail(err, errlen, e, "unix:%s: %s", ep->path, what);
	if (strcmp(what, "chown") == 0)
		return fail(err, errlen, e, "unix:%s: chown to %s%s%s: %s",
		    ep->path, ep->owner, ep->group[0] ? ":" : "", ep->group,
		    strerror(e));
	if (strcmp(what, "chmod") == 0)
		return fail(err, errlen, e, "unix:%s: chmod %04o: %s",
		    ep->path, (unsigned)ep->mode, strerror(e));
	return fail(err, errlen, e, "unix:%s: %s: %s", ep->path, what,
	    strerror(e));
}

/* Is fd bound to an address (a port, a path or an abstract name)? */
static int
is_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	switch (ss.ss_family) {
	case AF_INET:
		return ((struct sockaddr_in *)&ss)->sin_port != 0;
	case AF_INET6:
		return ((struct sockaddr_in6 *)&ss)->sin6_port != 0;
	case AF_UNIX:
		return len > offsetof(struct sockaddr_un, sun_path);
	default:
		return 1;
	}
}

/*
 * Checks an inherited fd: a socket of socktype (0 any); a stream socket
 * must listen (listen() is tried with backlog > 0). Makes it CLOEXEC and
 * non-blocking. 0 or -1.
 */
static int
check_inherited(int fd, int socktype, int backlog, char *err, size_t errlen)
{
	struct stat st;
	int type, acc;
	socklen_t len;

	if (fstat(fd, &st) == -1)
		return fail(err, errlen, errno, "fd %d: %s", fd,
		    strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return fail(err, errlen, ENOTSOCK, "fd %d is not a socket", fd);
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return fail(err, errlen, errno, "fd %d: %s", fd,
		    strerror(errno));
	if (socktype != 0 && type != socktype)
		return fail(err, errlen, EINVAL, "fd %d is a %s socket, not a "
		    "%s socket", fd, type == SOCK_DGRAM ? "datagram" :
		    type == SOCK_STREAM ? "stream" : "other",
		    socktype == SOCK_DGRAM ? "datagram" : "stream");
	if (type == SOCK_STREAM) {
		len = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1)
			return fail(err, errlen, errno, "fd %d: %s", fd,
			    strerror(errno));
		/* listen() would bind an unbound one anywhere: refused */
		if (!acc && !is_bound(fd))
			return fail(err, errlen, EINVAL, "fd %d is neither "
			    "bound nor listening", fd);
		if (!acc && (backlog <= 0 || listen(fd, backlog) == -1))
			return fail(err, errlen, EINVAL, "fd %d is not a "
			    "listening socket", fd);
	}
	if (vpio_set_cloexec(fd, 1) == -1 || vpio_set_nonblock(fd, 1) == -1)
		return fail(err, errlen, errno, "fd %d: %s", fd,
		    strerror(errno));
	return 0;
}

int
vplisten_systemd(struct vplisten *l, const char *name, int socktype,
    char *err, size_t errlen)
{
	const char *s;
	char *names = NULL, *cur, *nm;
	long long pid, n;
	int i, r = -1, e;

	init(l);
	if ((s = getenv("LISTEN_PID")) == NULL || getenv("LISTEN_FDS") == NULL)
		return fail(err, errlen, ENOENT, "no sockets passed by systemd "
		    "(LISTEN_PID/LISTEN_FDS unset)");
	if (vpio_parse_num(s, 1, 0x7fffffff, &pid) == -1)
		return fail(err, errlen, EINVAL, "bad LISTEN_PID '%.32s'", s);
	if ((pid_t)pid != getpid())
		return fail(err, errlen, ENOENT, "LISTEN_PID %lld is not this "
		    "process (%ld)", pid, (long)getpid());
	s = getenv("LISTEN_FDS");
	if (vpio_parse_num(s, 0, 4096, &n) == -1)
		return fail(err, errlen, EINVAL, "bad LISTEN_FDS '%.32s'", s);
	if (n == 0)
		return fail(err, errlen, ENOENT, "LISTEN_FDS is 0");
	if ((s = getenv("LISTEN_FDNAMES")) != NULL &&
	    (names = strdup(s)) == NULL)
		return fail(err, errlen, ENOMEM, "out of memory");
	cur = names;
	e = ENOENT;
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		nm = cur != NULL ? strsep(&cur, ":") : NULL;
		if (name != NULL && name[0] != '\0' &&
		    (nm == NULL || strcmp(nm, name) != 0)) {
			close(fd);	/* not ours to use */
			continue;
		}
		if (l->nfds >= VPLISTEN_MAXFDS) {
			fail(err, errlen, EINVAL, "more than %d sockets passed",
			    VPLISTEN_MAXFDS);
			goto out;
		}
		if (check_inherited(fd, socktype, 0, err, errlen) == -1)
			goto out;
		l->fds[l->nfds++] = fd;
	}
	if (l->nfds == 0) {
		fail(err, errlen, e, "no socket named '%s' among LISTEN_FDNAMES "
		    "'%.200s'", name, s ? s : "");
		goto out;
	}
	r = (int)l->nfds;
out:
	e = errno;
	free(names);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("LISTEN_PIDFDID");
	if (r == -1)
		close_all(l);
	errno = e;
	return r;
}

int
vplisten_status(int err)
{
	switch (err) {
	case EADDRINUSE:
	case EADDRNOTAVAIL:
		return EX_UNAVAILABLE;
	case EHOSTUNREACH:
		return EX_NOHOST;
	case EAGAIN:
		return EX_TEMPFAIL;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return EX_OSERR;
	default:
		return EX_CONFIG;
	}
}

int
vplisten_open(struct vplisten *l, const struct vpendpoint *ep, int backlog,
    char *err, size_t errlen)
{
	if (backlog <= 0)
		backlog = SOMAXCONN;
	init(l);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	switch (ep->kind) {
	case VPEP_TCP:
		if (open_tcp(l, ep, backlog, err, errlen) == -1)
			return -1;
		break;
	case VPEP_UNIX:
		if (open_unix(l, ep, backlog, err, errlen) == -1)
			return -1;
		break;
	case VPEP_FD:
		if (ep->fd < 0)
			return fail(err, errlen, EBADF, "bad fd %d", ep->fd);
		if (check_inherited(ep->fd, SOCK_STREAM, backlog, err,
		    errlen) == -1)
			return -1;
		l->fds[l->nfds++] = ep->fd;
		break;
	case VPEP_SYSTEMD:
		return vplisten_systemd(l, ep->name, SOCK_STREAM, err, errlen);
	default:
		return fail(err, errlen, EINVAL, "cannot listen on this kind "
		    "of endpoint (use tcp:, unix:, fd: or systemd)");
	}
	return (int)l->nfds;
}

unsigned
vplisten_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int
vplisten_unlink(struct vplisten *l)
{
	struct stat st;
	int r = 0;

	if (l->path[0] == '\0')
		return 0;
	if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == l->dev && st.st_ino == l->ino &&
	    unlink(l->path) == 0)
		r = 1;
	l->path[0] = '\0';
	return r;
}

void
vplisten_close(struct vplisten *l, int unlink_path)
{
	int save = errno;

	close_all(l);
	if (unlink_path)
		(void)vplisten_unlink(l);
	errno = save;
}
