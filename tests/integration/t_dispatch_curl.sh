#!/bin/sh
# vp-listen + vp-dispatch as the zero-config local proxy: curl in every
# proxy mode (socks5h, socks5, socks4a, socks4, plain http, CONNECT) to
# real origins on loopback (HTTP and TLS), data checked byte for byte
# both ways; ncat --proxy with half-close.
. "$(dirname "$0")/lib.sh"
need curl python3 openssl ncat
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"

mkdir -p "$T/www"
rand_file "$T/www/big" 3000000
rand_file "$T/up" 1000000
listen_ready WEB $H http "$T/www" || { notok "http origin"; exit 1; }
listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch || {
	notok "vp-listen + vp-dispatch start"; exit 1; }

for mode in --socks5-hostname --socks5 --socks4a --socks4; do
	rm -f "$T/got"
	curl -s -m 20 $mode "127.0.0.1:$P" -o "$T/got" \
	    "http://localhost:$WEB/big" &&
	    same "$T/got" "$T/www/big"
	check "curl $mode GET 3 MB byte for byte" test $? -eq 0
done

rm -f "$T/got"
curl -s -m 20 -x "http://127.0.0.1:$P" -o "$T/got" "http://localhost:$WEB/big" &&
    same "$T/got" "$T/www/big"
check "curl -x http:// plain GET byte for byte" test $? -eq 0
rm -f "$T/got"
curl -s -m 20 -p -x "http://127.0.0.1:$P" -o "$T/got" "http://localhost:$WEB/big" &&
    same "$T/got" "$T/www/big"
check "curl -x http:// -p (CONNECT) GET byte for byte" test $? -eq 0

# Upload direction: the body after a plain request head reaches the origin.
rm -f "$T/got"
curl -s -m 20 -x "http://127.0.0.1:$P" --data-binary "@$T/up" \
    -H 'Content-Type: application/octet-stream' -o "$T/got" \
    "http://localhost:$WEB/echo" && same "$T/got" "$T/up"
check "curl -x http:// POST 1 MB echoed byte for byte" test $? -eq 0
rm -f "$T/got"
curl -s -m 20 --socks5-hostname "127.0.0.1:$P" --data-binary "@$T/up" \
    -o "$T/got" "http://localhost:$WEB/echo" && same "$T/got" "$T/up"
check "curl --socks5-hostname POST 1 MB echoed byte for byte" test $? -eq 0

# The plain-HTTP head the origin saw: origin form, no hop-by-hop headers.
: >"$T/www/heads.log"
curl -s -m 10 -x "http://127.0.0.1:$P" -H 'Proxy-Connection: keep-alive' \
    -H 'Connection: X-Hop' -H 'X-Hop: secret' -o /dev/null \
    "http://localhost:$WEB/big"
if grep -q "^GET /big HTTP/1.1" "$T/www/heads.log" &&
    ! grep -qi '^proxy-connection\|^x-hop\|^keep-alive' "$T/www/heads.log" &&
    grep -qi "^Connection: close" "$T/www/heads.log" &&
    grep -qi "^Host: localhost:$WEB" "$T/www/heads.log"; then
	ok "plain HTTP rewritten to origin form without hop-by-hop headers"
else
	notok "plain HTTP rewrite"; cat "$T/www/heads.log"
fi

# Two requests on one curl invocation: the second must work too (the
# proxy closes after each response; curl reconnects).
rm -f "$T/got1" "$T/got2"
curl -s -m 20 -x "http://127.0.0.1:$P" -o "$T/got1" "http://localhost:$WEB/big" \
    -o "$T/got2" "http://localhost:$WEB/big" &&
    same "$T/got1" "$T/www/big" && same "$T/got2" "$T/www/big"
check "plain HTTP: two requests in one curl run" test $? -eq 0

# TLS origin: https through CONNECT and through socks5h.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1
TLS=$(free_port)
(cd "$T/www" && exec openssl s_server -quiet -accept "127.0.0.1:$TLS" \
    -cert "$T/cert.pem" -key "$T/key.pem" -WWW) >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_tcp "$TLS" || notok "openssl s_server did not start"
rm -f "$T/got"
curl -s -k -m 20 -x "http://127.0.0.1:$P" -o "$T/got" "https://localhost:$TLS/big" &&
    same "$T/got" "$T/www/big"
check "curl -x http:// https:// URL (CONNECT + TLS) byte for byte" test $? -eq 0
rm -f "$T/got"
curl -s -k -m 20 --socks5-hostname "127.0.0.1:$P" -o "$T/got" \
    "https://localhost:$TLS/big" && same "$T/got" "$T/www/big"
check "curl --socks5-hostname https:// byte for byte" test $? -eq 0

# ncat through the proxy to an echo server: half-close brings the echo back.
listen_ready ECHO $H echo || notok "echo server"
rm -f "$T/got"
ncat --proxy "127.0.0.1:$P" --proxy-type socks5 127.0.0.1 "$ECHO" \
    <"$T/up" >"$T/got" 2>/dev/null
check "ncat --proxy-type socks5: 1 MB echoed after half-close" same "$T/got" "$T/up"
rm -f "$T/got"
ncat --proxy "127.0.0.1:$P" --proxy-type socks4 127.0.0.1 "$ECHO" \
    <"$T/up" >"$T/got" 2>/dev/null
check "ncat --proxy-type socks4: 1 MB echoed" same "$T/got" "$T/up"
rm -f "$T/got"
ncat --proxy "127.0.0.1:$P" --proxy-type http 127.0.0.1 "$ECHO" \
    <"$T/up" >"$T/got" 2>/dev/null
check "ncat --proxy-type http (CONNECT): 1 MB echoed" same "$T/got" "$T/up"
finish
