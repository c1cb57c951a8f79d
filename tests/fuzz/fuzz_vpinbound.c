/*
 * Fuzz target: vpinbound's request parsers, driven the way vp-dispatch
 * drives them: the protocol from the first byte (or forced), then the
 * stages in order (SOCKS5 greeting, RFC 1929 auth when users are
 * configured, request; SOCKS4/4a; HTTP CONNECT or absolute-form with
 * the rewrite), each stage re-parsing the bytes left by the one before.
 *
 * Input: a flags byte (bit 0: users configured; bits 1-2: forced
 * protocol, 0 = detect), a split byte, then the client's bytes.
 *
 * Invariants, per stage: the result is MORE, DONE or BAD; on DONE
 * 0 < used <= len; on BAD an error class and a reason are set. A done
 * parse is stable under any split: every proper prefix of the request
 * is MORE (dispatch would reject a request that arrives in two pieces
 * otherwise), and the request followed by more bytes parses to the same
 * length and the same fields. A bad prefix stays bad when more bytes
 * come. Outputs are bounded: host 1..255 bytes, port 1..65535, user and
 * password NUL-terminated within their arrays, the rewritten HTTP head
 * at most VPIN_HEADMAX + 512 bytes, ending CRLF CRLF, with no NUL,
 * every line ending CRLF and no other CR or LF, exactly one Host and
 * one "Connection: close", no hop-by-hop header and no
 * Proxy-Authorization. vpin_b64decode never writes
 * past its output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vpendpoint.h"
#include "vpinbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*parse_fn)(const unsigned char *, size_t, size_t *,
    struct vpin_req *);

static unsigned methods;

static int
p_greeting(const unsigned char *b, size_t n, size_t *u, struct vpin_req *r)
{
	return vpin_socks5_greeting(b, n, u, &methods, r);
}

static int
p_auth(const unsigned char *b, size_t n, size_t *u, struct vpin_req *r)
{
	return vpin_socks5_auth(b, n, u, r);
}

static int
p_socks5(const unsigned char *b, size_t n, size_t *u, struct vpin_req *r)
{
	return vpin_socks5_request(b, n, u, r);
}

static int
p_socks4(const unsigned char *b, size_t n, size_t *u, struct vpin_req *r)
{
	return vpin_socks4(b, n, u, r);
}

static int
p_http(const unsigned char *b, size_t n, size_t *u, struct vpin_req *r)
{
	return vpin_http(b, n, u, r);
}

static void
check_str(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

/* The fields a done parse produced must not depend on the split. */
static void
same_req(const struct vpin_req *a, const struct vpin_req *b)
{
	if (a->proto != b->proto || a->port != b->port ||
	    a->host_is_name != b->host_is_name ||
	    a->http_connect != b->http_connect ||
	    a->has_auth != b->has_auth || a->http_minor != b->http_minor ||
	    strcmp(a->host, b->host) != 0 || strcmp(a->user, b->user) != 0 ||
	    strcmp(a->pass, b->pass) != 0 || strcmp(a->method, b->method) != 0 ||
	    a->headlen != b->headlen ||
	    (a->head == NULL) != (b->head == NULL) ||
	    (a->head != NULL && memcmp(a->head, b->head, a->headlen) != 0))
		abort();
}

/* Is the header line l[0..n) named name (case-insensitive)? */
static int
named(const char *l, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && l[k] == ':' && strncasecmp(l, name, k) == 0;
}

/*
 * The rewritten head is one request line and header lines, each ending
 * CRLF, with no other CR or LF (a lone one could split a header at the
 * origin), exactly one Host and one Connection (": close"), and none of
 * the hop-by-hop headers.
 */
static void
check_head(const char *h, size_t n)
{
	static const char *hop[] = { "Proxy-Connection", "Keep-Alive", "TE",
	    "Trailer", "Upgrade", "Proxy-Authenticate",
	    "Proxy-Authorization" };
	size_t i, b = 0, line = 0, k;
	int host = 0, conn = 0;

	for (i = 0; i < n; i++) {
		if (h[i] == '\r' && (i + 1 == n || h[i + 1] != '\n'))
			abort();
		if (h[i] != '\n')
			continue;
		if (i == 0 || h[i - 1] != '\r')
			abort();
		if (line++ > 0 && i - 1 > b) {
			host += named(h + b, i - 1 - b, "Host");
			if (named(h + b, i - 1 - b, "Connection")) {
				conn++;
				if (i - 1 - b != 17 ||
				    strncmp(h + b, "Connection: close", 17) != 0)
					abort();
			}
			for (k = 0; k < sizeof(hop) / sizeof(hop[0]); k++)
				if (named(h + b, i - 1 - b, hop[k]))
					abort();
		}
		b = i + 1;
	}
	if (host != 1 || conn != 1)
		abort();
}

