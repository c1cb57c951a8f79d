#!/bin/sh
# vp-tunnel: a stream that finished cleanly (both FINs) keeps its tail
# when the tunnel then ends: the local reader gets every byte and a clean
# end of file, not a reset that drops what was still buffered.
. "$(dirname "$0")/lib.sh"
need python3

N=600000
for kind in tcp udp; do
	listen_ready SPORT vp-tunnel server -1 -v "$kind:127.0.0.1:0" \
	    sh -c "cat >/dev/null; head -c $N /dev/zero" 2>$T/s.$kind.log ||
	    notok "$kind: server ready"
	SRV=$LASTPID
	# -1 on a unix listener prints an empty line when ready
	listen_ready X vp-tunnel client -1 -v -l "unix:$T/c.$kind.sock" \
	    "$kind:127.0.0.1:$SPORT" 2>$T/c.$kind.log
	[ -S "$T/c.$kind.sock" ] || notok "$kind: client ready"
	# The reader half-closes, reads nothing until the server's stream
	# has finished and the server has gone (SIGTERM: drain, GOAWAY),
	# then reads everything.
	out=$(python3 - "$T/c.$kind.sock" "$SRV" "$T/s.$kind.log" "$T/c.$kind.log" <<'PY'
import os, signal, socket, sys, time
path, srv, slog, clog = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def wait_log(f, *ss):
    for i in range(400):
        t = open(f).read()
        if any(s in t for s in ss):
            return True
        time.sleep(0.025)
    return False
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.sendall(b"request")
s.shutdown(socket.SHUT_WR)
if not wait_log(slog, "stream 1: closed"):
    print("server stream never finished"); sys.exit(0)
os.kill(srv, signal.SIGTERM)
if not wait_log(clog, "closed: peer sent GOAWAY",
                "closed: link closed by peer"):
    print("client never saw the tunnel end"); sys.exit(0)
s.settimeout(10)
n = 0
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        n += len(d)
    print("%d EOF" % n)
except Exception as e:
    print("%d %s" % (n, e))
PY
)
	check "$kind: a finished stream's tail survives the tunnel's end ($out)" \
	    [ "$out" = "$N EOF" ]
	wait $SRV
	check "$kind: server drained and exited 0" [ $? -eq 0 ]
done
finish
