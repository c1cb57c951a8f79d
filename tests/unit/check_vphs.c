/*
 * Unit tests for vphs: the proxy handshake state machine driven in one
 * go, byte by byte and in odd chunks for SOCKS5 (with and without
 * users), SOCKS4/4a and HTTP, with exact reply bytes, exit statuses,
 * log lines and consumed lengths; plus hostile input.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vphs.h"
#include "vplog.h"

static char dir[64];
static struct vpusers *users;
static struct vphs_conf mixed, mixed_u, f5, f4, fhttp;

static void
setup(void)
{
	char path[128], err[256];
	int fd;

	strcpy(dir, "/tmp/vphs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/users", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "# users\nalice:secret\nbob:hunter2\n", 33),
	    33);
	close(fd);
	users = vpusers_load(path, err, sizeof(err));
	ck_assert_msg(users != NULL, "%s", err);
	memset(&mixed, 0, sizeof(mixed));
	mixed_u = mixed;
	mixed_u.users = users;
	f5 = mixed;
	f5.forced = VPIN_SOCKS5;
	f4 = mixed;
	f4.forced = VPIN_SOCKS4;
	fhttp = mixed;
	fhttp.forced = VPIN_HTTP;
}

static void
teardown(void)
{
	char cmd[128];

	vpusers_free(users);
	users = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ck_abort_msg("cleanup failed");
}

/* What a caller saw over a whole handshake. */
struct run {
	struct vphs	 h;
	int		 st;
	unsigned char	 out[1024];	/* every byte sent to the client */
	size_t		 outlen;
	size_t		 consumed;	/* sum of *used */
	size_t		 lastout;	/* bytes out in the last call */
	size_t		 fed;		/* input bytes given so far */
};

/*
 * drive(): plays a caller with a VPHS_BUFMAX buffer that receives in
 * chunks of `chunk` bytes (0: all at once), removes what each step
 * consumed and sends h->out. eof: the client ends its side after the
 * last byte. Stops at the first status other than MORE or when the
 * input is used up. Returns the status.
 */
static int
drive(struct run *r, const struct vphs_conf *c, const void *in, size_t len,
    size_t chunk, int eof)
{
	static unsigned char buf[VPHS_BUFMAX];
	const unsigned char *p = in;
	size_t have = 0, k, used;
	int calls = 0;

	memset(r, 0, sizeof(*r));
	vphs_init(&r->h);
	for (;;) {
		k = chunk == 0 ? len - r->fed : chunk;
		if (k > len - r->fed)
			k = len - r->fed;
		ck_assert_uint_le(k, sizeof(buf) - have);
		memcpy(buf + have, p + r->fed, k);
		have += k;
		r->fed += k;
		used = 12345;
		r->st = vphs_step(&r->h, c, buf, have, eof && r->fed == len,
		    &used);
		ck_assert_uint_le(used, have);
		ck_assert_uint_le(r->h.outlen, sizeof(r->h.out));
		ck_assert_uint_le(r->outlen + r->h.outlen, sizeof(r->out));
		memcpy(r->out + r->outlen, r->h.out, r->h.outlen);
		r->outlen += r->h.outlen;
		r->lastout = r->h.outlen;
		r->h.outlen = 0;
		r->consumed += used;
		memmove(buf, buf + used, have - used);
		have -= used;
		if (r->st != VPHS_MORE)
			break;
		ck_assert_uint_lt(have, VPHS_BUFMAX);
		if (r->fed == len)
			break;
		ck_assert_int_lt(++calls, 1000000);
	}
	return r->st;
}

static void
out_is(const struct run *r, const void *want, size_t n)
{
	ck_assert_uint_eq(r->outlen, n);
	ck_assert_mem_eq(r->out, want, n);
}

/* Chunk sizes every good handshake is tried with. */
static const size_t chunks[] = { 0, 1, 2, 3, 7, 64 };
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static const char early[] = "early bytes\r\n";

/* Appends the early data to a request; returns the new length. */
static size_t
with_early(unsigned char *dst, const void *req, size_t n)
{
	memcpy(dst, req, n);
	memcpy(dst + n, early, sizeof(early) - 1);
	return n + sizeof(early) - 1;
}

static const unsigned char s5_greet[] = { 5, 1, 0 };
static const unsigned char s5_name[] = {
	5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g',
	0x01, 0xbb
};

