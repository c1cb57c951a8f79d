#!/bin/sh
# bench-proxy.sh: vp-listen + vp-dispatch against the SOCKS5 proxies
# people use (microsocks, dante's danted, v2ray socks -> freedom), side
# by side in one run, loopback only:
#
#   - connection rate and latency p50/p99: short requests, 8 parallel
#     clients (SOCKS5 greeting, CONNECT 127.0.0.1, 18-byte request,
#     100-byte response, close);
#   - bulk throughput of one connection (Gbit/s) and the proxy's CPU
#     seconds per GiB (user+sys of its whole process tree, from /proc);
#   - memory per idle proxied connection: PSS of the proxy's process
#     tree with N idle connections open, minus before, divided by N;
#   - rules: compile time of 200,000 domain + 50,000 CIDR rules, the
#     per-connection cost of mapping and matching them, and the rate
#     with them versus without.
#
#   VP_BUILD=build sh scripts/bench/bench-proxy.sh
#   VP_STATIC_BUILD=build-static ...   also runs a STATIC=1 build
#
# Knobs: BENCH_SECS (rate run, default 4), BENCH_BULK (bytes, default
# 2 GiB), BENCH_IDLE (connections, default 200), BENCH_THREADS (8).
# Every process it starts is ended by pid.
set -u
B=${VP_BUILD:-build}
SB=${VP_STATIC_BUILD:-}
SECS=${BENCH_SECS:-4}
BULK=${BENCH_BULK:-2147483648}
IDLE=${BENCH_IDLE:-200}
THREADS=${BENCH_THREADS:-8}
LOAD=$B/tools/bench_proxy_load
[ -x "$LOAD" ] && [ -x "$B/tools/bench_proxy_rules" ] && [ -x "$B/bin/vp-dispatch" ] || {
	echo "build first: make BUILD=$B" >&2; exit 1; }
T=$(mktemp -d /tmp/vp-bench-proxy.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_tcp() {
	_i=0
	while [ $_i -lt 200 ]; do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1).close()" \
		    2>/dev/null && return 0
		_i=$((_i + 1)); sleep 0.05
	done
	return 1
}
# start_port VAR CMD...: start CMD (prints its port first), set VAR.
start_port() {
	_v=$1; shift
	_f=$T/port.$#.$(date +%s%N)
	mkfifo "$_f"
	"$@" >"$_f" &
	PIDS="$PIDS $!"
	LAST=$!
	read -r _p <"$_f"
	rm -f "$_f"
	eval "$_v=\$_p"
}
# tree PID cpu|pss: CPU seconds (incl. reaped children) or PSS KiB of
# PID and all its descendants.
tree() {
	python3 "$(dirname "$0")/proctree.py" "$1" "$2"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "/^$2\$/{n;p;}"; }

# ---- origins
start_port OSHORT "$LOAD" origin-short
start_port OBULK "$LOAD" origin-bulk "$BULK"
start_port OHOLD "$LOAD" origin-hold

# ---- proxies: NAME PORT PID
PROXIES=""
add_proxy() { PROXIES="$PROXIES $1:$2:$3"; }

start_port P "$B/bin/vp-listen" -1 -q -c 10000 tcp:127.0.0.1:0 "$B/bin/vp-dispatch" -q
add_proxy vp "$P" "$LAST"
if [ -n "$SB" ] && [ -x "$SB/bin/vp-listen" ]; then
	start_port P "$SB/bin/vp-listen" -1 -q -c 10000 tcp:127.0.0.1:0 "$SB/bin/vp-dispatch" -q
	add_proxy vp-static "$P" "$LAST"
fi
if command -v microsocks >/dev/null 2>&1; then
	P=$(free_port)
	microsocks -i 127.0.0.1 -p "$P" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_tcp "$P" && add_proxy microsocks "$P" "$!"
