/*
 * Unit tests for vpinbound: SOCKS5 (+RFC 1929), SOCKS4/4a and HTTP
 * proxy request parsers, with truncated, oversized and hostile input.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpinbound.h"

static struct vpin_req req;
static size_t used;

static void
reset(void)
{
	vpin_free(&req);
	memset(&req, 0, sizeof(req));
	used = 0;
}

typedef int (*pfn)(const unsigned char *, size_t, size_t *, struct vpin_req *);

/* Every strict prefix of a complete request must ask for more. */
static void
prefixes_more(pfn f, const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		reset();
		ck_assert_msg(f(b, i, &used, &req) == VPIN_MORE,
		    "prefix %zu of %zu not MORE (%s)", i, n,
		    req.reason ? req.reason : "");
	}
	reset();
}

static int
greet(const unsigned char *b, size_t n, size_t *u, struct vpin_req *r)
{
	unsigned m;

	return vpin_socks5_greeting(b, n, u, &m, r);
}

START_TEST(detect)
{
	ck_assert_int_eq(vpin_detect((const unsigned char *)"\x05", 1), VPIN_SOCKS5);
	ck_assert_int_eq(vpin_detect((const unsigned char *)"\x04", 1), VPIN_SOCKS4);
	ck_assert_int_eq(vpin_detect((const unsigned char *)"GET", 3), VPIN_HTTP);
	ck_assert_int_eq(vpin_detect((const unsigned char *)"CONNECT", 7), VPIN_HTTP);
	ck_assert_int_eq(vpin_detect((const unsigned char *)"\x16\x03", 2), VPIN_UNKNOWN);
	ck_assert_int_eq(vpin_detect((const unsigned char *)"get", 3), VPIN_UNKNOWN);
	ck_assert_int_eq(vpin_detect(NULL, 0), VPIN_UNKNOWN);
}
END_TEST