START_TEST(socks5_noauth)
{
	unsigned char in[512];
	struct run r;
	size_t n, i, req;
	const struct vphs_conf *confs[2] = { &mixed, &f5 };
	int ci;

	memcpy(in, s5_greet, sizeof(s5_greet));
	memcpy(in + 3, s5_name, sizeof(s5_name));
	req = 3 + sizeof(s5_name);
	n = with_early(in, in, req);
	for (ci = 0; ci < 2; ci++) {
		for (i = 0; i < NCHUNKS; i++) {
			ck_assert_int_eq(drive(&r, confs[ci], in,
			    n, chunks[i], 0), VPHS_DONE);
			out_is(&r, "\x05\x00", 2);
			ck_assert_uint_eq(r.consumed, req);
			ck_assert_str_eq(r.h.req.host, "example.org");
			ck_assert_uint_eq(r.h.req.port, 443);
			ck_assert_int_eq(r.h.req.host_is_name, 1);
			ck_assert_int_eq(r.h.reply, VPRP_SOCKS5);
			ck_assert_str_eq(r.h.inbound, "socks5");
			ck_assert_ptr_null(r.h.user);
			vphs_free(&r.h);
		}
		/* Early data in the same read as the request is left. */
		ck_assert_int_eq(drive(&r, confs[ci], in, n, 0, 1), VPHS_DONE);
		ck_assert_uint_eq(r.consumed, req);
		vphs_free(&r.h);
	}
}
END_TEST

START_TEST(socks5_addresses)
{
	static const unsigned char v4[] = {
		5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80
	};
	static const unsigned char v6[] = {
		5, 1, 0, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0x1f, 0x90
	};
	unsigned char in[600];
	struct run r;
	size_t i;

	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed, v4, sizeof(v4), chunks[i], 0),
		    VPHS_DONE);
		ck_assert_str_eq(r.h.req.host, "127.0.0.1");
		ck_assert_uint_eq(r.h.req.port, 80);
		ck_assert_int_eq(r.h.req.host_is_name, 0);
		ck_assert_int_eq(drive(&r, &mixed, v6, sizeof(v6), chunks[i], 0),
		    VPHS_DONE);
		ck_assert_str_eq(r.h.req.host, "2001:db8::1");
		ck_assert_uint_eq(r.h.req.port, 8080);
	}
	/* A 255-byte name is the longest there is. */
	memcpy(in, "\x05\x01\x00\x05\x01\x00\x03\xff", 8);
	memset(in + 8, 'a', 255);
	in[8 + 255] = 0;
	in[8 + 256] = 22;
	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed, in, 8 + 257, chunks[i], 0),
		    VPHS_DONE);
		ck_assert_uint_eq(strlen(r.h.req.host), 255);
		ck_assert_uint_eq(r.h.req.port, 22);
		ck_assert_uint_eq(r.consumed, 8 + 257);
	}
}
END_TEST

/* Greeting offering no-auth and user/password, RFC 1929, request. */
static size_t
s5_auth(unsigned char *in, const char *user, const char *pass)
{
	size_t n = 0, ul = strlen(user), pl = strlen(pass);

	memcpy(in, "\x05\x02\x00\x02", 4);
	n = 4;
	in[n++] = 1;
	in[n++] = (unsigned char)ul;
	memcpy(in + n, user, ul);
	n += ul;
	in[n++] = (unsigned char)pl;
	memcpy(in + n, pass, pl);
	n += pl;
	memcpy(in + n, s5_name, sizeof(s5_name));
	return n + sizeof(s5_name);
}

static int
all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

