#!/bin/sh
# bench-dial.sh: the relay inside vp-dial against socat, on loopback.
#
#   VP_BUILD=build sh scripts/bench/bench-dial.sh [BYTES]
#
# Bulk transfer (default 2 GiB) from a sender to a sink:
#   direct                    sender -> sink
#   vp-dial (inetd)           systemd-socket-activate --accept --inetd vp-dial
#   socat STDIO (inetd)       the same harness running socat STDIO TCP:...
#   socat fork relay          socat TCP-LISTEN:...,fork TCP:...
#   vp-listen + vp-dial       the port forwarder (if vp-listen is built)
# and a connection rate (short connections, 8 parallel clients) through
# socat fork and vp-listen + vp-dial. Prints Gbit/s, the relay's CPU
# seconds per GiB (user+sys, from /usr/bin/time) and the ratios.
# Loopback only; every process it starts is ended by pid.
set -u
B=${VP_BUILD:-build}
BIN=$B/bin
TOOL=$B/tools/bench_dialxfer
BYTES=${1:-2147483648}
CONNS=${CONNS:-4000}
[ -x "$TOOL" ] && [ -x "$BIN/vp-dial" ] || {
	echo "build first: make BUILD=$B" >&2; exit 1; }
for p in socat systemd-socket-activate /usr/bin/time python3; do
	command -v "$p" >/dev/null 2>&1 || { echo "missing $p" >&2; exit 1; }
done
T=$(mktemp -d /tmp/vp-bench.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
GIB=$(python3 -c "print($BYTES/1073741824)")

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_line() {	# wait_line FILE REGEX: bounded
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $_i -lt 200 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
}
wait_file() {
	_i=0
	while [ ! -s "$1" ] && [ $_i -lt 400 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
}
cpu_per_gib() {	# FILE with "user sys"
	python3 -c "u,s=map(float,open('$1').read().split()[-2:]); print('%.2f' % ((u+s)/$GIB))"
}

mkfifo "$T/sinkport"
"$TOOL" sink >"$T/sinkport" &
PIDS="$PIDS $!"
read -r S <"$T/sinkport"

echo "bulk: $BYTES bytes per run ($GIB GiB), loopback"
printf '%-24s %10s %12s\n' relay Gbit/s "CPU s/GiB"

r=$("$TOOL" send "$S" "$BYTES")
DIRECT=$(echo "$r" | cut -d' ' -f2)
printf '%-24s %10s %12s\n' direct "$DIRECT" -

# inetd harness: $1 variable suffix, $2 name, rest the relay command
inetd() {
	_var=$1 _name=$2; shift 2
	_p=$(free_port)
	rm -f "$T/time"
	systemd-socket-activate -l "127.0.0.1:$_p" --accept --inetd \
	    /usr/bin/time -o "$T/time" -f '%U %S' "$@" 2>"$T/ssa.log" &
	_pid=$!
	PIDS="$PIDS $_pid"
	wait_line "$T/ssa.log" 'Listening on'
	_r=$("$TOOL" send "$_p" "$BYTES")
	wait_file "$T/time"
	kill "$_pid" 2>/dev/null
	_g=$(echo "$_r" | cut -d' ' -f2)
	printf '%-24s %10s %12s\n' "$_name" "$_g" "$(cpu_per_gib "$T/time")"
	eval "G_$_var=\$_g"
	eval "C_$_var=\$(cpu_per_gib \"\$T/time\")"
}
inetd vp "vp-dial" "$BIN/vp-dial" 127.0.0.1 "$S"
inetd socat "socat STDIO" socat STDIO TCP:127.0.0.1:"$S"

# socat's usual fork relay, CPU of the parent and its reaped children
P=$(free_port)
rm -f "$T/time"
/usr/bin/time -o "$T/time" -f '%U %S' \
    socat TCP-LISTEN:"$P",bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:"$S" &
SP=$!
PIDS="$PIDS $SP"
i=0
while ! python3 -c "import socket; socket.create_connection(('127.0.0.1',$P),1).close()" 2>/dev/null && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.05
done
r=$("$TOOL" send "$P" "$BYTES")
G_socat_fork=$(echo "$r" | cut -d' ' -f2)
RATE_SOCAT=$("$TOOL" rate "$P" "$CONNS" 8 | cut -d' ' -f2)
# end socat itself (the child of time), so time reports
pkill -TERM -P "$SP" 2>/dev/null
wait_file "$T/time"
C_socat_fork=$(cpu_per_gib "$T/time")
printf '%-24s %10s %12s\n' "socat fork relay" "$G_socat_fork" "$C_socat_fork (incl. $CONNS conns)"

if [ -x "$BIN/vp-listen" ]; then
	mkfifo "$T/lport"
	rm -f "$T/time"
	/usr/bin/time -o "$T/time" -f '%U %S' "$BIN/vp-listen" -1 -c 64 \
	    tcp:127.0.0.1:0 "$BIN/vp-dial" 127.0.0.1 "$S" >"$T/lport" 2>/dev/null &
	LP=$!
	PIDS="$PIDS $LP"
	read -r P <"$T/lport"
	r=$("$TOOL" send "$P" "$BYTES")
	G_vpl=$(echo "$r" | cut -d' ' -f2)
	RATE_VP=$("$TOOL" rate "$P" "$CONNS" 8 | cut -d' ' -f2)
	pkill -TERM -P "$LP" 2>/dev/null	# vp-listen, the child of time
	wait_file "$T/time"
	printf '%-24s %10s %12s\n' "vp-listen + vp-dial" "$G_vpl" "$(cpu_per_gib "$T/time") (incl. $CONNS conns)"
fi

echo
python3 - "$DIRECT" "$G_vp" "$C_vp" "$G_socat" "$C_socat" \
    "$G_socat_fork" "$C_socat_fork" <<'EOF'
import sys
d, gv, cv, gs, cs, gf, cf = map(float, sys.argv[1:])
print("vp-dial / direct          %.2f   (target >= 0.70)" % (gv / d))
print("vp-dial / socat fork      %.2f   (target >= 2.5)" % (gv / gf))
print("vp-dial / socat STDIO     %.2f" % (gv / gs))
if cs > 0:
    print("CPU/GiB vp-dial / socat   %.2f   (target <= 0.33, vs socat STDIO)" % (cv / cs))
EOF
if [ -n "${RATE_VP:-}" ]; then
	echo "conn/s: vp-listen+vp-dial $RATE_VP, socat fork $RATE_SOCAT" \
	    "(ratio $(python3 -c "print('%.2f' % ($RATE_VP/$RATE_SOCAT))"), target >= 2)"
fi