START_TEST(socks5_greeting)
{
	const unsigned char g[] = { 5, 2, 0, 2, 5, 1, 0, 3 };	/* + request */
	unsigned m;

	reset();
	ck_assert_int_eq(vpin_socks5_greeting(g, sizeof(g), &used, &m, &req),
	    VPIN_DONE);
	ck_assert_uint_eq(used, 4);
	ck_assert_uint_eq(m, (1u << 0) | (1u << 2));
	prefixes_more(greet, g, 4);
	reset();
	ck_assert_int_eq(vpin_socks5_greeting((const unsigned char *)"\x04\x01\x00",
	    3, &used, &m, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_VERSION);
	reset();
	ck_assert_int_eq(vpin_socks5_greeting((const unsigned char *)"\x05\x00",
	    2, &used, &m, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_NOMETHOD);
	/* 255 methods, including 0xff and >= 32 ones: fine. */
	{
		unsigned char big[257];
		int i;

		big[0] = 5;
		big[1] = 255;
		for (i = 0; i < 255; i++)
			big[2 + i] = (unsigned char)(254 - i);
		reset();
		ck_assert_int_eq(vpin_socks5_greeting(big, sizeof(big), &used,
		    &m, &req), VPIN_DONE);
		ck_assert_uint_eq(used, 257);
		ck_assert(m & 1u);
	}
}
END_TEST

START_TEST(socks5_auth)
{
	unsigned char a[3 + 255 + 255];
	size_t n = 0;

	a[n++] = 1;
	a[n++] = 255;
	memset(a + n, 'u', 255);
	n += 255;
	a[n++] = 255;
	memset(a + n, 'p', 255);
	n += 255;
	reset();
	ck_assert_int_eq(vpin_socks5_auth(a, n, &used, &req), VPIN_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(strlen(req.user), 255);
	ck_assert_uint_eq(strlen(req.pass), 255);
	prefixes_more(vpin_socks5_auth, a, n);
	reset();
	ck_assert_int_eq(vpin_socks5_auth((const unsigned char *)"\x01\x00\x00",
	    3, &used, &req), VPIN_BAD);
	reset();
	ck_assert_int_eq(vpin_socks5_auth((const unsigned char *)"\x02\x01u\x01p",
	    5, &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_VERSION);
	reset();
	ck_assert_int_eq(vpin_socks5_auth((const unsigned char *)"\x01\x02u\0\x01p",
	    6, &used, &req), VPIN_BAD);
	/* Empty password is allowed by RFC 1929's framing. */
	reset();
	ck_assert_int_eq(vpin_socks5_auth((const unsigned char *)"\x01\x01u\x00",
	    4, &used, &req), VPIN_DONE);
	ck_assert_str_eq(req.pass, "");
}
END_TEST

START_TEST(socks5_request)
{
	const unsigned char v4[] = { 5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 'x' };
	const unsigned char v6[] = { 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 1, 0, 80 };
	unsigned char dn[4 + 1 + 255 + 2];
	size_t n = 0;

	reset();
	ck_assert_int_eq(vpin_socks5_request(v4, sizeof(v4), &used, &req), VPIN_DONE);
	ck_assert_uint_eq(used, 10);	/* the 'x' is early data */
	ck_assert_str_eq(req.host, "127.0.0.1");
	ck_assert_uint_eq(req.port, 8080);
	ck_assert_int_eq(req.host_is_name, 0);
	prefixes_more(vpin_socks5_request, v4, 10);
	reset();
	ck_assert_int_eq(vpin_socks5_request(v6, sizeof(v6), &used, &req), VPIN_DONE);
	ck_assert_str_eq(req.host, "::1");
	ck_assert_uint_eq(req.port, 80);
	prefixes_more(vpin_socks5_request, v6, sizeof(v6));

	dn[n++] = 5; dn[n++] = 1; dn[n++] = 0; dn[n++] = 3; dn[n++] = 255;
	memset(dn + n, 'a', 255);
	n += 255;
	dn[n++] = 1; dn[n++] = 187;
	reset();
	ck_assert_int_eq(vpin_socks5_request(dn, n, &used, &req), VPIN_DONE);
	ck_assert_uint_eq(strlen(req.host), 255);
	ck_assert_uint_eq(req.port, 443);
	ck_assert_int_eq(req.host_is_name, 1);
	prefixes_more(vpin_socks5_request, dn, n);
}
END_TEST

START_TEST(socks5_request_bad)
{
	const unsigned char bind[] = { 5, 2, 0, 1, 1, 2, 3, 4, 0, 80 };
	const unsigned char udp[] = { 5, 3, 0, 1, 1, 2, 3, 4, 0, 80 };
	const unsigned char atyp[] = { 5, 1, 0, 5, 1, 2, 3, 4, 0, 80 };
	const unsigned char empty[] = { 5, 1, 0, 3, 0, 0, 80 };
	const unsigned char port0[] = { 5, 1, 0, 1, 1, 2, 3, 4, 0, 0 };
	const unsigned char nul[] = { 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80 };
	const unsigned char ver[] = { 4, 1, 0, 1, 1, 2, 3, 4, 0, 80 };

	reset();
	ck_assert_int_eq(vpin_socks5_request(bind, sizeof(bind), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_CMD);
	ck_assert_uint_eq(used, sizeof(bind));
	reset();
	ck_assert_int_eq(vpin_socks5_request(udp, sizeof(udp), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_CMD);
	reset();
	ck_assert_int_eq(vpin_socks5_request(atyp, sizeof(atyp), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_ATYP);
	reset();
	ck_assert_int_eq(vpin_socks5_request(empty, sizeof(empty), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_PROTO);
	reset();
	ck_assert_int_eq(vpin_socks5_request(port0, sizeof(port0), &used, &req), VPIN_BAD);
	reset();
	ck_assert_int_eq(vpin_socks5_request(nul, sizeof(nul), &used, &req), VPIN_BAD);
	reset();
	ck_assert_int_eq(vpin_socks5_request(ver, sizeof(ver), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_VERSION);
}
END_TEST

START_TEST(socks4)
{
	const unsigned char s4[] = { 4, 1, 0, 80, 10, 1, 2, 3, 'b', 'o', 'b', 0, 'E' };
	const unsigned char s4a[] = { 4, 1, 1, 187, 0, 0, 0, 9, 0,
	    'e', 'x', '.', 'o', 'r', 'g', 0 };
	const unsigned char bind[] = { 4, 2, 0, 80, 10, 1, 2, 3, 0 };
	const unsigned char zero[] = { 4, 1, 0, 80, 0, 0, 0, 0, 0 };
	const unsigned char empty4a[] = { 4, 1, 0, 80, 0, 0, 0, 1, 0, 0 };
	unsigned char longuser[8 + 300];

	reset();
	ck_assert_int_eq(vpin_socks4(s4, sizeof(s4), &used, &req), VPIN_DONE);
	ck_assert_uint_eq(used, 12);
	ck_assert_str_eq(req.host, "10.1.2.3");
	ck_assert_uint_eq(req.port, 80);
	ck_assert_str_eq(req.user, "bob");
	prefixes_more(vpin_socks4, s4, 12);
	reset();
	ck_assert_int_eq(vpin_socks4(s4a, sizeof(s4a), &used, &req), VPIN_DONE);
	ck_assert_uint_eq(used, sizeof(s4a));
	ck_assert_str_eq(req.host, "ex.org");
	ck_assert_uint_eq(req.port, 443);
	ck_assert_int_eq(req.host_is_name, 1);
	prefixes_more(vpin_socks4, s4a, sizeof(s4a));
	reset();
	ck_assert_int_eq(vpin_socks4(bind, sizeof(bind), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_CMD);
	reset();
	ck_assert_int_eq(vpin_socks4(zero, sizeof(zero), &used, &req), VPIN_BAD);
	reset();
	ck_assert_int_eq(vpin_socks4(empty4a, sizeof(empty4a), &used, &req), VPIN_BAD);
	/* An endless user id is cut off at 255 bytes, not buffered. */
	memcpy(longuser, s4, 8);
	memset(longuser + 8, 'u', 300);
	reset();
	ck_assert_int_eq(vpin_socks4(longuser, sizeof(longuser), &used, &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_TOOBIG);
	reset();
	ck_assert_int_eq(vpin_socks4(longuser, 8 + 200, &used, &req), VPIN_MORE);
}
END_TEST

static int
http(const char *s)
{
	reset();
	return vpin_http((const unsigned char *)s, strlen(s), &used, &req);
}

START_TEST(http_connect)
{
	const char *c = "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n"
	    "Proxy-Authorization: Basic YWxpY2U6czNjcjN0\r\n\r\nEARLY";

	ck_assert_int_eq(http(c), VPIN_DONE);
	ck_assert_uint_eq(used, strlen(c) - 5);
	ck_assert_int_eq(req.http_connect, 1);
	ck_assert_str_eq(req.host, "example.org");
	ck_assert_uint_eq(req.port, 443);
	ck_assert_int_eq(req.has_auth, 1);
	ck_assert_str_eq(req.user, "alice");
	ck_assert_str_eq(req.pass, "s3cr3t");
	prefixes_more((pfn)vpin_http, (const unsigned char *)c, strlen(c) - 5);
	ck_assert_int_eq(http("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n"), VPIN_DONE);
	ck_assert_str_eq(req.host, "::1");
	ck_assert_uint_eq(req.port, 8443);
	ck_assert_int_eq(req.host_is_name, 0);
	ck_assert_int_eq(http("CONNECT 10.0.0.1:22 HTTP/1.0\n\n"), VPIN_DONE);
	ck_assert_int_eq(req.host_is_name, 0);
	ck_assert_int_eq(http("CONNECT example.org HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("CONNECT example.org:0 HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("CONNECT :80 HTTP/1.1\r\n\r\n"), VPIN_BAD);
	/* Not Basic, or malformed: no credential (407 with users). */
	ck_assert_int_eq(http("CONNECT a:80 HTTP/1.1\r\nProxy-Authorization: "
	    "Basic !!!!\r\n\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.has_auth, 0);
	ck_assert_int_eq(http("CONNECT a:80 HTTP/1.1\r\nProxy-Authorization: "
	    "Digest abc\r\n\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.has_auth, 0);
	ck_assert_int_eq(http("CONNECT a:80 HTTP/1.1\r\nProxy-Authorization: "
	    "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\r\n"
	    "\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.has_auth, 0);
}
END_TEST

START_TEST(http_plain)
{
	const char *g = "GET http://Example.org:8080/a/b?c=d HTTP/1.1\r\n"
	    "Host: wrong\r\nUser-Agent: t\r\nProxy-Connection: keep-alive\r\n"
	    "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
	    "TE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic dTpw\r\n"
	    "Content-Length: 3\r\n\r\nabc";
	const char *want = "GET /a/b?c=d HTTP/1.1\r\nHost: Example.org:8080\r\n"
	    "User-Agent: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\n";

	ck_assert_int_eq(http(g), VPIN_DONE);
	ck_assert_uint_eq(used, strlen(g) - 3);
	ck_assert_int_eq(req.http_connect, 0);
	ck_assert_str_eq(req.host, "Example.org");
	ck_assert_uint_eq(req.port, 8080);
	ck_assert_str_eq(req.user, "u");
	ck_assert_uint_eq(req.headlen, strlen(want));
	ck_assert(memcmp(req.head, want, req.headlen) == 0);
	ck_assert_int_eq(http("GET http://h HTTP/1.0\r\n\r\n"), VPIN_DONE);
	ck_assert_uint_eq(req.port, 80);
	ck_assert(memcmp(req.head, "GET / HTTP/1.0\r\nHost: h\r\n", 25) == 0);
	ck_assert_int_eq(http("GET http://[::1]:81/ HTTP/1.1\r\n\r\n"), VPIN_DONE);
	ck_assert_str_eq(req.host, "::1");
	ck_assert_uint_eq(req.port, 81);
	ck_assert_int_eq(http("GET http://[::1]/ HTTP/1.1\r\n\r\n"), VPIN_DONE);
	ck_assert_uint_eq(req.port, 80);
	/* A port 0 or an empty one is refused, not taken for 80. */
	ck_assert_int_eq(http("GET http://127.0.0.1:0/ HTTP/1.1\r\n\r\n"),
	    VPIN_BAD);
	ck_assert_int_eq(http("GET http://h:00/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://h:/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://[::1]:0/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://[::1]:/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	/* Origin form, https://, userinfo, bad versions, folding. */
	ck_assert_int_eq(http("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET https://a/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://u@a/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://a/ HTTP/2.0\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://a/ HTTP/1.1x\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://a/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://a/ HTTP/1.1\r\nNoColon\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://a/ HTTP/1.1\r\nBad Name: x\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET http://a:/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("G\x01T http://a/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	ck_assert_int_eq(http("GET  http://a/ HTTP/1.1\r\n\r\n"), VPIN_BAD);
	/* Early rejection of binary junk before a full head arrives. */
	ck_assert_int_eq(http("\x16\x03\x01"), VPIN_BAD);
}
END_TEST

/* A bare CR in a header is refused, never forwarded (fuzz). */
START_TEST(http_bare_cr)
{
	ck_assert_int_eq(http("GET http://h/ HTTP/1.1\r\nX: a\rInjected: 1\r\n\r\n"),
	    VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_PROTO);
	reset();
	ck_assert_int_eq(http("GET http://h/ HTTP/1.1\r\nX: a\r\n\r\n"), VPIN_DONE);
	/* Nor in the URL authority, which becomes the Host header. */
	ck_assert_int_eq(http("GET http://[::1]:\r8080/ HTTP/1.1\r\n\r\n"),
	    VPIN_BAD);
	reset();
}
END_TEST

/* Body framing of plain requests (RFC 9112 6.1, 6.3): hostile forms. */
START_TEST(http_framing)
{
	static const char *bad[] = {
		"Content-Length: 3\r\nContent-Length: 4\r\n",	/* conflict */
		"Content-Length: 3, 3\r\n",		/* a list */
		"Content-Length: -1\r\n",
		"Content-Length: +3\r\n",
		"Content-Length: 0x10\r\n",
		"Content-Length: 3 4\r\n",
		"Content-Length:\r\n",
		"Content-Length: 18446744073709551616\r\n",	/* 2^64 */
		"Content-Length: 99999999999999999999999\r\n",
		"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
		"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding: gzip\r\n",		/* not final chunked */
		"Transfer-Encoding: chunked, gzip\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
		"Transfer-Encoding: chunked, chunked\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding:\r\n",
		"Transfer-Encoding: ,chunked\r\n",
		"Transfer-Encoding: chunked,\r\n",
		"Transfer-Encoding: xchunked\r\n",
		"Transfer-Encoding: chunked;q=1\r\n",
	};
	char b[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(b, sizeof(b), "POST http://a/ HTTP/1.1\r\n%s\r\n", bad[i]);
		ck_assert_msg(http(b) == VPIN_BAD, "accepted %s", bad[i]);
		ck_assert_int_eq(req.err, VPIN_E_PROTO);
	}
	/* Transfer-Encoding in HTTP/1.0 is faulty framing */
	ck_assert_int_eq(http("POST http://a/ HTTP/1.0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), VPIN_BAD);
	/* none, length, equal repeats, huge, chunked in any case, lists */
	ck_assert_int_eq(http("GET http://a/ HTTP/1.1\r\n\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.body, VPHB_NONE);
	ck_assert_int_eq(http("POST http://a/ HTTP/1.1\r\n"
	    "Content-Length: 0042\r\nContent-Length: 42\r\n\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.body, VPHB_LENGTH);
	ck_assert(req.bodylen == 42);
	ck_assert(strstr(req.head, "Content-Length: 0042\r\n"
	    "Content-Length: 42\r\n") != NULL);
	ck_assert_int_eq(http("PUT http://a/ HTTP/1.1\r\n"
	    "Content-Length: 18446744073709551599\r\n\r\n"), VPIN_DONE);
	ck_assert(req.bodylen == UINT64_C(18446744073709551599));
	ck_assert_int_eq(http("POST http://a/ HTTP/1.1\r\n"
	    "Transfer-Encoding: gzip,  CHUNKED \r\n\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.body, VPHB_CHUNKED);
	ck_assert(strstr(req.head, "Transfer-Encoding: gzip,  CHUNKED\r\n")
	    != NULL);
	ck_assert_int_eq(http("POST http://a/ HTTP/1.1\r\n"
	    "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
	    "Connection: Transfer-Encoding\r\n\r\n"), VPIN_DONE);
	ck_assert_int_eq(req.body, VPHB_CHUNKED);
	ck_assert(strstr(req.head, "Transfer-Encoding: chunked\r\n") != NULL);
	/* CONNECT is not framed */
	ck_assert_int_eq(http("CONNECT a:1 HTTP/1.1\r\n"
	    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    VPIN_DONE);
	ck_assert_int_eq(req.body, VPHB_NONE);
}
END_TEST

START_TEST(http_limits)
{
	char *big;
	size_t i, n;

	/* A header section that never ends: refused at the cap. */
	big = malloc(VPIN_HEADMAX + 10);
	ck_assert_ptr_nonnull(big);
	n = (size_t)snprintf(big, 64, "GET http://a/ HTTP/1.1\r\nX: ");
	memset(big + n, 'x', VPIN_HEADMAX + 10 - n);
	reset();
	ck_assert_int_eq(vpin_http((unsigned char *)big, VPIN_HEADMAX - 1, &used,
	    &req), VPIN_MORE);
	reset();
	ck_assert_int_eq(vpin_http((unsigned char *)big, VPIN_HEADMAX + 10, &used,
	    &req), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_TOOBIG);
	/* Too many header lines. */
	n = (size_t)snprintf(big, 64, "GET http://a/ HTTP/1.1\r\n");
	for (i = 0; i < VPIN_HDRCOUNT + 1; i++)
		n += (size_t)snprintf(big + n, 16, "H%zu: v\r\n", i);
	memcpy(big + n, "\r\n", 3);
	ck_assert_int_eq(http(big), VPIN_BAD);
	ck_assert_int_eq(req.err, VPIN_E_TOOBIG);
	/* A 255-byte host is fine, 256 is not. */
	n = (size_t)snprintf(big, 64, "CONNECT ");
	memset(big + n, 'a', 255);
	n += 255;
	n += (size_t)snprintf(big + n, 64, ":443 HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(http(big), VPIN_DONE);
	ck_assert_uint_eq(strlen(req.host), 255);
	n = (size_t)snprintf(big, 64, "CONNECT ");
	memset(big + n, 'a', 256);
	n += 256;
	n += (size_t)snprintf(big + n, 64, ":443 HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(http(big), VPIN_BAD);
	free(big);
	reset();
}
END_TEST

START_TEST(b64)
{
	unsigned char out[16];

	ck_assert_int_eq(vpin_b64decode("YWJj", 4, out, sizeof(out)), 3);
	ck_assert(memcmp(out, "abc", 3) == 0);
	ck_assert_int_eq(vpin_b64decode("YWI=", 4, out, sizeof(out)), 2);
	ck_assert_int_eq(vpin_b64decode("YQ==", 4, out, sizeof(out)), 1);
	ck_assert_int_eq(vpin_b64decode("", 0, out, sizeof(out)), 0);
	ck_assert_int_eq(vpin_b64decode("YWJ", 3, out, sizeof(out)), -1);
	ck_assert_int_eq(vpin_b64decode("Y=Jj", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(vpin_b64decode("Y===", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(vpin_b64decode("YW*j", 4, out, sizeof(out)), -1);
	ck_assert_int_eq(vpin_b64decode("YWJjYWJj", 8, out, 5), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vpinbound");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, detect);
	tcase_add_test(tc, socks5_greeting);
	tcase_add_test(tc, socks5_auth);
	tcase_add_test(tc, socks5_request);
	tcase_add_test(tc, socks5_request_bad);
	tcase_add_test(tc, socks4);
	tcase_add_test(tc, http_connect);
	tcase_add_test(tc, http_plain);
	tcase_add_test(tc, http_limits);
	tcase_add_test(tc, http_framing);
	tcase_add_test(tc, http_bare_cr);
	tcase_add_test(tc, b64);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