START_TEST(socks5_users)
{
	unsigned char in[1024];
	struct run r;
	size_t n, req, i;
	struct vphs_conf c5 = f5;

	c5.users = users;
	req = s5_auth(in, "alice", "secret");
	n = with_early(in, in, req);
	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed_u, in, n, chunks[i],
		    0), VPHS_DONE);
		out_is(&r, "\x05\x02\x01\x00", 4);
		ck_assert_uint_eq(r.consumed, req);
		ck_assert_ptr_eq(r.h.user, r.h.req.user);
		ck_assert_str_eq(r.h.user, "alice");
		ck_assert(all_zero(r.h.req.pass, sizeof(r.h.req.pass)));
		ck_assert_int_eq(r.h.reply, VPRP_SOCKS5);
		ck_assert_str_eq(r.h.req.host, "example.org");
		vphs_free(&r.h);
	}
	ck_assert_int_eq(drive(&r, &c5, in, n, 0, 0), VPHS_DONE);
	ck_assert_uint_eq(r.consumed, req);

	/* Wrong password: 01 01, WARN, exit 69, password wiped. */
	req = s5_auth(in, "alice", "wrong");
	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed_u, in, req, chunks[i], 0),
		    VPHS_FAIL);
		out_is(&r, "\x05\x02\x01\x01", 4);
		ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
		ck_assert_int_eq(r.h.loglevel, VPLOG_WARN);
		ck_assert_int_eq(r.h.parsefail, 0);
		ck_assert_str_eq(r.h.why,
		    "socks5: authentication failed for user 'alice'");
		ck_assert_ptr_null(r.h.user);
		ck_assert(all_zero(r.h.req.pass, sizeof(r.h.req.pass)));
		vphs_free(&r.h);
	}
	/* Unknown user; control bytes in the name are not logged raw. */
	req = s5_auth(in, "eve\n", "secret");
	ck_assert_int_eq(drive(&r, &mixed_u, in, req, 0, 0), VPHS_FAIL);
	out_is(&r, "\x05\x02\x01\x01", 4);
	ck_assert_uint_eq(r.h.outstages, 2);
	ck_assert_str_eq(r.h.why, "socks5: authentication failed for user 'eve?'");
	/* Empty password is a password like another (and wrong here). */
	req = s5_auth(in, "bob", "");
	ck_assert_int_eq(drive(&r, &mixed_u, in, req, 1, 0), VPHS_FAIL);
	out_is(&r, "\x05\x02\x01\x01", 4);
	req = s5_auth(in, "bob", "hunter2");
	ck_assert_int_eq(drive(&r, &mixed_u, in, req, 1, 0), VPHS_DONE);
	ck_assert_str_eq(r.h.user, "bob");
}
END_TEST

START_TEST(socks5_methods)
{
	struct run r;

	/* Users configured, client offers only "no authentication". */
	ck_assert_int_eq(drive(&r, &mixed_u, "\x05\x01\x00", 3, 0, 0),
	    VPHS_FAIL);
	out_is(&r, "\x05\xff", 2);
	ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
	ck_assert_int_eq(r.h.loglevel, VPLOG_INFO);
	ck_assert_int_eq(r.h.parsefail, 0);
	ck_assert_str_eq(r.h.why, "socks5: client offers no user/password method");
	ck_assert_uint_eq(r.consumed, 3);
	/* No users, client offers only user/password. */
	ck_assert_int_eq(drive(&r, &mixed, "\x05\x01\x02", 3, 1, 0), VPHS_FAIL);
	out_is(&r, "\x05\xff", 2);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_str_eq(r.h.why,
	    "socks5: client offers no 'no authentication' method");
	/* Methods >= 32 and duplicates are ignored, 00 among them found. */
	ck_assert_int_eq(drive(&r, &mixed, "\x05\x04\xff\x80\x00\x00", 6, 0,
	    0), VPHS_MORE);
	out_is(&r, "\x05\x00", 2);
	ck_assert_uint_eq(r.consumed, 6);
	/* A greeting with no method at all. */
	ck_assert_int_eq(drive(&r, &mixed, "\x05\x00", 2, 1, 0), VPHS_FAIL);
	out_is(&r, "\x05\xff", 2);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_int_eq(r.h.parsefail, 1);
	ck_assert_str_eq(r.h.why,
	    "socks5 greeting: SOCKS5 greeting offers no method");
}
END_TEST

