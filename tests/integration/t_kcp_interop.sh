# Plain mode against an independent KCP: a small Python KCP peer
# written from wire-spec.md Part 2 (conv 0, stream mode, every PUSH
# ACKed with its ts echoed, una/wnd honoured, naive retransmission)
# bridges to tests/tools/tunnel_fake.py, a vproxy-style frame peer that
# echoes streams.  vp-tunnel client -P -o mtu=1250 (what a vproxy peer
# needs) carries streams through it, byte for byte, random and
# compressible data alike.
. "$(dirname "$0")/lib.sh"

FAKE=$(dirname "$0")/../tools/tunnel_fake.py
[ -f "$FAKE" ] || { skip "tunnel_fake.py missing"; exit 0; }

cat >"$T/kcppeer.py" <<'EOF'
import select, socket, struct, sys, time
HDR = struct.Struct("<IBBHIIII")          # conv cmd frg wnd ts sn una len
PUSH, ACK, WASK, WINS = 81, 82, 83, 84
MSS = 1250 - 24
tcp_port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
print(u.getsockname()[1], flush=True)
t = None
peer = None
rcv_nxt = 0
rcv_buf = {}
snd_nxt = 0
unacked = {}                                 # sn -> (data, last send)
stats = {"segs": 0, "bad": 0}
def ms():
    return int(time.monotonic() * 1000) & 0xffffffff
def seg(cmd, ts, sn, data=b""):
    return HDR.pack(0, cmd, 0, 128, ts, sn, rcv_nxt, len(data)) + data
while True:
    r, _, _ = select.select([u] + ([t] if t else []), [], [], 0.05)
    if u in r:
        d, a = u.recvfrom(65536)
        peer = a
        if t is None:
            t = socket.create_connection(("127.0.0.1", tcp_port))
        off = 0
        while len(d) - off >= 24:
            conv, cmd, frg, wnd, ts, sn, una, ln = HDR.unpack_from(d, off)
            off += 24
            if conv != 0 or ln > len(d) - off or cmd not in (81, 82, 83, 84):
                stats["bad"] += 1
                break
            data = d[off:off + ln]
            off += ln
            stats["segs"] += 1
            for k in [k for k in unacked if (k - una) & 0x80000000]:
                del unacked[k]
            if cmd == ACK:
                unacked.pop(sn, None)
            elif cmd == PUSH:
                u.sendto(seg(ACK, ts, sn), peer)
                if not ((sn - rcv_nxt) & 0x80000000):
                    rcv_buf[sn] = data
                while rcv_nxt in rcv_buf:
                    t.sendall(rcv_buf.pop(rcv_nxt))
                    rcv_nxt = (rcv_nxt + 1) & 0xffffffff
            elif cmd == WASK:
                u.sendto(seg(WINS, 0, 0), peer)
    if t is not None and t in r:
        data = t.recv(65536)
        if not data:
            break
        for i in range(0, len(data), MSS):
            chunk = data[i:i + MSS]
            unacked[snd_nxt] = (chunk, ms())
            u.sendto(seg(PUSH, ms(), snd_nxt, chunk), peer)
            snd_nxt = (snd_nxt + 1) & 0xffffffff
    now = ms()
    for sn, (chunk, at) in list(unacked.items()):
        if now - at > 200:
            unacked[sn] = (chunk, now)
            u.sendto(seg(PUSH, now, sn, chunk), peer)
EOF

cat >"$T/client.py" <<'EOF'
import os, socket, sys
port = int(sys.argv[1])
ok = True
for kind in ("random", "text"):
    data = (os.urandom(300000) if kind == "random" else
            b"the quick brown fox jumps over the lazy dog\n" * 7000)
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(20)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        c = s.recv(65536)
        if not c:
            break
        got += c
    s.close()
    print("%s %s %d/%d" % (kind, "same" if got == data else "DIFFERENT",
                           len(got), len(data)))
    ok = ok and got == data
sys.exit(0 if ok else 1)
EOF

listen_ready fport python3 "$FAKE" server || { notok "fake vproxy peer"; exit 0; }
listen_ready kport python3 "$T/kcppeer.py" "$fport" ||
    { notok "python KCP peer"; exit 0; }
listen_ready cport vp-tunnel client -1 -q -P -o mtu=1250 \
    -l tcp:127.0.0.1:0 udp:127.0.0.1:$kport || { notok "client ready"; exit 0; }
out=$(python3 "$T/client.py" "$cport" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "streams echo intact through an independent plain-KCP peer (vproxy framing)" \
    [ "$rc" = 0 ]
finish
