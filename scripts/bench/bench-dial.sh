#!/bin/sh
# bench-dial.sh: the relay inside vp-dial against socat, on loopback.
#
#   VP_BUILD=build sh scripts/bench/bench-dial.sh [BYTES]
#
# Bulk transfer (default 1 GiB, best of $REPEAT runs) from a sender to a
# sink (tests/tools/bench_dialxfer):
#   direct                  sender -> sink
#   vp-dial (inetd)         systemd-socket-activate --accept --inetd vp-dial
#   socat STDIO (inetd)     the same harness running socat STDIO TCP:...
#   socat -b1M STDIO        the same with a 1 MiB socat buffer
#   socat fork relay        socat TCP-LISTEN:...,fork TCP:...
#   vp-listen + vp-dial     the port forwarder (if vp-listen is built)
# then a connection rate (CONNS short connections from 8 parallel
# clients) through socat fork and vp-listen + vp-dial, and the one-byte
# round-trip time through vp-dial (interactive latency). Prints Gbit/s,
# the relay's CPU seconds per GiB (user+sys of the relay processes, from
# /usr/bin/time; for vp-listen + vp-dial from /proc over vp-listen's
# whole process tree, proctree.py) and the ratios against the issue's
# targets.
# Loopback only; every process it starts is ended by pid.
set -u
B=${VP_BUILD:-build}
BIN=$B/bin
TOOL=$B/tools/bench_dialxfer
BYTES=${1:-1073741824}
CONNS=${CONNS:-3000}
REPEAT=${REPEAT:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
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
wait_port() {
	_i=0
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),1).close()" 2>/dev/null && [ $_i -lt 100 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
}
cpu() {	# FILE with "user sys" -> CPU s per GiB
	python3 -c "u,s=map(float,open('$1').read().split()[-2:]); print('%.2f' % ((u+s)/$GIB))"
}
best() {	# best of "secs gbit" lines on stdin -> gbit
	sort -k2 -n -r | head -n 1 | cut -d' ' -f2
}

mkfifo "$T/sinkport"
"$TOOL" sink >"$T/sinkport" &
PIDS="$PIDS $!"
read -r S <"$T/sinkport"

echo "bulk: $BYTES bytes per run ($GIB GiB), best of $REPEAT, loopback, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-22s %10s %12s\n' relay Gbit/s "CPU s/GiB"

i=0
: >"$T/direct"
while [ $i -lt "$REPEAT" ]; do
	"$TOOL" send "$S" "$BYTES" >>"$T/direct"
	i=$((i + 1))
done
G_direct=$(best <"$T/direct")
printf '%-22s %10s %12s\n' direct "$G_direct" -