START_TEST(socks5_bad_requests)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*out;
		size_t		 outlen;
		int		 st, exit;
		const char	*why;
	} t[] = {
		{ "\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", 13,
		  "\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_UNAVAILABLE,
		  "socks5 request: SOCKS5 BIND not supported: command not "
		  "supported" },
		{ "\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00", 13,
		  "\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_UNAVAILABLE,
		  "socks5 request: SOCKS5 UDP ASSOCIATE not supported: command "
		  "not supported" },
		{ "\x05\x01\x00\x05\x09\x00\x01\x7f\x00\x00\x01\x00\x50", 13,
		  "\x05\x00\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_UNAVAILABLE,
		  "socks5 request: unknown SOCKS5 command: command not "
		  "supported" },
		{ "\x05\x01\x00\x05\x01\x00\x09", 7,
		  "\x05\x00\x05\x08\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_UNAVAILABLE,
		  "socks5 request: unsupported SOCKS5 address type: address "
		  "type not supported" },
		{ "\x05\x01\x00\x05\x01\x01\x01\x7f\x00\x00\x01\x00\x50", 13,
		  "\x05\x00\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_DATAERR,
		  "socks5 request: SOCKS5 reserved byte not zero: bad request" },
		{ "\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x00", 13,
		  "\x05\x00\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_DATAERR,
		  "socks5 request: SOCKS5 port 0: bad request" },
		{ "\x05\x01\x00\x05\x01\x00\x03\x00", 8,
		  "\x05\x00\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_DATAERR,
		  "socks5 request: empty SOCKS5 host name: bad request" },
		{ "\x05\x01\x00\x05\x01\x00\x03\x03" "a\x00" "b\x00\x50", 13,
		  "\x05\x00\x05\x01\x00\x01\x00\x00\x00\x00\x00\x00", 12,
		  VPHS_FAIL, EX_DATAERR,
		  "socks5 request: NUL in SOCKS5 host name: bad request" },
		/* Wrong versions: closed without a reply. */
		{ "\x05\x01\x00\x04\x01\x00\x01", 7, "\x05\x00", 2,
		  VPHS_CLOSE, EX_DATAERR,
		  "socks5 request: bad SOCKS5 request version" },
	};
	struct run r;
	size_t i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		for (j = 0; j < NCHUNKS; j++) {
			ck_assert_msg(drive(&r, &mixed, t[i].in, t[i].len,
			    chunks[j], 0) == t[i].st, "case %zu chunk %zu", i,
			    chunks[j]);
			out_is(&r, t[i].out, t[i].outlen);
			/* 05 00 before the refusal if in the same call. */
			ck_assert_uint_eq(r.h.outstages, r.lastout -
			    (t[i].st == VPHS_FAIL ? 10 : 0));
			if (chunks[j] == 0)
				ck_assert_uint_eq(r.h.outstages, 2);
			ck_assert_int_eq(r.h.exit, t[i].exit);
			ck_assert_str_eq(r.h.why, t[i].why);
			ck_assert_int_eq(r.h.parsefail, 1);
			ck_assert_int_eq(r.h.loglevel, VPLOG_INFO);
		}
}
END_TEST

START_TEST(socks5_bad_auth)
{
	struct run r;

	/*
	 * RFC 1929 version 02: the client waits for a status after 05 02:
	 * it gets 01 01 (failure), and the close lingers (VPHS_FAIL).
	 */
	ck_assert_int_eq(drive(&r, &mixed_u, "\x05\x01\x02\x02\x01u\x01p", 8,
	    1, 0), VPHS_FAIL);
	out_is(&r, "\x05\x02\x01\x01", 4);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_str_eq(r.h.why, "socks5 auth: bad RFC 1929 version");
	/* Empty user name: the failure status too, exit 65. */
	ck_assert_int_eq(drive(&r, &mixed_u, "\x05\x01\x02\x01\x00\x01p", 7,
	    0, 0), VPHS_FAIL);
	out_is(&r, "\x05\x02\x01\x01", 4);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_str_eq(r.h.why, "socks5 auth: empty user name");
	ck_assert_int_eq(drive(&r, &mixed_u, "\x05\x01\x02\x01\x01u\x01\x00",
	    8, 0, 0), VPHS_FAIL);
	out_is(&r, "\x05\x02\x01\x01", 4);
	ck_assert_str_eq(r.h.why,
	    "socks5 auth: NUL in user name or password");
	/* -i socks5 and a SOCKS4 client. */
	ck_assert_int_eq(drive(&r, &f5, "\x04\x01\x00\x50", 4, 0, 0),
	    VPHS_CLOSE);
	out_is(&r, "", 0);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_str_eq(r.h.why, "socks5 greeting: not a SOCKS5 greeting");
}
END_TEST

static const unsigned char s4[] = {
	4, 1, 0, 80, 127, 0, 0, 1, 'u', 's', 'e', 'r', 0
};
static const unsigned char s4a[] = {
	4, 1, 0x01, 0xbb, 0, 0, 0, 1, 0, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.',
	'o', 'r', 'g', 0
};

