#!/bin/sh
# bench-tunnel.sh: vp-tunnel over TCP against a plain TCP relay (socat)
# and v2ray with mux, on loopback.
#
#   VP_BUILD=build sh scripts/bench/bench-tunnel.sh [BYTES] [IDLE]
#
#   bulk, 1 stream       BYTES (default 2 GB) through each path
#   bulk, 16 streams     BYTES/16 each, at once: aggregate and per-stream
#                        Gbit/s, spread = (max - min) / mean
#   stream open          short connections (1-byte echo, close), 8 at a
#                        time, through each path: connections/s
#   idle streams         IDLE (default 10000) streams held open through
#                        the tunnel: RSS growth of the client and server
#                        vp-tunnel processes, bytes per stream
#
# Paths: direct (no relay), socat (TCP-LISTEN,fork relay: one process per
# connection), vp-tunnel (client -> TCP link -> server -f sink: one TCP
# connection carrying every stream), v2ray (dokodemo-door -> vmess with
# mux.enabled -> vmess -> freedom), when v2ray is installed.
# Targets (issue 4): 1 stream >= 70% of socat; 16 streams within 25% of
# their mean; <= 4 KiB per idle stream. Loopback only; every process it
# starts is ended by pid.
set -u
B=${VP_BUILD:-build}
BIN=$B/bin
TOOL=$B/tools/tunnel_bench
BYTES=${1:-2000000000}
IDLE=${2:-10000}
[ -x "$TOOL" ] && [ -x "$BIN/vp-tunnel" ] || {
	echo "build first: make BUILD=$B" >&2; exit 1; }
command -v socat >/dev/null 2>&1 || { echo "missing socat" >&2; exit 1; }
T=$(mktemp -d /tmp/vp-bench.XXXXXX)
PIDS=""
# Processes started inside $(...) subshells record their pids in $T/pids.
trap 'for p in $PIDS $(cat "$T/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start VAR CMD...: runs CMD (prints its port first) in the background.
start() {
	_v=$1; shift
	mkfifo "$T/f.$_v"
	"$@" >"$T/f.$_v" &
	PIDS="$PIDS $!"
	eval "${_v}_PID=$!"
	read -r _p <"$T/f.$_v"
	eval "$_v=\$_p"
}
wait_port() {
	_i=0
	while [ $_i -lt 200 ] && ! python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null; do
		_i=$((_i + 1)); sleep 0.05
	done
}
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
ratio() { python3 -c "print('%.0f%%' % (100.0 * $1 / $2 if $2 else 0))"; }
spread() {	# per-stream figures -> "min max, farthest from the mean"
	python3 -c "
import sys
v=[float(x) for x in sys.argv[1:]]
m=sum(v)/len(v)
d=max(abs(x-m) for x in v)
print('min %.2f max %.2f, farthest %.0f%% from the mean' % (min(v), max(v), 100*d/m if m else 0))" "$@"
}

start SINK "$TOOL" sink
start ECHO "$TOOL" echo

# socat relays (fork: one process per connection)
SS=$(free_port); SE=$(free_port)
socat "TCP-LISTEN:$SS,bind=127.0.0.1,fork,reuseaddr,backlog=1024" "TCP:127.0.0.1:$SINK" & PIDS="$PIDS $!"
socat "TCP-LISTEN:$SE,bind=127.0.0.1,fork,reuseaddr,backlog=1024" "TCP:127.0.0.1:$ECHO" & PIDS="$PIDS $!"
wait_port "$SS"; wait_port "$SE"

# vp-tunnel: one server per target, one client each
start VS_SINK "$BIN/vp-tunnel" server -1 -q -f "tcp:127.0.0.1:$SINK" tcp:127.0.0.1:0
start VC_SINK "$BIN/vp-tunnel" client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$VS_SINK"
start VS_ECHO "$BIN/vp-tunnel" server -1 -q -f "tcp:127.0.0.1:$ECHO" tcp:127.0.0.1:0
start VC_ECHO "$BIN/vp-tunnel" client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$VS_ECHO"