static void
check_done(parse_fn p, const struct vpin_req *r, size_t used, size_t len)
{
	const char *s, *e;

	if (used == 0 || used > len)
		abort();
	check_str(r->host, sizeof(r->host));
	check_str(r->user, sizeof(r->user));
	check_str(r->pass, sizeof(r->pass));
	check_str(r->method, sizeof(r->method));
	if (p == p_greeting || p == p_auth) {
		if (p == p_auth && (!r->has_auth || r->user[0] == '\0'))
			abort();
		return;
	}
	if (r->host[0] == '\0' || r->port == 0 || r->port > 65535)
		abort();
	if (r->head == NULL) {
		if (p == p_http && !r->http_connect)
			abort();
		return;
	}
	if (r->headlen < 4 || r->headlen > VPIN_HEADMAX + 512 ||
	    memcmp(r->head + r->headlen - 4, "\r\n\r\n", 4) != 0 ||
	    memchr(r->head, '\0', r->headlen) != NULL)
		abort();
	/* Credentials for the proxy never travel on to the origin. */
	for (s = r->head, e = r->head + r->headlen; s < e; s++) {
		if ((size_t)(e - s) >= 21 &&
		    strncasecmp(s, "\nProxy-Authorization:", 21) == 0)
			abort();
	}
	/*
	 * vp-dispatch forwards the head only for a valid host name (it
	 * refuses the rest with vpep_host_ok() first), so only then must
	 * the head be clean: a URL authority may hold any byte but space.
	 */
	if (vpep_host_ok(r->host))
		check_head(r->head, r->headlen);
}

/* One parse of b[0..n) from the request state before the stage. */
static int
run(parse_fn p, const struct vpin_req *before, const unsigned char *b,
    size_t n, size_t *used, struct vpin_req *out)
{
	unsigned char *copy;
	int r;

	/* An exact-size heap copy, so ASan sees any read past n. */
	if ((copy = malloc(n > 0 ? n : 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(copy, b, n);
	*out = *before;
	*used = 0;
	r = p(copy, n, used, out);
	free(copy);
	if (r != VPIN_MORE && r != VPIN_DONE && r != VPIN_BAD)
		abort();
	if (r == VPIN_BAD && (out->err == VPIN_E_NONE || out->reason == NULL))
		abort();
	if (r == VPIN_DONE)
		check_done(p, out, *used, n);
	return r;
}

/*
 * Runs one stage over b[0..n) like dispatch's read_stage with all the
 * bytes at once, checks the split invariants, and leaves the stage's
 * result in *req. Returns the result; *used on DONE.
 */
static int
stage(parse_fn p, struct vpin_req *req, const unsigned char *b, size_t n,
    unsigned split, size_t *used)
{
	struct vpin_req before = *req, r2;
	unsigned char *more;
	size_t u2, i, cut;
	int r, r2s;

	r = run(p, &before, b, n, used, req);
	if (r == VPIN_DONE) {
		/* Every proper prefix of a done request is "need more". */
		for (i = 0; i < *used; i++) {
			if (*used > 64 && i > 8 && i + 8 < *used &&
			    i != *used / 2 && i != (*used * (split & 0xff)) / 256)
				continue;
			r2s = run(p, &before, b, i, &u2, &r2);
			if (r2s != VPIN_MORE)
				abort();
		}
		/* More bytes after it change nothing. */
		if ((more = malloc(*used + 32)) == NULL)
			abort();
		memcpy(more, b, *used);
		memset(more + *used, split & 1 ? '\n' : 0x05, 32);
		r2s = run(p, &before, more, *used + 32, &u2, &r2);
		free(more);
		if (r2s != VPIN_DONE || u2 != *used)
			abort();
		same_req(req, &r2);
		vpin_free(&r2);
	} else {
		/* A bad prefix is not rescued by the bytes after it. */
		cut = n > 0 ? (size_t)split % (n + 1) : 0;
		r2s = run(p, &before, b, cut, &u2, &r2);
		vpin_free(&r2);
		if (r2s == VPIN_BAD && r != VPIN_BAD)
			abort();
		if (r2s == VPIN_DONE)
			abort();	/* the whole input was not done */
	}
	return r;
}

static void
b64(const uint8_t *data, size_t size)
{
	unsigned char *out;
	size_t cap = size % 7 + size / 2;
	long n;

	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		return;
	n = vpin_b64decode((const char *)data, size, out, cap);
	if (n < -1 || (n >= 0 && (size_t)n > cap))
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vpin_req req;
	enum vpin_proto proto;
	const unsigned char *b;
	size_t n, used;
	unsigned flags, split;
	int users;

	if (size < 2)
		return 0;
	flags = data[0];
	split = data[1];
	b = data + 2;
	n = size - 2;
	users = flags & 1;
	memset(&req, 0, sizeof(req));

	if (((flags >> 1) & 3) == 0) {
		proto = vpin_detect(b, n);
		if (n == 0 && proto != VPIN_UNKNOWN)
			abort();
		if (proto == VPIN_UNKNOWN) {
			b64(b, n);
			return 0;
		}
	} else
		proto = (enum vpin_proto)((flags >> 1) & 3);

	switch (proto) {
	case VPIN_SOCKS5:
		if (stage(p_greeting, &req, b, n, split, &used) != VPIN_DONE)
			break;
		b += used, n -= used;
		if (users) {
			if (stage(p_auth, &req, b, n, split >> 1, &used) !=
			    VPIN_DONE)
				break;
			b += used, n -= used;
		}
		if (stage(p_socks5, &req, b, n, split >> 2, &used) == VPIN_DONE &&
		    req.proto != VPIN_SOCKS5)
			abort();
		break;
	case VPIN_SOCKS4:
		if (stage(p_socks4, &req, b, n, split, &used) == VPIN_DONE &&
		    req.proto != VPIN_SOCKS4)
			abort();
		break;
	default:
		if (stage(p_http, &req, b, n, split, &used) == VPIN_DONE &&
		    req.proto != VPIN_HTTP)
			abort();
		break;
	}
	vpin_free(&req);
	return 0;
}