START_TEST(socks4)
{
	unsigned char in[1024];
	struct run r;
	size_t i, n;
	const struct vphs_conf *confs[2] = { &mixed, &f4 };
	int ci;

	for (ci = 0; ci < 2; ci++)
		for (i = 0; i < NCHUNKS; i++) {
			n = with_early(in, s4, sizeof(s4));
			ck_assert_int_eq(drive(&r, confs[ci], in,
			    n, chunks[i], 0), VPHS_DONE);
			out_is(&r, "", 0);
			ck_assert_uint_eq(r.consumed, sizeof(s4));
			ck_assert_str_eq(r.h.req.host, "127.0.0.1");
			ck_assert_uint_eq(r.h.req.port, 80);
			ck_assert_str_eq(r.h.req.user, "user");
			ck_assert_ptr_null(r.h.user);
			ck_assert_int_eq(r.h.reply, VPRP_SOCKS4);
			ck_assert_str_eq(r.h.inbound, "socks4");
			n = with_early(in, s4a, sizeof(s4a));
			ck_assert_int_eq(drive(&r, confs[ci], in,
			    n, chunks[i], 0), VPHS_DONE);
			ck_assert_uint_eq(r.consumed, sizeof(s4a));
			ck_assert_str_eq(r.h.req.host, "example.org");
			ck_assert_uint_eq(r.h.req.port, 443);
			ck_assert_str_eq(r.h.req.user, "");
		}
	/* Users configured: SOCKS4 cannot authenticate. */
	ck_assert_int_eq(drive(&r, &mixed_u, s4, sizeof(s4), 1, 0), VPHS_FAIL);
	out_is(&r, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
	ck_assert_int_eq(r.h.parsefail, 0);
	ck_assert_ptr_null(r.h.user);
	ck_assert_str_eq(r.h.why, "socks4: users are configured and SOCKS4 "
	    "cannot authenticate: not allowed");
}
END_TEST

START_TEST(socks4_hostile)
{
	unsigned char in[1024];
	struct run r;
	size_t i;

	/* BIND */
	memcpy(in, s4, sizeof(s4));
	in[1] = 2;
	ck_assert_int_eq(drive(&r, &mixed, in, sizeof(s4), 0, 0), VPHS_FAIL);
	out_is(&r, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
	ck_assert_str_eq(r.h.why, "socks4 request: SOCKS4 command not "
	    "supported: command not supported");
	/* 0.0.0.0 */
	memcpy(in, "\x04\x01\x00\x50\x00\x00\x00\x00\x00", 9);
	ck_assert_int_eq(drive(&r, &mixed, in, 9, 1, 0), VPHS_FAIL);
	out_is(&r, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	/* A 255-byte SOCKS4a name is fine, 256 is not. */
	memcpy(in, "\x04\x01\x00\x50\x00\x00\x00\x01\x00", 9);
	memset(in + 9, 'h', 255);
	in[9 + 255] = 0;
	ck_assert_int_eq(drive(&r, &mixed, in, 9 + 256, 1, 0), VPHS_DONE);
	ck_assert_uint_eq(strlen(r.h.req.host), 255);
	memset(in + 9, 'h', 257);
	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed, in, 9 + 257, chunks[i], 0),
		    VPHS_FAIL);
		out_is(&r, "\x00\x5b\x00\x00\x00\x00\x00\x00", 8);
		ck_assert_int_eq(r.h.exit, EX_DATAERR);
		ck_assert_str_eq(r.h.why, "socks4 request: SOCKS4a host name "
		    "too long: bad request");
	}
	/* A user id that never ends. */
	memcpy(in, s4, 8);
	memset(in + 8, 'u', 300);
	ck_assert_int_eq(drive(&r, &mixed, in, 308, 1, 0), VPHS_FAIL);
	ck_assert_str_eq(r.h.why, "socks4 request: SOCKS4 user id too long: "
	    "bad request");
	/* -i socks4 and a SOCKS5 client. */
	ck_assert_int_eq(drive(&r, &f4, s5_greet, 3, 0, 0), VPHS_CLOSE);
	out_is(&r, "", 0);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_str_eq(r.h.why, "socks4 request: not a SOCKS4 request");
}
END_TEST

static const char h_connect[] =
    "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n";
static const char h_plain[] =
    "GET http://example.org:8080/a?b HTTP/1.1\r\nHost: x\r\n"
    "Proxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n";
static const char h407[] =
    "HTTP/1.1 407 Proxy Authentication Required\r\n"
    "Proxy-Authenticate: Basic realm=\"vp\"\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char h400[] = "HTTP/1.1 400 Bad Request\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

