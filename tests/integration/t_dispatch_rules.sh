#!/bin/sh
# Routing: each matcher kind observed through the route taken (each
# outbound is an exec-early command that prints its own name), first
# match wins, AND/OR, list files, sniffing (TLS SNI, HTTP Host,
# protocol:), a server-speaks-first client under -s, uid/gid on a unix
# socket, and the clear errors: compile errors with line numbers,
# missing and stale compiled files (exit 78, never "direct").
. "$(dirname "$0")/lib.sh"
need python3 curl
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"

expect() {
	_w=$1; _want=$2; shift 2
	_out=$("$@" 2>&1)
	case "$_out" in
	*"$_want"*) ok "$_w" ;;
	*) notok "$_w: wanted '$_want', got '$(echo "$_out" | tail -n 3)'" ;;
	esac
}

printf 'listed.example\nfull:exact-listed.example\n' >"$T/domains"
printf '203.0.113.0/24\n2001:db8::/32\n' >"$T/nets"
listen_ready BANNER $H banner "SSH-2.0-fake-server" || notok "banner server"
cat >"$T/rules" <<EOF
# one outbound per matcher kind; each says who it is
outbound full exec-early printf R-full; exec cat >/dev/null
outbound dom exec-early printf R-dom; exec cat >/dev/null
outbound kw exec-early printf R-kw; exec cat >/dev/null
outbound re exec-early printf R-re; exec cat >/dev/null
outbound ip exec-early printf R-ip; exec cat >/dev/null
outbound port exec-early printf R-port; exec cat >/dev/null
outbound range exec-early printf R-range; exec cat >/dev/null
outbound src exec-early printf R-src; exec cat >/dev/null
outbound in4 exec-early printf R-in4; exec cat >/dev/null
outbound tls exec-early printf R-tls; exec cat >/dev/null
outbound http exec-early printf R-http
outbound dl exec-early printf R-dl; exec cat >/dev/null
outbound il exec-early printf R-il; exec cat >/dev/null
outbound and exec-early printf R-and; exec cat >/dev/null
outbound uid exec-early printf R-uid; exec cat >/dev/null
outbound banner exec-early exec python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",$BANNER)); sys.stdout.buffer.write(s.recv(100)); sys.stdout.flush()'
outbound env exec-early printf 'h=%%s p=%%s r=%%s q=%%s' "\$VP_DEST_HOST" "\$VP_DEST_PORT" "\$VP_ROUTE" "\${VP_REPLY-unset}"
outbound def exec-early printf R-default; exec cat >/dev/null

route full full:exact.example
route dom domain:example.org
route kw keyword:track
route re regexp:^api[0-9]+\\.
route and domain:both.example port:443
route ip ip:10.0.0.0/8 ip:fd00::/8
route port port:2222
route range port:3000-3999
route in4 inbound:socks4
route tls protocol:tls
route http protocol:http
route dl domain-list:$T/domains
route il ip-list:$T/nets
route banner port:$BANNER
route env domain:env.example
default def
EOF
chmod 644 "$T/rules" "$T/domains" "$T/nets"
vp-dispatch -C "$T/rules" || notok "compile"
listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -s -r "$T/rules" || {
	notok "start"; exit 1; }

s5() { $H socks5 "$P" "$1" "$2"; }
expect "full: exact name" "R-full" s5 exact.example 80
expect "full: not a subdomain" "R-default" s5 a.exact.example 80
expect "domain: name and subdomains" "R-dom" s5 www.Example.ORG 80
expect "domain: not a suffix of a label" "R-default" s5 notexample.org 80
expect "keyword:" "R-kw" s5 ads.tracker.example 80
expect "regexp:" "R-re" s5 api7.example.net 80
expect "different kinds AND: both hold" "R-and" s5 both.example 443
expect "different kinds AND: one fails" "R-default" s5 both.example 80
expect "ip: v4 CIDR" "R-ip" s5 10.20.30.40 80
expect "ip: v6 CIDR (OR with v4)" "R-ip" s5 fd00::5 80
# other spellings of an IPv4 address, which getaddrinfo() takes without
# DNS, are that address to ip: rules (they were names, routed past them)
expect "ip: octal 012.20.30.40 is 10.20.30.40" "R-ip" s5 012.20.30.40 80
expect "ip: 167772161 is 10.0.0.1" "R-ip" s5 167772161 80
expect "ip: 0xa.1 is 10.0.0.1" "R-ip" s5 0xa.1 80
expect "ip: ::ffff:10.1.2.3 (IPv4-mapped) is 10.1.2.3" "R-ip" s5 ::ffff:10.1.2.3 80
expect "port:N" "R-port" s5 somewhere.example 2222
expect "port:N-M" "R-range" s5 somewhere.example 3500
expect "inbound:socks4" "R-in4" $H socks4 "$P" somewhere.example 80
expect "domain-list: suffix entry" "R-dl" s5 a.listed.example 80
expect "domain-list: full: entry" "R-dl" s5 exact-listed.example 80
expect "ip-list: v4" "R-il" s5 203.0.113.9 80
expect "ip-list: v6" "R-il" s5 2001:db8::77 80
expect "first match wins (domain: before keyword:)" "R-dom" s5 track.example.org 80
expect "exec-early env: VP_DEST_HOST/PORT/ROUTE, VP_REPLY unset" \
    "h=env.example p=8080 r=env q=unset" s5 env.example 8080

