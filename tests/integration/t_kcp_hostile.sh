# vp-tunnel over KCP on loopback, under attack and misuse:
#  - a flood of garbage, bit-flipped and replayed datagrams (from a
#    third socket and from the real client's own address) while a
#    client transfers: the transfer stays intact and the attacker gets
#    not one datagram back (no amplification, no state);
#  - plain mode is refused off loopback, a group-readable key file is
#    refused, bad knobs are usage errors;
#  - plain mode works on loopback and its first datagram is ikcp's
#    (conv 0, PUSH sn 0 carrying the 9-byte SETTINGS).
. "$(dirname "$0")/lib.sh"

TOOLS=${VP_BIN%/bin}/tools
[ -x "$TOOLS/tunnel_streams" ] || { skip "tunnel_streams not built"; exit 0; }
(umask 077; vp-tunnel keygen >"$T/key")

# A relay between client and server that records the client's
# datagrams and, once it has some, floods the server.
cat >"$T/relay.py" <<'EOF'
import os, random, select, signal, socket, sys
sport, statf, portf = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0)); s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return s
cs, ss, atk = udp(), udp(), udp()
ss.connect(("127.0.0.1", sport))
st = {"relayed": 0, "garbage": 0, "replay": 0, "flip": 0, "atk_got": 0}
def stop(*a):
    with open(statf, "w") as f:
        f.write(" ".join("%s=%d" % kv for kv in sorted(st.items())) + "\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(portf + ".tmp", "w") as f:
    f.write("%d\n" % cs.getsockname()[1])
os.rename(portf + ".tmp", portf)
rng = random.Random(5)
client, cap = None, []
target = ("127.0.0.1", sport)
while True:
    r, _, _ = select.select([cs, ss, atk], [], [], 0.002 if cap else 1)
    for s in r:
        for _ in range(256):
            try:
                d, a = s.recvfrom(65536)
            except BlockingIOError:
                break
            if s is cs:
                client = a
                if len(cap) < 2000:
                    cap.append(d)
                ss.send(d); st["relayed"] += 1
            elif s is ss and client:
                cs.sendto(d, client)
            elif s is atk:
                st["atk_got"] += 1
    if len(cap) >= 20:
        for _ in range(30):
            k = rng.randrange(5)
            if k == 0:
                atk.sendto(os.urandom(rng.randrange(1, 1500)), target)
                st["garbage"] += 1
            elif k == 1:
                atk.sendto(rng.choice(cap), target); st["replay"] += 1
            elif k == 2:
                ss.send(rng.choice(cap)); st["replay"] += 1
            elif k == 3:
                d = bytearray(rng.choice(cap))
                d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
                atk.sendto(bytes(d), target); st["flip"] += 1
            else:
                ss.send(os.urandom(rng.randrange(1, 100)))
                st["garbage"] += 1
EOF

: >"$T/results"
listen_ready sport vp-tunnel server -q -1 -k "$T/key" udp:127.0.0.1:0 \
    "$TOOLS/tunnel_streams" -S "$T/results" || { notok "server ready"; exit 0; }
bg python3 "$T/relay.py" "$sport" "$T/stats" "$T/rport"
relay=$LASTPID
wait_path "$T/rport" || { notok "relay ready"; exit 0; }
rport=$(cat "$T/rport")
bg vp-tunnel client -q -k "$T/key" -l "unix:$T/c.sock" udp:127.0.0.1:$rport
wait_path "$T/c.sock" || { notok "client ready"; exit 0; }

out=$("$TOOLS/tunnel_streams" -c "unix:$T/c.sock" -n 4 -u 2000000 \
    -d 2000000 -t 120)
rc=$?
echo "# $out"
kill "$relay"
wait "$relay" 2>/dev/null
echo "# relay: $(cat "$T/stats")"
check "4 streams x 2 MB each way intact under a garbage/replay flood" \
    [ "$rc" = 0 ]
check "the flood really ran (replays and garbage sent)" \
    grep -Eq 'garbage=[1-9][0-9]{2,}.*replay=[1-9][0-9]{2,}' "$T/stats"
check "the attacker got no datagram back" grep -q 'atk_got=0 ' "$T/stats"
kill -0 "$(echo $PIDS | cut -d' ' -f1)" 2>/dev/null
check "the server is still running" [ $? = 0 ]

# --- refusals
vp-tunnel server udp:0.0.0.0:0 cat 2>"$T/err"
rc=$?
check "plain server on 0.0.0.0 refused (exit 78)" [ "$rc" = 78 ]
check "... saying why" grep -q 'not a loopback address' "$T/err"
vp-tunnel client -l "unix:$T/x.sock" udp:192.0.2.1:4000 2>"$T/err"
check "plain client to a non-loopback peer refused (exit 78)" [ $? = 78 ]
cp "$T/key" "$T/key.open"
chmod 640 "$T/key.open"
vp-tunnel server -k "$T/key.open" udp:127.0.0.1:0 cat 2>"$T/err"
rc=$?
check "group-readable key file refused (exit 78)" [ "$rc" = 78 ]
check "... saying why" grep -q 'permissions' "$T/err"
vp-tunnel server -M warp udp:127.0.0.1:0 cat 2>/dev/null
check "unknown profile is a usage error" [ $? = 64 ]
vp-tunnel server -o sndwnd=0 udp:127.0.0.1:0 cat 2>/dev/null
check "out-of-range knob is a usage error" [ $? = 64 ]

# --- plain mode on loopback: works, and speaks bare ikcp
cat >"$T/sniff.py" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(10)
print(s.getsockname()[1], flush=True)
d, a = s.recvfrom(65536)
conv, cmd, frg, wnd, ts, sn, una, ln = struct.unpack("<IBBHIIII", d[:24])
ok = (conv == 0 and cmd == 81 and frg == 0 and sn == 0 and una == 0 and
      ln == 9 and d[24:33] == bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) and
      len(d) == 33)
print("ok" if ok else "bad %r" % d, flush=True)
EOF
mkfifo "$T/sn"
python3 "$T/sniff.py" >"$T/sn" &
spid=$!
PIDS="$PIDS $spid"
exec 3<"$T/sn"
read -r snport <&3
bg vp-tunnel client -q -P -l "unix:$T/p.sock" udp:127.0.0.1:$snport
read -r verdict <&3
exec 3<&-
check "plain client's first datagram: conv 0, PUSH sn 0, 9-byte SETTINGS" \
    [ "$verdict" = ok ]

: >"$T/results.p"
listen_ready pport vp-tunnel server -q -1 udp:127.0.0.1:0 \
    "$TOOLS/tunnel_streams" -S "$T/results.p" || notok "plain server ready"
bg vp-tunnel client -q -l "unix:$T/q.sock" udp:127.0.0.1:$pport
wait_path "$T/q.sock"
check "plain mode on loopback carries streams intact" \
    "$TOOLS/tunnel_streams" -c "unix:$T/q.sock" -n 3 -u 300000 -d 300000 -t 60
finish
