/*
 * Unit tests for vplink_kcp's server side on real loopback UDP sockets:
 * what creates a session and what does not (garbage, wrong key, stale
 * sender clock, replays, datagrams that open no KCP conversation,
 * recently closed sessions, the session limit), that nothing is sent
 * back to a datagram that does not authenticate, and that a session
 * follows its client to a new address once a fresh datagram
 * authenticates.  Also option parsing.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vpendpoint.h"
#include "vpio.h"
#include "vplink_kcp.h"

static uint8_t psk[VPCRYPT_KEYLEN];
static int txsuite = VPCRYPT_SUITE_CHACHA;	/* what test clients seal with */

static void
txi(struct vpcrypt_tx *tx, const uint8_t *key, int dir, uint32_t t)
{
	vpcrypt_tx_init(tx, key, dir, t, txsuite);
}
static struct vplink_listener *ln;
static unsigned port;

static void
listen_with(int keyed, int sessions)
{
	struct vplink_kcp_opts o;
	struct vpendpoint ep;
	char err[256];
	size_t i;

	ck_assert_int_eq(vpcrypt_init(), 0);
	for (i = 0; i < sizeof(psk); i++)
		psk[i] = (uint8_t)(0xa5 ^ i);
	vplink_kcp_default_options(&o);
	o.keyed = keyed;
	memcpy(o.psk, psk, sizeof(psk));
	o.max_sessions = sessions;
	vplink_kcp_set_options(&o);
	ck_assert_int_eq(vpep_parse("udp:127.0.0.1:0", &ep, err, sizeof(err)), 0);
	ln = vplink_kcp_listen(&ep, err, sizeof(err));
	ck_assert_msg(ln != NULL, "%s", err);
	port = ln->port;
	ck_assert_uint_gt(port, 0);
}

