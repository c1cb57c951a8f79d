/*
 * vprules: rules text -> compiled indexed file -> per-connection match.
 *
 * Compiled file (native byte order; written and read on one machine):
 *
 *   header | deps | outs | rules | conds | items | doms | ip4 | ip6 | strings
 *
 * doms:   {rev, len, cond, full} sorted by the reversed lowercase name,
 *         so a host's suffixes at label boundaries are binary searches.
 * ip4/6:  {plen, net, cond} sorted by (plen, net): one binary search per
 *         prefix length present.
 * items:  the matchers checked directly (keyword, regexp, port, source,
 *         user, uid, gid, inbound, protocol).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vpproxyc.h"
#include "vprules.h"

#define VPRC_MAGIC	"VPRULES1"
#define VPRC_SUFFIX	".vprc"
#define VPRC_MAXLINE	65536

enum group {
	G_DOMAIN = 0, G_IP, G_PORT, G_SOURCE, G_USER, G_UID, G_GID,
	G_INBOUND, G_PROTOCOL, G_COUNT
};

enum itemkind {
	I_KEYWORD = 1, I_REGEXP, I_PORT, I_CIDR4, I_CIDR6, I_STR, I_NUM
};

struct hdr {
	char		magic[8];
	uint32_t	endian;		/* 0x01020304 */
	uint32_t	ndep, nout, nrule, ncond, nitem, ndom, nip4, nip6;
	uint32_t	defout;
	uint64_t	strsize, total;
};

struct dep {
	uint32_t	path;
	uint32_t	pad;
	int64_t		mtime_sec, mtime_nsec, size;
};

struct rout {
	uint32_t	name, kind, arg;
};

struct rrule {
	uint32_t	out, cond0, ncond, line;
};

struct rcond {
	uint32_t	group, item0, nitem, pad;
};

struct ritem {
	uint32_t	kind, a, b, plen;	/* a: string offset or number/lo */
	unsigned char	addr[16];
};

struct rdom {
	uint32_t	rev, len, cond, full;
};

struct rip4 {
	uint32_t	plen, net, cond;
};

struct rip6 {
	uint32_t	plen, cond;
	unsigned char	net[16];
};

/* ---- growable arrays for the compiler */

struct arr {
	void	*p;
	size_t	 n, cap, size;
};

static void *
arr_add(struct arr *a)
{
	void *np;
	size_t nc;

	if (a->n == a->cap) {
		nc = a->cap ? a->cap * 2 : 64;
		if ((np = reallocarray(a->p, nc, a->size)) == NULL)
			return NULL;
		a->p = np;
		a->cap = nc;
	}
	memset((char *)a->p + a->n * a->size, 0, a->size);
	return (char *)a->p + a->n++ * a->size;
}

struct comp {
	const char	*file;		/* current file for messages */
	unsigned	 line;
	char		*err;
	size_t		 errlen;
	struct arr	 deps, outs, rules, conds, items, doms, ip4, ip6;
	char		*str;
	size_t		 strn, strcap;
	int		 defout;
	char		**outnames;	/* parallel to outs, for lookups */
	char		 dir[PATH_MAX];	/* the rules file's, absolute */
	unsigned long	 recost;	/* re_cost() of its regexps, summed */
};