START_TEST(http)
{
	static const char want_head[] = "GET /a?b HTTP/1.1\r\n"
	    "Host: example.org:8080\r\nAccept: */*\r\n"
	    "Connection: close\r\n\r\n";
	unsigned char in[1024];
	struct run r;
	size_t i, n, req;
	const struct vphs_conf *confs[2] = { &mixed, &fhttp };
	int ci;

	for (ci = 0; ci < 2; ci++)
		for (i = 0; i < NCHUNKS; i++) {
			req = sizeof(h_connect) - 1;
			n = with_early(in, h_connect, req);
			ck_assert_int_eq(drive(&r, confs[ci], in,
			    n, chunks[i], 0), VPHS_DONE);
			out_is(&r, "", 0);
			ck_assert_uint_eq(r.consumed, req);
			ck_assert_int_eq(r.h.req.http_connect, 1);
			ck_assert_str_eq(r.h.req.host, "example.org");
			ck_assert_uint_eq(r.h.req.port, 443);
			ck_assert_int_eq(r.h.reply, VPRP_HTTP);
			ck_assert_str_eq(r.h.inbound, "http");
			ck_assert_ptr_null(r.h.user);
			vphs_free(&r.h);

			req = sizeof(h_plain) - 1;
			n = with_early(in, h_plain, req);
			ck_assert_int_eq(drive(&r, confs[ci], in,
			    n, chunks[i], 0), VPHS_DONE);
			ck_assert_uint_eq(r.consumed, req);
			ck_assert_int_eq(r.h.req.http_connect, 0);
			ck_assert_uint_eq(r.h.req.port, 8080);
			ck_assert_uint_eq(r.h.req.headlen, sizeof(want_head) - 1);
			ck_assert_mem_eq(r.h.req.head, want_head,
			    sizeof(want_head) - 1);
			vphs_free(&r.h);
			ck_assert_ptr_null(r.h.req.head);
		}
}
END_TEST

/* A CONNECT with Proxy-Authorization: Basic base64(cred). */
static size_t
http_auth(char *in, size_t cap, const char *b64)
{
	int n = snprintf(in, cap, "CONNECT 10.0.0.1:22 HTTP/1.0\r\n"
	    "Proxy-Authorization: Basic %s\r\n\r\n", b64);

	ck_assert(n > 0 && (size_t)n < cap);
	return (size_t)n;
}

START_TEST(http_users)
{
	char in[1024];
	struct run r;
	size_t i, n;

	/* alice:secret */
	n = http_auth(in, sizeof(in), "YWxpY2U6c2VjcmV0");
	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed_u, in, n, chunks[i], 0),
		    VPHS_DONE);
		out_is(&r, "", 0);
		ck_assert_ptr_eq(r.h.user, r.h.req.user);
		ck_assert_str_eq(r.h.user, "alice");
		ck_assert(all_zero(r.h.req.pass, sizeof(r.h.req.pass)));
		ck_assert_uint_eq(r.consumed, n);
	}
	/* No users: credentials given anyway are wiped and ignored. */
	ck_assert_int_eq(drive(&r, &mixed, in, n, 0, 0), VPHS_DONE);
	ck_assert_ptr_null(r.h.user);
	ck_assert(all_zero(r.h.req.pass, sizeof(r.h.req.pass)));
	/* alice:wrong */
	n = http_auth(in, sizeof(in), "YWxpY2U6d3Jvbmc=");
	for (i = 0; i < NCHUNKS; i++) {
		ck_assert_int_eq(drive(&r, &mixed_u, in, n, chunks[i], 0),
		    VPHS_FAIL);
		out_is(&r, h407, sizeof(h407) - 1);
		ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
		ck_assert_int_eq(r.h.loglevel, VPLOG_INFO);
		ck_assert_int_eq(r.h.parsefail, 0);
		ck_assert_ptr_null(r.h.user);
		ck_assert_str_eq(r.h.why, "http: authentication failed for user "
		    "'alice': authentication failed");
		ck_assert(all_zero(r.h.req.pass, sizeof(r.h.req.pass)));
	}
	/* No Proxy-Authorization at all. */
	n = strlen(h_connect);
	ck_assert_int_eq(drive(&r, &mixed_u, h_connect, n, 1, 0), VPHS_FAIL);
	out_is(&r, h407, sizeof(h407) - 1);
	ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
	ck_assert_str_eq(r.h.why,
	    "http: no Proxy-Authorization: authentication failed");
	/*
	 * A malformed or non-Basic header is no credential: 407, asking
	 * for Basic (as with none), not 400.
	 */
	n = http_auth(in, sizeof(in), "!!!!");
	ck_assert_int_eq(drive(&r, &mixed_u, in, n, 0, 0), VPHS_FAIL);
	out_is(&r, h407, sizeof(h407) - 1);
	ck_assert_int_eq(r.h.exit, EX_UNAVAILABLE);
	ck_assert_int_eq(r.h.parsefail, 0);
	ck_assert_str_eq(r.h.why,
	    "http: no Proxy-Authorization: authentication failed");
}
END_TEST