# Sniffing (-s): a TLS ClientHello to an IP is routed by its SNI.
expect "sniffed SNI routes by domain:" "R-dom" \
    $H tlshello "$P" 192.0.2.1 443 sni.example.org
expect "sniffed TLS without a domain rule: protocol:tls" "R-tls" \
    $H tlshello "$P" 192.0.2.1 443 other.example.net
expect "sniffed HTTP Host routes by domain:" "R-dom" \
    $H socks5 "$P" 192.0.2.1 80 --early "$(printf 'GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n')"
expect "a requested name is routed as itself, not by a sniffed Host (protocol:http, not domain:)" "R-http" \
    $H socks5 "$P" somewhere.example 80 --early "$(printf 'GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n')"
expect "a rejected-by-name destination stays so whatever Host is sent" "R-full" \
    $H socks5 "$P" exact.example 80 --early "$(printf 'GET / HTTP/1.1\r\nHost: www.example.org\r\n\r\n')"
expect "plain HTTP proxy request: protocol:http" "R-http" \
    curl -s -m 10 --http0.9 -x "http://127.0.0.1:$P" http://192.0.2.1/
expect "server-speaks-first client is not stalled by sniffing" \
    "SSH-2.0-fake-server" $H socks5 "$P" 127.0.0.1 "$BANNER" --read 19

# uid/gid from a unix socket's peer credentials.
cat >"$T/urules" <<EOF
outbound me exec-early printf R-uid-%%s "\$UNIXREMOTEEUID"
outbound other exec-early printf R-other; exec cat >/dev/null
route other uid:$(( $(id -u) + 1 ))
route me uid:$(id -u) gid:$(id -g)
default other
EOF
chmod 644 "$T/urules"
vp-dispatch -C "$T/urules"
listen_ready U vp-listen -1 "unix:$T/s.sock" vp-dispatch -r "$T/urules"
wait_path "$T/s.sock" || notok "unix listener"
OUT=$(printf '\005\001\000\005\001\000\003\001x\000\120' |
    ncat -U "$T/s.sock" 2>/dev/null | tail -c +13)
if [ "$OUT" = "R-uid-$(id -u)" ]; then ok "uid:/gid: from unix peer credentials"
else notok "uid:/gid: got '$OUT'"; fi

# Errors: compile errors name the line; missing/stale compiled files
# stop the connection with exit 78 and a message, never "direct".
printf 'outbound a direct\n\nroute a domain:ok.example port:99999\ndefault a\n' >"$T/bad"
chmod 644 "$T/bad"
vp-dispatch -C "$T/bad" 2>"$T/err"
rc=$?
if [ "$rc" = 78 ] && grep -q "bad:3: bad port" "$T/err"; then
	ok "compile error names file and line (exit 78)"
else notok "compile error: exit $rc: $(cat "$T/err")"; fi
printf 'outbound a direct\ndefault a\n' >"$T/never"
chmod 644 "$T/never"
echo | vp-dispatch -r "$T/never" 2>"$T/err" >/dev/null
rc=$?
if [ "$rc" = 78 ] && grep -q 'never.vprc' "$T/err"; then
	ok "missing compiled file: exit 78 with the reason"
else notok "missing compiled: exit $rc: $(cat "$T/err")"; fi
echo "# touched" >>"$T/rules"
echo | vp-dispatch -r "$T/rules" 2>"$T/err" >/dev/null
rc=$?
if [ "$rc" = 78 ] && grep -q 'stale' "$T/err"; then
	ok "stale compiled file: exit 78, 'stale'"
else notok "stale: exit $rc: $(cat "$T/err")"; fi
expect "stale rules: the client gets a general failure (01), not direct" \
    "rep 01" s5 exact.example 80
# Recompiling takes effect for the next connection (no restart).
vp-dispatch -C "$T/rules"
expect "recompiled rules apply without restarting vp-listen" "R-full" \
    s5 exact.example 80
finish
