#!/bin/sh
# scripts/local-proxy.sh, the README's run command, as a user runs it
# (dependencies and build skipped: they are there already), on a free
# port: curl --socks5-hostname, --socks4a, -x http:// for http:// and
# https:// URLs all work through it.
. "$(dirname "$0")/lib.sh"
need curl openssl python3
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"
mkdir -p "$T/www"
rand_file "$T/www/blob" 1000000
listen_ready WEB $H http "$T/www" || notok "origin"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1
TLS=$(free_port)
(cd "$T/www" && exec openssl s_server -quiet -accept "127.0.0.1:$TLS" \
    -cert "$T/cert.pem" -key "$T/key.pem" -WWW) >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_tcp "$TLS" || notok "TLS origin"

VP_NO_DEPS=1 VP_NO_BUILD=1 VP_BUILD=${VP_BIN%/bin} VP_LISTEN_OPTS=-1 \
    listen_ready P sh "$VP_SRC/scripts/local-proxy.sh" 127.0.0.1:0 ||
    { notok "local-proxy.sh did not start"; exit 1; }
ok "local-proxy.sh listening (port $P)"
for args in "--socks5-hostname 127.0.0.1:$P http://localhost:$WEB/blob" \
    "--socks4a 127.0.0.1:$P http://localhost:$WEB/blob" \
    "-x http://127.0.0.1:$P http://localhost:$WEB/blob" \
    "-k -x http://127.0.0.1:$P https://localhost:$TLS/blob" \
    "-k --socks5-hostname 127.0.0.1:$P https://localhost:$TLS/blob"; do
	rm -f "$T/got"
	# shellcheck disable=SC2086
	curl -s -m 20 -o "$T/got" $args && same "$T/got" "$T/www/blob"
	check "local proxy: curl $args" test $? -eq 0
done
finish