static int
peer_socket(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Lets the listener take in whatever has arrived, its clock at now. */
static void
pump_at(int64_t now, int wait_ms)
{
	struct pollfd pfd[VPLINK_MAXFDS];
	int n, i;

	for (i = 0; i < 3; i++) {
		n = ln->ops->pollfds(ln, pfd, VPLINK_MAXFDS);
		ck_assert_int_eq(n, 1);
		if (poll(pfd, n, wait_ms) <= 0)
			continue;
		ck_assert_int_eq(ln->ops->events(ln, pfd, n, now), 0);
	}
}

/* As pump_at, but returns as soon as nothing more is waiting. */
static void
pump_quick(int64_t now)
{
	struct pollfd pfd[VPLINK_MAXFDS];
	int n, i;

	for (i = 0; i < 100; i++) {
		n = ln->ops->pollfds(ln, pfd, VPLINK_MAXFDS);
		ck_assert_int_eq(n, 1);
		if (poll(pfd, n, i == 0 ? 1000 : 0) <= 0)
			break;
		ck_assert_int_eq(ln->ops->events(ln, pfd, n, now), 0);
	}
}

/* Reads and drops whatever fd has received. */
static void
drain(int fd)
{
	uint8_t buf[2048];
	int i;

	for (i = 0; i < 1000 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0;
	    i++)
		;
}

static void
pump(void)
{
	pump_at(vpio_now_ms(), 50);
}

/* Receives one datagram within 200 ms; its length or -1. */
static ssize_t
recv_reply(int fd, uint8_t *buf, size_t len)
{
	if (vpio_wait(fd, POLLIN, 200) != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static size_t
kcp_seg(uint8_t *p, uint32_t conv, uint8_t cmd, uint32_t sn, const char *data)
{
	uint32_t len = data ? (uint32_t)strlen(data) : 0;
	uint32_t v;

	v = htole32(conv); memcpy(p, &v, 4);
	p[4] = cmd; p[5] = 0; p[6] = 0; p[7] = 4;
	v = htole32(1000); memcpy(p + 8, &v, 4);
	v = htole32(sn); memcpy(p + 12, &v, 4);
	v = 0; memcpy(p + 16, &v, 4);
	v = htole32(len); memcpy(p + 20, &v, 4);
	if (len)
		memcpy(p + 24, data, len);
	return 24 + len;
}

static size_t
sealed(struct vpcrypt_tx *tx, uint8_t *out, uint32_t conv, uint8_t cmd,
    uint32_t sn)
{
	uint8_t plain[256];
	size_t n = kcp_seg(plain, conv, cmd, sn, cmd == VPKCP_CMD_PUSH ?
	    "hello" : NULL);

	return vpcrypt_seal(tx, out, plain, n);
}

/*
 * Receives the server's challenge to an opener of olen bytes sealed by
 * tx: a control datagram no larger than the opener, naming tx's sender.
 * Copies its cookie out.
 */
static void
get_challenge(int fd, const struct vpcrypt_tx *tx, size_t olen,
    uint8_t cookie[VPCRYPT_COOKIELEN])
{
	struct vpcrypt_rx rx;
	uint8_t buf[2048], sender[8];
	uint64_t ctr;
	ssize_t n;

	n = recv_reply(fd, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_uint_le((size_t)n, olen);
	ck_assert_int_eq(vpcrypt_is_ctl(buf, (size_t)n), 1);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_S2C);
	ck_assert_int_eq(vpcrypt_open(&rx, buf, (size_t)n, sender, &ctr),
	    8 + VPCRYPT_COOKIELEN);
	ck_assert(memcmp(buf + 16, tx->sk.sender, 8) == 0);
	memcpy(cookie, buf + 16 + 8, VPCRYPT_COOKIELEN);
}

/* Seals the answer to a challenge: cookie | conv. */
static size_t
answer(struct vpcrypt_tx *tx, uint8_t *out, const uint8_t *cookie,
    uint32_t conv)
{
	uint8_t a[VPCRYPT_COOKIELEN + 4];

	memcpy(a, cookie, VPCRYPT_COOKIELEN);
	conv = htole32(conv);
	memcpy(a + VPCRYPT_COOKIELEN, &conv, 4);
	return vpcrypt_seal_ctl(tx, out, a, sizeof(a));
}

/* A keyed client's opening: opener, challenge, answer (sent from fd). */
static void
handshake(int fd, struct vpcrypt_tx *tx, uint32_t conv)
{
	uint8_t buf[512], cookie[VPCRYPT_COOKIELEN];
	size_t n;

	n = sealed(tx, buf, conv, VPKCP_CMD_PUSH, 0);
	send(fd, buf, n, 0);
	pump();
	get_challenge(fd, tx, n, cookie);
	send(fd, buf, answer(tx, buf, cookie, conv), 0);
	pump();
}

static void
no_session(void)
{
	errno = 0;
	ck_assert_ptr_null(ln->ops->accept(ln));
	ck_assert_int_eq(errno, EAGAIN);
}

START_TEST(garbage_makes_nothing)
{
	uint8_t buf[2048];
	size_t lens[] = { 0, 1, 23, 24, 31, 32, 33, 100, 1400, 1500 };
	size_t i, j;
	int fd;

	listen_with(1, 8);
	fd = peer_socket();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (j = 0; j < lens[i]; j++)
			buf[j] = (uint8_t)rand();
		ck_assert_int_eq(send(fd, buf, lens[i], 0), (ssize_t)lens[i]);
	}
	/* a bare KCP opener is garbage to a keyed server */
	ck_assert_int_eq(send(fd, buf, kcp_seg(buf, 7, VPKCP_CMD_PUSH, 0, "x"),
	    0), 25);
	pump();
	no_session();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	close(fd);
	ln->ops->close(ln);
}
END_TEST

START_TEST(wrong_key_stale_clock_no_opener)
{
	struct vpcrypt_tx tx;
	uint8_t other[VPCRYPT_KEYLEN], buf[512];
	int fd;

	listen_with(1, 8);
	fd = peer_socket();
	/* another key */
	memset(other, 1, sizeof(other));
	txi(&tx, other, VPCRYPT_C2S, (uint32_t)time(NULL));
	send(fd, buf, sealed(&tx, buf, 9, VPKCP_CMD_PUSH, 0), 0);
	/* the right key, the wrong direction */
	txi(&tx, psk, VPCRYPT_S2C, (uint32_t)time(NULL));
	send(fd, buf, sealed(&tx, buf, 9, VPKCP_CMD_PUSH, 0), 0);
	/* the right key, a sender clock two hours off */
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL) - 7200);
	send(fd, buf, sealed(&tx, buf, 9, VPKCP_CMD_PUSH, 0), 0);
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL) + 7200);
	send(fd, buf, sealed(&tx, buf, 9, VPKCP_CMD_PUSH, 0), 0);
	/* authentic, but opens no conversation: an ACK, a PUSH of sn 5 */
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	send(fd, buf, sealed(&tx, buf, 9, VPKCP_CMD_ACK, 0), 0);
	send(fd, buf, sealed(&tx, buf, 9, VPKCP_CMD_PUSH, 5), 0);
	pump();
	no_session();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	close(fd);
	ln->ops->close(ln);
}
END_TEST