static int cerr(struct comp *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
cerr(struct comp *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(c->err, c->errlen, "%s:%u: ", c->file, c->line);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Adds n bytes plus a NUL to the string blob; the offset, or -1. */
static long
str_add(struct comp *c, const char *s, size_t n)
{
	size_t off;
	char *np;

	if (c->strn + n + 1 > UINT32_MAX)
		return -1;
	while (c->strn + n + 1 > c->strcap) {
		size_t nc = c->strcap ? c->strcap * 2 : 4096;

		if ((np = realloc(c->str, nc)) == NULL)
			return -1;
		c->str = np;
		c->strcap = nc;
	}
	off = c->strn;
	memcpy(c->str + off, s, n);
	c->str[off + n] = '\0';
	c->strn += n + 1;
	return (long)off;
}

/* Lowercases and checks a domain; strips one leading '.'. 0 or -1. */
static int
domain_norm(const char *in, char *out, size_t outlen)
{
	size_t i, n;

	if (*in == '.')
		in++;
	n = strlen(in);
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > 255 || n >= outlen)
		return -1;
	for (i = 0; i < n; i++) {
		int ch = (unsigned char)in[i];

		if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.')
			return -1;
		if (ch == '.' && (i == 0 || in[i - 1] == '.'))
			return -1;
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	return 0;
}

static int
add_domain(struct comp *c, const char *name, uint32_t cond, int full)
{
	char d[256], r[256];
	struct rdom *e;
	size_t i, n;
	long off;

	if (domain_norm(name, d, sizeof(d)) == -1)
		return cerr(c, "bad domain '%.80s'", name);
	n = strlen(d);
	for (i = 0; i < n; i++)
		r[i] = d[n - 1 - i];
	if ((off = str_add(c, r, n)) < 0 || (e = arr_add(&c->doms)) == NULL)
		return cerr(c, "out of memory");
	e->rev = (uint32_t)off;
	e->len = (uint32_t)n;
	e->cond = cond;
	e->full = full;
	return 0;
}

/* Parses "ADDR[/LEN]" into family (4 or 6), addr, plen. 0 or -1. */
static int
cidr_parse(const char *s, int *fam, unsigned char addr[16], unsigned *plen)
{
	char buf[64], *slash;
	long long l;
	unsigned i, max;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*fam = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*fam = 6;
		max = 128;
	} else
		return -1;
	if (slash == NULL)
		*plen = max;
	else {
		if (vpio_parse_num(slash, 0, max, &l) == -1)
			return -1;
		*plen = (unsigned)l;
	}
	/* Clear host bits. */
	for (i = *plen; i < max; i++)
		addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return 0;
}

static int
add_ip(struct comp *c, const char *s, uint32_t cond)
{
	unsigned char a[16];
	unsigned plen;
	int fam;

	if (cidr_parse(s, &fam, a, &plen) == -1)
		return cerr(c, "bad IP or CIDR '%.80s'", s);
	if (fam == 4) {
		struct rip4 *e = arr_add(&c->ip4);

		if (e == NULL)
			return cerr(c, "out of memory");
		e->plen = plen;
		e->net = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		    (uint32_t)a[2] << 8 | a[3];
		e->cond = cond;
	} else {
		struct rip6 *e = arr_add(&c->ip6);

		if (e == NULL)
			return cerr(c, "out of memory");
		e->plen = plen;
		memcpy(e->net, a, 16);
		e->cond = cond;
	}
	return 0;
}

static int
add_dep(struct comp *c, const char *path, const struct stat *st)
{
	struct dep *d;
	long off;

	if ((off = str_add(c, path, strlen(path))) < 0 ||
	    (d = arr_add(&c->deps)) == NULL)
		return cerr(c, "out of memory");
	d->path = (uint32_t)off;
	d->mtime_sec = st->st_mtim.tv_sec;
	d->mtime_nsec = st->st_mtim.tv_nsec;
	d->size = st->st_size;
	return 0;
}

/*
 * abs_dir(): the rules file's directory resolved (realpath(3): no '..',
 * no symbolic link) into c->dir and the file's absolute path under it
 * into out, so the compiled file names files that a process started
 * elsewhere finds (systemd starts in /). 0 or -1.
 */
static int
abs_dir(struct comp *c, const char *path, char *out, size_t outlen)
{
	char d[PATH_MAX];
	const char *base, *slash;
	int n;

	if ((slash = strrchr(path, '/')) == NULL) {
		strlcpy(d, ".", sizeof(d));
		base = path;
	} else {
		n = snprintf(d, sizeof(d), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
		if (n < 0 || (size_t)n >= sizeof(d))
			return cerr(c, "path too long");
		base = slash + 1;
	}
	if (realpath(d, c->dir) == NULL)
		return cerr(c, "%s: %s", d, strerror(errno));
	n = snprintf(out, outlen, "%s/%s", strcmp(c->dir, "/") == 0 ? "" :
	    c->dir, base);
	if (n < 0 || (size_t)n >= outlen)
		return cerr(c, "path too long");
	return 0;
}

/* Refuses a rules or list file others may write: it names commands. */
static int
perm_ok(const struct stat *st)
{
	return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* Reads a list file: one entry a line, '#' comments. */
static int
add_list(struct comp *c, const char *path, uint32_t cond, int isip)
{
	const char *ofile = c->file;
	unsigned oline = c->line;
	char *line = NULL, *p, *e;
	size_t cap = 0;
	ssize_t n;
	struct stat st;
	FILE *f;
	int rc = 0;
	char abs[PATH_MAX];

	/* Relative to the rules file, whatever the compiler's cwd. */
	if (path[0] != '/') {
		int k = snprintf(abs, sizeof(abs), "%s/%s",
		    strcmp(c->dir, "/") == 0 ? "" : c->dir, path);

		if (k < 0 || (size_t)k >= sizeof(abs))
			return cerr(c, "%.80s: path too long", path);
		path = abs;
	}
	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) == -1) {
		rc = cerr(c, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		fclose(f);
		return cerr(c, "%s: not a regular file", path);
	}
	if (!perm_ok(&st)) {
		fclose(f);
		return cerr(c, "%s: writable by group or others; refusing a "
		    "list that decides routes", path);
	}
	if (add_dep(c, path, &st) == -1) {
		fclose(f);
		return -1;
	}
	c->file = path;
	c->line = 0;
	errno = 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		c->line++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		if (*p == '\0')
			continue;
		if (strpbrk(p, " \t") != NULL) {
			rc = cerr(c, "one entry a line");
			break;
		}
		if (isip)
			rc = add_ip(c, p, cond);
		else if (strncmp(p, "full:", 5) == 0)
			rc = add_domain(c, p + 5, cond, 1);
		else if (strncmp(p, "domain:", 7) == 0)
			rc = add_domain(c, p + 7, cond, 0);
		else
			rc = add_domain(c, p, cond, 0);
		if (rc == -1)
			break;
	}
	if (rc == 0 && ferror(f)) {
		/* named at the rules line that names the list */
		int rerr = errno != 0 ? errno : EIO;

		c->file = ofile;
		c->line = oline;
		rc = cerr(c, "%s: read error: %s", path, strerror(rerr));
	}
	free(line);
	fclose(f);
	if (rc == 0) {
		c->file = ofile;
		c->line = oline;
	}
	return rc;
}

static int
group_of(const char *tok, const char **val)
{
	static const struct {
		const char *pfx;
		int g;
	} tab[] = {
		{ "full:", G_DOMAIN }, { "domain:", G_DOMAIN },
		{ "keyword:", G_DOMAIN }, { "regexp:", G_DOMAIN },
		{ "domain-list:", G_DOMAIN }, { "ip:", G_IP },
		{ "ip-list:", G_IP }, { "port:", G_PORT },
		{ "source:", G_SOURCE }, { "user:", G_USER },
		{ "uid:", G_UID }, { "gid:", G_GID },
		{ "inbound:", G_INBOUND }, { "protocol:", G_PROTOCOL },
	};
	size_t i, n;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		n = strlen(tab[i].pfx);
		if (strncmp(tok, tab[i].pfx, n) == 0) {
			*val = tok + n;
			return tab[i].g;
		}
	}
	return -1;
}

static struct ritem *
item_new(struct comp *c, int kind)
{
	struct ritem *it = arr_add(&c->items);

	if (it == NULL) {
		cerr(c, "out of memory");
		return NULL;
	}
	it->kind = (uint32_t)kind;
	return it;
}

/*
 * A regexp: is compiled by the C library, whose automaton holds a copy
 * of a repeated subexpression per bound of an interval and one more per
 * '+' (glibc: "b++++" doubles with each '+', 2^20 copies are 700 MB),
 * and for each node the nodes reachable without input: quadratic in
 * the optional ('*', '?', {0,m}) copies in a row ("(b*){5000}" is 200
 * MB, "b*" and 11 '+' 250 MB and 1.5 s). re_cost() bounds both; a
 * regexp over RE_COSTMAX is refused, and so are a file's over
 * RE_TOTALMAX in all (a process that matches them keeps every one
 * compiled).
 */
#define RE_COSTMAX	10000
#define RE_TOTALMAX	50000
#define RE_DEPTHMAX	64

/* min(v, RE_COSTMAX + 1). */
static unsigned long
re_sat(unsigned long v)
{
	return v > RE_COSTMAX ? RE_COSTMAX + 1 : v;
}

