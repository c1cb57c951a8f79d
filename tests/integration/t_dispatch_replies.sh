#!/bin/sh
# Every reply code: refused, name not found, bad host, unsupported
# command and address type, rule reject (SOCKS5 02 / HTTP 403 / SOCKS4
# 5B), and an upstream SOCKS5 proxy's 04/05/06 passed on as 04/05/06
# and HTTP 502/502/504; blackhole closes without a reply.
. "$(dirname "$0")/lib.sh"
need curl python3
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"

listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch || {
	notok "vp-listen + vp-dispatch start"; exit 1; }
DEAD=$(free_port)
LONG=$(printf 'a%.0s' $(seq 70)).example

# expect WHAT WANT CMD...: the command's output contains WANT.
expect() {
	_w=$1; _want=$2; shift 2
	_out=$("$@" 2>&1)
	case "$_out" in
	*"$_want"*) ok "$_w" ;;
	*) notok "$_w: wanted '$_want', got '$_out'" ;;
	esac
}
hcode() {	# the CONNECT status curl saw
	curl -s -m 10 -o /dev/null -w '%{http_connect}' -p -x "http://127.0.0.1:$1" \
	    "http://$2/" 2>/dev/null
}

expect "socks5 refused -> 05" "rep 05" $H socks5 "$P" 127.0.0.1 "$DEAD"
expect "socks4 refused -> 5b" "cd 5b" $H socks4 "$P" 127.0.0.1 "$DEAD"
expect "http CONNECT refused -> 502" 502 hcode "$P" "127.0.0.1:$DEAD"
expect "socks5 name not found -> 04" "rep 04" $H socks5 "$P" "$LONG" 80
expect "http CONNECT name not found -> 502" 502 hcode "$P" "$LONG:80"
expect "socks5 unsafe host name -> 04" "rep 04" $H socks5 "$P" 'a;id' 80
expect "socks5 BIND -> 07" "rep 07" $H socks5 "$P" 127.0.0.1 80 --cmd 2
expect "socks5 UDP ASSOCIATE -> 07" "rep 07" $H socks5 "$P" 127.0.0.1 80 --cmd 3
expect "socks5 address type 05 -> 08" "rep 08" $H socks5 "$P" 127.0.0.1 80 --atyp 5
expect "socks4 BIND -> 5b" "reply 005b" $H send "$P" 0402005001020304750000

# -i forces one protocol; -t reads no request at all (fixed target).
listen_ready I vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -i socks4 ||
    notok "start -i socks4"
expect "-i socks4: a SOCKS5 greeting is closed" "closed" \
    $H socks5 "$I" 127.0.0.1 80
expect "-i socks4: SOCKS4 still served (refused -> 5b)" "cd 5b" \
    $H socks4 "$I" 127.0.0.1 "$DEAD"
listen_ready ECHO $H echo || notok "echo server"
listen_ready FX vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -t "127.0.0.1:$ECHO" ||
    notok "start -t"
expect "-t HOST:PORT: raw bytes reach the fixed target and come back" \
    "reply $(printf 'raw bytes' | od -An -v -tx1 | tr -d ' \n')" \
    sh -c "printf 'raw bytes' | python3 -c '
import socket, sys
c = socket.create_connection((\"127.0.0.1\", $FX), 5)
c.sendall(sys.stdin.buffer.read()); c.shutdown(socket.SHUT_WR)
out = b\"\"
while True:
    d = c.recv(4096)
    if not d: break
    out += d
print(\"reply \" + out.hex())'"
vp-dispatch -t nocolon </dev/null 2>/dev/null
[ $? = 64 ] && ok "-t without a port: usage error (64)" || notok "-t without a port"
vp-dispatch -i ftp </dev/null 2>/dev/null
[ $? = 64 ] && ok "-i ftp: usage error (64)" || notok "-i ftp"

# Routes: reject, blackhole, and a socks5 upstream with each failure.
listen_ready F04 $H socks5-fake 04
listen_ready F05 $H socks5-fake 05
listen_ready F06 $H socks5-fake 06
listen_ready F00 $H socks5-fake 00
cat >"$T/rules" <<EOF
outbound deny reject
outbound hole blackhole
outbound u04 socks5 127.0.0.1:$F04
outbound u05 socks5 127.0.0.1:$F05
outbound u06 socks5 127.0.0.1:$F06
outbound up socks5 127.0.0.1:$F00
outbound d direct
route deny domain:denied.example
route hole domain:hole.example
route u04 port:4
route u05 port:5
route u06 port:6
route up port:7
default d
EOF
chmod 644 "$T/rules"
vp-dispatch -C "$T/rules" || notok "compile rules"
listen_ready R vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -r "$T/rules" || {
	notok "start with rules"; exit 1; }
expect "rule reject: socks5 02" "rep 02" $H socks5 "$R" www.denied.example 80
expect "rule reject: socks4 5b" "cd 5b" $H socks4 "$R" denied.example 80
expect "rule reject: http 403" 403 hcode "$R" "denied.example:80"
expect "blackhole: closed, no reply" "closed" $H socks5 "$R" hole.example 80
expect "upstream 04 -> socks5 04" "rep 04" $H socks5 "$R" x.example 4
expect "upstream 05 -> socks5 05" "rep 05" $H socks5 "$R" x.example 5
expect "upstream 06 -> socks5 06" "rep 06" $H socks5 "$R" x.example 6
expect "upstream 04 -> http 502" 502 hcode "$R" "x.example:4"
expect "upstream 05 -> http 502" 502 hcode "$R" "x.example:5"
expect "upstream 06 -> http 504" 504 hcode "$R" "x.example:6"
expect "upstream 00 -> relayed (early data echoed)" "data ping" \
    $H socks5 "$R" x.example 7 --early ping --read 4

# An upstream proxy that is not there: refused, not a hang.
cat >"$T/rules2" <<EOF
outbound up socks5 127.0.0.1:$DEAD
default up
EOF
chmod 644 "$T/rules2"
vp-dispatch -C "$T/rules2"
listen_ready R2 vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -r "$T/rules2"
expect "upstream proxy down -> socks5 05 (refused)" "rep 05" $H socks5 "$R2" x.example 80
finish
