#!/bin/sh
# vp-tunnel under faults: stalled streams do not slow the others and do
# not grow memory past their window; killing the server mid-transfer
# resets the streams (errors, not hangs) and the client recovers when
# the server returns; local connections wait for a reconnect or fail
# cleanly; SIGTERM drains open streams, then exits 0.
. "$(dirname "$0")/lib.sh"
TOOL=$VP_BUILD/tools/tunnel_streams
[ -x "$TOOL" ] || { skip "tunnel_streams tool not built"; exit 0; }

# --- stalled streams (extended mode: credit-based)
R=$T/res
listen_ready SPORT vp-tunnel server -1 -q tcp:127.0.0.1:0 "$TOOL" -S "$R" || notok "server ready"
SRV=$LASTPID
listen_ready CPORT vp-tunnel client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" || notok "client ready"
CLI=$LASTPID
# 4 streams ask for 1 GiB each and never read; 40 others move 2 MB each
# way. -H keeps the stalled ones open (until its stdin ends) so memory
# is measured while they stall.
mkfifo $T/hold
"$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 44 -z 4 -u 2000000 -d 2000000 -t 60 -H <$T/hold >$T/stall.out 2>&1 &
TP=$!
exec 7>$T/hold
i=0
while [ $i -lt 600 ] && ! grep -q '^ok=' $T/stall.out; do
	i=$((i + 1)); sleep 0.1
done
out=$(cat $T/stall.out)
check "4 stalled streams: the 40 others complete ($out)" sh -c "echo '$out' | grep -q 'ok=40 failed=0 reset=0'"
c=$(rss_kb $CLI)
s=$(rss_kb $SRV)
# 4 stalled windows of 512 KiB on the client (the server program keeps
# writing 1 GiB into each), plus code and buffers.
check "client memory bounded while 4 streams stall (RSS ${c} kB < 16384)" [ "$c" -lt 16384 ]
check "server memory bounded while 4 streams stall (RSS ${s} kB < 16384)" [ "$s" -lt 16384 ]
exec 7>&-
wait $TP

# --- stalled streams with a plain peer: no credit exists, so a stream
# whose buffer passes its cap is reset; the others are not blocked.
listen_ready SPORT vp-tunnel server -1 -P -q tcp:127.0.0.1:0 "$TOOL" -S "$R" || notok "server ready"
listen_ready CPORT vp-tunnel client -1 -P -v -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" 2>$T/plain.log ||
    notok "client ready"
CLI=$LASTPID
out=$("$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 22 -z 2 -u 1000000 -d 1000000 -t 60 2>&1)
check "plain mode, 2 stalled streams: the 20 others complete ($out)" [ $? -eq 0 ]
i=0
while [ $i -lt 100 ] && ! grep -q "receive buffer limit exceeded" $T/plain.log; do
	i=$((i + 1)); sleep 0.1
done
check "plain mode: a stalled stream past its buffer cap is reset, logged" \
    grep -q "receive buffer limit exceeded" $T/plain.log
c=$(rss_kb $CLI)
check "plain mode: client memory bounded (RSS ${c} kB < 32768)" [ "$c" -lt 32768 ]

# --- kill the server mid-transfer; the client recovers
P=$(free_port)
listen_ready X vp-tunnel server -1 -q "tcp:127.0.0.1:$P" "$TOOL" -S "$R" || notok "server ready"
SRV=$LASTPID
listen_ready CPORT vp-tunnel client -1 -v -b 300ms -c 20s -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$P" 2>$T/kill.log ||
    notok "client ready"
"$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 20 -u 1000000000 -d 1000000000 -t 30 >$T/kill.out 2>&1 &
TP=$!
i=0
while [ $i -lt 100 ] && [ "$(nchildren $SRV)" -lt 20 ]; do
	i=$((i + 1)); sleep 0.1
done
check "20 streams running through the server" [ "$(nchildren $SRV)" -ge 20 ]
kill -KILL $SRV
wait $TP
rc=$?
out=$(cat $T/kill.out)
check "server killed mid-transfer: every stream fails with an error ($out)" \
    sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'ok=0 ' && ! echo '$out' | grep -q timeout"
check "client logged the dead tunnel" grep -q "closed: " $T/kill.log
# While the server is down, a new local connection waits for the reconnect.
"$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 10 -u 100000 -d 100000 -t 30 >$T/wait.out 2>&1 &
TP=$!
: >"$R"
listen_ready X vp-tunnel server -1 -q "tcp:127.0.0.1:$P" "$TOOL" -S "$R" || notok "server back"
wait $TP
check "connections made during the outage complete after the reconnect ($(cat $T/wait.out))" [ $? -eq 0 ]
out=$("$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 50 -u 100000 -d 100000 -t 30 2>&1)
check "client recovered: 50 new streams ($out)" [ $? -eq 0 ]

# --- no server at all: a local connection fails cleanly after -c
P2=$(free_port)
listen_ready CPORT vp-tunnel client -1 -q -b 200ms -c 500ms -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$P2" ||
    notok "client ready"
out=$(timeout 20 "$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 3 -t 15 2>&1)
rc=$?
check "no tunnel: local connections fail (not hang) after the wait ($out)" \
    sh -c "[ $rc -ne 0 ] && [ $rc -ne 124 ] && echo '$out' | grep -q 'reset=3'"

# --- SIGTERM: open streams drain, then exit 0
: >"$R"
listen_ready SPORT vp-tunnel server -1 -q tcp:127.0.0.1:0 "$TOOL" -S "$R" || notok "server ready"
SRV=$LASTPID
listen_ready CPORT vp-tunnel client -1 -v -d 20s -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" 2>$T/term.log ||
    notok "client ready"
CLI=$LASTPID
"$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 10 -u 20000000 -d 20000000 -t 60 >$T/term.out 2>&1 &
TP=$!
i=0
while [ $i -lt 100 ] && [ "$(nchildren $SRV)" -lt 10 ]; do
	i=$((i + 1)); sleep 0.1
done
kill -TERM $CLI
wait $TP
check "SIGTERM: the 10 open streams finish ($(cat $T/term.out))" [ $? -eq 0 ]
wait $CLI
rc=$?
check "SIGTERM: client exits 0 after draining (rc=$rc)" [ $rc -eq 0 ]
check "SIGTERM: logged the drain" grep -q "draining streams" $T/term.log
finish
