#!/bin/sh
# Hostile peers cannot grow memory past the stated ceilings (RSS read
# from /proc): a connection flood against vp-listen -c; a tunnel peer
# that opens streams without end, floods a stream whose program never
# reads, or never reads what a stream's program writes; a KCP peer that
# floods forged, far-ahead and replayed segments with a huge window.
. "$(dirname "$0")/lib.sh"
need python3
if [ "${VP_SANITIZE:-}" = 1 ]; then
	skip "RSS ceilings are for normal builds (ASan's shadow memory differs)"
	exit 0
fi

# --- vp-listen: 400 connections at once against -c 20
listen_ready LP vp-listen -1 -q -c 20 tcp:127.0.0.1:0 sh -c 'exec cat >/dev/null' ||
    notok "vp-listen ready"
LPID=$LASTPID
r0=$(rss_kb $LPID)
python3 - "$LP" >"$T/flood.out" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
cs = []
for i in range(400):
    try:
        cs.append(socket.create_connection(("127.0.0.1", port), 5))
    except OSError:
        pass
print(len(cs), flush=True)
time.sleep(3)
PY
FPID=$!
i=0
while [ $i -lt 200 ] && [ ! -s "$T/flood.out" ]; do sleep 0.05; i=$((i + 1)); done
n=$(nchildren $LPID)
r1=$(rss_kb $LPID)
check "flood of $(cat "$T/flood.out") connections: at most 20 programs run ($n)" [ "$n" -le 20 ]
check "vp-listen memory under the flood: RSS ${r1} kB (was ${r0} kB, ceiling 8192 kB)" [ "$r1" -lt 8192 ]
wait $FPID
out=$(printf 'still serving\n' | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(b"x"); s.shutdown(socket.SHUT_WR); s.settimeout(10)
print("served" if s.recv(10) == b"" else "odd")' "$LP" 2>&1)
check "after the flood a new client is served ($out)" [ "$out" = served ]

# --- vp-tunnel server against a hostile frame peer (plain handshake)
listen_ready SP vp-tunnel server -1 -q -m 100 tcp:127.0.0.1:0 sh -c 'exec sleep 30' ||
    notok "tunnel server ready"
SPID=$LASTPID
r0=$(rss_kb $SPID)
out=$(timeout 60 python3 - "$SP" <<'PY'
import socket, struct, sys, time
def frame(t, fl, sid, p=b""):
    n = len(p)
    return struct.pack(">BHBBI", n >> 16, n & 0xffff, t, fl, sid) + p
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.sendall(bytes.fromhex("000000040000000000"))
s.settimeout(5)
s.recv(9)
# 20,000 SYNs without end (the limit is 100 at once)
buf = b"".join(frame(1, 0, 2 * i + 1) for i in range(20000))
s.sendall(buf)
# then 64 MB of DATA to stream 1, whose program never reads
chunk = frame(0, 0, 1, b"z" * 16000)
sent = 0
s.settimeout(0.5)
t0 = time.time()
try:
    while sent < 64 << 20 and time.time() - t0 < 20:
        s.sendall(chunk)
        sent += 16000
except OSError:
    pass
print(sent >> 20)
PY
)
r1=$(rss_kb $SPID)
check "20,000 SYNs and ${out:-?} MB to a stalled stream: server RSS ${r1} kB (was ${r0} kB, ceiling 32768 kB)" \
    [ "${r1:-999999}" -lt 32768 ]
check "server still alive after the abuse" kill -0 $SPID

# a peer that never reads while a stream's program writes without end
listen_ready SP2 vp-tunnel server -1 -q tcp:127.0.0.1:0 sh -c 'exec yes' ||
    notok "tunnel server (yes) ready"
SPID2=$LASTPID
python3 - "$SP2" <<'PY' &
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(bytes.fromhex("000000040000000000") + struct.pack(">BHBBI", 0, 0, 1, 0, 1))
time.sleep(6)   # and never read
PY
NPID=$!
# let the program write for 4 s, keeping the highest RSS seen
i=0
r1=0
while [ $i -lt 20 ]; do
	sleep 0.2
	cur=$(rss_kb $SPID2)
	[ "$cur" -gt "$r1" ] && r1=$cur
	i=$((i + 1))
done
check "peer that never reads: server RSS ${r1} kB while 'yes' writes (ceiling 16384 kB)" [ "$r1" -lt 16384 ]
kill $NPID 2>/dev/null
wait $NPID 2>/dev/null

# --- KCP server (plain, loopback) against forged and replayed segments
listen_ready UP vp-tunnel server -1 -q udp:127.0.0.1:0 cat || notok "kcp server ready"
UPID=$LASTPID
r0=$(rss_kb $UPID)
out=$(timeout 60 python3 - "$UP" <<'PY'
import socket, struct, sys, random
random.seed(7)
port = int(sys.argv[1])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(50)]
def seg(conv, cmd, wnd, ts, sn, una, data=b""):
    return struct.pack("<IBBHIIII", conv, cmd, 0, wnd, ts, sn, una, len(data)) + data
n = 0
for k in range(40000):
    s = socks[k % len(socks)]
    sn = random.choice([0, 1, 5, 1023, 1 << 20, 0xfffffff0, random.getrandbits(32)])
    d = seg(0, 81, 0xffff, random.getrandbits(32), sn, random.getrandbits(32),
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + b"q" * random.randint(0, 1100))
    try:
        s.sendto(d, ("127.0.0.1", port)); n += 1
    except OSError:
        pass
print(n)
PY
)
r1=$(rss_kb $UPID)
check "KCP: ${out:-?} forged/far-ahead/replayed datagrams from 50 addresses, wnd 65535: RSS ${r1} kB (was ${r0} kB, ceiling 65536 kB)" \
    [ "${r1:-999999}" -lt 65536 ]
check "KCP server still alive" kill -0 $UPID
finish
