#!/bin/sh
# vp-tunnel: when a client tunnel's stream ids run out (2^30 streams;
# VP_TUNNEL_FIRST_SID starts them 3 streams before the end), new streams
# go to a new tunnel and the old one ends with GOAWAY: before, vpt_open's
# ENOSPC was ignored and every later connection waited -c and was reset.
. "$(dirname "$0")/lib.sh"
need python3

listen_ready SPORT vp-tunnel server -1 -q tcp:127.0.0.1:0 cat || notok "server ready"
VP_TUNNEL_FIRST_SID=2147483643 listen_ready CPORT vp-tunnel client -1 -v -c 3s \
    -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SPORT" 2>$T/c.log || notok "client ready"
out=$(python3 - "$CPORT" <<'PY'
import socket, sys
port = int(sys.argv[1]); ok = 0
for i in range(10):
    try:
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.settimeout(5)
        msg = b"stream %d\n" % i
        s.sendall(msg); s.shutdown(socket.SHUT_WR)
        d = b""
        while True:
            x = s.recv(100)
            if not x: break
            d += x
        if d == msg: ok += 1
        s.close()
    except OSError:
        pass
print(ok)
PY
)
check "10 streams echo across id exhaustion ($out of 10)" [ "$out" = 10 ]
n=$(grep -c "stream ids used up, opening a new tunnel" $T/c.log)
check "the client opened new tunnels as ids ran out ($n times)" [ "$n" -ge 3 ]
check "exhausted tunnels ended with GOAWAY, cleanly" \
    grep -q "closed: stream ids used up" $T/c.log
check "no stream was reset" sh -c "! grep -q 'tunnel not available\|reset' $T/c.log"
finish