fi
DANTED=$(command -v danted || command -v sockd || true)
if [ -n "$DANTED" ]; then
	P=$(free_port)
	cat >"$T/danted.conf" <<EOF
logoutput: /dev/null
internal: 127.0.0.1 port = $P
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }
EOF
	"$DANTED" -f "$T/danted.conf" -p "$T/danted.pid" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_tcp "$P" && add_proxy dante "$P" "$!"
fi
if command -v v2ray >/dev/null 2>&1; then
	P=$(free_port)
	cat >"$T/v2ray.json" <<EOF
{ "log": { "loglevel": "none" },
  "policy": { "levels": { "0": { "uplinkOnly": 0, "downlinkOnly": 0 } } },
  "inbounds": [ { "listen": "127.0.0.1", "port": $P, "protocol": "socks",
    "settings": { "auth": "noauth", "udp": false } } ],
  "outbounds": [ { "protocol": "freedom" } ] }
EOF
	v2ray -config "$T/v2ray.json" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_tcp "$P" && add_proxy v2ray "$P" "$!"
fi

echo "bench-proxy: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); rate: $THREADS clients, ${SECS}s; bulk: $BULK bytes; idle: $IDLE connections"
echo
printf '%-11s %9s %9s %9s %9s %11s %10s\n' proxy "conn/s" "p50 ms" "p99 ms" "Gbit/s" "CPU s/GiB" "KiB/conn"
for e in $PROXIES; do
	name=${e%%:*}; rest=${e#*:}; port=${rest%%:*}; pid=${rest#*:}
	# warm-up, then the rate run
	"$LOAD" rate "$port" "$OSHORT" 2 0.5 >/dev/null
	r=$("$LOAD" rate "$port" "$OSHORT" "$THREADS" "$SECS")
	rate=$(field "$r" rate)
	p50=$(python3 -c "print('%.2f' % ($(field "$r" p50_us)/1000))")
	p99=$(python3 -c "print('%.2f' % ($(field "$r" p99_us)/1000))")
	# bulk with CPU of the proxy's process tree
	c0=$(tree "$pid" cpu)
	b=$("$LOAD" bulk "$port" "$OBULK")
	# let per-connection processes exit and be reaped (bounded)
	i=0
	while [ $i -lt 40 ] && [ "$(pgrep -P "$pid" | wc -l)" -gt 0 ] &&
	    [ "$name" != dante ]; do
		i=$((i + 1)); sleep 0.05
	done
	c1=$(tree "$pid" cpu)
	gbit=$(field "$b" gbit)
	bytes=$(field "$b" bytes)
	cpu=$(python3 -c "print('%.2f' % (($c1-$c0)/($bytes/1073741824)))" 2>/dev/null || echo "?")
	# memory per idle connection
	m0=$(tree "$pid" pss)
	mkfifo "$T/idle.in"
	"$LOAD" idle "$port" "$OHOLD" "$IDLE" <"$T/idle.in" >"$T/idle.out" &
	ipid=$!
	exec 9>"$T/idle.in"
	i=0
	while ! grep -q ready "$T/idle.out" 2>/dev/null && [ $i -lt 1200 ]; do
		i=$((i + 1)); sleep 0.05
	done
	n=$(sed -n 's/ready //p' "$T/idle.out")
	m1=$(tree "$pid" pss)
	exec 9>&-
	wait "$ipid" 2>/dev/null
	rm -f "$T/idle.in"
	kib=$(python3 -c "print('%.1f' % (($m1-$m0)/max(1,${n:-0})))")
	[ "${n:-0}" = "$IDLE" ] || kib="$kib(n=$n)"
	printf '%-11s %9s %9s %9s %9s %11s %10s\n' "$name" "$rate" "$p50" "$p99" "$gbit" "$cpu" "$kib"
	echo "$name $rate $p50 $p99 $gbit $cpu $kib" >>"$T/results"
	# let idle processes wind down before the next proxy
	i=0
	while [ $i -lt 100 ] && [ "$(pgrep -P "$pid" | wc -l)" -gt 2 ] &&
	    [ "$name" != dante ]; do
		i=$((i + 1)); sleep 0.05
	done
done

echo
python3 - "$T/results" <<'EOF'
import sys
rows = {}
for ln in open(sys.argv[1]):
    f = ln.split()
    rows[f[0]] = f[1:]
def num(x):
    try:
        return float(x.split("(")[0])
    except ValueError:
        return None
others = [k for k in rows if not k.startswith("vp")]
for vp in [k for k in rows if k.startswith("vp")]:
    v = rows[vp]
    for i, what, better in ((0, "conn/s", "higher"), (3, "Gbit/s", "higher"),
                            (4, "CPU s/GiB", "lower"), (5, "KiB/conn", "lower")):
        ref = [(num(rows[o][i]), o) for o in others if num(rows[o][i])]
        if not ref or not num(v[i]):
            continue
        best = max(ref) if better == "higher" else min(ref)
        print("%-9s %-10s %8.2f  vs best other (%s %.2f): ratio %.2f" %
              (vp, what, num(v[i]), best[1], best[0], num(v[i]) / best[0]))
EOF

# ---- rules: 200,000 domains + 50,000 CIDRs
echo
python3 - "$T" <<'EOF'
import random, sys
d = sys.argv[1]
random.seed(7)
with open(d + "/domains.txt", "w") as f:
    for i in range(200000):
        f.write("h%d-%x.zone%d.example\n" % (i, random.getrandbits(24), i % 1000))
with open(d + "/nets.txt", "w") as f:
    for i in range(50000):
        f.write("%d.%d.%d.0/24\n" % (11 + i // 65536, (i // 256) % 256, i % 256))
EOF
cat >"$T/rules" <<EOF
outbound d direct
outbound deny reject
route deny domain-list:$T/domains.txt
route deny ip-list:$T/nets.txt
default d
EOF
cat >"$T/rules0" <<EOF
outbound d direct
default d
EOF
chmod 644 "$T/rules" "$T/rules0" "$T/domains.txt" "$T/nets.txt"
t0=$(date +%s%N)
"$B/bin/vp-dispatch" -C "$T/rules"
t1=$(date +%s%N)
"$B/bin/vp-dispatch" -C "$T/rules0"
echo "rules: compile 200,000 domains + 50,000 CIDRs: $(( (t1 - t0) / 1000000 )) ms, compiled size $(( $(stat -c %s "$T/rules.vprc") / 1024 )) KiB"
LISTED=www.$(sed -n '100000p' "$T/domains.txt")
for h in 127.0.0.1 11.0.200.7 www.not-listed.example.org "$LISTED"; do
	big=$("$B/tools/bench_proxy_rules" "$T/rules" 20000 "$h" 80)
	none=$("$B/tools/bench_proxy_rules" "$T/rules0" 20000 "$h" 80)
	echo "rules: map+match per connection for $h: 250k rules $(field "$big" us_per_conn) us ($(field "$big" route)), no rules $(field "$none" us_per_conn) us"
done
start_port P0 "$B/bin/vp-listen" -1 -q -c 10000 tcp:127.0.0.1:0 "$B/bin/vp-dispatch" -q -r "$T/rules0"
start_port P1 "$B/bin/vp-listen" -1 -q -c 10000 tcp:127.0.0.1:0 "$B/bin/vp-dispatch" -q -r "$T/rules"
r0=$("$LOAD" rate "$P0" "$OSHORT" "$THREADS" "$SECS")
r1=$("$LOAD" rate "$P1" "$OSHORT" "$THREADS" "$SECS")
echo "rules: vp rate with 1-line rules $(field "$r0" rate)/s p50 $(field "$r0" p50_us) us; with 250k rules $(field "$r1" rate)/s p50 $(field "$r1" p50_us) us"
