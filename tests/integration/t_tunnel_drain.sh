#!/bin/sh
# vp-tunnel: a drain (SIGTERM) on a slow link waits for the link to
# deliver what it holds: a stream ends on the server once its bytes are
# handed to the link, so freeing the link 1 s after GOAWAY lost the tail
# of a finished download. And on a udp: server, SIGTERM drains the open
# streams and ends with GOAWAY like on tcp: (closing the shared UDP
# socket at once cut every session).
. "$(dirname "$0")/lib.sh"
need python3

N=600000
# stdin -> stdout at RATE bytes/s: a slow path from the server back.
cat >$T/slow.py <<'PY'
import os, sys, time
rate = int(sys.argv[1]); t0 = time.time(); n = 0
while time.time() - t0 < 60:
    d = os.read(0, 4096)
    if not d: break
    os.write(1, d); n += len(d)
    ahead = n / rate - (time.time() - t0)
    if ahead > 0: time.sleep(ahead)
PY
cat >$T/srv.sh <<EOS
echo \$\$ >$T/spid
exec vp-tunnel server -v stdio sh -c 'cat >/dev/null; head -c $N /dev/zero' 2>$T/s.log
EOS
listen_ready X vp-tunnel client -1 -v -l "unix:$T/c.sock" \
    "exec:sh $T/srv.sh | python3 $T/slow.py 150000" 2>$T/c.log
[ -S "$T/c.sock" ] || notok "client ready"
out=$(python3 - "$T/c.sock" "$T/s.log" "$T/spid" <<'PY'
import os, signal, socket, sys, time
path, slog, spid = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX); s.connect(path)
s.sendall(b"req"); s.shutdown(socket.SHUT_WR)
s.settimeout(0.05)
n = 0; t0 = time.time(); killed = False; end = "timeout"
while time.time() - t0 < 30:
    if not killed and os.path.exists(slog) and \
       "stream 1: closed" in open(slog).read():
        os.kill(int(open(spid).read()), signal.SIGTERM)
        killed = True
    try:
        d = s.recv(65536)
        if not d: end = "EOF"; break
        n += len(d)
    except socket.timeout:
        continue
    except OSError as e:
        end = str(e); break
print("%d %s%s" % (n, end, "" if killed else " (no SIGTERM)"))
PY
)
check "drain on a slow link delivers the finished stream's tail ($out)" \
    [ "$out" = "$N EOF" ]
check "server drained cleanly" grep -q "closed: shutting down" $T/s.log

for kind in tcp udp; do
	listen_ready SPORT vp-tunnel server -1 -v "$kind:127.0.0.1:0" \
	    sh -c 'read x; echo got-$x; read y; echo bye-$y' 2>$T/d.$kind.s.log ||
	    notok "$kind: server ready"
	SRV=$LASTPID
	listen_ready X vp-tunnel client -1 -v -l "unix:$T/d.$kind.sock" \
	    "$kind:127.0.0.1:$SPORT" 2>$T/d.$kind.c.log
	[ -S "$T/d.$kind.sock" ] || notok "$kind: client ready"
	out=$(python3 - "$T/d.$kind.sock" "$SRV" "$T/d.$kind.s.log" <<'PY'
import os, signal, socket, sys, time
path, srv, slog = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(10)
s.sendall(b"ping\n")
data = b""
while b"\n" not in data:
    d = s.recv(100)
    if not d: break
    data += d
os.kill(srv, signal.SIGTERM)
for i in range(400):
    if "draining" in open(slog).read(): break
    time.sleep(0.025)
s.sendall(b"z\n")
try:
    while True:
        d = s.recv(100)
        if not d: break
        data += d
    print(data.decode().replace("\n", " ") + "EOF")
except OSError as e:
    print(data.decode().replace("\n", " ") + str(e))
PY
)
	check "$kind: SIGTERM lets an open stream finish ($out)" \
	    [ "$out" = "got-ping bye-z EOF" ]
	wait $SRV
	check "$kind: server drained and exited 0" [ $? -eq 0 ]
	i=0
	while [ $i -lt 100 ] && ! grep -q "peer sent GOAWAY" $T/d.$kind.c.log; do
		i=$((i + 1)); sleep 0.05
	done
	check "$kind: the client got GOAWAY" grep -q "peer sent GOAWAY: shutting down" $T/d.$kind.c.log
done
finish
