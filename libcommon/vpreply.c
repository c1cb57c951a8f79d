/*
 * vpreply: outcome classes, their exit statuses, and the SOCKS5, SOCKS4
 * and HTTP reply encoders.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "vpio.h"
#include "vpnet.h"
#include "vpreply.h"

/*
 * The one table: class, text, SOCKS5 REP, HTTP status and reason, and
 * exit status. Indexed by enum vpr_class.
 */
static const struct {
	const char	*text;
	int		 socks5;
	int		 http;
	const char	*reason;
	int		 exit;
} vpr_tab[VPR_NCLASS] = {
	[VPR_OK] = { "connected", VPR_SOCKS5_SUCCEEDED, 200,
	    "Connection established", 0 },
	[VPR_GENERAL] = { "general failure", VPR_SOCKS5_GENERAL, 502,
	    "Bad Gateway", EX_UNAVAILABLE },
	[VPR_NOTALLOWED] = { "not allowed", VPR_SOCKS5_NOTALLOWED, 403,
	    "Forbidden", EX_UNAVAILABLE },
	[VPR_NETUNREACH] = { "network unreachable", VPR_SOCKS5_NETUNREACH,
	    502, "Bad Gateway", EX_UNAVAILABLE },
	[VPR_HOSTUNREACH] = { "host unreachable", VPR_SOCKS5_HOSTUNREACH,
	    502, "Bad Gateway", EX_UNAVAILABLE },
	[VPR_REFUSED] = { "connection refused", VPR_SOCKS5_REFUSED, 502,
	    "Bad Gateway", EX_UNAVAILABLE },
	[VPR_TIMEOUT] = { "timed out", VPR_SOCKS5_TTLEXPIRED, 504,
	    "Gateway Timeout", EX_TEMPFAIL },
	[VPR_CMDUNSUPP] = { "command not supported", VPR_SOCKS5_CMDUNSUPP,
	    405, "Method Not Allowed", EX_UNAVAILABLE },
	[VPR_ATYPUNSUPP] = { "address type not supported",
	    VPR_SOCKS5_ATYPUNSUPP, 400, "Bad Request", EX_UNAVAILABLE },
	[VPR_NONAME] = { "name not found", VPR_SOCKS5_HOSTUNREACH, 502,
	    "Bad Gateway", EX_NOHOST },
	[VPR_PROTO] = { "bad proxy reply", VPR_SOCKS5_GENERAL, 502,
	    "Bad Gateway", EX_DATAERR },
	[VPR_BADREQ] = { "bad request", VPR_SOCKS5_GENERAL, 400,
	    "Bad Request", EX_DATAERR },
	[VPR_AUTH] = { "authentication failed", VPR_SOCKS5_NOTALLOWED, 407,
	    "Proxy Authentication Required", EX_UNAVAILABLE },
	[VPR_INTERNAL] = { "internal error", VPR_SOCKS5_GENERAL, 500,
	    "Internal Server Error", EX_OSERR },
};

static int
vpr_valid(enum vpr_class c)
{
	return (int)c >= 0 && c < VPR_NCLASS;
}

int
vpreply_proto_parse(const char *s, enum vpr_proto *p)
{
	if (s == NULL || *s == '\0')
		*p = VPRP_NONE;
	else if (strcmp(s, "socks5") == 0)
		*p = VPRP_SOCKS5;
	else if (strcmp(s, "socks4") == 0 || strcmp(s, "socks4a") == 0)
		*p = VPRP_SOCKS4;
	else if (strcmp(s, "http") == 0)
		*p = VPRP_HTTP;
	else
		return -1;
	return 0;
}

const char *
vpreply_proto_name(enum vpr_proto p)
{
	switch (p) {
	case VPRP_SOCKS5:
		return "socks5";
	case VPRP_SOCKS4:
		return "socks4";
	case VPRP_HTTP:
		return "http";
	default:
		return "none";
	}
}

const char *
vpreply_class_str(enum vpr_class c)
{
	return vpr_valid(c) ? vpr_tab[c].text : "unknown failure";
}

enum vpr_class
vpreply_class_errno(int err)
{
	switch (err) {
	case 0:
		return VPR_OK;
	case VPNET_ENONAME:
		return VPR_NONAME;
	case VPNET_EAGAIN:
	case ETIMEDOUT:
		return VPR_TIMEOUT;
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case ENOENT:		/* unix socket path: nobody listens there */
		return VPR_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return VPR_NETUNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
	case EAFNOSUPPORT:
		return VPR_HOSTUNREACH;
	case EACCES:
	case EPERM:
		return VPR_NOTALLOWED;
	case EPROTO:
	case EBADMSG:
		return VPR_PROTO;
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
		return VPR_INTERNAL;
	default:
		return VPR_GENERAL;
	}
}

int
vpreply_exit(enum vpr_class c)
{
	return vpr_valid(c) ? vpr_tab[c].exit : EX_SOFTWARE;
}

int
vpreply_socks5_code(enum vpr_class c)
{
	return vpr_valid(c) ? vpr_tab[c].socks5 : VPR_SOCKS5_GENERAL;
}

