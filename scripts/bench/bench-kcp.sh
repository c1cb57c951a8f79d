#!/bin/sh
# bench-kcp.sh: vp-tunnel over KCP vs kcptun vs plain TCP, side by side,
# through the same impairment link (two network namespaces joined by TUN
# devices and tests/tools/impair), at 0%, 1% and 5% loss each way.
#
#   VP_BUILD=$PWD/build sh scripts/bench/bench-kcp.sh [MB] [ROUNDTRIPS]
#
# BENCH_LOSSES="0 1 5" picks the loss rates, BENCH_REPS (3) the bulk
# runs per contender (the fastest is shown: the machine is shared; CPU
# is the total over all runs); VP_TUNNEL_OPTS adds options
# to every vp-tunnel (e.g. "-s 2M" for a larger stream window).
#
# For each loss rate and each contender:
#   bulk   one stream carrying MB megabytes client -> server, timed
#          until the sink's byte count comes back (tests/tools/kcpbulk;
#          kcptun's smux v1 has no half-close, hence the count), MiB/s
#   cpu    CPU seconds (user+sys) of both tunnel processes per GiB moved
#   rr     ROUNDTRIPS request/response exchanges of 64 bytes on one
#          connection: p50 and p99 round trip, ms
# Same profile for both tunnels: fast3 (nodelay 1, interval 10, resend 2,
# nc 1), windows 1024/1024, MTU 1350, encryption on (vp: keyed mode,
# default cipher=auto, which is AES-256-GCM where both ends have AES
# instructions, and "vp-chacha" with ChaCha20-Poly1305 forced; kcptun:
# --crypt aes, AES-CFB), kcptun FEC off and no
# compression.  "kcptun-d" is kcptun with its default client windows
# (128/512) instead of 1024/1024.  Needs root (namespaces) and kcptun (apt-get install
# kcptun).  Loopback/namespaces only; everything started is stopped.
set -u
: "${VP_BUILD:?set VP_BUILD to a build directory}"
VP_BIN=$VP_BUILD/bin
export VP_BIN
here=$(cd "$(dirname "$0")/../../tests/integration" && pwd)
. "$here/lib.sh"
. "$here/netns.sh"
TOOLS=$VP_BUILD/tools
MB=${1:-100}
RT=${2:-2000}
REPS=${BENCH_REPS:-3}	# bulk runs per contender; the best one counts
BYTES=$((MB * 1000000))
HZ=$(getconf CLK_TCK)

for p in kcptun-server kcptun-client socat python3; do
	command -v $p >/dev/null || { echo "bench-kcp: need $p"; exit 1; }
done
[ -x "$TOOLS/impair" ] && [ -x "$TOOLS/kcpbulk" ] ||
    { echo "bench-kcp: build the tools first (make)"; exit 1; }
(umask 077; vp-tunnel keygen >"$T/key")
KCPKEY=$(tail -1 "$T/key")

cat >"$T/rr.py" <<'EOF'
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), 10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(30)
msg = b"x" * 64
lat = []
for i in range(n):
    t = time.perf_counter()
    s.sendall(msg)
    got = 0
    while got < 64:
        d = s.recv(64 - got)
        if not d:
            sys.exit("eof")
        got += len(d)
    lat.append(time.perf_counter() - t)
