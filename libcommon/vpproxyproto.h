/*
 * vpproxyproto: the receiving side of the PROXY protocol, versions 1
 * (text) and 2 (binary), as specified in haproxy's
 * doc/proxy-protocol.txt.
 *
 * The parser works on the bytes received so far, so the caller can
 * peek (recv MSG_PEEK) until the header is complete and then consume
 * exactly the header's length: the application's first bytes are never
 * taken. It never reads beyond len and never allocates.
 */
#ifndef VPPROXYPROTO_H
#define VPPROXYPROTO_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#define VPPP_V1_MAX	107		/* longest v1 line, CRLF included */
#define VPPP_V2_HDR	16		/* fixed part of a v2 header */
#define VPPP_V2_MAX	(16 + 65535)	/* longest v2 header */

/* Results of vppp_parse() besides a positive header length. */
#define VPPP_NEEDMORE	0
#define VPPP_MALFORMED	(-1)

struct vppp_info {
	int	version;	/* 1 or 2 */
	int	local;		/* 1: LOCAL, UNKNOWN or UNSPEC: no addresses
				   carried, keep the connection's own */
	int	family;		/* AF_INET, AF_INET6, AF_UNIX or AF_UNSPEC */
	int	socktype;	/* SOCK_STREAM, SOCK_DGRAM, or 0 */
	struct sockaddr_storage src;	/* the client */
	struct sockaddr_storage dst;	/* the address it connected to */
	size_t	ntlv;		/* v2: TLVs seen (all skipped) */
};

/*
 * vppp_parse(): examines the first len bytes of a connection.
 * Returns the header's length (> 0) once it is complete and valid, with
 * info filled (then exactly that many bytes are to be consumed);
 * VPPP_NEEDMORE (0) when the bytes so far are a valid beginning of a
 * header; VPPP_MALFORMED (-1) when they cannot be one: no signature, a
 * v1 line over 107 bytes or without CRLF, a bad address or port, a v2
 * version/command/family that is unknown or an address block or TLV
 * that does not fit its length.
 */
ssize_t	vppp_parse(const void *buf, size_t len, struct vppp_info *info);

/*
 * vppp_why(): a short description of why buf (len bytes)
 * was rejected, for log lines: "no PROXY signature", "v1: ...", ...
 */
const char *vppp_why(const void *buf, size_t len);

#endif
