/*
 * vpsniff: learn what a client speaks from its first bytes, without
 * consuming them: the TLS ClientHello server name (SNI) and the HTTP
 * Host header (V2Ray's sniffing / destOverride).
 */
#ifndef VPSNIFF_H
#define VPSNIFF_H

#include <stddef.h>

enum vpsniff_status {
	VPSNIFF_NOT = -1,	/* not this protocol (or not parseable) */
	VPSNIFF_MORE = 0,	/* could be; need more bytes */
	VPSNIFF_FOUND = 1	/* protocol known; name may be "" */
};

#define VPSNIFF_TLS	"tls"
#define VPSNIFF_HTTP	"http"
#define VPSNIFF_MAX	16384	/* bytes worth buffering for a decision */

/*
 * vpsniff_tls(): parses a TLS ClientHello in its first record. FOUND
 * with the host_name of the server_name extension in name ("" if the
 * hello has none or it is not a valid host name). Never reads past len.
 */
int	vpsniff_tls(const unsigned char *buf, size_t len, char *name,
	    size_t namelen);

/*
 * vpsniff_http(): an HTTP/1.x request line and its Host header (port
 * removed, brackets of an IPv6 literal removed). FOUND once Host is
 * seen, or with name "" at the end of a head without one.
 */
int	vpsniff_http(const unsigned char *buf, size_t len, char *name,
	    size_t namelen);

/*
 * vpsniff(): tries both. Returns FOUND with *proto set to VPSNIFF_TLS
 * or VPSNIFF_HTTP, MORE while either could still match, NOT when
 * neither can.
 */
int	vpsniff(const unsigned char *buf, size_t len, char *name,
	    size_t namelen, const char **proto);

#endif
