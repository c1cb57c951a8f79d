#!/bin/sh
# The shipped systemd units, run as systemd would under
# systemd-socket-activate: the Accept=yes pair (vp-dispatch.socket +
# vp-dispatch@.service, one vp-dispatch per connection on stdin/stdout)
# and the Accept=no pair (vp-proxy-listen.socket + .service, vp-listen
# systemd). ExecStart= and Accept= are taken from the unit files.
. "$(dirname "$0")/lib.sh"
need systemd-socket-activate curl python3
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"
U=$VP_SRC/scripts/systemd

# unit_exec FILE: ExecStart with /usr/local/bin pointing at the build.
unit_exec() {
	sed -n 's/^ExecStart=//p' "$1" | sed "s|/usr/local/bin|$VP_BIN|g"
}
unit_val() { sed -n "s/^$2=//p" "$1"; }

mkdir -p "$T/www"
rand_file "$T/www/blob" 1000000
listen_ready WEB $H http "$T/www" || notok "origin"

[ "$(unit_val "$U/vp-dispatch.socket" Accept)" = yes ] &&
    grep -q '^StandardInput=socket' "$U/vp-dispatch@.service"
check "vp-dispatch.socket is Accept=yes, the service reads the socket" test $? -eq 0
[ "$(unit_val "$U/vp-proxy-listen.socket" Accept)" = no ]
check "vp-proxy-listen.socket is Accept=no" test $? -eq 0

# Accept=yes: --inetd puts each connection on the instance's fd 0/1.
PA=$(free_port)
# shellcheck disable=SC2046
bg systemd-socket-activate -l "127.0.0.1:$PA" -a --inetd \
    $(unit_exec "$U/vp-dispatch@.service")
wait_tcp "$PA" || notok "Accept=yes socket"
for mode in --socks5-hostname --socks4a; do
	rm -f "$T/got"
	curl -s -m 20 $mode "127.0.0.1:$PA" -o "$T/got" "http://localhost:$WEB/blob" &&
	    same "$T/got" "$T/www/blob"
	check "Accept=yes unit: curl $mode byte for byte" test $? -eq 0
done
rm -f "$T/got"
curl -s -m 20 -x "http://127.0.0.1:$PA" -o "$T/got" "http://localhost:$WEB/blob" &&
    same "$T/got" "$T/www/blob"
check "Accept=yes unit: curl -x http:// byte for byte" test $? -eq 0

# Accept=no: vp-listen gets the listening socket (LISTEN_FDS).
PN=$(free_port)
# shellcheck disable=SC2046
bg systemd-socket-activate -l "127.0.0.1:$PN" $(unit_exec "$U/vp-proxy-listen.service")
wait_tcp "$PN" || notok "Accept=no socket"
for mode in --socks5-hostname --socks4a; do
	rm -f "$T/got"
	curl -s -m 20 $mode "127.0.0.1:$PN" -o "$T/got" "http://localhost:$WEB/blob" &&
	    same "$T/got" "$T/www/blob"
	check "Accept=no unit (vp-listen systemd): curl $mode byte for byte" test $? -eq 0
done
rm -f "$T/got"
curl -s -m 20 -p -x "http://127.0.0.1:$PN" -o "$T/got" "http://localhost:$WEB/blob" &&
    same "$T/got" "$T/www/blob"
check "Accept=no unit: curl -p -x http:// (CONNECT) byte for byte" test $? -eq 0
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify "$U"/*.socket "$U"/*.service 2>&1 |
	    grep -v 'is not executable\|No such file' || true)
	[ -z "$out" ] && ok "systemd-analyze verify: no complaints beyond install paths" ||
	    notok "systemd-analyze verify: $out"
fi
finish