/* The end of the bracket expression that starts at s ('['). */
static const char *
re_bracket(const char *s)
{
	const char *e;

	s++;
	if (*s == '^')
		s++;
	if (*s == ']')
		s++;
	while (*s != '\0' && *s != ']') {
		if (s[0] == '[' && (s[1] == ':' || s[1] == '.' ||
		    s[1] == '=')) {
			for (e = s + 2; *e != '\0' &&
			    !(e[0] == s[1] && e[1] == ']'); e++)
				;
			s = *e != '\0' ? e + 2 : s + 1;
		} else
			s++;
	}
	return *s == ']' ? s + 1 : s;
}

/*
 * re_interval(): parses "{n}", "{n,}", "{,m}" or "{n,m}" at *sp into
 * *mul (how many copies of the atom: the larger bound plus one, capped),
 * *opt (1 when some copies are optional) and *none (1 when no copy need
 * match); returns 1 and advances *sp, or 0 when it is no interval.
 */
static int
re_interval(const char **sp, unsigned long *mul, int *opt, int *none)
{
	const char *s = *sp + 1;
	unsigned long v[2] = { 0, 0 };
	int digits = 0, nd[2] = { 0, 0 }, comma = 0, i;

	for (i = 0; i < 2; i++) {
		for (; *s >= '0' && *s <= '9'; s++, nd[i]++)
			if ((v[i] = v[i] * 10 + (unsigned long)(*s - '0')) >
			    65535)
				v[i] = 65535;
		digits += nd[i];
		if (i > 0 || *s != ',')
			break;
		comma = 1;
		s++;
	}
	if (*s != '}' || digits == 0)
		return 0;
	*sp = s + 1;
	*mul = (v[0] > v[1] ? v[0] : v[1]) + 1;
	*opt = comma && (nd[1] == 0 || v[1] > v[0]);
	*none = v[0] == 0;
	return 1;
}

/*
 * A subexpression's size: nodes; nodes inside optional copies; nodes
 * reachable from its start without input (e), and the most reachable
 * so from any point in it (emax); whether it may match nothing.
 */
struct re_size {
	unsigned long	n, z, e, emax;
	int		nul;
};

static unsigned long
re_max(unsigned long a, unsigned long b)
{
	return a > b ? a : b;
}

/*
 * re_size(): bounds for the ERE at *sp (alternatives and sequences
 * add, repetitions multiply), each at most RE_COSTMAX + 1 (also for
 * nesting deeper than RE_DEPTHMAX). Inside a group (depth > 0) it
 * stops at the group's ')'; *sp is left where it stopped.
 */
static struct re_size
re_size(const char **sp, int depth)
{
	const char *s = *sp;
	struct re_size t = { 0, 0, 0, 0, 0 }, a, g;
	unsigned long mul, run = 0, be = 0;
	int opt, none, head = 1, bnul = 1;

	if (depth > RE_DEPTHMAX) {
		t.n = t.z = t.e = t.emax = RE_COSTMAX + 1;
		return t;
	}
	for (;;) {
		if (*s == '\0' || (*s == ')' && depth > 0) || *s == '|') {
			/* a branch ends: alternatives add */
			t.e = re_sat(t.e + be);
			t.nul |= bnul;
			t.emax = re_max(t.emax, t.e);
			if (*s != '|')
				break;
			s++;
			run = be = 0;
			head = bnul = 1;
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.n = a.e = a.emax = 1;
		if (*s == '(') {
			s++;
			g = re_size(&s, depth + 1);
			a.n = re_sat(g.n + 1);
			a.z = g.z;
			a.e = re_sat(g.e + 1);
			a.emax = re_max(g.emax, a.e);
			a.nul = g.nul;
			if (*s == ')')
				s++;
		} else if (*s == '[')
			s = re_bracket(s);
		else if (*s == '\\' && s[1] != '\0')
			s += 2;
		else
			s++;
		for (;;) {
			if (*s == '*' || *s == '+' || *s == '?') {
				mul = 2;
				opt = 1;
				none = *s != '+';
				s++;
			} else if (*s != '{' ||
			    !re_interval(&s, &mul, &opt, &none))
				break;
			a.z = re_sat((opt ? a.n + a.z : a.z) * mul);
			a.n = re_sat(a.n * mul);
			if (a.z > a.n)
				a.z = a.n;
			/* copies that may match nothing are crossed in a row */
			a.e = re_sat(a.nul ? a.e * mul : a.e + 1);
			a.emax = re_max(a.emax, a.e);
			a.nul = a.nul || none;
		}
		t.n = re_sat(t.n + a.n);
		t.z = re_sat(t.z + a.z);
		t.emax = re_max(t.emax, re_max(a.emax, re_sat(run + a.e)));
		run = a.nul ? re_sat(run + a.e) : 0;
		if (head) {
			be = re_sat(be + a.e);
			head = a.nul;
		}
		bnul = bnul && a.nul;
	}
	*sp = s;
	return t;
}

/*
 * re_cost(): the nodes, or the nodes in optional copies times the most
 * reachable without input (the closures glibc keeps) / 100.
 */
static unsigned long
re_cost(const char *re)
{
	struct re_size r = re_size(&re, 0);

	return re_max(r.n, re_sat(r.z * r.emax / 100));
}

/* 1 when regexp re is small enough to compile (re_cost()), else 0. */
static int
re_ok(const char *re)
{
	return re_cost(re) <= RE_COSTMAX;
}

/* re_ok() for the compiler, which also counts the file's total. */
static int
re_check(struct comp *c, const char *re)
{
	unsigned long n = re_cost(re);

	if (n > RE_COSTMAX)
		return cerr(c, "regexp '%.80s' too complex (over %d states "
		    "with its repetitions expanded)", re, RE_COSTMAX);
	if ((c->recost += n) > RE_TOTALMAX)
		return cerr(c, "regexps too complex in all (over %d states "
		    "with their repetitions expanded)", RE_TOTALMAX);
	return 0;
}

/* One matcher token of group g for cond id. 0 or -1. */
static int
add_matcher(struct comp *c, const char *tok, const char *v, uint32_t cond)
{
	struct ritem *it;
	long long lo, hi;
	long off;
	regex_t re;
	char *dash, tmp[32];
	int fam;
	unsigned plen;

	if (*v == '\0')
		return cerr(c, "empty value in '%s'", tok);
	if (strncmp(tok, "full:", 5) == 0)
		return add_domain(c, v, cond, 1);
	if (strncmp(tok, "domain:", 7) == 0)
		return add_domain(c, v, cond, 0);
	if (strncmp(tok, "domain-list:", 12) == 0)
		return add_list(c, v, cond, 0);
	if (strncmp(tok, "ip-list:", 8) == 0)
		return add_list(c, v, cond, 1);
	if (strncmp(tok, "ip:", 3) == 0)
		return add_ip(c, v, cond);
	if (strncmp(tok, "keyword:", 8) == 0 || strncmp(tok, "regexp:", 7) == 0) {
		int isre = tok[0] == 'r';

		if (isre && re_check(c, v) == -1)
			return -1;
		if (isre) {
			int e = regcomp(&re, v, REG_EXTENDED | REG_NOSUB | REG_ICASE);

			if (e != 0) {
				char m[128];

				regerror(e, &re, m, sizeof(m));
				return cerr(c, "bad regexp '%.80s': %s", v, m);
			}
			regfree(&re);
		}
		if ((it = item_new(c, isre ? I_REGEXP : I_KEYWORD)) == NULL)
			return -1;
		if ((off = str_add(c, v, strlen(v))) < 0)
			return cerr(c, "out of memory");
		/* Keywords compare against lowercase names. */
		if (!isre) {
			char *s = c->str + off;

			for (; *s; s++)
				*s = (char)tolower((unsigned char)*s);
		}
		it = (struct ritem *)c->items.p + c->items.n - 1;
		it->a = (uint32_t)off;
		return 0;
	}
	if (strncmp(tok, "port:", 5) == 0) {
		if (strlcpy(tmp, v, sizeof(tmp)) >= sizeof(tmp))
			return cerr(c, "bad port '%.80s'", v);
		if ((dash = strchr(tmp, '-')) != NULL)
			*dash++ = '\0';
		if (vpio_parse_num(tmp, 0, 65535, &lo) == -1 ||
		    (dash != NULL && vpio_parse_num(dash, 0, 65535, &hi) == -1))
			return cerr(c, "bad port '%.80s'", v);
		if (dash == NULL)
			hi = lo;
		if (hi < lo)
			return cerr(c, "bad port range '%.80s'", v);
		if ((it = item_new(c, I_PORT)) == NULL)
			return -1;
		it->a = (uint32_t)lo;
		it->b = (uint32_t)hi;
		return 0;
	}
	if (strncmp(tok, "source:", 7) == 0) {
		unsigned char a[16];

		if (cidr_parse(v, &fam, a, &plen) == -1)
			return cerr(c, "bad source CIDR '%.80s'", v);
		if ((it = item_new(c, fam == 4 ? I_CIDR4 : I_CIDR6)) == NULL)
			return -1;
		memcpy(it->addr, a, 16);
		it->plen = plen;
		return 0;
	}
	if (strncmp(tok, "uid:", 4) == 0 || strncmp(tok, "gid:", 4) == 0) {
		if (vpio_parse_num(v, 0, UINT32_MAX - 1, &lo) == -1)
			return cerr(c, "bad number '%.80s'", v);
		if ((it = item_new(c, I_NUM)) == NULL)
			return -1;
		it->a = (uint32_t)lo;
		return 0;
	}
	if (strncmp(tok, "inbound:", 8) == 0 && strcmp(v, "socks5") != 0 &&
	    strcmp(v, "socks4") != 0 && strcmp(v, "http") != 0)
		return cerr(c, "inbound: is socks5, socks4 or http, not '%.80s'", v);
	if (strncmp(tok, "protocol:", 9) == 0 && strcmp(v, "tls") != 0 &&
	    strcmp(v, "http") != 0)
		return cerr(c, "protocol: is tls or http, not '%.80s'", v);
	/* user:, inbound:, protocol: */
	if ((it = item_new(c, I_STR)) == NULL)
		return -1;
	if ((off = str_add(c, v, strlen(v))) < 0)
		return cerr(c, "out of memory");
	it = (struct ritem *)c->items.p + c->items.n - 1;
	it->a = (uint32_t)off;
	return 0;
}

static int
find_out(struct comp *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->outs.n; i++)
		if (strcmp(c->outnames[i], name) == 0)
			return (int)i;
	return -1;
}