# inetd VAR NAME CMD...: the relay CMD per connection, stdin/stdout the socket
inetd() {
	_var=$1 _name=$2; shift 2
	_p=$(free_port)
	systemd-socket-activate -l "127.0.0.1:$_p" --accept --inetd \
	    /usr/bin/time -a -o "$T/time.$_var" -f '%U %S' "$@" \
	    2>"$T/ssa.$_var" &
	_pid=$!
	PIDS="$PIDS $_pid"
	wait_line "$T/ssa.$_var" 'Listening on'
	_i=0
	: >"$T/g.$_var"
	while [ $_i -lt "$REPEAT" ]; do
		"$TOOL" send "$_p" "$BYTES" >>"$T/g.$_var"
		_i=$((_i + 1))
	done
	_j=0	# every run's time record written
	while [ "$(wc -l <"$T/time.$_var")" -lt "$REPEAT" ] && [ $_j -lt 200 ]; do
		_j=$((_j + 1)); sleep 0.05
	done
	kill "$_pid" 2>/dev/null
	_g=$(best <"$T/g.$_var")
	_c=$(python3 -c "
l=[sum(map(float,x.split()[-2:])) for x in open('$T/time.$_var') if x.strip()]
print('%.2f' % (min(l)/$GIB))")
	printf '%-22s %10s %12s\n' "$_name" "$_g" "$_c"
	eval "G_$_var=\$_g C_$_var=\$_c"
}
inetd vp "vp-dial" "$BIN/vp-dial" 127.0.0.1 "$S"
inetd socat "socat STDIO" socat STDIO TCP:127.0.0.1:"$S"
inetd socatb "socat -b1M STDIO" socat -b 1048576 STDIO TCP:127.0.0.1:"$S"

# socat's usual fork relay: bulk only, CPU of socat and its reaped children
P=$(free_port)
/usr/bin/time -o "$T/time.fork" -f '%U %S' \
    socat TCP-LISTEN:"$P",bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:"$S" &
SP=$!
PIDS="$PIDS $SP"
wait_port "$P"
: >"$T/g.fork"
i=0
while [ $i -lt "$REPEAT" ]; do
	"$TOOL" send "$P" "$BYTES" >>"$T/g.fork"
	i=$((i + 1))
done
pkill -TERM -P "$SP" 2>/dev/null	# socat itself, so time reports
wait_file "$T/time.fork"
G_fork=$(best <"$T/g.fork")
C_fork=$(python3 -c "u,s=map(float,open('$T/time.fork').read().split()[-2:]); print('%.2f' % ((u+s)/$GIB/$REPEAT))")
printf '%-22s %10s %12s\n' "socat fork relay" "$G_fork" "$C_fork"

# vp-listen + vp-dial: vp-listen hands connections to an engine (its
# child, which outlives it on SIGTERM and is never waited for), so
# /usr/bin/time on vp-listen misses the relaying; the CPU is read from
# /proc for vp-listen and every descendant, live or reaped
# (proctree.py, as bench-relay.sh does), before and after each run.
G_vpl="" C_vpl=""
if [ -x "$BIN/vp-listen" ]; then
	mkfifo "$T/lport"
	"$BIN/vp-listen" -1 -c 64 tcp:127.0.0.1:0 "$BIN/vp-dial" 127.0.0.1 "$S" \
	    >"$T/lport" 2>/dev/null &
	LP=$!
	PIDS="$PIDS $LP"
	read -r PL <"$T/lport"
	: >"$T/g.vpl"
	: >"$T/c.vpl"
	TCK=$(getconf CLK_TCK)
	i=0
	while [ $i -lt "$REPEAT" ]; do
		n0=$(python3 "$HERE/proctree.py" "$LP" count)
		c0=$(python3 "$HERE/proctree.py" "$LP" ticks)
		"$TOOL" send "$PL" "$BYTES" >>"$T/g.vpl"
		_j=0	# the connection's vp-dial gone (reaped: counted)
		while [ "$(python3 "$HERE/proctree.py" "$LP" count)" -gt "$n0" ] &&
		    [ $_j -lt 200 ]; do
			_j=$((_j + 1)); sleep 0.05
		done
		c1=$(python3 "$HERE/proctree.py" "$LP" ticks)
		python3 -c "print('%.2f' % (($c1 - $c0) / $TCK / $GIB))" >>"$T/c.vpl"
		i=$((i + 1))
	done
	kill "$LP"
	G_vpl=$(best <"$T/g.vpl")
	C_vpl=$(sort -n "$T/c.vpl" | head -n 1)
	printf '%-22s %10s %12s\n' "vp-listen + vp-dial" "$G_vpl" \
	    "$C_vpl (vp-listen, its engine and vp-dials)"
fi

echo
echo "connection rate: $CONNS connections, 8 parallel clients, 1 byte each way"
P=$(free_port)
socat TCP-LISTEN:"$P",bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:"$S" &
SP=$!
PIDS="$PIDS $SP"
wait_port "$P"
R_socat=$("$TOOL" rate "$P" "$CONNS" 8 | cut -d' ' -f2)
kill "$SP"
echo "  socat fork relay       $R_socat conn/s"
R_vp=""
if [ -x "$BIN/vp-listen" ]; then
	mkfifo "$T/lport2"
	"$BIN/vp-listen" -1 -c 64 tcp:127.0.0.1:0 "$BIN/vp-dial" 127.0.0.1 "$S" \
	    >"$T/lport2" 2>/dev/null &
	LP=$!
	PIDS="$PIDS $LP"
	read -r PL <"$T/lport2"
	R_vp=$("$TOOL" rate "$PL" "$CONNS" 8 | cut -d' ' -f2)
	kill "$LP"
	echo "  vp-listen + vp-dial    $R_vp conn/s"
fi

echo
RTT=$(python3 "$HERE/../../tests/integration/dial_peer.py" pingpong 200 "$BIN/vp-dial")
echo "interactive: 200 one-byte round trips through vp-dial in ${RTT}s"

echo
python3 - "$G_direct" "$G_vp" "$C_vp" "$G_socat" "$C_socat" "$G_socatb" \
    "$C_socatb" "$G_fork" "$C_fork" "${G_vpl:-0}" "$R_socat" "${R_vp:-0}" <<'EOF'
import sys
d, gv, cv, gs, cs, gb, cb, gf, cf, gl, rs, rv = map(float, sys.argv[1:])
print("vp-dial / direct             %.2f  (target >= 0.70)" % (gv / d))
print("vp-dial / socat fork         %.2f  (target >= 2.5)" % (gv / gf))
print("vp-dial / socat STDIO        %.2f" % (gv / gs))
print("vp-dial / socat -b1M STDIO   %.2f" % (gv / gb))
print("CPU/GiB vp-dial / socat fork %.2f  (target <= 0.33)" % (cv / cf))
print("CPU/GiB vp-dial / socat STDIO %.2f" % (cv / cs))
if gl > 0:
    print("vp-listen+vp-dial / direct   %.2f" % (gl / d))
    print("vp-listen+vp-dial / socat fork %.2f" % (gl / gf))
if rv > 0:
    print("conn/s vp / socat fork       %.2f  (target >= 2)" % (rv / rs))
EOF