START_TEST(session_replay_follow_close)
{
	struct vpcrypt_tx tx;
	struct vplink_kcp_stats st;
	struct vplink *l;
	uint8_t first[512], buf[2048], sender[8];
	struct vpcrypt_rx key;
	size_t flen, n;
	uint64_t ctr;
	long pl;
	char data[16];
	uint8_t data2[VPCRYPT_COOKIELEN];
	int fd, fd2;

	/* The server opens either suite whatever it sends with. */
	txsuite = _i == 0 ? VPCRYPT_SUITE_CHACHA : VPCRYPT_SUITE_AESGCM;
	if (!vpcrypt_suite_ok(txsuite))
		return;
	listen_with(1, 8);
	fd = peer_socket();
	vpcrypt_rx_init(&key, psk, VPCRYPT_S2C);
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	/* the opener only gets a challenge; the answer opens the session */
	flen = sealed(&tx, first, 0x1234, VPKCP_CMD_PUSH, 0);
	send(fd, first, flen, 0);
	pump();
	no_session();
	get_challenge(fd, &tx, flen, data2);
	send(fd, buf, answer(&tx, buf, data2, 0x1234), 0);
	pump();
	l = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(l);
	no_session();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	/* the client sends its opener again (a new counter) */
	n = sealed(&tx, buf, 0x1234, VPKCP_CMD_PUSH, 0);
	send(fd, buf, n, 0);
	pump();
	/* the server ACKs, sealed for the other direction */
	pl = recv_reply(fd, buf, sizeof(buf));
	ck_assert_int_gt(pl, 0);
	pl = vpcrypt_open(&key, buf, (size_t)pl, sender, &ctr);
	ck_assert_int_eq(pl, 24);
	ck_assert_uint_eq(buf[16 + 4], VPKCP_CMD_ACK);
	ck_assert_uint_eq(buf[16 + 0], 0x34);
	/* cipher=auto: the server seals with AES-GCM as soon as the client
	 * says it can open it (and this CPU has it). */
	ck_assert_uint_eq(buf[15] & 0x7f,
	    vpcrypt_suite_ok(VPCRYPT_SUITE_AESGCM) ? VPCRYPT_SUITE_AESGCM :
	    VPCRYPT_SUITE_CHACHA);
	ck_assert_int_eq(l->ops->read(l, data, sizeof(data)), 5);
	ck_assert(memcmp(data, "hello", 5) == 0);

	/* replays: dropped, counted, no new session, no reply */
	send(fd, first, flen, 0);
	send(fd, first, flen, 0);
	pump();
	no_session();
	ck_assert_int_eq(vplink_kcp_stats(l, &st), 0);
	ck_assert_uint_eq(st.dgrams_in, 1);
	ck_assert_uint_ge(st.bad_dgrams, 2);
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);

	/* the client moves: a fresh datagram from a new socket */
	fd2 = peer_socket();
	n = sealed(&tx, buf, 0x1234, VPKCP_CMD_PUSH, 1);
	send(fd2, buf, n, 0);
	pump();
	no_session();
	pl = recv_reply(fd2, buf, sizeof(buf));
	ck_assert_int_gt(pl, 0);
	ck_assert_int_eq(vpcrypt_open(&key, buf, (size_t)pl, sender, &ctr), 24);
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	/* and the server's data goes to the new address */
	ck_assert_int_eq(l->ops->write(l, "back", 4), 4);
	l->ops->tick(l, vpio_now_ms());
	pl = recv_reply(fd2, buf, sizeof(buf));
	ck_assert_int_gt(pl, 0);
	pl = vpcrypt_open(&key, buf, (size_t)pl, sender, &ctr);
	ck_assert_int_eq(pl, 28);
	ck_assert(memcmp(buf + 16 + 24, "back", 4) == 0);

	/* closed: its opener replayed (even from elsewhere) opens nothing,
	 * not even a challenge */
	l->ops->close(l);
	send(fd, first, flen, 0);
	pump();
	no_session();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	close(fd);
	close(fd2);
	ln->ops->close(ln);
}
END_TEST