#define MAXTOK 4096

static int
parse_route(struct comp *c, char **tok, int ntok, int out)
{
	struct rrule *r;
	struct rcond *cd;
	const char *v;
	int g, i, any, gi;

	if (ntok < 3)
		return cerr(c, "route needs an outbound and at least one matcher");
	for (i = 2; i < ntok; i++)
		if (group_of(tok[i], &v) == -1)
			return cerr(c, "unknown matcher '%.80s'", tok[i]);
	if ((r = arr_add(&c->rules)) == NULL)
		return cerr(c, "out of memory");
	r->out = (uint32_t)out;
	r->cond0 = (uint32_t)c->conds.n;
	r->line = c->line;
	for (g = 0; g < G_COUNT; g++) {
		uint32_t cid = (uint32_t)c->conds.n;

		any = 0;
		for (i = 2; i < ntok; i++)
			if (group_of(tok[i], &v) == g)
				any = 1;
		if (!any)
			continue;
		if ((cd = arr_add(&c->conds)) == NULL)
			return cerr(c, "out of memory");
		cd->group = (uint32_t)g;
		cd->item0 = (uint32_t)c->items.n;
		for (i = 2; i < ntok; i++) {
			if ((gi = group_of(tok[i], &v)) != g)
				continue;
			if (add_matcher(c, tok[i], v, cid) == -1)
				return -1;
		}
		cd = (struct rcond *)c->conds.p + cid;
		cd->nitem = (uint32_t)(c->items.n - cd->item0);
	}
	r = (struct rrule *)c->rules.p + c->rules.n - 1;
	r->ncond = (uint32_t)(c->conds.n - r->cond0);
	return 0;
}

/*
 * socks5_ok(): checks a socks5 outbound's endpoint as vp-dispatch will
 * read it per connection (vpproxyc_parse), so a typo is a compile error,
 * not a failure of every connection. 0 or -1 (message in c).
 */
static int
socks5_ok(struct comp *c, const char *ep)
{
	struct vpproxy px;
	char url[600], perr[256];
	int n, rc = 0;

	n = snprintf(url, sizeof(url), "socks5://%s", ep);
	if (n < 0 || (size_t)n >= sizeof(url))
		rc = cerr(c, "outbound socks5: endpoint too long");
	else if (vpproxyc_parse(url, &px, perr, sizeof(perr)) == -1)
		rc = cerr(c, "outbound socks5: bad endpoint (want HOST:PORT, "
		    "[V6]:PORT or unix:PATH): %s",
		    perr);
	else if (px.auth && px.pass[0] == '\0')
		rc = cerr(c, "outbound socks5: user %.64s needs a password",
		    px.user);
	vpproxyc_clear(&px);
	explicit_bzero(url, sizeof(url));
	return rc;
}

