# Keyed KCP against an attacker on the path who records datagrams and
# replays them (nothing forged, the key unknown to it):
#  - a client's recorded datagrams replayed to the server restarted, or
#    to another server holding the same key, run the client's stream
#    again: they must not (the server's cookie round trip);
#  - one old server datagram (another session, same key) delivered to a
#    new client before the real server answers must not lock the client
#    out.
# A UDP relay in python records every datagram (C client->server, S
# server->client, hex) and can hand each new client one old S datagram
# first.  No sleeps: a replay is followed by a fresh session on the same
# server socket, whose line in the log is the sign that the replay was
# taken in (or refused) before.
. "$(dirname "$0")/lib.sh"

need python3 socat
(umask 077; vp-tunnel keygen >"$T/key")

cat >"$T/relay.py" <<'EOF'
# relay.py TPORT RECFILE [OLDREC]: a UDP relay on 127.0.0.1 to TPORT,
# printing its port; records datagrams as "C|S HEX" lines; with OLDREC,
# sends each new client address the first KCP (not control) server
# datagram of OLDREC before anything else.
import os, select, signal, socket, sys
tport, recf = int(sys.argv[1]), sys.argv[2]
old = None
if len(sys.argv) > 3:
    for l in open(sys.argv[3]):
        f = l.split()
        if f[0] == "S" and not bytes.fromhex(f[1])[15] & 0x40:
            old = bytes.fromhex(f[1])
            break
    if old is None:
        sys.exit("no old server datagram")
cs = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cs.bind(("127.0.0.1", 0))
ups = {}
rec = open(recf, "w", buffering=1)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print(cs.getsockname()[1], flush=True)
while True:
    r, _, _ = select.select([cs] + list(ups.values()), [], [], 1)
    for s in r:
        try:
            d, a = s.recvfrom(65536)
        except OSError:
            continue
        if s is cs:
            if a not in ups:
                if old is not None:
                    cs.sendto(old, a)
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.bind(("127.0.0.1", 0))
                u.connect(("127.0.0.1", tport))
                ups[a] = u
            rec.write("C %s\n" % d.hex())
            ups[a].send(d)
        else:
            for ca, u in ups.items():
                if u is s:
                    rec.write("S %s\n" % d.hex())
                    cs.sendto(d, ca)
EOF
cat >"$T/replay.py" <<'EOF'
# replay.py RECFILE PORT: sends the recorded client datagrams, in order,
# from one fresh socket, waiting 20 ms after each for answers; prints how
# many came back, and how many were larger than the datagram before.
import select, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
dg = [bytes.fromhex(l.split()[1]) for l in open(sys.argv[1]) if l[0] == "C"]
back = big = 0
for d in dg:
    s.sendto(d, ("127.0.0.1", int(sys.argv[2])))
    end = time.time() + 0.02
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.005)
        if r:
            x = s.recv(65536)
            back += 1
            big += len(x) > len(d)
print("replayed %d datagrams, %d came back, %d larger than the one just sent"
    % (len(dg), back, big))
EOF

# count: lines of the log holding $1.
count() { grep -c "$1" "$T/log" 2>/dev/null || echo 0; }
# wait_line PATTERN N: until the log holds N lines with PATTERN (10 s).
wait_line() {
	_i=0
	while [ "$(count "$1")" -lt "$2" ] && [ $_i -lt 200 ]; do
		_i=$((_i + 1))
		sleep 0.05
	done
	[ "$(count "$1")" -ge "$2" ]
}
# session PORT LINE: a fresh client sends LINE through the server.
NS=0
session() {
	NS=$((NS + 1))
	bg vp-tunnel client -q -k "$T/key" -l "unix:$T/c$NS.sock" \
	    udp:127.0.0.1:$1
	_c=$LASTPID
	wait_path "$T/c$NS.sock" || return 1
	printf '%s\n' "$2" | socat -t1 - "UNIX-CONNECT:$T/c$NS.sock"
	wait_line "$2" 1
	_r=$?
	kill $_c
	wait $_c 2>/dev/null
	return $_r
}

: >"$T/log"
listen_ready sport vp-tunnel server -q -1 -k "$T/key" udp:127.0.0.1:0 \
    sh -c "cat >> $T/log" || { notok "server ready"; exit 0; }
spid=$LASTPID
listen_ready sport2 vp-tunnel server -q -1 -k "$T/key" udp:127.0.0.1:0 \
    sh -c "cat >> $T/log" || { notok "second server ready"; exit 0; }
listen_ready rport python3 "$T/relay.py" "$sport" "$T/rec" ||
    { notok "relay ready"; exit 0; }
relay=$LASTPID
session "$rport" "TRANSFER 100 EUR TO MALLORY" ||
    { notok "a session through the recording relay"; exit 0; }
kill $relay
wait $relay 2>/dev/null
echo "# recorded $(grep -c '^C' "$T/rec") client, $(grep -c '^S' "$T/rec") server datagrams"

# --- replayed to another server holding the same key
echo "# $(python3 "$T/replay.py" "$T/rec" "$sport2")"
session "$sport2" "FRESH 1" || notok "a fresh session on the second server"
check "the recording replayed to another server with the key runs nothing" \
    [ "$(count MALLORY)" = 1 ]

# --- replayed to the same server, restarted on its port
kill $spid
wait $spid 2>/dev/null
listen_ready sport3 vp-tunnel server -q -1 -k "$T/key" udp:127.0.0.1:$sport \
    sh -c "cat >> $T/log" || { notok "server restarted"; exit 0; }
out=$(python3 "$T/replay.py" "$T/rec" "$sport")
echo "# $out"
session "$sport" "FRESH 2" || notok "a fresh session on the restarted server"
check "the recording replayed to the restarted server runs nothing" \
    [ "$(count MALLORY)" = 1 ]
case $out in
*", 0 larger"*) ok "what came back to the replay is no larger than what it sent" ;;
*) notok "amplification: $out" ;;
esac

# --- one old server datagram first: the client still gets through
listen_ready eport vp-tunnel server -q -1 -k "$T/key" udp:127.0.0.1:0 cat ||
    { notok "echo server ready"; exit 0; }
listen_ready iport python3 "$T/relay.py" "$eport" "$T/rec2" "$T/rec" ||
    { notok "injecting relay ready"; exit 0; }
bg vp-tunnel client -q -k "$T/key" -t 5 -l "unix:$T/inj.sock" \
    udp:127.0.0.1:$iport
wait_path "$T/inj.sock" || notok "client behind the injecting relay ready"
got=$(printf hello | timeout 20 socat -t8 - "UNIX-CONNECT:$T/inj.sock")
check "an old session's server datagram first does not lock the client out" \
    [ "$got" = hello ]
finish
