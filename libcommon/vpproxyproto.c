/*
 * vpproxyproto: PROXY protocol v1/v2 header parser (receiver side).
 * References are to sections of haproxy's doc/proxy-protocol.txt.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <string.h>

#include "vpproxyproto.h"

/* 2.2: the v2 signature. */
static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1sig[] = "PROXY ";	/* 2.1 */

#define V2_VERSION	0x20		/* high nibble of byte 13 */
#define V2_CMD_LOCAL	0x00
#define V2_CMD_PROXY	0x01
#define V2_AF_UNSPEC	0x0
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_TP_UNSPEC	0x0
#define V2_TP_STREAM	0x1
#define V2_TP_DGRAM	0x2
#define V2_LEN_INET	12		/* 4 + 4 + 2 + 2 */
#define V2_LEN_INET6	36		/* 16 + 16 + 2 + 2 */
#define V2_LEN_UNIX	216		/* 108 + 108 */

static ssize_t
bad(const char **why, const char *reason)
{
	*why = reason;
	return VPPP_MALFORMED;
}

/* Parses a decimal port without sign or leading zeros. 0 or -1. */
static int
v1_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Parses a v1 address token of family af into ss. 0 or -1. */
static int
v1_addr(const char *s, size_t n, int af, struct sockaddr_storage *ss)
{
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	if (af == AF_INET)
		return inet_pton(AF_INET, tmp,
		    &((struct sockaddr_in *)ss)->sin_addr) == 1 ? 0 : -1;
	return inet_pton(AF_INET6, tmp,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1 ? 0 : -1;
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* 2.1: "PROXY TCP4|TCP6|UNKNOWN ...\r\n", at most 107 bytes. */
static ssize_t
parse_v1(const char *b, size_t len, struct vppp_info *info, const char **why)
{
	const char *tok[6], *p, *end;
	size_t toklen[6], ntok = 0, i, lim, linelen;
	uint16_t sport, dport;
	int af;

	lim = len < VPPP_V1_MAX ? len : VPPP_V1_MAX;
	for (i = 0; i < lim; i++) {
		if (b[i] == '\r')
			break;
		/* Only printable ASCII before the CR. */
		if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
			return bad(why, "v1: control or non-ASCII byte");
	}
	if (i == lim)
		return len >= VPPP_V1_MAX ?
		    bad(why, "v1: no CRLF within 107 bytes") : VPPP_NEEDMORE;
	if (i + 1 >= VPPP_V1_MAX)
		return bad(why, "v1: no CRLF within 107 bytes");
	if (i + 1 >= len)
		return VPPP_NEEDMORE;
	if (b[i + 1] != '\n')
		return bad(why, "v1: CR not followed by LF");
	linelen = i + 2;
	end = b + i;

	/* Split on single spaces. */
	p = b;
	while (p <= end && ntok < 6) {
		const char *q = memchr(p, ' ', (size_t)(end - p));

		if (q == NULL)
			q = end;
		tok[ntok] = p;
		toklen[ntok] = (size_t)(q - p);
		ntok++;
		p = q + 1;
	}
	memset(info, 0, sizeof(*info));
	info->version = 1;
	if (ntok >= 2 && toklen[1] == 7 && memcmp(tok[1], "UNKNOWN", 7) == 0) {
		/* 2.1: the rest of the line is ignored. */
		info->local = 1;
		info->family = AF_UNSPEC;
		return (ssize_t)linelen;
	}
	if (ntok != 6 || p <= end)
		return bad(why, "v1: wrong number of fields");
	for (i = 0; i < 6; i++)
		if (toklen[i] == 0)
			return bad(why, "v1: empty field (double space)");
	if (toklen[1] == 4 && memcmp(tok[1], "TCP4", 4) == 0)
		af = AF_INET;
	else if (toklen[1] == 4 && memcmp(tok[1], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return bad(why, "v1: protocol not TCP4, TCP6 or UNKNOWN");
	if (v1_addr(tok[2], toklen[2], af, &info->src) == -1 ||
	    v1_addr(tok[3], toklen[3], af, &info->dst) == -1)
		return bad(why, "v1: bad address");
	if (v1_port(tok[4], toklen[4], &sport) == -1 ||
	    v1_port(tok[5], toklen[5], &dport) == -1)
		return bad(why, "v1: bad port");
	set_port(&info->src, sport);
	set_port(&info->dst, dport);
	info->family = af;
	info->socktype = SOCK_STREAM;
	return (ssize_t)linelen;
}

/* 2.2.7: TLVs fill the rest of the block exactly; all are skipped. */
static int
v2_tlvs(const unsigned char *p, size_t n, size_t *count)
{
	size_t vlen;

	*count = 0;
	while (n > 0) {
		if (n < 3)
			return -1;
		vlen = ((size_t)p[1] << 8) | p[2];
		if (vlen > n - 3)
			return -1;
		p += 3 + vlen;
		n -= 3 + vlen;
		(*count)++;
	}
	return 0;
}

/* 2.2: the binary header. */
static ssize_t
parse_v2(const unsigned char *b, size_t len, struct vppp_info *info,
    const char **why)
{
	struct sockaddr_in *s4, *d4;
	struct sockaddr_in6 *s6, *d6;
	struct sockaddr_un *su, *du;
	size_t blen, need, total;
	unsigned fam, tp;
	const unsigned char *a;

	if (len >= 13) {
		if ((b[12] & 0xf0) != V2_VERSION)
			return bad(why, "v2: version is not 2");
		if ((b[12] & 0x0f) > V2_CMD_PROXY)
			return bad(why, "v2: unknown command");
	}
	if (len >= 14) {
		fam = b[13] >> 4;
		tp = b[13] & 0x0f;
		if (fam > V2_AF_UNIX || tp > V2_TP_DGRAM)
			return bad(why, "v2: unknown family or transport");
	}
	if (len < VPPP_V2_HDR)
		return VPPP_NEEDMORE;
	fam = b[13] >> 4;
	tp = b[13] & 0x0f;
	blen = ((size_t)b[14] << 8) | b[15];
	need = fam == V2_AF_INET ? V2_LEN_INET : fam == V2_AF_INET6 ?
	    V2_LEN_INET6 : fam == V2_AF_UNIX ? V2_LEN_UNIX : 0;
	/* A PROXY command must carry its addresses (2.2 "len"). */
	if ((b[12] & 0x0f) == V2_CMD_PROXY && blen < need)
		return bad(why, "v2: address block shorter than its family");
	total = VPPP_V2_HDR + blen;
	if (len < total)
		return VPPP_NEEDMORE;

	memset(info, 0, sizeof(*info));
	info->version = 2;
	info->socktype = tp == V2_TP_STREAM ? SOCK_STREAM :
	    tp == V2_TP_DGRAM ? SOCK_DGRAM : 0;
	a = b + VPPP_V2_HDR;
	if ((b[12] & 0x0f) == V2_CMD_LOCAL || fam == V2_AF_UNSPEC) {
		/* 2.2: LOCAL or UNSPEC: skip the block, keep real ends. */
		info->local = 1;
		info->family = AF_UNSPEC;
		return (ssize_t)total;
	}
	if (v2_tlvs(a + need, blen - need, &info->ntlv) == -1)
		return bad(why, "v2: TLV overruns the header");
	switch (fam) {
	case V2_AF_INET:
		s4 = (struct sockaddr_in *)&info->src;
		d4 = (struct sockaddr_in *)&info->dst;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
		info->family = AF_INET;
		break;
	case V2_AF_INET6:
		s6 = (struct sockaddr_in6 *)&info->src;
		d6 = (struct sockaddr_in6 *)&info->dst;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
		info->family = AF_INET6;
		break;
	default:
		su = (struct sockaddr_un *)&info->src;
		du = (struct sockaddr_un *)&info->dst;
		su->sun_family = du->sun_family = AF_UNIX;
		memcpy(su->sun_path, a, sizeof(su->sun_path) - 1);
		memcpy(du->sun_path, a + 108, sizeof(du->sun_path) - 1);
		info->family = AF_UNIX;
		break;
	}
	return (ssize_t)total;
}

static ssize_t
parse(const void *buf, size_t len, struct vppp_info *info, const char **why)
{
	const unsigned char *b = buf;
	size_t n;

	*why = "incomplete";
	if (len == 0)
		return VPPP_NEEDMORE;
	if (b[0] == v2sig[0]) {
		n = len < sizeof(v2sig) ? len : sizeof(v2sig);
		if (memcmp(b, v2sig, n) != 0)
			return bad(why, "no PROXY signature");
		if (len < sizeof(v2sig))
			return VPPP_NEEDMORE;
		return parse_v2(b, len, info, why);
	}
	n = len < sizeof(v1sig) - 1 ? len : sizeof(v1sig) - 1;
	if (memcmp(b, v1sig, n) != 0)
		return bad(why, "no PROXY signature");
	if (len < sizeof(v1sig) - 1)
		return VPPP_NEEDMORE;
	return parse_v1(buf, len, info, why);
}

ssize_t
vppp_parse(const void *buf, size_t len, struct vppp_info *info)
{
	const char *why;

	return parse(buf, len, info, &why);
}

const char *
vppp_why(const void *buf, size_t len)
{
	struct vppp_info info;
	const char *why;

	if (parse(buf, len, &info, &why) > 0)
		return "valid";
	return why;
}