/*
 * exec_ok(): checks a command template as vp-dispatch expands it per
 * connection (vpep_expand: %h, %p, %% only), with a short destination.
 * 0 or -1 (message in c).
 */
static int
exec_ok(struct comp *c, const char *kind, const char *cmd)
{
	char buf[VPEP_CMDMAX];

	if (vpep_expand(cmd, "example.org", 65535, buf, sizeof(buf)) == 0)
		return 0;
	if (errno == ENAMETOOLONG)
		return cerr(c, "outbound %s: command too long", kind);
	return cerr(c, "outbound %s: a '%%' must be followed by h, p or %% "
	    "(%%%% for a literal one)", kind);
}

static int
parse_outbound(struct comp *c, char **tok, int ntok, const char *rest)
{
	static const struct {
		const char *word;
		int kind, needarg;
	} kinds[] = {
		{ "direct", VPRULE_DIRECT, 0 }, { "exec", VPRULE_EXEC, 1 },
		{ "exec-early", VPRULE_EXEC_EARLY, 1 }, { "socks5", VPRULE_SOCKS5, 1 },
		{ "reject", VPRULE_REJECT, 0 }, { "blackhole", VPRULE_BLACKHOLE, 0 },
	};
	struct rout *o;
	char **nn;
	long noff, aoff;
	size_t i;

	if (ntok < 3)
		return cerr(c, "outbound needs a name and a kind");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(tok[2], kinds[i].word) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return cerr(c, "unknown outbound kind '%.80s'", tok[2]);
	if (kinds[i].needarg && (rest == NULL || *rest == '\0'))
		return cerr(c, "outbound %s needs an argument", tok[2]);
	if (!kinds[i].needarg && ntok > 3)
		return cerr(c, "outbound %s takes no argument", tok[2]);
	if (kinds[i].kind == VPRULE_SOCKS5 && ntok != 4)
		return cerr(c, "outbound socks5 takes one endpoint");
	if (kinds[i].kind == VPRULE_SOCKS5 && socks5_ok(c, rest) == -1)
		return -1;
	if ((kinds[i].kind == VPRULE_EXEC || kinds[i].kind == VPRULE_EXEC_EARLY) &&
	    exec_ok(c, tok[2], rest) == -1)
		return -1;
	if (find_out(c, tok[1]) != -1)
		return cerr(c, "outbound '%.80s' defined twice", tok[1]);
	if ((noff = str_add(c, tok[1], strlen(tok[1]))) < 0 ||
	    (aoff = str_add(c, rest ? rest : "", rest ? strlen(rest) : 0)) < 0)
		return cerr(c, "out of memory");
	if ((nn = reallocarray(c->outnames, c->outs.n + 1, sizeof(*nn))) == NULL)
		return cerr(c, "out of memory");
	c->outnames = nn;
	if ((nn[c->outs.n] = strdup(tok[1])) == NULL)
		return cerr(c, "out of memory");
	if ((o = arr_add(&c->outs)) == NULL)
		return cerr(c, "out of memory");
	o->name = (uint32_t)noff;
	o->kind = (uint32_t)kinds[i].kind;
	o->arg = (uint32_t)aoff;
	return 0;
}

/* Checks a name: letters, digits, '-', '_', '.'. */
static int
name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return 0;
	return 1;
}

static const void *cmp_base;

static int
dom_cmp(const void *a, const void *b)
{
	const struct rdom *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp((const char *)cmp_base + x->rev,
	    (const char *)cmp_base + y->rev, n);

	if (r != 0)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->cond < y->cond ? -1 : x->cond > y->cond;
}

static int
ip4_cmp(const void *a, const void *b)
{
	const struct rip4 *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return x->cond < y->cond ? -1 : x->cond > y->cond;
}

static int
ip6_cmp(const void *a, const void *b)
{
	const struct rip6 *x = a, *y = b;
	int r;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if ((r = memcmp(x->net, y->net, 16)) != 0)
		return r;
	return x->cond < y->cond ? -1 : x->cond > y->cond;
}

static int
write_out(struct comp *c, const char *path)
{
	char out[PATH_MAX], tmp[PATH_MAX];
	struct hdr h;
	const struct arr *parts[] = {
		&c->deps, &c->outs, &c->rules, &c->conds, &c->items,
		&c->doms, &c->ip4, &c->ip6,
	};
	size_t i, pad;
	static const char zero[8];
	int fd, n;

	n = snprintf(out, sizeof(out), "%s%s", path, VPRC_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(out))
		return cerr(c, "path too long");
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return cerr(c, "path too long");
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VPRC_MAGIC, 8);
	h.endian = 0x01020304;
	h.ndep = (uint32_t)c->deps.n;
	h.nout = (uint32_t)c->outs.n;
	h.nrule = (uint32_t)c->rules.n;
	h.ncond = (uint32_t)c->conds.n;
	h.nitem = (uint32_t)c->items.n;
	h.ndom = (uint32_t)c->doms.n;
	h.nip4 = (uint32_t)c->ip4.n;
	h.nip6 = (uint32_t)c->ip6.n;
	h.defout = (uint32_t)c->defout;
	pad = (8 - c->strn % 8) % 8;
	h.strsize = c->strn + pad;
	h.total = sizeof(h) + h.strsize;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		h.total += parts[i]->n * parts[i]->size;
	/* an error here is the directory's, not a rules line's */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) == -1) {
		snprintf(c->err, c->errlen, "cannot write %s: %s: %s", out, tmp,
		    strerror(errno));
		return -1;
	}
	if (vpio_writeall(fd, &h, sizeof(h)) != sizeof(h))
		goto fail;
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t len = parts[i]->n * parts[i]->size;

		if (len > 0 && vpio_writeall(fd, parts[i]->p, len) != len)
			goto fail;
	}
	if ((c->strn > 0 && vpio_writeall(fd, c->str, c->strn) != c->strn) ||
	    (pad > 0 && vpio_writeall(fd, zero, pad) != pad))
		goto fail;
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, out) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	snprintf(c->err, c->errlen, "cannot write %s: %s: %s", out, tmp,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}