/* Lets a client link take in whatever has arrived. */
static void
cpump(struct vplink *l)
{
	struct pollfd pfd[VPLINK_MAXFDS];
	int n, i;

	for (i = 0; i < 3; i++) {
		n = l->ops->pollfds(l, pfd, VPLINK_MAXFDS, 1);
		ck_assert_int_eq(n, 1);
		if (poll(pfd, n, 50) <= 0)
			continue;
		ck_assert_int_eq(l->ops->events(l, pfd, n, vpio_now_ms()), 0);
	}
}

/*
 * A keyed client takes the server's sender id from the first authentic
 * datagram of its own conversation: an old session's datagram (same
 * key, another conv), replayed to it first, is dropped and does not
 * lock it out of the real server's answer (rev5k 2).
 */
START_TEST(client_ignores_old_session)
{
	struct vplink_kcp_opts o;
	struct vpcrypt_tx old, srv;
	struct vpcrypt_rx rx;
	struct vpendpoint ep;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	struct vplink *l;
	uint8_t buf[2048], plain[256], sender[8];
	char spec[64], err[256], data[16];
	uint64_t ctr;
	uint32_t conv;
	ssize_t n;
	long pl;
	size_t i;
	int fd;

	ck_assert_int_eq(vpcrypt_init(), 0);
	for (i = 0; i < sizeof(psk); i++)
		psk[i] = (uint8_t)(0xa5 ^ i);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&from, 0, sizeof(from));
	((struct sockaddr_in *)&from)->sin_family = AF_INET;
	((struct sockaddr_in *)&from)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(struct
	    sockaddr_in)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&from, &fromlen), 0);
	snprintf(spec, sizeof(spec), "udp:127.0.0.1:%u",
	    ntohs(((struct sockaddr_in *)&from)->sin_port));
	vplink_kcp_default_options(&o);
	o.keyed = 1;
	memcpy(o.psk, psk, sizeof(psk));
	vplink_kcp_set_options(&o);
	ck_assert_int_eq(vpep_parse(spec, &ep, err, sizeof(err)), 0);
	l = vplink_kcp_dial(&ep, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_int_eq(l->ops->write(l, "ping", 4), 4);
	l->ops->tick(l, vpio_now_ms());
	ck_assert_int_eq(vpio_wait(fd, POLLIN, 1000), 1);
	fromlen = sizeof(from);
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fromlen);
	ck_assert_int_gt(n, 0);
	vpcrypt_rx_init(&rx, psk, VPCRYPT_C2S);
	pl = vpcrypt_open(&rx, buf, (size_t)n, sender, &ctr);
	ck_assert_int_ge(pl, 24);
	ck_assert_int_eq(vpkcp_peek_conv(buf + 16, (size_t)pl, &conv), 0);
	/* an old session's server datagram first, then the real answer */
	txi(&old, psk, VPCRYPT_S2C, (uint32_t)time(NULL) - 30);
	n = (ssize_t)vpcrypt_seal(&old, buf, plain, kcp_seg(plain, conv + 1,
	    VPKCP_CMD_PUSH, 0, "old!"));
	ck_assert_int_eq(sendto(fd, buf, n, 0, (struct sockaddr *)&from,
	    fromlen), n);
	cpump(l);
	txi(&srv, psk, VPCRYPT_S2C, (uint32_t)time(NULL));
	n = (ssize_t)vpcrypt_seal(&srv, buf, plain, kcp_seg(plain, conv,
	    VPKCP_CMD_PUSH, 0, "new!"));
	ck_assert_int_eq(sendto(fd, buf, n, 0, (struct sockaddr *)&from,
	    fromlen), n);
	cpump(l);
	ck_assert_int_eq(l->ops->read(l, data, sizeof(data)), 4);
	ck_assert(memcmp(data, "new!", 4) == 0);
	l->ops->close(l);
	close(fd);
}
END_TEST

/*
 * Keyed: the server keeps no state for an opener and answers it with a
 * challenge; only a fresh answer with a valid cookie (this server, this
 * sender, this address, this or the last 30 s bucket) opens a session.
 * A recorded opener and answer replayed later, to a restarted server or
 * to another one with the same key, open nothing (rev5k 1, 1b).
 */
