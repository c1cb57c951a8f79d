#!/bin/sh
# vp-tunnel client with PEER stdio: one link on fds 0/1. When it ends the
# client exits (as a stdio server does) instead of redialling "stdio",
# which after closing 0 and 1 were the next local connections' sockets:
# their bytes were parsed as frames and frames written into them.
. "$(dirname "$0")/lib.sh"
need python3 socat

# The link ends at once (stdin at EOF): the client must exit, not redial.
vp-tunnel client -v -l "unix:$T/a.sock" stdio </dev/null >$T/a.out 2>$T/a.log &
CP=$!
PIDS="$PIDS $CP"
i=0
while [ $i -lt 200 ] && kill -0 $CP 2>/dev/null; do
	i=$((i + 1)); sleep 0.05
done
if kill -0 $CP 2>/dev/null; then
	notok "stdio client exits when its link ends (still running)"
else
	wait $CP
	st=$?
	check "stdio client exits when its link ends, non-zero before the handshake ($st)" \
	    [ $st -ne 0 ]
fi

# A working stdio pair: client stdio <-> server stdio cat; when the server
# drains and sends GOAWAY, the client exits 0.
cat >$T/cli.sh <<EOS
exec vp-tunnel client -v -l unix:$T/b.sock stdio 2>$T/b.log
EOS
cat >$T/srv.sh <<EOS
echo \$\$ >$T/spid
exec vp-tunnel server -v stdio cat 2>$T/bs.log
EOS
socat EXEC:"sh $T/cli.sh" EXEC:"sh $T/srv.sh" &
SOC=$!
PIDS="$PIDS $SOC"
wait_path "$T/b.sock"
out=$(python3 - "$T/b.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b"hello\n"); s.shutdown(socket.SHUT_WR)
d = b""
try:
    while True:
        x = s.recv(100)
        if not x: break
        d += x
except Exception as e:
    d += str(e).encode()
print(d.decode().strip())
PY
)
check "stdio client over stdio server: echo ($out)" [ "$out" = "hello" ]
i=0
while [ $i -lt 100 ] && [ ! -s $T/spid ]; do i=$((i + 1)); sleep 0.05; done
kill -TERM "$(cat $T/spid)"
i=0
while [ $i -lt 200 ] && kill -0 $SOC 2>/dev/null; do
	i=$((i + 1)); sleep 0.05
done
check "stdio client exits after the server's GOAWAY (socat ends)" sh -c "! kill -0 $SOC 2>/dev/null"
check "stdio client logged the GOAWAY" grep -q "peer sent GOAWAY: shutting down" $T/b.log
finish
