#!/bin/sh
# The long-running programs under valgrind memcheck: vp-listen serving
# port-forward connections, vp-tunnel client and server carrying streams,
# and one vp-dial and vp-dispatch run each. Every run must end with no
# invalid access and no definite leak (valgrind's exit code 99 otherwise).
. "$(dirname "$0")/lib.sh"
need valgrind socat python3
if [ "${VP_SANITIZE:-}" = 1 ]; then
	skip "memcheck does not run sanitizer builds (the other pass covers it)"
	exit 0
fi
TOOL=$VP_BUILD/tools/tunnel_streams

VG="valgrind -q --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-fds=no"

# stop_vg NAME PID LOG: SIGTERM, wait, judge the exit status.
stop_vg() {
	kill -TERM "$2" 2>/dev/null
	wait "$2"
	_rc=$?
	if [ "$_rc" -eq 0 ]; then
		ok "$1: clean under memcheck"
	else
		notok "$1: exit $_rc under memcheck"
		grep -E '==[0-9]+==' "$3" | head -n 30
	fi
}

# vp-listen: 40 forwarded connections (vp-dial children run natively).
rand_file "$T/data" 300000
listen_ready BP vp-listen -1 -q tcp:127.0.0.1:0 cat
listen_ready LP $VG vp-listen -1 -q -c 8 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BP" \
    2>"$T/vg-listen.log"
LPID=$LASTPID
good=0
i=0
while [ $i -lt 40 ]; do
	timeout 20 socat -t 10 - "TCP:127.0.0.1:$LP" <"$T/data" >"$T/got" 2>/dev/null
	same "$T/data" "$T/got" && good=$((good + 1))
	i=$((i + 1))
done
check "vp-listen under memcheck: 40 connections echoed byte for byte ($good)" [ "$good" = 40 ]
stop_vg "vp-listen" "$LPID" "$T/vg-listen.log"

# vp-tunnel server and client, 30 streams both ways with half-close.
if [ -x "$TOOL" ]; then
	R=$T/res
	listen_ready SP $VG vp-tunnel server -1 -q tcp:127.0.0.1:0 "$TOOL" -S "$R" \
	    2>"$T/vg-ts.log"
	SPID=$LASTPID
	listen_ready CP $VG vp-tunnel client -1 -q -l tcp:127.0.0.1:0 \
	    "tcp:127.0.0.1:$SP" 2>"$T/vg-tc.log"
	CPID=$LASTPID
	out=$("$TOOL" -c "tcp:127.0.0.1:$CP" -n 30 -u 40000 -d 60000 -t 120 2>&1)
	check "vp-tunnel under memcheck: 30 streams both ways ($out)" [ $? -eq 0 ]
	stop_vg "vp-tunnel client" "$CPID" "$T/vg-tc.log"
	stop_vg "vp-tunnel server" "$SPID" "$T/vg-ts.log"
else
	skip "tunnel_streams tool not built"
fi

# vp-dial: one transfer with half-close, run to its own end.
printf 'hello through vp-dial\n' >"$T/small"
$VG vp-dial 127.0.0.1 "$BP" <"$T/small" >"$T/small.got" 2>"$T/vg-dial.log"
rc=$?
[ $rc -eq 0 ] && same "$T/small" "$T/small.got" && ok "vp-dial: clean under memcheck" || \
    { notok "vp-dial under memcheck: exit $rc"; head -n 30 "$T/vg-dial.log"; }

# vp-dispatch: a SOCKS5 request, direct route, under memcheck.
listen_ready DP vp-listen -1 -q tcp:127.0.0.1:0 $VG --log-file="$T/vg-disp.%p.log" vp-dispatch
out=$(printf 'ping' | timeout 30 python3 - "$DP" "$BP" <<'PY'
import socket, sys, struct
dp, bp = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", dp), 20)
s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", bp))
r = b""
while len(r) < 12:
    c = s.recv(12 - len(r))
    if not c: break
    r += c
s.sendall(b"ping"); s.shutdown(socket.SHUT_WR)
d = b""
while True:
    c = s.recv(100)
    if not c: break
    d += c
print(r[:2].hex(), r[3:4].hex(), d.decode())
PY
)
check "vp-dispatch under memcheck: SOCKS5 CONNECT relayed ($out)" [ "$out" = "0500 00 ping" ]
i=0
while [ $i -lt 200 ] && ! grep -q 'ERROR SUMMARY\|^==' "$T"/vg-disp.*.log 2>/dev/null && \
    pgrep -f "vg-disp" >/dev/null 2>&1; do
	sleep 0.05; i=$((i + 1))
done
if grep -qE 'Invalid|definitely lost|uninitialised' "$T"/vg-disp.*.log 2>/dev/null; then
	notok "vp-dispatch: memcheck errors"
	cat "$T"/vg-disp.*.log | head -n 30
else
	ok "vp-dispatch: clean under memcheck"
fi
finish