START_TEST(http_hostile)
{
	static const char *bad[] = {
		"CONNECT example.org HTTP/1.1\r\n\r\n",
		"CONNECT example.org:0 HTTP/1.1\r\n\r\n",
		"GET /relative HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a/ HTTP/2.0\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\n folded\r\n\r\n",
		"G\x01T http://a/ HTTP/1.1\r\n\r\n",
		"GET http://user@a/ HTTP/1.1\r\n\r\n",
	};
	static const char toobig[] = "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static char big[VPHS_BUFMAX + 100];
	struct run r;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(drive(&r, &mixed, bad[i], strlen(bad[i]), 1, 0) ==
		    VPHS_FAIL, "%s", bad[i]);
		out_is(&r, h400, sizeof(h400) - 1);
		ck_assert_int_eq(r.h.exit, EX_DATAERR);
		ck_assert_int_eq(r.h.parsefail, 1);
		ck_assert(strncmp(r.h.why, "http request: ", 14) == 0);
	}
	/* An unknown method on an absolute URL is plain HTTP, passed on. */
	ck_assert_int_eq(drive(&r, &mixed, "BREW http://pot/ HTTP/1.1\r\n\r\n",
	    29, 0, 0), VPHS_DONE);
	vphs_free(&r.h);
	/* An endless head: refused before the caller's buffer is full. */
	n = (size_t)snprintf(big, sizeof(big), "GET http://a/ HTTP/1.1\r\n");
	memset(big + n, 'a', sizeof(big) - n);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(drive(&r, &mixed, big, sizeof(big),
		    i == 0 ? 4096 : 1, 0), VPHS_FAIL);
		out_is(&r, toobig, sizeof(toobig) - 1);
		ck_assert_int_eq(r.h.exit, EX_DATAERR);
		ck_assert_str_eq(r.h.why, "http request: HTTP header section "
		    "too large: bad request");
		ck_assert_uint_le(r.fed, VPIN_HEADMAX + 4096);
	}
	/* Too many header lines. */
	n = (size_t)snprintf(big, sizeof(big), "CONNECT a:1 HTTP/1.1\r\n");
	for (i = 0; i < 101; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-%zu: y\r\n", i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	ck_assert_int_eq(drive(&r, &mixed, big, n, 0, 0), VPHS_FAIL);
	out_is(&r, toobig, sizeof(toobig) - 1);
	ck_assert_str_eq(r.h.why,
	    "http request: too many HTTP header lines: bad request");
	/* Binary after -i http. */
	ck_assert_int_eq(drive(&r, &fhttp, s5_greet, 3, 0, 0), VPHS_FAIL);
	out_is(&r, h400, sizeof(h400) - 1);
	ck_assert_str_eq(r.h.why, "http request: not an HTTP request: bad request");
}
END_TEST

