/*
 * Unit tests for vpproxyc: proxy URLs, request bytes, reply parsers
 * fed every truncation and hostile input, and whole handshakes over a
 * socketpair against a scripted proxy (payload right after the reply
 * must stay unread; silence must time out; refusals map to classes).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vpio.h"
#include "vpproxyc.h"

static struct vpproxy px;
static char err[256];

START_TEST(url_good)
{
	ck_assert_int_eq(vpproxyc_parse("socks5://127.0.0.1:1080", &px, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(px.kind, VPPX_SOCKS5);
	ck_assert_str_eq(px.host, "127.0.0.1");
	ck_assert_uint_eq(px.port, 1080);
	ck_assert_int_eq(px.auth, 0);
	ck_assert_int_eq(vpproxyc_parse("socks5://bob:p%40ss:w@proxy.example"
	    ":1080/", &px, err, sizeof(err)), 0);
	ck_assert_str_eq(px.user, "bob");
	ck_assert_str_eq(px.pass, "p@ss:w");
	ck_assert_str_eq(px.host, "proxy.example");
	ck_assert_int_eq(px.auth, 1);
	ck_assert_int_eq(vpproxyc_parse("socks5://unix:/run/vp/t.sock", &px,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(px.path, "/run/vp/t.sock");
	ck_assert_int_eq(vpproxyc_parse("socks5://unix:@abstract", &px, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(px.path, "@abstract");
	ck_assert_int_eq(px.auth, 0);
	/* credentials for a proxy on a unix socket, '@' in its path */
	ck_assert_int_eq(vpproxyc_parse("socks5://alice:p%40w@unix:/run/a@b",
	    &px, err, sizeof(err)), 0);
	ck_assert_int_eq(px.auth, 1);
	ck_assert_str_eq(px.user, "alice");
	ck_assert_str_eq(px.pass, "p@w");
	ck_assert_str_eq(px.path, "/run/a@b");
	ck_assert_str_eq(px.host, "");
	ck_assert_int_eq(vpproxyc_parse("socks5://alice@unix:@abstract", &px,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(px.auth, 1);
	ck_assert_str_eq(px.pass, "");
	ck_assert_str_eq(px.path, "@abstract");
	ck_assert_int_eq(vpproxyc_parse("http://u:p@unix:/run/h.sock", &px,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(px.kind, VPPX_HTTP);
	ck_assert_str_eq(px.pass, "p");
	ck_assert_str_eq(px.path, "/run/h.sock");
	ck_assert_int_eq(vpproxyc_parse("socks4a://[::1]:1080", &px, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(px.kind, VPPX_SOCKS4A);
	ck_assert_str_eq(px.host, "::1");
	ck_assert_int_eq(vpproxyc_parse("socks4a://ident@h:1", &px, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(px.user, "ident");
	ck_assert_int_eq(vpproxyc_parse("http://u:@h:3128", &px, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(px.kind, VPPX_HTTP);
	ck_assert_str_eq(px.pass, "");
	ck_assert_int_eq(vpproxyc_parse("socks5h://h:1", &px, err,
	    sizeof(err)), 0);
	/* user only: the password comes from elsewhere */
	ck_assert_int_eq(vpproxyc_parse("socks5://bob@h:1", &px, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(px.auth, 1);
	ck_assert_str_eq(px.user, "bob");
	ck_assert_str_eq(px.pass, "");
}
END_TEST

START_TEST(url_bad)
{
	static const char *bad[] = {
		"", "socks5:/h:1", "socks6://h:1", "ftp://h:21", "socks5://",
		"socks5://h", "socks5://h:", "socks5://h:0", "socks5://h:65536",
		"socks5://:1080", "socks5://h;rm:1", "socks5://@h:1",
		"socks5://user:@h:1",		/* RFC 1929 needs a password */
		"socks5://u:p%zz@h:1", "socks5://u:p%4@h:1",
		"socks5://u:p%00@h:1", "socks4a://u:p@h:1", "socks5://unix:",
		"socks5://u:p@unix:", "socks5://:p@unix:/s",
		"socks5://u:@unix:/s", "socks5://u:p%zz@unix:/s",
		"socks4a://u:p@unix:/s",
		"http://[::1:80", "http://h:80x", "socks5://h:1//",
	};
	char big[700];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(vpproxyc_parse(bad[i], &px, err, sizeof(err)) ==
		    -1, "accepted %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
		ck_assert_ptr_null(strstr(err, "p%"));
	}
	ck_assert_int_eq(vpproxyc_parse(NULL, &px, err, sizeof(err)), -1);
	memcpy(big, "socks5://unix:/", 15);
	memset(big + 15, 'a', 200);
	big[215] = '\0';
	ck_assert_int_eq(vpproxyc_parse(big, &px, err, sizeof(err)), -1);
	memcpy(big, "socks5://", 9);
	memset(big + 9, 'u', 300);
	memcpy(big + 309, ":p@h:1", 7);
	ck_assert_int_eq(vpproxyc_parse(big, &px, err, sizeof(err)), -1);
}
END_TEST

START_TEST(url_str_hides_password)
{
	char b[300];

	ck_assert_int_eq(vpproxyc_parse("http://bob:hunter2@[::1]:3128", &px,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(vpproxyc_str(&px, b, sizeof(b)),
	    "http://bob@[::1]:3128");
	ck_assert_int_eq(vpproxyc_parse("socks5://bob:hunter2@unix:/p.sock",
	    &px, err, sizeof(err)), 0);
	ck_assert_str_eq(vpproxyc_str(&px, b, sizeof(b)),
	    "socks5://bob@unix:/p.sock");
	vpproxyc_clear(&px);
	ck_assert_int_eq(px.auth, 0);
	ck_assert_str_eq(px.pass, "");
}
END_TEST

START_TEST(requests)
{
	unsigned char b[600];
	static const unsigned char g0[] = { 5, 1, 0 };
	static const unsigned char g2[] = { 5, 2, 0, 2 };
	static const unsigned char r4[] = { 5, 1, 0, 1, 127, 0, 0, 1, 0, 80 };
	static const unsigned char rn[] = { 5, 1, 0, 3, 7, 'e', 'x', '.', 'o',
	    'r', 'g', '!', 1, 187 };
	static const unsigned char s4[] = { 4, 1, 0, 80, 0, 0, 0, 1, 0, 'a',
	    '.', 'b', 0 };
	static const unsigned char s4ip[] = { 4, 1, 0, 80, 10, 0, 0, 2, 'u',
	    0 };
	char host[300];
	ssize_t n;

	vpproxyc_parse("socks5://h:1", &px, err, sizeof(err));
	ck_assert_int_eq(vpproxyc_socks5_greeting(&px, b, sizeof(b)), 3);
	ck_assert(memcmp(b, g0, 3) == 0);
	vpproxyc_parse("socks5://ab:cde@h:1", &px, err, sizeof(err));
	ck_assert_int_eq(vpproxyc_socks5_greeting(&px, b, sizeof(b)), 4);
	ck_assert(memcmp(b, g2, 4) == 0);
	ck_assert_int_eq(vpproxyc_socks5_authreq(&px, b, sizeof(b)), 8);
	ck_assert(memcmp(b, "\x01\x02" "ab\x03" "cde", 8) == 0);
	ck_assert_int_eq(vpproxyc_socks5_request("127.0.0.1", 80, b,
	    sizeof(b)), 10);
	ck_assert(memcmp(b, r4, 10) == 0);
	ck_assert_int_eq(vpproxyc_socks5_request("ex.org!", 443, b,
	    sizeof(b)), 14);
	ck_assert(memcmp(b, rn, 14) == 0);
	ck_assert_int_eq(vpproxyc_socks5_request("::1", 443, b, sizeof(b)),
	    22);
	ck_assert_int_eq(b[3], 4);
	memset(host, 'h', 256);
	host[256] = '\0';
	ck_assert_int_eq(vpproxyc_socks5_request(host, 1, b, sizeof(b)), -1);
	host[255] = '\0';
	ck_assert_int_eq(vpproxyc_socks5_request(host, 1, b, sizeof(b)),
	    4 + 1 + 255 + 2);
	ck_assert_int_eq(vpproxyc_socks5_request("x", 1, b, 5), -1);

	vpproxyc_parse("socks4a://h:1", &px, err, sizeof(err));
	ck_assert_int_eq(vpproxyc_socks4a_request(&px, "a.b", 80, b,
	    sizeof(b)), 13);
	ck_assert(memcmp(b, s4, 13) == 0);
	vpproxyc_parse("socks4a://u@h:1", &px, err, sizeof(err));
	ck_assert_int_eq(vpproxyc_socks4a_request(&px, "10.0.0.2", 80, b,
	    sizeof(b)), 10);
	ck_assert(memcmp(b, s4ip, 10) == 0);
	ck_assert_int_eq(vpproxyc_socks4a_request(&px, "::1", 80, b,
	    sizeof(b)), -1);

	vpproxyc_parse("http://Aladdin:open%20sesame@h:1", &px, err,
	    sizeof(err));
	n = vpproxyc_http_request(&px, "example.org", 443, b, sizeof(b));
	ck_assert_int_gt(n, 0);
	b[n] = '\0';
	ck_assert_str_eq((char *)b, "CONNECT example.org:443 HTTP/1.1\r\n"
	    "Host: example.org:443\r\n"
	    "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
	vpproxyc_parse("http://h:1", &px, err, sizeof(err));
	n = vpproxyc_http_request(&px, "2001:db8::1", 22, b, sizeof(b));
	b[n] = '\0';
	ck_assert_str_eq((char *)b, "CONNECT [2001:db8::1]:22 HTTP/1.1\r\n"
	    "Host: [2001:db8::1]:22\r\n\r\n");
	ck_assert_int_eq(vpproxyc_http_request(&px, "a b", 1, b, sizeof(b)),
	    -1);
	ck_assert_int_eq(vpproxyc_http_request(&px, "a\r\nX: y", 1, b,
	    sizeof(b)), -1);
	ck_assert_int_eq(vpproxyc_http_request(&px, "ab", 1, b, 20), -1);
}
END_TEST

typedef ssize_t (*parser)(const void *, size_t, struct vppx_reply *);

/* Every proper prefix of a good reply needs more; the whole is done. */
static void
prefixes(parser p, const char *msg, size_t len)
{
	struct vppx_reply r;
	size_t i;

	for (i = 0; i < len; i++)
		ck_assert_msg(p(msg, i, &r) == VPPX_NEEDMORE,
		    "prefix %zu of %zu not need-more", i, len);
	ck_assert_int_eq(p(msg, len, &r), (ssize_t)len);
}

START_TEST(parsers_good)
{
	struct vppx_reply r;
	static const char m[] = "\x05\x02";
	static const char a[] = "\x01\x00";
	static const char s5[] = "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38";
	static const char s5n[] = "\x05\x00\x00\x03\x03" "abc" "\x00\x50";
	static const char s5_6[] = "\x05\x00\x00\x04" "0123456789abcdef"
	    "\x01\xbb";
	static const char s4[] = "\x00\x5a\x00\x50\x7f\x00\x00\x01";
	static const char h[] = "HTTP/1.1 200 Connection established\r\n"
	    "Via: x\r\n\r\n";
	static const char hlf[] = "HTTP/1.0 200 OK\n\n";

	prefixes(vpproxyc_socks5_method_parse, m, 2);
	ck_assert_int_eq(vpproxyc_socks5_method_parse(m, 2, &r), 2);
	ck_assert_int_eq(r.code, 2);
	prefixes(vpproxyc_socks5_auth_parse, a, 2);
	prefixes(vpproxyc_socks5_reply_parse, s5, 10);
	ck_assert_int_eq(vpproxyc_socks5_reply_parse(s5, 10, &r), 10);
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(r.bound.ss_family, AF_INET);
	prefixes(vpproxyc_socks5_reply_parse, s5n, 10);
	prefixes(vpproxyc_socks5_reply_parse, s5_6, 22);
	ck_assert_int_eq(vpproxyc_socks5_reply_parse(s5_6, 22, &r), 22);
	ck_assert_int_eq(r.bound.ss_family, AF_INET6);
	prefixes(vpproxyc_socks4_reply_parse, s4, 8);
	prefixes(vpproxyc_http_reply_parse, h, sizeof(h) - 1);
	ck_assert_int_eq(vpproxyc_http_reply_parse(h, sizeof(h) - 1, &r),
	    (ssize_t)sizeof(h) - 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "Connection established");
	ck_assert_int_eq(vpproxyc_http_reply_parse(hlf, sizeof(hlf) - 1, &r),
	    (ssize_t)sizeof(hlf) - 1);
	/* bytes after the reply are never part of it */
	ck_assert_int_eq(vpproxyc_socks5_reply_parse("\x05\x00\x00\x01"
	    "\x01\x02\x03\x04\x00\x01PAYLOAD", 17, &r), 10);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/1.1 200 OK\r\n\r\n"
	    "SSH-2.0-x\r\n", 30, &r), 19);
	/* a failure code is known before the reply is complete */
	ck_assert_int_eq(vpproxyc_socks5_reply_parse("\x05\x05", 2, &r),
	    VPPX_NEEDMORE);
	ck_assert_int_eq(r.code, 5);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/1.1 407 Proxy Auth"
	    "\r\nProxy-Authenticate: Basic\r\n\r\n", 54, &r), 54);
	ck_assert_int_eq(r.status, 407);
}
END_TEST

START_TEST(parsers_bad)
{
	struct vppx_reply r;
	char *big;

	ck_assert_int_eq(vpproxyc_socks5_method_parse("\x04", 1, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_socks5_method_parse("HTTP/1.1", 8, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_socks5_auth_parse("\x02\x00", 2, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_socks5_reply_parse("\x04\x00", 2, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_socks5_reply_parse("\x05\x00\x01", 3, &r),
	    VPPX_BAD);	/* RSV must be 0 */
	ck_assert_int_eq(vpproxyc_socks5_reply_parse("\x05\x00\x00\x02", 4,
	    &r), VPPX_BAD);	/* unknown ATYP */
	ck_assert_int_eq(vpproxyc_socks5_reply_parse("\x05\x00\x00\x03\x00",
	    5, &r), VPPX_BAD);	/* empty name */
	ck_assert_int_eq(vpproxyc_socks4_reply_parse("\x05\x5a", 2, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_socks4_reply_parse("\x00\x10", 2, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_http_reply_parse("SSH-2.0", 7, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/2 200", 10, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/1.1 2x0", 12, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/1.1 200x", 13, &r),
	    VPPX_BAD);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/1.1 200 O\0K\r\n\r\n",
	    20, &r), VPPX_BAD);
	ck_assert_int_eq(vpproxyc_http_reply_parse("HTTP/1.1\r\n\r\n", 12,
	    &r), VPPX_BAD);
	/* an endless head is cut off at VPPX_HTTP_MAX */
	big = malloc(VPPX_HTTP_MAX + 10);
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	memset(big + 17, 'a', VPPX_HTTP_MAX - 7);
	ck_assert_int_eq(vpproxyc_http_reply_parse(big, VPPX_HTTP_MAX - 1,
	    &r), VPPX_NEEDMORE);
	ck_assert_int_eq(vpproxyc_http_reply_parse(big, VPPX_HTTP_MAX + 10,
	    &r), VPPX_BAD);
	free(big);
}
END_TEST

/* Random bytes never crash a parser and never claim more than given. */
START_TEST(parsers_random)
{
	parser ps[] = { vpproxyc_socks5_method_parse,
	    vpproxyc_socks5_auth_parse, vpproxyc_socks5_reply_parse,
	    vpproxyc_socks4_reply_parse, vpproxyc_http_reply_parse };
	unsigned char b[64];
	struct vppx_reply r;
	unsigned seed = 12345;
	size_t i, j, len;
	ssize_t n;

	for (i = 0; i < 20000; i++) {
		len = (seed = seed * 1103515245 + 12345) % sizeof(b);
		for (j = 0; j < len; j++)
			b[j] = (seed = seed * 1103515245 + 12345) >> 16;
		if (i % 3 == 0 && len > 2)
			b[0] = 5, b[1] = 0, b[2] = 0;
		for (j = 0; j < sizeof(ps) / sizeof(ps[0]); j++) {
			n = ps[j](b, len, &r);
			ck_assert(n >= -1 && n <= (ssize_t)len);
		}
	}
}
END_TEST

/*
 * A scripted proxy: reads `expect` bytes, then writes `answer` (one
 * write), then `more` (payload) and keeps the socket until told.
 */
static pid_t
fake_proxy(int fd, size_t expect, const void *answer, size_t alen,
    const char *more)
{
	pid_t pid = fork();
	char buf[1024];

	ck_assert_int_ne(pid, -1);
	if (pid != 0)
		return pid;
	if (expect > 0 && vpio_readall(fd, buf, expect) != expect)
		_exit(2);
	if (alen > 0)
		(void)vpio_writeall(fd, answer, alen);
	if (more != NULL && strcmp(more, "<close>") == 0)
		_exit(0);
	if (more != NULL)
		(void)vpio_writeall(fd, more, strlen(more));
	(void)!read(fd, buf, 1);	/* until the test closes */
	_exit(0);
}

static int
run_hs(const char *url, const char *host, unsigned port, size_t expect,
    const void *answer, size_t alen, const char *more, int tmo,
    enum vpr_class *cls, char *after, size_t afterlen)
{
	int sp[2], r;
	pid_t pid;
	ssize_t n;

	ck_assert_int_eq(vpproxyc_parse(url, &px, err, sizeof(err)), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pid = fake_proxy(sp[1], expect, answer, alen, more);
	close(sp[1]);
	r = vpproxyc_handshake(sp[0], &px, host, port, tmo, cls, err,
	    sizeof(err));
	if (after != NULL) {
		n = vpio_read_timeout(sp[0], after, afterlen - 1, 2000);
		after[n > 0 ? n : 0] = '\0';
	}
	close(sp[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return r;
}

START_TEST(handshakes)
{
	enum vpr_class cls;
	char after[64];

	/* SOCKS5 without auth: greeting 3 + request 4+1+9+2 */
	ck_assert_int_eq(run_hs("socks5://p:1", "localhost", 22, 3,
	    "\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x16", 12,
	    "SSH-2.0-banner", 2000, &cls, after, sizeof(after)), 0);
	ck_assert_str_eq(after, "SSH-2.0-banner");
	/* the refusal, mapped back */
	ck_assert_int_eq(run_hs("socks5://p:1", "localhost", 22, 3,
	    "\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", 12, NULL,
	    2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_REFUSED);
	ck_assert_ptr_nonnull(strstr(err, "connection refused"));
	ck_assert_int_eq(run_hs("socks5://p:1", "h", 22, 3,
	    "\x05\x00\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", 12, NULL,
	    2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_HOSTUNREACH);
	/* a short failure reply then close still tells the code */
	ck_assert_int_eq(run_hs("socks5://p:1", "h", 22, 3,
	    "\x05\x00\x05\x06", 4, "<close>", 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_TIMEOUT);
	/* wants credentials we do not have */
	ck_assert_int_eq(run_hs("socks5://p:1", "h", 22, 3, "\x05\xff", 2,
	    NULL, 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_AUTH);
	/* wrong credentials */
	ck_assert_int_eq(run_hs("socks5://u:pw@p:1", "h", 22, 4,
	    "\x05\x02\x01\x01", 4, NULL, 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_AUTH);
	/* a method we never offered */
	ck_assert_int_eq(run_hs("socks5://p:1", "h", 22, 3, "\x05\x01", 2,
	    NULL, 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_PROTO);
	/* not a SOCKS server at all */
	ck_assert_int_eq(run_hs("socks5://p:1", "h", 22, 3,
	    "HTTP/1.1 400 Bad\r\n\r\n", 20, NULL, 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_PROTO);
	ck_assert_ptr_nonnull(strstr(err, "bad proxy reply"));
	/* silence: timeout */
	ck_assert_int_eq(run_hs("socks5://p:1", "h", 22, 3, NULL, 0, NULL,
	    200, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_TIMEOUT);
	/* closed mid-reply */
	ck_assert_int_eq(run_hs("http://p:1", "h", 22, 37, "HTTP/1.1 20", 11,
	    "<close>", 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_PROTO);
	ck_assert_ptr_nonnull(strstr(err, "closed after 11 bytes"));
}
END_TEST

START_TEST(handshakes_http_socks4)
{
	enum vpr_class cls;
	char after[64];
	static const char req[] = "CONNECT h:22 HTTP/1.1\r\nHost: h:22\r\n\r\n";

	ck_assert_int_eq(run_hs("http://p:1", "h", 22, sizeof(req) - 1,
	    "HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-x", 49,
	    NULL, 2000, &cls, after, sizeof(after)), 0);
	ck_assert_str_eq(after, "SSH-2.0-x");
	ck_assert_int_eq(run_hs("http://p:1", "h", 22, sizeof(req) - 1,
	    "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 45, NULL,
	    2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_NOTALLOWED);
	ck_assert_ptr_nonnull(strstr(err, "HTTP 403 Forbidden"));
	ck_assert_int_eq(run_hs("http://p:1", "h", 22, sizeof(req) - 1,
	    "HTTP/1.1 504 Gateway Timeout\r\n\r\n", 33, NULL, 2000, &cls,
	    NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_TIMEOUT);
	ck_assert_int_eq(run_hs("socks4a://p:1", "h", 22, 11,
	    "\x00\x5a\x00\x16\x00\x00\x00\x00hi", 10, NULL, 2000, &cls, after,
	    sizeof(after)), 0);
	ck_assert_str_eq(after, "hi");
	ck_assert_int_eq(run_hs("socks4a://p:1", "h", 22, 11,
	    "\x00\x5b\x00\x00\x00\x00\x00\x00", 8, NULL, 2000, &cls, NULL, 0),
	    -1);
	ck_assert_int_eq(cls, VPR_GENERAL);
	ck_assert_int_eq(run_hs("socks4a://p:1", "h", 22, 11, "\x00\x5a\x00",
	    3, "<close>", 2000, &cls, NULL, 0), -1);
	ck_assert_int_eq(cls, VPR_PROTO);
}
END_TEST

static Suite *
vpproxyc_suite(void)
{
	Suite *s = suite_create("vpproxyc");
	TCase *tc = tcase_create("proxyc");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, url_good);
	tcase_add_test(tc, url_bad);
	tcase_add_test(tc, url_str_hides_password);
	tcase_add_test(tc, requests);
	tcase_add_test(tc, parsers_good);
	tcase_add_test(tc, parsers_bad);
	tcase_add_test(tc, parsers_random);
	tcase_add_test(tc, handshakes);
	tcase_add_test(tc, handshakes_http_socks4);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(vpproxyc_suite());
	int nf;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
