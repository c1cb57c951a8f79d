/*
 * vpendpoint: parse and format endpoints; check and quote destinations.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpendpoint.h"
#include "vpio.h"

/* fail(err, errlen, fmt, ...): a reason, errno EINVAL, -1. */
#define fail(err, errlen, ...) vpio_errf(err, errlen, EINVAL, __VA_ARGS__)

static int
parse_port(const char *s, unsigned *port)
{
	long long v;

	if (vpio_parse_num(s, 0, 65535, &v) == -1)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
vpep_split_hostport(const char *s, char *host, size_t hostlen,
    unsigned *port, int port_required)
{
	const char *colon, *end;
	size_t hl;

	*port = 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		hl = end - (s + 1);
		if (hl == 0 || hl >= hostlen)
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		{
			struct in6_addr a6;
			if (inet_pton(AF_INET6, host, &a6) != 1)
				return -1;
		}
		if (end[1] == '\0')
			return port_required ? -1 : 0;
		if (end[1] != ':')
			return -1;
		return parse_port(end + 2, port);
	}
	colon = strrchr(s, ':');
	if (colon == NULL) {
		if (port_required)
			return -1;
		if (strlen(s) >= hostlen)
			return -1;
		strlcpy(host, s, hostlen);
		return 0;
	}
	if (strchr(s, ':') != colon)
		return -1;	/* bare IPv6 needs brackets */
	hl = colon - s;
	if (hl >= hostlen)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	return parse_port(colon + 1, port);
}

static int
parse_unix(const char *s, struct vpendpoint *ep, char *err, size_t errlen)
{
	const char *opt, *p;
	size_t pl;
	long long v;

	/*
	 * Options start at the first ",word=" (word: lower-case letters)
	 * in the path's last component, known word or not, so a misspelt
	 * option is an error rather than part of the file name. Commas
	 * are otherwise part of the path.
	 */
	opt = NULL;
	for (p = s; (p = strchr(p, ',')) != NULL; p++) {
		const char *q = p + 1;

		while (*q >= 'a' && *q <= 'z')
			q++;
		if (q > p + 1 && *q == '=' && strchr(p, '/') == NULL) {
			opt = p;
			break;
		}
	}
	pl = opt ? (size_t)(opt - s) : strlen(s);
	if (pl == 0)
		return fail(err, errlen, "unix: needs a path");
	if (pl >= sizeof(ep->path))
		return fail(err, errlen, "unix path longer than %zu bytes",
		    sizeof(ep->path) - 1);
	memcpy(ep->path, s, pl);
	ep->path[pl] = '\0';
	while (opt != NULL && *opt == ',') {
		char key[16], val[64];
		const char *eq, *next;
		size_t kl, vl;

		opt++;
		next = strchr(opt, ',');
		eq = strchr(opt, '=');
		if (eq == NULL || (next != NULL && eq > next))
			return fail(err, errlen, "unix option without '='");
		kl = eq - opt;
		vl = (next ? (size_t)(next - eq - 1) : strlen(eq + 1));
		if (kl >= sizeof(key) || vl >= sizeof(val) || vl == 0)
			return fail(err, errlen, "bad unix option");
		memcpy(key, opt, kl);
		key[kl] = '\0';
		memcpy(val, eq + 1, vl);
		val[vl] = '\0';
		if (strcmp(key, "mode") == 0) {
			char *endp;
			errno = 0;
			v = strtoll(val, &endp, 8);
			if (*endp != '\0' || errno != 0 || v < 0 || v > 07777)
				return fail(err, errlen,
				    "bad mode '%s' (octal, e.g. 0660)", val);
			ep->mode = (int)v;
		} else if (strcmp(key, "owner") == 0)
			strlcpy(ep->owner, val, sizeof(ep->owner));
		else if (strcmp(key, "group") == 0)
			strlcpy(ep->group, val, sizeof(ep->group));
		else
			return fail(err, errlen, "unknown unix option '%s'",
			    key);
		opt = next;
	}
	return 0;
}