START_TEST(unknown_and_close)
{
	struct run r;
	size_t used;
	struct vphs h;

	ck_assert_int_eq(drive(&r, &mixed, "\x00\x01", 2, 0, 0), VPHS_CLOSE);
	out_is(&r, "", 0);
	ck_assert_int_eq(r.h.exit, EX_DATAERR);
	ck_assert_int_eq(r.h.parsefail, 0);
	ck_assert_str_eq(r.h.why, "request: unknown protocol");
	ck_assert_int_eq(drive(&r, &mixed, "get / HTTP/1.1\r\n\r\n", 18, 0, 0),
	    VPHS_CLOSE);
	ck_assert_str_eq(r.h.why, "request: unknown protocol");
	/* Connect and close: a health check, exit 0. */
	ck_assert_int_eq(drive(&r, &mixed, "", 0, 0, 1), VPHS_CLOSE);
	out_is(&r, "", 0);
	ck_assert_int_eq(r.h.exit, 0);
	ck_assert_int_eq(r.h.parsefail, 1);
	ck_assert_str_eq(r.h.why, "request: client closed the connection");
	ck_assert_int_eq(drive(&r, &f5, "", 0, 0, 1), VPHS_CLOSE);
	ck_assert_int_eq(r.h.exit, 0);
	ck_assert_str_eq(r.h.why,
	    "socks5 greeting: client closed the connection");
	/* Nothing yet: MORE, and the stage is named for a timeout. */
	vphs_init(&h);
	ck_assert_int_eq(vphs_step(&h, &mixed, s4, 0, 0, &used), VPHS_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_str_eq(vphs_what(&h), "request");
	vphs_init(&h);
	ck_assert_int_eq(vphs_step(&h, &f4, s4, 0, 0, &used), VPHS_MORE);
	ck_assert_str_eq(vphs_what(&h), "socks4 request");
	ck_assert_int_eq(vphs_step(&h, &f4, s4, sizeof(s4), 0, &used),
	    VPHS_DONE);
	/* Stepping past the end is refused, not undefined. */
	ck_assert_int_eq(vphs_step(&h, &f4, s4, sizeof(s4), 0, &used),
	    VPHS_CLOSE);
	ck_assert_int_eq(h.exit, EX_SOFTWARE);
	ck_assert_uint_eq(used, 0);
	vphs_free(&h);
}
END_TEST

/*
 * Truncated at every offset, then EOF: always CLOSE, never a reply
 * beyond the stages completed; exit 0 exactly when no byte of the
 * current stage had come (as vp-dispatch always did), else 65.
 */
static void
truncations(const struct vphs_conf *c, const unsigned char *in, size_t len,
    const size_t *bounds, size_t nb, const char *const *outs,
    const size_t *outlens)
{
	struct run r;
	size_t k, b, stage;

	for (k = 0; k < len; k++) {
		stage = 0;
		for (b = 0; b < nb; b++)
			if (k >= bounds[b])
				stage = b;
		ck_assert_int_eq(drive(&r, c, in, k, 1, 1), VPHS_CLOSE);
		ck_assert_int_eq(r.h.exit, k == bounds[stage] ? 0 : EX_DATAERR);
		ck_assert_uint_eq(r.consumed, bounds[stage]);
		out_is(&r, outs[stage], outlens[stage]);
		ck_assert_ptr_nonnull(strstr(r.h.why,
		    ": client closed the connection"));
		ck_assert_int_eq(r.h.parsefail, 1);
		/* Without EOF the same bytes just want more. */
		ck_assert_int_eq(drive(&r, c, in, k, 0, 0), VPHS_MORE);
		out_is(&r, outs[stage], outlens[stage]);
		vphs_free(&r.h);
	}
}

START_TEST(truncated)
{
	unsigned char in[1024];
	size_t n;
	static const char *const o5[] = { "", "\x05\x00" };
	static const char *const o5u[] = { "", "\x05\x02", "\x05\x02\x01\x00" };
	static const char *const o1[] = { "" };
	static const size_t l5[] = { 0, 2 }, l5u[] = { 0, 2, 4 }, l1[] = { 0 };
	size_t b5[] = { 0, 3 }, b5u[] = { 0, 4, 0 }, b0[] = { 0 };

	memcpy(in, s5_greet, 3);
	memcpy(in + 3, s5_name, sizeof(s5_name));
	truncations(&mixed, in, 3 + sizeof(s5_name), b5, 2, o5, l5);
	truncations(&f5, in, 3 + sizeof(s5_name), b5, 2, o5, l5);
	n = s5_auth(in, "alice", "secret");
	b5u[2] = n - sizeof(s5_name);
	truncations(&mixed_u, in, n, b5u, 3, o5u, l5u);
	truncations(&mixed, s4, sizeof(s4), b0, 1, o1, l1);
	truncations(&mixed, s4a, sizeof(s4a), b0, 1, o1, l1);
	truncations(&mixed, (const unsigned char *)h_connect,
	    sizeof(h_connect) - 1, b0, 1, o1, l1);
	truncations(&mixed, (const unsigned char *)h_plain,
	    sizeof(h_plain) - 1, b0, 1, o1, l1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vphs");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, socks5_noauth);
	tcase_add_test(tc, socks5_addresses);
	tcase_add_test(tc, socks5_users);
	tcase_add_test(tc, socks5_methods);
	tcase_add_test(tc, socks5_bad_requests);
	tcase_add_test(tc, socks5_bad_auth);
	tcase_add_test(tc, socks4);
	tcase_add_test(tc, socks4_hostile);
	tcase_add_test(tc, http);
	tcase_add_test(tc, http_users);
	tcase_add_test(tc, http_hostile);
	tcase_add_test(tc, unknown_and_close);
	tcase_add_test(tc, truncated);
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