# v2ray with mux
V2=""
if command -v v2ray >/dev/null 2>&1; then
	UUID=b831381d-6324-4d53-ad4f-8cda48b30811
	v2pair() {	# v2pair TARGETPORT -> prints the client's port
		_vs=$(free_port); _vc=$(free_port)
		cat >"$T/v2s.$1.json" <<EOF
{"log":{"loglevel":"none"},
 "inbounds":[{"listen":"127.0.0.1","port":$_vs,"protocol":"vmess",
   "settings":{"clients":[{"id":"$UUID","alterId":0}]}}],
 "outbounds":[{"protocol":"freedom"}]}
EOF
		cat >"$T/v2c.$1.json" <<EOF
{"log":{"loglevel":"none"},
 "inbounds":[{"listen":"127.0.0.1","port":$_vc,"protocol":"dokodemo-door",
   "settings":{"address":"127.0.0.1","port":$1,"network":"tcp"}}],
 "outbounds":[{"protocol":"vmess","mux":{"enabled":true,"concurrency":16},
   "settings":{"vnext":[{"address":"127.0.0.1","port":$_vs,
     "users":[{"id":"$UUID","alterId":0,"security":"none"}]}]}}]}
EOF
		# (a subshell: $PIDS would not reach the trap)
		v2ray -config "$T/v2s.$1.json" >/dev/null 2>&1 & echo $! >>"$T/pids"
		v2ray -config "$T/v2c.$1.json" >/dev/null 2>&1 & echo $! >>"$T/pids"
		wait_port "$_vs"; wait_port "$_vc"
		echo "$_vc"
	}
	V2_SINK=$(v2pair "$SINK")
	V2_ECHO=$(v2pair "$ECHO")
	V2=1
fi

echo "loopback, $(nproc) cores; bulk: $BYTES bytes"
echo
echo "== bulk, 1 stream (Gbit/s)"
D1=$("$TOOL" send "$SINK" "$BYTES" | cut -d' ' -f1)
S1=$("$TOOL" send "$SS" "$BYTES" | cut -d' ' -f1)
T1=$("$TOOL" send "$VC_SINK" "$BYTES" | cut -d' ' -f1)
printf '%-12s %8s\n' direct "$D1" socat "$S1" vp-tunnel "$T1"
[ -n "$V2" ] && { X1=$("$TOOL" send "$V2_SINK" "$BYTES" | cut -d' ' -f1); printf '%-12s %8s\n' "v2ray mux" "$X1"; }
echo "vp-tunnel / socat: $(ratio "$T1" "$S1") (target >= 70%)"
[ -n "$V2" ] && echo "vp-tunnel / v2ray mux: $(ratio "$T1" "$X1")"

echo
echo "== bulk, 16 streams at once (aggregate Gbit/s; per stream)"
PER=$((BYTES / 16))
for path in "socat $SS" "vp-tunnel $VC_SINK" ${V2:+"v2ray-mux $V2_SINK"}; do
	set -- $path
	r=$("$TOOL" send "$2" "$PER" 16)
	agg=${r%% *}
	# shellcheck disable=SC2086
	printf '%-12s %8s   %s\n' "$1" "$agg" "$(spread ${r#* })"
done
echo "(target: every vp-tunnel stream within 25% of the mean)"

echo
echo "== stream open: 1-byte echo + close, 8 in parallel (per second)"
N=4000
DO=$("$TOOL" open "$ECHO" $N 8)
SO=$("$TOOL" open "$SE" $N 8)
TO=$("$TOOL" open "$VC_ECHO" $N 8)
printf '%-12s %8s\n' "direct TCP" "$DO" socat "$SO" vp-tunnel "$TO"
[ -n "$V2" ] && { XO=$("$TOOL" open "$V2_ECHO" $N 8); printf '%-12s %8s\n' "v2ray mux" "$XO"; }
echo "vp-tunnel streams/s vs new TCP connections: $(ratio "$TO" "$DO"); vs socat: $(ratio "$TO" "$SO")"

echo
echo "== $IDLE idle streams through vp-tunnel"
c0=$(rss "$VC_ECHO_PID"); s0=$(rss "$VS_ECHO_PID")
mkfifo "$T/hold"
"$TOOL" idle "$VC_ECHO" "$IDLE" <"$T/hold" >"$T/idle.out" &
IP=$!
PIDS="$PIDS $IP"
exec 7>"$T/hold"
i=0
while [ $i -lt 1200 ] && ! grep -q . "$T/idle.out"; do i=$((i + 1)); sleep 0.05; done
cat "$T/idle.out"
c1=$(rss "$VC_ECHO_PID"); s1=$(rss "$VS_ECHO_PID")
exec 7>&-
wait "$IP" 2>/dev/null
python3 -c "
c=($c1-$c0)*1024.0/$IDLE; s=($s1-$s0)*1024.0/$IDLE
print('client RSS %d -> %d kB: %.0f bytes/stream' % ($c0, $c1, c))
print('server RSS %d -> %d kB: %.0f bytes/stream' % ($s0, $s1, s))
print('per stream, both ends: %.0f bytes (target <= 4096 per end)' % (c+s))"
echo "(user-space memory only: kernel socket buffers are not in RSS; the server's"
echo " streams are -f connections to the echo server, so no process per stream)"
