#!/bin/sh
# Hostile and odd clients: truncated requests, silence, slowloris, huge
# headers, bad versions, 255/256-byte names, junk; each gets the right
# reply or a close, and vp-dispatch exits by itself (the helper kills it
# only after 15 s, which shows up as exit -9). Early data is not lost,
# on a socket (peeked) and on a pipe (read and passed on).
. "$(dirname "$0")/lib.sh"
need python3
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"
D=$VP_BIN/vp-dispatch

expect() {
	_w=$1; _want=$2; shift 2
	_out=$("$@" 2>&1)
	case "$_out" in
	*"$_want"*) ok "$_w" ;;
	*) notok "$_w: wanted '$_want', got '$(echo "$_out" | tail -n 3)'" ;;
	esac
}
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# Truncated at several points, then EOF: a prompt exit, status 65.
for req in 05 0501 050100050100 0501000501000304 05010005010003036162 04 0401 \
    040100500102 47 474554 "$(hex 'CONNECT a:1 HTTP/1.1')"; do
	expect "truncated $req then EOF: exit 65" "exit 65" \
	    $H spawn "$req" close -- "$D" -q
done
expect "connect and close at once: exit 0 (health check)" "exit 0 " \
    $H spawn "" close -- "$D" -q

# Silence and half requests that stay open: the -T bound drops them.
expect "silent client dropped by -T 1: exit 75" "exit 75" \
    $H spawn "" keep -- "$D" -q -T 1
expect "half a SOCKS5 request held open: exit 75" "exit 75" \
    $H spawn 0501000501 keep -- "$D" -q -T 1
expect "slowloris HTTP head (a byte per 0.2 s): exit 75" "exit 75" \
    $H spawn "$(hex 'GET http://example.org/ HTTP/1.1
Host: example.org
X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
')" slow:0.2 -- "$D" -q -T 1

# Oversized: a 20 KB header section gets 400 and a close.
BIG=$(python3 -c 'print(("GET http://a/ HTTP/1.1\r\nX: " + "x" * 20000).encode().hex())')
expect "20 KB header section: 400" "$(hex 'HTTP/1.1 400')" \
    $H spawn "$BIG" keep -- "$D" -q
MANY=$(python3 -c 'print(("GET http://a/ HTTP/1.1\r\n" + "".join("H%d: v\r\n" % i for i in range(200)) + "\r\n").encode().hex())')
expect "200 header lines: 400" "$(hex 'HTTP/1.1 400')" $H spawn "$MANY" keep -- "$D" -q

# Bad versions and junk: closed without a reply, exit 65.
expect "version byte 06: close" "reply 
exit 65" $H spawn 060100 keep -- "$D" -q
expect "TLS record to a proxy port: close" "exit 65" $H spawn 160301002e keep -- "$D" -q
expect "SOCKS5 request with version 04: close" "exit 65" \
    $H spawn 05010004010001020304 keep -- "$D" -q
expect "SOCKS5 greeting with no methods: 05 ff" "reply 05ff" \
    $H spawn 0500 keep -- "$D" -q
expect "SOCKS5 greeting without 'no auth': 05 ff" "reply 05ff" \
    $H spawn 050102 keep -- "$D" -q
expect "HTTP/2 preface: 400" "$(hex 'HTTP/1.1 400')" \
    $H spawn "$(hex 'PRI * HTTP/2.0

SM

')" keep -- "$D" -q
expect "origin-form request to the proxy: 400" "$(hex 'HTTP/1.1 400')" \
    $H spawn "$(hex 'GET / HTTP/1.1
Host: a

')" keep -- "$D" -q

# 255-byte names are accepted (and fail to resolve: a 70-byte label
# never leaves the machine); a 256-byte CONNECT host is refused.
N255=$(python3 -c 'l = "a" * 70; n = ".".join([l, l, l]) + "." + "b" * 42; print(n)')
expect "socks5 255-byte name: 04" "reply 0500050400" \
    $H spawn "050100050100 03ff$(hex "$N255")0050" keep -- "$D" -q
expect "socks4a 255-byte name: 5b" "reply 005b" \
    $H spawn "040100500000000100$(hex "$N255")00" keep -- "$D" -q
expect "CONNECT 256-byte host: 400" "$(hex 'HTTP/1.1 400')" \
    $H spawn "$(hex "CONNECT ${N255}x:80 HTTP/1.1

")" keep -- "$D" -q
expect "SOCKS4 user id of 300 bytes: 5b" "reply 005b" \
    $H spawn "0401005001020304$(python3 -c 'print("75" * 300)')00" keep -- "$D" -q

# Early data: pipelined greeting + request + payload on a socket.
listen_ready ECHO $H echo || notok "echo server"
listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch || notok "vp-listen"
expect "socks5 pipelined request + early data echoed" "data hello-early" \
    $H socks5 "$P" 127.0.0.1 "$ECHO" --early hello-early --read 11
# Early data on a pipe (not a socket): read, kept, and sent first.
printf 'CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\npiped-early-bytes' "$ECHO" >"$T/in"
"$D" -q <"$T/in" >"$T/out"
if grep -q 'piped-early-bytes' "$T/out" && head -c 12 "$T/out" | grep -q 'HTTP/1.1 200'; then
	ok "CONNECT on a pipe: early bytes reach the echo and come back"
else
	notok "CONNECT on a pipe: got '$(cat "$T/out")'"
fi
# Plain HTTP on a pipe: the rewritten head, then the body bytes.
printf 'POST http://127.0.0.1:%s/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody' \
    "$ECHO" >"$T/in"
"$D" -q <"$T/in" >"$T/out"
if grep -q '^POST /x HTTP/1.1' "$T/out" && grep -q 'body' "$T/out"; then
	ok "plain HTTP on a pipe: rewritten head and body reach the origin"
else
	notok "plain HTTP on a pipe: got '$(cat "$T/out")'"
fi
finish