int
vprules_compile(const char *path, char *err, size_t errlen)
{
	struct comp c;
	char *line = NULL, *p, *e, *tok[MAXTOK], *rest, *save;
	size_t cap = 0, i;
	ssize_t n;
	struct stat st;
	FILE *f;
	int ntok, rc = -1, o, have_default = 0;
	char *linecopy = NULL, apath[PATH_MAX];

	memset(&c, 0, sizeof(c));
	c.file = path;
	c.err = err;
	c.errlen = errlen;
	c.defout = -1;
	c.deps.size = sizeof(struct dep);
	c.outs.size = sizeof(struct rout);
	c.rules.size = sizeof(struct rrule);
	c.conds.size = sizeof(struct rcond);
	c.items.size = sizeof(struct ritem);
	c.doms.size = sizeof(struct rdom);
	c.ip4.size = sizeof(struct rip4);
	c.ip6.size = sizeof(struct rip6);
	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	if (!perm_ok(&st)) {
		snprintf(err, errlen, "%s: writable by group or others; refusing "
		    "a file that names commands", path);
		fclose(f);
		return -1;
	}
	if (abs_dir(&c, path, apath, sizeof(apath)) == -1 ||
	    add_dep(&c, apath, &st) == -1)
		goto done;
	while ((n = getline(&line, &cap, f)) != -1) {
		c.line++;
		if (n > VPRC_MAXLINE) {
			cerr(&c, "line too long");
			goto done;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			cerr(&c, "NUL byte");
			goto done;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (e = line + strlen(line); e > line &&
		    isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		free(linecopy);
		if ((linecopy = strdup(line)) == NULL) {
			cerr(&c, "out of memory");
			goto done;
		}
		ntok = 0;
		for (p = strtok_r(line, " \t\r", &save); p != NULL;
		    p = strtok_r(NULL, " \t\r", &save)) {
			if (ntok == MAXTOK) {
				cerr(&c, "too many words");
				goto done;
			}
			tok[ntok++] = p;
		}
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "outbound") == 0) {
			if (ntok >= 2 && !name_ok(tok[1])) {
				cerr(&c, "bad outbound name '%.80s'", tok[1]);
				goto done;
			}
			/* The argument: the rest of the line after the kind. */
			rest = NULL;
			if (ntok >= 4)
				rest = linecopy + (tok[3] - line);
			if (parse_outbound(&c, tok, ntok, rest) == -1)
				goto done;
		} else if (strcmp(tok[0], "route") == 0) {
			if (ntok < 2 || (o = find_out(&c, tok[1])) == -1) {
				cerr(&c, "route names an undefined outbound '%.80s'",
				    ntok < 2 ? "" : tok[1]);
				goto done;
			}
			if (parse_route(&c, tok, ntok, o) == -1)
				goto done;
		} else if (strcmp(tok[0], "default") == 0) {
			if (ntok != 2 || (o = find_out(&c, tok[1])) == -1) {
				cerr(&c, "default names an undefined outbound");
				goto done;
			}
			if (have_default) {
				cerr(&c, "second default");
				goto done;
			}
			c.defout = o;
			have_default = 1;
		} else {
			cerr(&c, "unknown statement '%.80s' (outbound, route, "
			    "default)", tok[0]);
			goto done;
		}
	}
	if (ferror(f)) {
		cerr(&c, "read error");
		goto done;
	}
	if (!have_default) {
		c.line++;
		cerr(&c, "no default statement");
		goto done;
	}
	cmp_base = c.str;
	if (c.doms.n > 0)
		qsort(c.doms.p, c.doms.n, sizeof(struct rdom), dom_cmp);
	if (c.ip4.n > 0)
		qsort(c.ip4.p, c.ip4.n, sizeof(struct rip4), ip4_cmp);
	if (c.ip6.n > 0)
		qsort(c.ip6.p, c.ip6.n, sizeof(struct rip6), ip6_cmp);
	rc = write_out(&c, path);
done:
	fclose(f);
	free(line);
	free(linecopy);
	for (i = 0; i < c.outs.n; i++)
		free(c.outnames[i]);
	free(c.outnames);
	free(c.deps.p);
	free(c.outs.p);
	free(c.rules.p);
	free(c.conds.p);
	free(c.items.p);
	free(c.doms.p);
	free(c.ip4.p);
	free(c.ip6.p);
	free(c.str);
	return rc;
}

/* ---- the mapped side */

struct vprules {
	void			*map;
	size_t			 size;
	const struct hdr	*h;
	const struct dep	*deps;
	const struct rout	*outs;
	const struct rrule	*rules;
	const struct rcond	*conds;
	const struct ritem	*items;
	const struct rdom	*doms;
	const struct rip4	*ip4;
	const struct rip6	*ip6;
	const char		*str;
	regex_t			**re;	/* lazily compiled, per item */
	struct stat		 st;	/* of the compiled file mapped */
	char			 cpath[PATH_MAX];
};

/* A string at off, or "" if off is out of range. */
static const char *
S(const struct vprules *r, uint32_t off)
{
	return off < r->h->strsize ? r->str + off : "";
}