lat.sort()
print("%.3f %.3f" % (lat[n // 2] * 1000, lat[min(n - 1, n * 99 // 100)] * 1000))
EOF
cat >"$T/waitport.py" <<'EOF'
import socket, sys, time
for i in range(200):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF

cpu() {	# cpu PID...: clock ticks used so far
	_s=0
	for _p in "$@"; do
		_t=$(awk '{ print $14 + $15 }' /proc/$_p/stat 2>/dev/null || echo 0)
		_s=$((_s + _t))
	done
	echo $_s
}

# Targets in $NSB: a tunnel_streams sink per connection, and an echo.
start_targets() {
	bg ip netns exec "$NSB" "$TOOLS/kcpbulk" sink 7001
	bg ip netns exec "$NSB" socat TCP-LISTEN:7002,fork,reuseaddr PIPE
	ina python3 "$T/waitport.py" "$IPB" 7001 &&
	ina python3 "$T/waitport.py" "$IPB" 7002
}

# measure NAME BULKPORT RRPORT PIDS...: one line of figures.
measure() {
	_name=$1 _bp=$2 _rp=$3; shift 3
	_best=""
	_c0=$(cpu "$@")
	_k=0
	while [ $_k -lt "${_reps:-$REPS}" ]; do
		_out=$(ina "$TOOLS/kcpbulk" send "$_bh" "$_bp" $BYTES 2>&1)
		if [ $? != 0 ]; then
			_best=""
			break
		fi
		_ms=$(echo "$_out" | sed -n 's/.*ms=\([0-9]*\).*/\1/p')
		[ -z "$_best" ] || [ "$_ms" -lt "$_best" ] && _best=$_ms
		_k=$((_k + 1))
	done
	_c1=$(cpu "$@")
	_rr=$(ina python3 "$T/rr.py" "$_bh" "$_rp" "$RT" 2>&1)
	if [ -z "$_best" ]; then
		printf '%-9s %2s%%  bulk FAILED (%s)\n' "$_name" "$LOSS" "$_out"
		return
	fi
	# bulk: the best of the runs; cpu: all runs' CPU over all bytes
	awk -v n="$_name" -v l="$LOSS" -v b=$BYTES -v ms="$_best" -v k=$_k \
	    -v c=$((_c1 - _c0)) -v hz=$HZ -v rr="$_rr" 'BEGIN {
		split(rr, r, " ");
		mibs = b / 1048576 / (ms / 1000);
		cpg = (c / hz) / (k * b / 1073741824);
		printf "%-9s %2s%%  bulk %7.1f MiB/s  cpu %6.2f s/GiB  " \
		    "rr p50 %6.3f ms  p99 %8.3f ms\n", n, l, mibs, \
		    (c > 0 ? cpg : 0), r[1], r[2];
		printf "%s %s %.3f %.3f %s %s\n", n, l, mibs, cpg, r[1], r[2] \
		    >> "'"$T/figures"'";
	}'
}

echo "bench-kcp: $MB MB bulk, $RT round trips, fast3, windows 1024/1024"
for LOSS in ${BENCH_LOSSES:-0 1 5}; do
	if ! netns_up -l $LOSS -s 42 -q 4000000; then
		echo "bench-kcp: cannot build the namespace link (root? TUN?)"
		exit 1
	fi
	start_targets || { echo "targets failed"; exit 1; }
	# plain TCP straight through the link
	_bh=$IPB
	measure tcp 7001 7002
	_bh=127.0.0.1
	# vp-tunnel over KCP, keyed
	kv="-k $T/key -M fast3 ${VP_TUNNEL_OPTS:-}"
	bg ip netns exec "$NSB" vp-tunnel server -q $kv \
	    -f tcp:127.0.0.1:7001 udp:$IPB:4000
	vs1=$LASTPID
	bg ip netns exec "$NSB" vp-tunnel server -q $kv \
	    -f tcp:127.0.0.1:7002 udp:$IPB:4002
	vs2=$LASTPID
	bg ip netns exec "$NSA" vp-tunnel client -q $kv \
	    -l tcp:127.0.0.1:6001 udp:$IPB:4000
	vc1=$LASTPID
	bg ip netns exec "$NSA" vp-tunnel client -q $kv \
	    -l tcp:127.0.0.1:6002 udp:$IPB:4002
	ina python3 "$T/waitport.py" 127.0.0.1 6001
	ina python3 "$T/waitport.py" 127.0.0.1 6002
	measure vp 6001 6002 $vs1 $vc1
	# the same with the portable suite, ChaCha20-Poly1305, forced
	kx="-k $T/key -M fast3 -o cipher=chacha ${VP_TUNNEL_OPTS:-}"
	bg ip netns exec "$NSB" vp-tunnel server -q $kx \
	    -f tcp:127.0.0.1:7001 udp:$IPB:4004
	vs3=$LASTPID
	bg ip netns exec "$NSB" vp-tunnel server -q $kx \
	    -f tcp:127.0.0.1:7002 udp:$IPB:4006
	bg ip netns exec "$NSA" vp-tunnel client -q $kx \
	    -l tcp:127.0.0.1:6031 udp:$IPB:4004
	vc3=$LASTPID
	bg ip netns exec "$NSA" vp-tunnel client -q $kx \
	    -l tcp:127.0.0.1:6032 udp:$IPB:4006
	ina python3 "$T/waitport.py" 127.0.0.1 6031
	ina python3 "$T/waitport.py" 127.0.0.1 6032
	measure vp-chacha 6031 6032 $vs3 $vc3
	# kcptun
	kc="--key $KCPKEY --crypt aes --mode fast3 --datashard 0 --parityshard 0 --nocomp --sndwnd 1024 --rcvwnd 1024 --mtu 1350 --quiet"
	bg ip netns exec "$NSB" kcptun-server -l $IPB:4001 -t 127.0.0.1:7001 \
	    $kc --log /dev/null
	ks1=$LASTPID
	bg ip netns exec "$NSB" kcptun-server -l $IPB:4003 -t 127.0.0.1:7002 \
	    $kc --log /dev/null
	bg ip netns exec "$NSA" kcptun-client -l 127.0.0.1:6011 \
	    -r $IPB:4001 $kc --log /dev/null
	kc1=$LASTPID
	bg ip netns exec "$NSA" kcptun-client -l 127.0.0.1:6012 \
	    -r $IPB:4003 $kc --log /dev/null
	ina python3 "$T/waitport.py" 127.0.0.1 6011
	ina python3 "$T/waitport.py" 127.0.0.1 6012
	measure kcptun 6011 6012 $ks1 $kc1
	# kcptun with its own default windows (client 128/512)
	kd="--key $KCPKEY --crypt aes --mode fast3 --datashard 0 --parityshard 0 --nocomp --mtu 1350 --quiet"
	bg ip netns exec "$NSA" kcptun-client -l 127.0.0.1:6021 \
	    -r $IPB:4001 $kd --log /dev/null
	kc3=$LASTPID
	bg ip netns exec "$NSA" kcptun-client -l 127.0.0.1:6022 \
	    -r $IPB:4003 $kd --log /dev/null
	ina python3 "$T/waitport.py" 127.0.0.1 6021
	ina python3 "$T/waitport.py" 127.0.0.1 6022
	_reps=1 measure kcptun-d 6021 6022 $ks1 $kc3
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
	netns_down
	sed 's/^/    /' "$T/impair.log"
done

echo
echo "ratios (vp / kcptun; vp / tcp):"
awk '{ m[$1" "$2] = $3; c[$1" "$2] = $4; p99[$1" "$2] = $6 }
END {
	split("0 1 5", L, " ");
	split("vp vp-chacha", V, " ");
	for (v = 1; v <= 2; v++)
	for (i = 1; i <= 3; i++) {
		l = L[i]; x = V[v] " " l;
		if (m["kcptun " l] > 0 && m[x] > 0)
			printf "  %-6s %s%% loss: throughput x%.2f (target >= 3), " \
			    "cpu/GiB x%.2f (target <= 0.33), p99 x%.2f vs " \
			    "kcptun, x%.2f vs tcp (target <= 0.5 at 5%%)\n",
			    V[v], l, m[x] / m["kcptun " l],
			    c[x] / (c["kcptun " l] > 0 ? c["kcptun " l] : 1),
			    p99[x] / (p99["kcptun " l] > 0 ? p99["kcptun " l] : 1),
			    p99[x] / (p99["tcp " l] > 0 ? p99["tcp " l] : 1);
	}
}' "$T/figures"