START_TEST(cookie_round_trip)
{
	struct vpcrypt_tx tx, tx2;
	struct vplink *l;
	uint8_t op[512], ans[512], buf[512], cookie[VPCRYPT_COOKIELEN];
	uint8_t bad[VPCRYPT_COOKIELEN];
	struct sockaddr_in sin;
	size_t olen, alen, n;
	int64_t t0 = vpio_now_ms();
	int fd, fd2;

	listen_with(1, 8);
	fd = peer_socket();
	fd2 = peer_socket();
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	olen = sealed(&tx, op, 0x77, VPKCP_CMD_PUSH, 0);
	send(fd, op, olen, 0);
	pump_at(t0, 50);
	no_session();
	get_challenge(fd, &tx, olen, cookie);
	/* the same opener again: another challenge, still nothing kept */
	send(fd, op, olen, 0);
	pump_at(t0, 50);
	no_session();
	get_challenge(fd, &tx, olen, buf);
	/* the client's other datagrams before the answer: dropped, no reply */
	send(fd, buf, sealed(&tx, buf, 0x77, VPKCP_CMD_PUSH, 1), 0);
	pump_at(t0, 50);
	no_session();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	/* a forged cookie */
	memcpy(bad, cookie, sizeof(bad));
	bad[VPCRYPT_COOKIELEN - 1] ^= 1;
	send(fd, buf, answer(&tx, buf, bad, 0x77), 0);
	/* the right cookie from another address */
	send(fd2, buf, answer(&tx, buf, cookie, 0x77), 0);
	/* the right cookie sealed by another sender */
	txi(&tx2, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	send(fd, buf, answer(&tx2, buf, cookie, 0x77), 0);
	/* a KCP datagram sealed as control, an answer of the wrong size */
	send(fd, buf, vpcrypt_seal_ctl(&tx, buf, op + 16, 24), 0);
	pump_at(t0, 50);
	no_session();
	/* the right answer, two buckets (60 s) late */
	alen = answer(&tx, ans, cookie, 0x77);
	send(fd, ans, alen, 0);
	pump_at(t0 + 60000, 50);
	no_session();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	ck_assert_int_eq(recv_reply(fd2, buf, sizeof(buf)), -1);
	/* the right answer within the next bucket: the session */
	alen = answer(&tx, ans, cookie, 0x77);
	send(fd, ans, alen, 0);
	pump_at(t0 + 30000, 50);
	l = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(l);
	no_session();
	/* its data, sent again, arrives */
	send(fd, buf, sealed(&tx, buf, 0x77, VPKCP_CMD_PUSH, 0), 0);
	pump_at(t0 + 30000, 50);
	ck_assert_int_eq(l->ops->read(l, buf, sizeof(buf)), 5);
	/* the answer replayed: nothing new */
	send(fd, ans, alen, 0);
	send(fd, op, olen, 0);
	pump_at(t0 + 30000, 50);
	no_session();
	l->ops->close(l);
	ln->ops->close(ln);

	/* a restarted server (or another with the same key): the recorded
	 * opener gets a challenge, the recorded answer opens nothing */
	drain(fd);
	listen_with(1, 8);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	send(fd, op, olen, 0);
	pump_at(t0 + 30000, 50);
	get_challenge(fd, &tx, olen, buf);
	send(fd, ans, alen, 0);
	pump_at(t0 + 30000, 50);
	no_session();
	/* a fresh client still gets in */
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	handshake(fd, &tx, 0x78);
	l = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(l);
	n = sealed(&tx, buf, 0x78, VPKCP_CMD_PUSH, 0);
	send(fd, buf, n, 0);
	pump();
	ck_assert_int_eq(l->ops->read(l, buf, sizeof(buf)), 5);
	l->ops->close(l);
	close(fd);
	close(fd2);
	ln->ops->close(ln);
}
END_TEST

/*
 * Keyed: a closed session's sender is refused while it is among the
 * last 1024 closed; once more have closed, its recorded answer is still
 * refused: cookies from buckets it could hold are (rev5k 10).
 */
START_TEST(cookie_after_ring)
{
	struct vpcrypt_tx tx, victim;
	struct vplink *l;
	uint8_t op[512], ans[512], buf[512], cookie[VPCRYPT_COOKIELEN];
	size_t olen, alen, n;
	int64_t t0 = vpio_now_ms();
	int fd, i;

	listen_with(1, 8);
	fd = peer_socket();
	txi(&victim, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	olen = sealed(&victim, op, 0x99, VPKCP_CMD_PUSH, 0);
	send(fd, op, olen, 0);
	pump_at(t0, 50);
	get_challenge(fd, &victim, olen, cookie);
	alen = answer(&victim, ans, cookie, 0x99);
	send(fd, ans, alen, 0);
	pump_at(t0, 50);
	l = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(l);
	l->ops->close(l);
	/* 1024 other sessions open and close within the same bucket */
	for (i = 0; i < 1024; i++) {
		txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
		n = sealed(&tx, buf, 1000 + i, VPKCP_CMD_PUSH, 0);
		send(fd, buf, n, 0);
		pump_quick(t0);
		get_challenge(fd, &tx, n, cookie);
		send(fd, buf, answer(&tx, buf, cookie, 1000 + i), 0);
		pump_quick(t0);
		l = ln->ops->accept(ln);
		ck_assert_ptr_nonnull(l);
		l->ops->close(l);
	}
	/* the victim's recorded opener and answer: nothing */
	send(fd, op, olen, 0);
	pump_at(t0, 50);
	(void)recv_reply(fd, buf, sizeof(buf));
	send(fd, ans, alen, 0);
	pump_at(t0, 50);
	no_session();
	/* two buckets on, new clients get in again */
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	n = sealed(&tx, buf, 5, VPKCP_CMD_PUSH, 0);
	send(fd, buf, n, 0);
	pump_at(t0 + 60000, 50);
	get_challenge(fd, &tx, n, cookie);
	send(fd, buf, answer(&tx, buf, cookie, 5), 0);
	pump_at(t0 + 60000, 50);
	l = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(l);
	l->ops->close(l);
	close(fd);
	ln->ops->close(ln);
}
END_TEST

START_TEST(session_limit)
{
	struct vpcrypt_tx tx;
	struct vplink *a, *b;
	uint8_t buf[512];
	int fd, i;

	listen_with(1, 2);
	fd = peer_socket();
	for (i = 0; i < 2; i++) {
		txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
		handshake(fd, &tx, 100 + i);
	}
	/* full: a third opener gets no challenge */
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	send(fd, buf, sealed(&tx, buf, 102, VPKCP_CMD_PUSH, 0), 0);
	pump();
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	a = ln->ops->accept(ln);
	b = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	no_session();
	/* one closes: room for a new one */
	a->ops->close(a);
	txi(&tx, psk, VPCRYPT_C2S, (uint32_t)time(NULL));
	handshake(fd, &tx, 200);
	a = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(a);
	a->ops->close(a);
	b->ops->close(b);
	close(fd);
	ln->ops->close(ln);
}
END_TEST

START_TEST(plain_sessions)
{
	uint8_t buf[512];
	struct vplink *l;
	int fd, fd2;

	listen_with(0, 8);
	fd = peer_socket();
	fd2 = peer_socket();
	/* no opener: nothing */
	send(fd, buf, kcp_seg(buf, 0, VPKCP_CMD_PUSH, 3, "x"), 0);
	send(fd, buf, kcp_seg(buf, 0, 99, 0, NULL), 0);
	send(fd, buf, 10, 0);
	pump();
	no_session();
	/* conv 0, PUSH sn 0: a session, ACKed in bare KCP */
	send(fd2, buf, kcp_seg(buf, 0, VPKCP_CMD_PUSH, 0, "hi"), 0);
	pump();
	l = ln->ops->accept(ln);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(recv_reply(fd2, buf, sizeof(buf)), 24);
	ck_assert_uint_eq(buf[4], VPKCP_CMD_ACK);
	ck_assert_int_eq(recv_reply(fd, buf, sizeof(buf)), -1);
	l->ops->close(l);
	ln->ops->close(ln);
	close(fd);
	close(fd2);
}
END_TEST

START_TEST(options)
{
	struct vplink_kcp_opts o;
	char err[256];

	vplink_kcp_default_options(&o);
	ck_assert_int_eq(vplink_kcp_option(&o, "normal", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.interval, 40);
	ck_assert_int_eq(vplink_kcp_option(&o, "interval=15", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.interval, 15);
	ck_assert_int_eq(vplink_kcp_option(&o, "idle=90s", err, sizeof(err)), 0);
	ck_assert_int_eq(o.idle_ms, 90000);
	ck_assert_int_eq(vplink_kcp_option(&o, "nodelay=1", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.minrto, 10);
	ck_assert_int_eq(vplink_kcp_option(&o, "bogus=1", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "mtu=99999", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "mtu=", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "sndwnd=-1", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "idle=0", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "turbo", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "=", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "cipher=aes", err, sizeof(err)), 0);
	ck_assert_int_eq(o.suite, VPCRYPT_SUITE_AESGCM);
	ck_assert_int_eq(vplink_kcp_option(&o, "cipher=rc4", err, sizeof(err)), -1);
	ck_assert_int_eq(vplink_kcp_option(&o, "cipher=auto", err, sizeof(err)), 0);
	ck_assert_int_eq(o.suite, 0);
	/* a knob given by name wins whatever the order (rev5k 8) */
	vplink_kcp_default_options(&o);
	ck_assert_int_eq(vplink_kcp_option(&o, "minrto=50", err, sizeof(err)), 0);
	ck_assert_int_eq(vplink_kcp_option(&o, "nodelay=0", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.minrto, 50);
	ck_assert_int_eq(o.kcp.nodelay, 0);
	ck_assert_int_eq(vplink_kcp_option(&o, "fast3", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.minrto, 50);
	ck_assert_int_eq(o.kcp.nodelay, 0);
	ck_assert_int_eq(o.kcp.interval, 10);
	vplink_kcp_default_options(&o);
	ck_assert_int_eq(vplink_kcp_option(&o, "minrto=50", err, sizeof(err)), 0);
	ck_assert_int_eq(vplink_kcp_option(&o, "fast", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.minrto, 50);
	ck_assert_int_eq(o.kcp.nodelay, 0);
	ck_assert_int_eq(o.kcp.interval, 30);
	vplink_kcp_default_options(&o);
	ck_assert_int_eq(vplink_kcp_option(&o, "interval=15", err, sizeof(err)), 0);
	ck_assert_int_eq(vplink_kcp_option(&o, "normal", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.interval, 15);
	ck_assert_int_eq(o.kcp.minrto, 100);
	ck_assert_int_eq(vplink_kcp_option(&o, "nodelay=2", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.minrto, 10);
	ck_assert_int_eq(vplink_kcp_option(&o, "normal", err, sizeof(err)), 0);
	ck_assert_int_eq(o.kcp.nodelay, 2);
	ck_assert_int_eq(o.kcp.minrto, 10);
	vplink_kcp_default_options(&o);
	o.kcp.minrto = 500;
	o.kcp.maxrto = 100;
	ck_assert_int_eq(vplink_kcp_options_check(&o, err, sizeof(err)), -1);
	vplink_kcp_default_options(&o);
	o.keyed = 1;
	o.kcp.mtu = 128;
	ck_assert_int_eq(vplink_kcp_options_check(&o, err, sizeof(err)), 0);
}
END_TEST

START_TEST(plain_refused_off_loopback)
{
	struct vplink_kcp_opts o;
	struct vpendpoint ep;
	char err[256];

	vplink_kcp_default_options(&o);
	vplink_kcp_set_options(&o);
	ck_assert_int_eq(vpep_parse("udp:0.0.0.0:0", &ep, err, sizeof(err)), 0);
	ck_assert_ptr_null(vplink_kcp_listen(&ep, err, sizeof(err)));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(vplink_kcp_check(&ep, 1, err, sizeof(err)), -1);
	ck_assert_int_eq(vpep_parse("udp:192.0.2.1:9", &ep, err, sizeof(err)), 0);
	ck_assert_ptr_null(vplink_kcp_dial(&ep, err, sizeof(err)));
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(vpep_parse("udp:[::1]:9", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(vplink_kcp_check(&ep, 0, err, sizeof(err)), 0);
	o.allow_plain = 1;
	vplink_kcp_set_options(&o);
	ck_assert_int_eq(vpep_parse("udp:192.0.2.1:9", &ep, err, sizeof(err)), 0);
	ck_assert_int_eq(vplink_kcp_check(&ep, 0, err, sizeof(err)), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("vplink_kcp");
	TCase *tc = tcase_create("server");

	tcase_add_test(tc, garbage_makes_nothing);
	tcase_add_test(tc, wrong_key_stale_clock_no_opener);
	tcase_add_loop_test(tc, session_replay_follow_close, 0, 2);
	tcase_add_test(tc, session_limit);
	tcase_add_test(tc, client_ignores_old_session);
	tcase_add_test(tc, cookie_round_trip);
	tcase_add_test(tc, cookie_after_ring);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, plain_sessions);
	tcase_add_test(tc, options);
	tcase_add_test(tc, plain_refused_off_loopback);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
