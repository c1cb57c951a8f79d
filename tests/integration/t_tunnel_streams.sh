#!/bin/sh
# vp-tunnel: 200 concurrent streams, random data both ways with
# half-close, sha256 checked at both ends, over tcp:, unix: and exec:
# links; plus the vp extension negotiated vs a plain (-P) server.
. "$(dirname "$0")/lib.sh"
TOOL=$VP_BUILD/tools/tunnel_streams
[ -x "$TOOL" ] || { skip "tunnel_streams tool not built"; exit 0; }

# results FILE N: N "ok" lines and nothing else from the server side.
# The server programs may still be reading when the client is done
# (upload only), so wait for the lines, bounded (10 s).
results() {
	_i=0
	while [ $_i -lt 100 ] && [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
		_i=$((_i + 1))
		sleep 0.1
	done
	_ok=$(grep -c '^ok ' "$1" 2>/dev/null)
	_bad=$(grep -vc '^ok ' "$1" 2>/dev/null)
	[ "${_ok:-0}" -eq "$2" ] && [ "${_bad:-0}" -eq 0 ]
}

# run_streams NAME CLIENTPORT N UP DOWN RESULTS
run_streams() {
	_out=$("$TOOL" -c "tcp:127.0.0.1:$2" -n "$3" -u "$4" -d "$5" -t 60 2>&1)
	_rc=$?
	if [ $_rc -eq 0 ] && results "$6" "$3"; then
		ok "$1 ($_out)"
	else
		notok "$1: client said: $_out; server results: $(sort "$6" 2>/dev/null | cut -d' ' -f1 | uniq -c | tr '\n' ' ')"
	fi
}

# tcp: link
R=$T/res.tcp
listen_ready SPORT vp-tunnel server -1 -q tcp:127.0.0.1:0 "$TOOL" -S "$R" ||
    notok "server ready"
listen_ready CPORT vp-tunnel client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" ||
    notok "client ready"
run_streams "tcp link: 200 streams both ways, sha256 both ends" "$CPORT" 200 100000 150000 "$R"
: >"$R"
run_streams "tcp link: one 20 MB stream each way" "$CPORT" 1 20000000 20000000 "$R"
: >"$R"
run_streams "tcp link: 50 streams upload only, download only" "$CPORT" 50 300000 0 "$R"

# unix: link, unix local listener with mode
R=$T/res.unix
# -1 prints an empty line for a unix socket: ready, no port.
listen_ready X vp-tunnel server -1 -q "unix:$T/tun.sock" "$TOOL" -S "$R"
check "unix server ready" [ -S "$T/tun.sock" ]
listen_ready CPORT vp-tunnel client -1 -q -l "unix:$T/local.sock,mode=0600" \
    -l tcp:127.0.0.1:0 "unix:$T/tun.sock" || notok "unix client ready"
m=$(stat -c %a "$T/local.sock" 2>/dev/null)
check "unix local listener has mode 0600 (got $m)" [ "$m" = 600 ]
run_streams "unix link: 200 streams both ways, sha256 both ends" "$CPORT" 200 100000 150000 "$R"
out=$("$TOOL" -c "unix:$T/local.sock" -n 20 -u 5000 -d 7000 2>&1)
check "unix local listener carries streams ($out)" [ $? -eq 0 ]

# exec: link (the server runs as the client's child on a socketpair)
R=$T/res.exec
listen_ready CPORT vp-tunnel client -1 -q -l tcp:127.0.0.1:0 \
    "exec:vp-tunnel server -q stdio $TOOL -S $R" || notok "exec client ready"
run_streams "exec link: 200 streams both ways, sha256 both ends" "$CPORT" 200 100000 150000 "$R"

# plain server (-P answers an extended offer with GOAWAY, as vproxy
# does): the client must fall back to plain and still carry streams.
R=$T/res.plain
listen_ready SPORT vp-tunnel server -1 -P tcp:127.0.0.1:0 "$TOOL" -S "$R" 2>$T/plain-s.log ||
    notok "plain server ready"
listen_ready CPORT vp-tunnel client -1 -v -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" 2>$T/plain-c.log ||
    notok "client ready"
run_streams "extended offer refused by a plain server: client retries plain" "$CPORT" 50 100000 100000 "$R"
check "client logged the plain fallback" grep -q "retrying plain" $T/plain-c.log
check "client ran the tunnel in plain mode" grep -q "ready (plain)" $T/plain-c.log
check "plain server logged the refused handshake" grep -q "handshake message is invalid" $T/plain-s.log

# plain client against an extending server: plain on both sides.
R=$T/res.plain2
listen_ready SPORT vp-tunnel server -1 -v tcp:127.0.0.1:0 "$TOOL" -S "$R" 2>$T/p2.log ||
    notok "server ready"
listen_ready CPORT vp-tunnel client -1 -P -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" ||
    notok "client ready"
run_streams "plain client, extending server" "$CPORT" 50 100000 100000 "$R"
check "server used plain mode for a plain client" grep -q "ready (plain)" $T/p2.log
finish