struct vprules *
vprules_open(const char *path, char *err, size_t errlen)
{
	char cpath[PATH_MAX];
	struct vprules *r;
	struct stat st, dst;
	const unsigned char *p;
	uint64_t need;
	uint32_t i;
	int fd, n;

	n = snprintf(cpath, sizeof(cpath), "%s%s", path, VPRC_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(cpath)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	if ((fd = open(cpath, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s (compile it with vp-dispatch -C %s)",
		    cpath, strerror(errno), path);
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", cpath, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!perm_ok(&st)) {
		snprintf(err, errlen, "%s: writable by group or others", cpath);
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size < sizeof(struct hdr)) {
		snprintf(err, errlen, "%s: not a compiled rules file", cpath);
		close(fd);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	r->size = (size_t)st.st_size;
	r->st = st;
	strlcpy(r->cpath, cpath, sizeof(r->cpath));
	r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (r->map == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", cpath, strerror(errno));
		free(r);
		return NULL;
	}
	r->h = r->map;
	if (memcmp(r->h->magic, VPRC_MAGIC, 8) != 0 ||
	    r->h->endian != 0x01020304 || r->h->total != r->size)
		goto malformed;
	need = sizeof(struct hdr) + (uint64_t)r->h->ndep * sizeof(struct dep) +
	    (uint64_t)r->h->nout * sizeof(struct rout) +
	    (uint64_t)r->h->nrule * sizeof(struct rrule) +
	    (uint64_t)r->h->ncond * sizeof(struct rcond) +
	    (uint64_t)r->h->nitem * sizeof(struct ritem) +
	    (uint64_t)r->h->ndom * sizeof(struct rdom) +
	    (uint64_t)r->h->nip4 * sizeof(struct rip4) +
	    (uint64_t)r->h->nip6 * sizeof(struct rip6) + r->h->strsize;
	if (need != r->size || r->h->strsize == 0 || r->h->nout == 0 ||
	    r->h->defout >= r->h->nout || r->h->ndep == 0)
		goto malformed;
	p = (const unsigned char *)r->map + sizeof(struct hdr);
	r->deps = (const void *)p;
	p += r->h->ndep * sizeof(struct dep);
	r->outs = (const void *)p;
	p += r->h->nout * sizeof(struct rout);
	r->rules = (const void *)p;
	p += r->h->nrule * sizeof(struct rrule);
	r->conds = (const void *)p;
	p += r->h->ncond * sizeof(struct rcond);
	r->items = (const void *)p;
	p += r->h->nitem * sizeof(struct ritem);
	r->doms = (const void *)p;
	p += r->h->ndom * sizeof(struct rdom);
	r->ip4 = (const void *)p;
	p += r->h->nip4 * sizeof(struct rip4);
	r->ip6 = (const void *)p;
	p += r->h->nip6 * sizeof(struct rip6);
	r->str = (const char *)p;
	if (r->str[r->h->strsize - 1] != '\0')
		goto malformed;
	/* The small tables are checked here; big ones at each use. */
	for (i = 0; i < r->h->nrule; i++)
		if (r->rules[i].out >= r->h->nout ||
		    r->rules[i].cond0 > r->h->ncond ||
		    r->rules[i].ncond > r->h->ncond - r->rules[i].cond0)
			goto malformed;
	for (i = 0; i < r->h->ncond; i++)
		if (r->conds[i].item0 > r->h->nitem ||
		    r->conds[i].nitem > r->h->nitem - r->conds[i].item0 ||
		    r->conds[i].group >= G_COUNT)
			goto malformed;
	/* Stale: the text or a list file changed since compiling. */
	for (i = 0; i < r->h->ndep; i++) {
		const struct dep *d = &r->deps[i];
		const char *dp = S(r, d->path);

		if (stat(dp, &dst) == -1) {
			snprintf(err, errlen, "%s: %s (needed by %s)", dp,
			    strerror(errno), cpath);
			vprules_close(r);
			return NULL;
		}
		if (dst.st_mtim.tv_sec != d->mtime_sec ||
		    dst.st_mtim.tv_nsec != d->mtime_nsec ||
		    dst.st_size != d->size) {
			snprintf(err, errlen, "%s is stale: %s changed since it "
			    "was compiled; run vp-dispatch -C %s", cpath, dp, path);
			vprules_close(r);
			return NULL;
		}
	}
	return r;
malformed:
	snprintf(err, errlen, "%s: malformed compiled rules file; recompile "
	    "with vp-dispatch -C %s", cpath, path);
	vprules_close(r);
	return NULL;
}

int
vprules_current(const struct vprules *r)
{
	struct stat st;
	uint32_t i;

	/* a chmod too: the permission check must be made again */
	if (stat(r->cpath, &st) == -1 || !vpio_same_file(&st, &r->st))
		return 0;
	for (i = 0; i < r->h->ndep; i++) {
		const struct dep *d = &r->deps[i];

		if (stat(S(r, d->path), &st) == -1 ||
		    st.st_mtim.tv_sec != d->mtime_sec ||
		    st.st_mtim.tv_nsec != d->mtime_nsec ||
		    st.st_size != d->size)
			return 0;
	}
	return 1;
}

void
vprules_close(struct vprules *r)
{
	uint32_t i;

	if (r == NULL)
		return;
	if (r->re != NULL && r->h != NULL) {
		for (i = 0; i < r->h->nitem; i++)
			if (r->re[i] != NULL) {
				regfree(r->re[i]);
				free(r->re[i]);
			}
		free(r->re);
	}
	if (r->map != NULL && r->map != MAP_FAILED)
		munmap(r->map, r->size);
	free(r);
}

size_t
vprules_nroutes(const struct vprules *r)
{
	return r->h->nrule;
}

static void
setbit(unsigned char *bm, uint32_t i, uint32_t n)
{
	if (i < n)
		bm[i / 8] |= (unsigned char)(1u << (i % 8));
}

/* Marks conds of every domain entry equal to rev[0..k). */
static void
dom_lookup(const struct vprules *r, const char *rev, size_t k, int whole,
    unsigned char *bm)
{
	size_t lo = 0, hi = r->h->ndom, mid;

	while (lo < hi) {
		const struct rdom *d;
		size_t n;
		int c;

		mid = lo + (hi - lo) / 2;
		d = &r->doms[mid];
		n = d->len < k ? d->len : k;
		if (d->rev >= r->h->strsize || d->len > r->h->strsize - d->rev)
			return;
		c = memcmp(r->str + d->rev, rev, n);
		if (c == 0)
			c = d->len < k ? -1 : d->len > k;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->h->ndom; lo++) {
		const struct rdom *d = &r->doms[lo];

		if (d->len != k || d->rev >= r->h->strsize ||
		    d->len > r->h->strsize - d->rev ||
		    memcmp(r->str + d->rev, rev, k) != 0)
			break;
		if (!d->full || whole)
			setbit(bm, d->cond, r->h->ncond);
	}
}

static void
ip4_lookup(const struct vprules *r, uint32_t a, unsigned char *bm)
{
	size_t i = 0, lo, hi, mid, end;
	uint32_t plen, net;

	while (i < r->h->nip4) {
		plen = r->ip4[i].plen;
		/* The run of entries with this prefix length. */
		lo = i;
		hi = r->h->nip4;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (r->ip4[mid].plen <= plen)
				lo = mid + 1;
			else
				hi = mid;
		}
		end = lo;
		if (plen > 32)
			return;
		net = plen == 0 ? 0 : a & (0xffffffffu << (32 - plen));
		lo = i;
		hi = end;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (r->ip4[mid].net < net)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < end && r->ip4[lo].net == net; lo++)
			setbit(bm, r->ip4[lo].cond, r->h->ncond);
		i = end;
	}
}

static void
mask6(const unsigned char *a, unsigned plen, unsigned char *out)
{
	unsigned i;

	memcpy(out, a, 16);
	for (i = plen; i < 128; i++)
		out[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
}

static void
ip6_lookup(const struct vprules *r, const unsigned char *a, unsigned char *bm)
{
	size_t i = 0, lo, hi, mid, end;
	unsigned char net[16];
	uint32_t plen;

	while (i < r->h->nip6) {
		plen = r->ip6[i].plen;
		lo = i;
		hi = r->h->nip6;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (r->ip6[mid].plen <= plen)
				lo = mid + 1;
			else
				hi = mid;
		}
		end = lo;
		if (plen > 128)
			return;
		mask6(a, plen, net);
		lo = i;
		hi = end;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (memcmp(r->ip6[mid].net, net, 16) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < end && memcmp(r->ip6[lo].net, net, 16) == 0; lo++)
			setbit(bm, r->ip6[lo].cond, r->h->ncond);
		i = end;
	}
}

static int
item_match(struct vprules *r, uint32_t idx, int group,
    const struct vprules_conn *c, const char *dom)
{
	const struct ritem *it = &r->items[idx];
	unsigned char a[16], m[16];
	int fam;
	unsigned plen;

	switch (it->kind) {
	case I_KEYWORD:
		return dom != NULL && strstr(dom, S(r, it->a)) != NULL;
	case I_REGEXP:
		if (dom == NULL)
			return 0;
		if (r->re == NULL &&
		    (r->re = calloc(r->h->nitem, sizeof(*r->re))) == NULL)
			return 0;
		if (r->re[idx] == NULL) {
			if (!re_ok(S(r, it->a)))
				return 0;	/* only a corrupt file has one */
			if ((r->re[idx] = malloc(sizeof(regex_t))) == NULL)
				return 0;
			if (regcomp(r->re[idx], S(r, it->a),
			    REG_EXTENDED | REG_NOSUB | REG_ICASE) != 0) {
				free(r->re[idx]);
				r->re[idx] = NULL;
				return 0;
			}
		}
		return regexec(r->re[idx], dom, 0, NULL, 0) == 0;
	case I_PORT:
		return c->port >= it->a && c->port <= it->b;
	case I_CIDR4:
	case I_CIDR6:
		if (c->source == NULL ||
		    cidr_parse(c->source, &fam, a, &plen) == -1 ||
		    fam != (it->kind == I_CIDR4 ? 4 : 6) || it->plen > 128)
			return 0;
		mask6(a, it->plen, m);
		return memcmp(m, it->addr, 16) == 0;
	case I_NUM:
		if (group == G_UID)
			return c->uid >= 0 && (unsigned long)c->uid == it->a;
		return c->gid >= 0 && (unsigned long)c->gid == it->a;
	case I_STR:
		if (group == G_USER)
			return c->user != NULL && strcmp(c->user, S(r, it->a)) == 0;
		if (group == G_INBOUND)
			return c->inbound != NULL &&
			    strcmp(c->inbound, S(r, it->a)) == 0;
		return c->protocol != NULL && strcmp(c->protocol, S(r, it->a)) == 0;
	}
	return 0;
}

int
vprules_match(struct vprules *r, const struct vprules_conn *c,
    struct vprules_out *out)
{
	unsigned char stackbm[512], *bm = stackbm, a[16];
	char dom[256], rev[256];
	const char *name = NULL;
	struct in_addr in4;
	int fam;
	size_t bmlen = (r->h->ncond + 7) / 8, n, i;
	uint32_t ri, ci, k, o;

	if (bmlen > sizeof(stackbm) && (bm = calloc(1, bmlen)) == NULL)
		return -1;
	if (bm == stackbm)
		memset(bm, 0, sizeof(stackbm));
	/*
	 * The destination as an address, in any spelling the resolver
	 * takes without asking DNS: "127.1", "0x7f.1", "2130706433" and
	 * "0177.0.0.1" (inet_aton) are 127.0.0.1 to getaddrinfo, and
	 * "::ffff:127.0.0.1" is 127.0.0.1 to connect(); ip: rules must see
	 * them so.
	 */
	fam = 0;
	if (c->host != NULL) {
		if (inet_pton(AF_INET, c->host, a) == 1)
			fam = AF_INET;
		else if (inet_pton(AF_INET6, c->host, a) == 1)
			fam = AF_INET6;
		else if (strpbrk(c->host, " \t\n\v\f\r") == NULL &&
		    inet_aton(c->host, &in4) != 0) {
			memcpy(a, &in4, 4);
			fam = AF_INET;
		}
	}
	/*
	 * The domain to match: the host if it is a name (the connection
	 * goes there, so a sniffed name must not stand in for it); the
	 * sniffed name when the client gave an address.
	 */
	if (c->host != NULL && c->host[0] != '\0' && fam == 0)
		name = c->host;
	else if (c->sniffed != NULL && c->sniffed[0] != '\0')
		name = c->sniffed;
	if (name != NULL) {
		n = strlen(name);
		if (n > 0 && name[n - 1] == '.')
			n--;
		if (n == 0 || n >= sizeof(dom))
			name = NULL;
		else {
			for (i = 0; i < n; i++) {
				dom[i] = (char)tolower((unsigned char)name[i]);
				rev[n - 1 - i] = dom[i];
			}
			dom[n] = rev[n] = '\0';
			name = dom;
			for (i = 1; i <= n; i++)
				if (i == n || rev[i] == '.')
					dom_lookup(r, rev, i, i == n, bm);
		}
	}
	if (fam == AF_INET)
		ip4_lookup(r, (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		    (uint32_t)a[2] << 8 | a[3], bm);
	else if (fam == AF_INET6) {
		ip6_lookup(r, a, bm);
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a))
			ip4_lookup(r, (uint32_t)a[12] << 24 |
			    (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15],
			    bm);
	}
	o = r->h->defout;
	for (ri = 0; ri < r->h->nrule; ri++) {
		const struct rrule *ru = &r->rules[ri];
		int all = 1;

		for (ci = ru->cond0; ci < ru->cond0 + ru->ncond && all; ci++) {
			const struct rcond *cd = &r->conds[ci];
			int any = (bm[ci / 8] >> (ci % 8)) & 1;

			for (k = 0; !any && k < cd->nitem; k++)
				any = item_match(r, cd->item0 + k, (int)cd->group,
				    c, name);
			all = any;
		}
		if (all) {
			o = ru->out;
			break;
		}
	}
	if (bm != stackbm)
		free(bm);
	out->name = S(r, r->outs[o].name);
	out->kind = (enum vprules_kind)r->outs[o].kind;
	out->arg = S(r, r->outs[o].arg);
	return 0;
}