enum vpr_class
vpreply_socks5_class(int rep)
{
	switch (rep) {
	case VPR_SOCKS5_SUCCEEDED:
		return VPR_OK;
	case VPR_SOCKS5_NOTALLOWED:
		return VPR_NOTALLOWED;
	case VPR_SOCKS5_NETUNREACH:
		return VPR_NETUNREACH;
	case VPR_SOCKS5_HOSTUNREACH:
		return VPR_HOSTUNREACH;
	case VPR_SOCKS5_REFUSED:
		return VPR_REFUSED;
	case VPR_SOCKS5_TTLEXPIRED:
		return VPR_TIMEOUT;
	case VPR_SOCKS5_CMDUNSUPP:
		return VPR_CMDUNSUPP;
	case VPR_SOCKS5_ATYPUNSUPP:
		return VPR_ATYPUNSUPP;
	default:
		return VPR_GENERAL;
	}
}

int
vpreply_http_status(enum vpr_class c)
{
	return vpr_valid(c) ? vpr_tab[c].http : 500;
}

enum vpr_class
vpreply_http_class(int status)
{
	if (status >= 200 && status <= 299)
		return VPR_OK;
	switch (status) {
	case 403:
		return VPR_NOTALLOWED;
	case 404:
		return VPR_NONAME;
	case 407:
		return VPR_AUTH;
	case 504:
		return VPR_TIMEOUT;
	default:
		return VPR_GENERAL;
	}
}

ssize_t
vpreply_socks5(enum vpr_class c, const struct sockaddr *bound, char *buf,
    size_t n)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	unsigned char *p = (unsigned char *)buf;

	if (n < 10)
		return -1;
	p[0] = 0x05;
	p[1] = (unsigned char)vpreply_socks5_code(c);
	p[2] = 0x00;
	if (bound != NULL && bound->sa_family == AF_INET6) {
		if (n < 22)
			return -1;
		sin6 = (const struct sockaddr_in6 *)(const void *)bound;
		p[3] = 0x04;
		memcpy(p + 4, &sin6->sin6_addr, 16);
		memcpy(p + 20, &sin6->sin6_port, 2);
		return 22;
	}
	p[3] = 0x01;
	if (bound != NULL && bound->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)bound;
		memcpy(p + 4, &sin->sin_addr, 4);
		memcpy(p + 8, &sin->sin_port, 2);
	} else
		memset(p + 4, 0, 6);
	return 10;
}

ssize_t
vpreply_socks4(enum vpr_class c, const struct sockaddr *bound, char *buf,
    size_t n)
{
	const struct sockaddr_in *sin;
	unsigned char *p = (unsigned char *)buf;

	if (n < 8)
		return -1;
	p[0] = 0x00;
	p[1] = c == VPR_OK ? VPR_SOCKS4_GRANTED : VPR_SOCKS4_REJECTED;
	if (bound != NULL && bound->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)bound;
		memcpy(p + 2, &sin->sin_port, 2);
		memcpy(p + 4, &sin->sin_addr, 4);
	} else
		memset(p + 2, 0, 6);
	return 8;
}

ssize_t
vpreply_http(enum vpr_class c, const char *realm, char *buf, size_t n)
{
	char safe[65];
	size_t i, j;
	int r, st = vpreply_http_status(c);

	if (c == VPR_OK)
		r = snprintf(buf, n,
		    "HTTP/1.1 200 Connection established\r\n\r\n");
	else if (c == VPR_AUTH) {
		if (realm == NULL)
			realm = "vp";
		for (i = j = 0; realm[i] != '\0' && j < sizeof(safe) - 1;
		    i++) {
			if ((unsigned char)realm[i] < 0x20 ||
			    realm[i] == 0x7f || realm[i] == '"' ||
			    realm[i] == '\\')
				continue;
			safe[j++] = realm[i];
		}
		safe[j] = '\0';
		r = snprintf(buf, n, "HTTP/1.1 %d %s\r\n"
		    "Proxy-Authenticate: Basic realm=\"%s\"\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n",
		    st, vpr_tab[VPR_AUTH].reason, safe);
	} else
		r = snprintf(buf, n, "HTTP/1.1 %d %s\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n", st,
		    vpr_valid(c) ? vpr_tab[c].reason : "Internal Server Error");
	if (r < 0 || (size_t)r >= n)
		return -1;
	return r;
}

ssize_t
vpreply_encode(enum vpr_proto p, enum vpr_class c,
    const struct sockaddr *bound, char *buf, size_t n)
{
	switch (p) {
	case VPRP_SOCKS5:
		return vpreply_socks5(c, bound, buf, n);
	case VPRP_SOCKS4:
		return vpreply_socks4(c, bound, buf, n);
	case VPRP_HTTP:
		return vpreply_http(c, NULL, buf, n);
	default:
		return 0;
	}
}

int
vpreply_send(int fd, enum vpr_proto p, enum vpr_class c,
    const struct sockaddr *bound)
{
	char buf[VPREPLY_MAX];
	ssize_t len;

	if (p == VPRP_NONE)
		return 0;
	if ((len = vpreply_encode(p, c, bound, buf, sizeof(buf))) < 0) {
		errno = ENOSPC;
		return -1;
	}
	if (vpio_writeall(fd, buf, (size_t)len) != (size_t)len)
		return -1;
	return 0;
}

int
vpreply_fail(enum vpr_class *cls, enum vpr_class c, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list ap;

	*cls = c;
	va_start(ap, fmt);
	(void)vpio_verrf(err, errlen, 0, fmt, ap);
	va_end(ap);
	return -1;
}
