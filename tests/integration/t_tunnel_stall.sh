#!/bin/sh
# vp-tunnel client against a peer that completes the handshake and then
# never reads the link: local connections opened and closed in a loop
# do not grow the control queue without bound. Once the link and a
# small queue are full, new streams wait (pending, then the listen
# backlog), with one log line; the client stays responsive to SIGTERM.
. "$(dirname "$0")/lib.sh"
need python3 socat

cat >$T/loop.py <<'PY'
import socket, sys, time
port, log, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
end = time.time() + 60
for i in range(n):
    if i % 100 == 0:
        if b"takes no frames" in open(log, "rb").read():
            print("stalled after", i)
            sys.exit(0)
        if time.time() > end:
            break
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    s.close()
print("never stalled after", n)
sys.exit(1)
PY

listen_ready PPORT python3 "$VP_SRC/tests/integration/stall_peer.py" 120 || notok "stalled peer ready"
listen_ready CPORT vp-tunnel client -1 -P -v -d 1s -c 30s -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$PPORT" 2>$T/c.log ||
    notok "client ready"
CLI=$LASTPID
# One stream's upload fills the link (the peer reads nothing).
bg sh -c "head -c 8000000 /dev/zero | socat -u - TCP:127.0.0.1:$CPORT"
out=$(python3 $T/loop.py "$CPORT" $T/c.log 20000 2>&1)
check "stalled peer: new streams wait once the queue is full ($out)" grep -q "takes no frames" $T/c.log
c=$(rss_kb $CLI)
check "stalled peer: client memory bounded (RSS ${c} kB < 32768)" [ "$c" -lt 32768 ]
kill -TERM $CLI
i=0
while [ $i -lt 100 ] && kill -0 $CLI 2>/dev/null; do
	i=$((i + 1)); sleep 0.1
done
check "stalled peer: SIGTERM ends the client within 10 s" sh -c "! kill -0 $CLI 2>/dev/null"
[ $FAILED -eq 0 ] && finish
exit 1