int
vpep_parse(const char *s, struct vpendpoint *ep, char *err, size_t errlen)
{
	long long v;

	memset(ep, 0, sizeof(*ep));
	ep->mode = -1;
	ep->fd = -1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s == NULL || *s == '\0')
		return fail(err, errlen, "empty endpoint");
	if (strcmp(s, "stdio") == 0 || strcmp(s, "-") == 0) {
		ep->kind = VPEP_STDIO;
		return 0;
	}
	if (strncmp(s, "exec:", 5) == 0) {
		ep->kind = VPEP_EXEC;
		if (s[5] == '\0')
			return fail(err, errlen, "exec: needs a command");
		if (strlen(s + 5) >= sizeof(ep->cmd))
			return fail(err, errlen, "exec: command too long");
		strlcpy(ep->cmd, s + 5, sizeof(ep->cmd));
		return 0;
	}
	if (strncmp(s, "fd:", 3) == 0) {
		ep->kind = VPEP_FD;
		if (vpio_parse_num(s + 3, 0, 65535, &v) == -1)
			return fail(err, errlen, "fd: needs a number");
		ep->fd = (int)v;
		return 0;
	}
	if (strcmp(s, "systemd") == 0 || strncmp(s, "systemd:", 8) == 0) {
		ep->kind = VPEP_SYSTEMD;
		if (s[7] == ':') {
			if (s[8] == '\0' || strlen(s + 8) >= sizeof(ep->name))
				return fail(err, errlen, "bad systemd name");
			strlcpy(ep->name, s + 8, sizeof(ep->name));
		}
		return 0;
	}
	if (strncmp(s, "unix:", 5) == 0) {
		ep->kind = VPEP_UNIX;
		return parse_unix(s + 5, ep, err, errlen);
	}
	if (strncmp(s, "udp:", 4) == 0) {
		ep->kind = VPEP_UDP;
		s += 4;
	} else {
		ep->kind = VPEP_TCP;
		if (strncmp(s, "tcp:", 4) == 0)
			s += 4;
	}
	if (vpep_split_hostport(s, ep->host, sizeof(ep->host), &ep->port,
	    1) == -1)
		return fail(err, errlen, "expected HOST:PORT, [V6]:PORT, "
		    "unix:PATH, exec:CMD, fd:N, systemd or stdio");
	if (ep->host[0] != '\0' && !vpep_host_ok(ep->host))
		return fail(err, errlen, "bad host name");
	return 0;
}

const char *
vpep_format(const struct vpendpoint *ep, char *buf, size_t n)
{
	const char *pre = ep->kind == VPEP_UDP ? "udp:" : "tcp:";

	switch (ep->kind) {
	case VPEP_TCP:
	case VPEP_UDP:
		if (strchr(ep->host, ':') != NULL)
			snprintf(buf, n, "%s[%s]:%u", pre, ep->host, ep->port);
		else
			snprintf(buf, n, "%s%s:%u", pre,
			    ep->host[0] ? ep->host : "*", ep->port);
		break;
	case VPEP_UNIX:
		snprintf(buf, n, "unix:%s", ep->path);
		break;
	case VPEP_EXEC:
		snprintf(buf, n, "exec:%s", ep->cmd);
		break;
	case VPEP_FD:
		snprintf(buf, n, "fd:%d", ep->fd);
		break;
	case VPEP_SYSTEMD:
		snprintf(buf, n, ep->name[0] ? "systemd:%s" : "systemd",
		    ep->name);
		break;
	case VPEP_STDIO:
		snprintf(buf, n, "stdio");
		break;
	default:
		snprintf(buf, n, "?");
	}
	return buf;
}

int
vpep_host_ok(const char *host)
{
	struct in6_addr a6;
	size_t i, n;

	if (host == NULL)
		return 0;
	n = strlen(host);
	if (n == 0 || n > VPEP_HOSTMAX)
		return 0;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return 1;
	if (host[0] == '-' || host[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_'))
			return 0;
	}
	return 1;
}

/* Appends s single-quoted for /bin/sh. */
static int
put_quoted(char *out, size_t outlen, size_t *off, const char *s)
{
	size_t o = *off;

#define PUT(c) do { if (o + 1 >= outlen) return -1; out[o++] = (c); } while (0)
	PUT('\'');
	for (; *s; s++) {
		if (*s == '\'') {
			PUT('\''); PUT('\\'); PUT('\''); PUT('\'');
		} else
			PUT(*s);
	}
	PUT('\'');
#undef PUT
	*off = o;
	return 0;
}

int
vpep_expand(const char *tmpl, const char *host, unsigned port, char *out,
    size_t outlen)
{
	char pbuf[16];
	size_t o = 0;
	const char *t;

	if (outlen == 0)
		goto toolong;
	if (!vpep_host_ok(host) || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	snprintf(pbuf, sizeof(pbuf), "%u", port);
	for (t = tmpl; *t; t++) {
		if (*t != '%') {
			if (o + 1 >= outlen)
				goto toolong;
			out[o++] = *t;
			continue;
		}
		t++;
		if (*t == '%') {
			if (o + 1 >= outlen)
				goto toolong;
			out[o++] = '%';
		} else if (*t == 'h') {
			if (put_quoted(out, outlen, &o, host) == -1)
				goto toolong;
		} else if (*t == 'p') {
			if (put_quoted(out, outlen, &o, pbuf) == -1)
				goto toolong;
		} else {
			errno = EINVAL;
			return -1;
		}
	}
	out[o] = '\0';
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}
