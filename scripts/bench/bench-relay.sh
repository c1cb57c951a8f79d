#!/bin/sh
# bench-relay.sh: the issue-2 benchmark. A TCP port forwarder on loopback
# made of vp-listen + vp-dial against socat's fork mode and tcpserver
# (ucspi-tcp) running socat, with a direct connection as the ceiling.
#
#   make BUILD=build && VP_BUILD=build sh scripts/bench/bench-relay.sh
#   make STATIC=1 BUILD=build-static && VP_BUILD=build-static sh ...
#                     (statically linked: each connection's exec is cheaper)
#
#   BYTES=2147483648  bulk bytes per run (>= 1 GiB)   RUNS=5  median of
#   CONNS=3000        short connections per relay     PAR=8   clients
#   ENDS="128k 1m iperf3"  the bulk sender/receiver pairs to use
#
# Bulk, with several sender/receiver pairs, each through every relay:
#   128k, 256k, 1m, ... (any SIZE)
#             tests/tools/bench_dialxfer: the sender write(2)s SIZE
#             bytes at a time, the sink read(2)s 1 MiB at a time. The
#             sender's write size decides how fast "direct" is: 128 KiB
#             is what cat(1) and iperf3 write; with 1 MiB writes a
#             direct loopback connection goes about twice as fast and
#             a relay's extra hop shows most.
#   iperf3    the throughput tool people use (128 KiB writes, select(2)
#             per write); skipped when it is not installed.
# The figure is the median of RUNS runs (each run's line is on stderr).
# Rate: tests/tools/bench_connrate opens CONNS connections (PAR at a
# time), each answered with one byte by the backend and closed.
# CPU: user+sys of the relay's listening process and its reaped children
# (/proc/PID/stat utime+stime+cutime+cstime) per GiB moved.
# Loopback only; every process it starts is ended by pid.
set -u
B=${VP_BUILD:-build}
BIN=$B/bin
BULK=$B/tools/bench_dialxfer
RATE=$B/tools/bench_connrate
BYTES=${BYTES:-2147483648}
RUNS=${RUNS:-5}
ENDS=${ENDS:-128k 1m iperf3}
CONNS=${CONNS:-3000}
PAR=${PAR:-8}
for f in "$BIN/vp-listen" "$BIN/vp-dial" "$BULK" "$RATE"; do
	[ -x "$f" ] || { echo "build first: make BUILD=$B ($f missing)" >&2; exit 1; }
done
for p in socat python3; do
	command -v "$p" >/dev/null 2>&1 || { echo "missing $p (scripts/deps.sh)" >&2; exit 1; }
done
if ! command -v tcpserver >/dev/null 2>&1; then
	echo "tcpserver missing: apt-get install ucspi-tcp" >&2
	apt-get install -y -q ucspi-tcp >/dev/null 2>&1 || true
fi
HAVE_TCPSERVER=0
command -v tcpserver >/dev/null 2>&1 && HAVE_TCPSERVER=1
for e in $ENDS; do
	case $e in
	iperf3) ;;
	*[!0-9kKmM]* | [!0-9]* | *[kKmM]?*)
		echo "bench-relay: ENDS: $e is neither a write size (128k, 1m, 65536) nor iperf3" >&2
		exit 64
		;;
	esac
done
case " $ENDS " in
*" iperf3 "*)
	if ! command -v iperf3 >/dev/null 2>&1; then
		echo "iperf3 missing: apt-get install iperf3" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 \
		    >/dev/null 2>&1 || true
	fi
	command -v iperf3 >/dev/null 2>&1 ||
	    ENDS=$(echo " $ENDS " | sed 's/ iperf3 / /')
	;;
esac

T=$(mktemp -d /tmp/vp-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
TCK=$(getconf CLK_TCK)

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port_file() {	# FILE: bounded wait for a port number in it
	_i=0
	while ! grep -q '^[0-9][0-9]*$' "$1" 2>/dev/null && [ $_i -lt 200 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
	head -n 1 "$1"
}
wait_listen() {	# PORT: bounded wait until something listens there
	_i=0
	while ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q LISTEN && [ $_i -lt 200 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
}
cpu_ticks() {	# PID: utime+stime+cutime+cstime of PID and its descendants
	python3 "$(dirname "$0")/proctree.py" "$1" ticks 2>/dev/null || echo 0
}
wait_children() {	# PID N: bounded wait until it has at most N descendants
	_i=0
	while [ "$(python3 "$(dirname "$0")/proctree.py" "$1" count)" -gt "$2" ] && [ $_i -lt 400 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
}

# Backends.
"$BULK" sink >"$T/sink.port" &
PIDS="$PIDS $!"
SINK=$(wait_port_file "$T/sink.port")
"$RATE" serve 0 >"$T/rate.port" &
PIDS="$PIDS $!"
RSRV=$(wait_port_file "$T/rate.port")
IPERF=
case " $ENDS " in
*" iperf3 "*)
	IPERF=$(free_port)
	iperf3 -s -B 127.0.0.1 -p "$IPERF" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_listen "$IPERF"
	;;
esac

# start_relay KIND BACKEND [SOCATOPT]: starts the relay, sets RP, RPID.
start_relay() {
	RP=$(free_port)
	case $1 in
	vp)
		"$BIN/vp-listen" -q -c 256 -b 1024 "tcp:127.0.0.1:$RP" \
		    "$BIN/vp-dial" -q 127.0.0.1 "$2" &
		;;
	vpP)
		# -P: a process per connection instead of the engine
		"$BIN/vp-listen" -P -q -c 256 -b 1024 "tcp:127.0.0.1:$RP" \
		    "$BIN/vp-dial" -q 127.0.0.1 "$2" &
		;;
	socat)
		socat "TCP-LISTEN:$RP,bind=127.0.0.1,fork,reuseaddr,backlog=1024" \
		    "TCP:127.0.0.1:$2" &
		;;
	tcpserver)
		# socat on stdio cannot half-close a socket it holds as
		# fds 0 and 1, so after the backend's EOF it waits -t
		# (0.5 s) for the client's: -t 0 for short connections.
		tcpserver -RHl0 -c 256 -b 1024 127.0.0.1 "$RP" \
		    socat ${3:-} - "TCP:127.0.0.1:$2" &
		;;
	esac
	RPID=$!
	PIDS="$PIDS $RPID"
	wait_listen "$RP"
}
stop_relay() {
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
}

# xfer ENDS PORT: one bulk run of BYTES; prints Gbit/s or nothing
xfer() {
	case $1 in
	iperf3)
		iperf3 -c 127.0.0.1 -p "$2" -n "$BYTES" -J 2>/dev/null |
		    python3 -c 'import json, sys
try:
    d = json.load(sys.stdin)
    print("%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    pass'
		;;
	*)
		"$BULK" send "$2" "$BYTES" "$1" | awk '{ print $2 }'
		;;
	esac
}

# bulk ENDS NAME PORT [PID]: median of RUNS; sets GB (Gbit/s) and CPU
# (s/GiB, the median of the runs' own figures).
bulk() {
	GB=-
	CPU=-
	_r=0
	: >"$T/gb"
	: >"$T/cpu"
	while [ $_r -lt "$RUNS" ]; do
		_r=$((_r + 1))
		_c0=0
		_n0=0
		[ -n "${4:-}" ] && _c0=$(cpu_ticks "$4") && \
		    _n0=$(python3 "$(dirname "$0")/proctree.py" "$4" count)
		_g=$(xfer "$1" "$3")
		[ -n "$_g" ] || { echo "  $2 run $_r ($1) failed" >&2; continue; }
		[ -n "${4:-}" ] && wait_children "$4" "$_n0"
		_cpu=-
		if [ -n "${4:-}" ]; then
			_c1=$(cpu_ticks "$4")
			_cpu=$(awk -v a="$_c0" -v b="$_c1" -v t="$TCK" -v n="$BYTES" \
			    'BEGIN { printf "%.3f", (b - a) / t / (n / 1073741824) }')
			echo "$_cpu" >>"$T/cpu"
		fi
		echo "$_g" >>"$T/gb"
		echo "  $2 run $_r ($1): $_g Gbit/s, cpu $_cpu s/GiB" >&2
	done
	GB=$(median "$T/gb")
	[ -n "${4:-}" ] && CPU=$(median "$T/cpu")
}
median() {	# FILE of numbers: the median, or - when empty
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"
		else if (NR % 2) print v[(NR + 1) / 2]
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rate() {	# NAME PORT: sets CR (conn/s)
	_out=$("$RATE" run "$2" "$CONNS" "$PAR")
	echo "  $1 rate: $_out (conns failed s conn/s)" >&2
	CR=$(echo "$_out" | awk '{ print ($2 == 0) ? $4 : "fail" }')
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

LINK=dynamic
ldd "$BIN/vp-dial" >/dev/null 2>&1 || LINK=static
echo "bench-relay: $BYTES bytes x median of $RUNS with $ENDS, $CONNS connections x $PAR parallel, $(nproc) CPUs, $LINK vp binaries, load $(cut -d' ' -f1 /proc/loadavg)" >&2

KINDS="vp vpP socat"
[ "$HAVE_TCPSERVER" = 1 ] && KINDS="$KINDS tcpserver"
backend() { [ "$1" = iperf3 ] && echo "$IPERF" || echo "$SINK"; }

rate direct "$RSRV"
D_CR=$CR
for k in $KINDS; do
	start_relay "$k" "$RSRV" "-t 0"
	rate "$k" "$RP"
	eval "${k}_CR=\$CR"
	stop_relay
done
for e in $ENDS; do
	bulk "$e" direct "$(backend "$e")"
	eval "direct_${e}_GB=\$GB"
	for k in $KINDS; do
		start_relay "$k" "$(backend "$e")"
		bulk "$e" "$k" "$RP" "$RPID"
		eval "${k}_${e}_GB=\$GB ${k}_${e}_CPU=\$CPU"
		stop_relay
	done
done

row() {	# LABEL KIND
	printf '%-30s' "$1"
	for e in $ENDS; do
		eval "_g=\${${2}_${e}_GB:-} _c=\${${2}_${e}_CPU:--}"
		printf ' %10s %9s' "$_g" "$_c"
	done
	eval "_r=\${${2}_CR:-}"
	printf ' %9s\n' "$_r"
}
echo
printf '%-30s' "Gbit/s, CPU s/GiB with:"
for e in $ENDS; do
	case $e in iperf3) printf ' %20s' iperf3 ;; *) printf ' %20s' "$e writes" ;; esac
done
printf ' %9s\n' conn/s
direct_CR=$D_CR
row direct direct
row "vp-listen + vp-dial ($LINK)" vp
row "  the same, -P (fork/conn)" vpP
row "socat fork" socat
[ "$HAVE_TCPSERVER" = 1 ] && row "tcpserver + socat" tcpserver
echo
for e in $ENDS; do
	eval "_v=\$vp_${e}_GB _s=\$socat_${e}_GB _d=\$direct_${e}_GB _vc=\$vp_${e}_CPU _sc=\$socat_${e}_CPU"
	case $e in iperf3) echo "with iperf3:" ;; *) echo "with $e writes:" ;; esac
	echo "  throughput vp/socat      $(ratio "$_v" "$_s")x   (target >= 2.5)"
	echo "  throughput vp/direct     $(ratio "$_v" "$_d")    (target >= 0.70)"
	echo "  CPU/GiB vp/socat         $(ratio "$_vc" "$_sc")    (target <= 0.33)"
	if [ "$HAVE_TCPSERVER" = 1 ]; then
		eval "_t=\$tcpserver_${e}_GB _tc=\$tcpserver_${e}_CPU"
		echo "  throughput vp/tcpserver  $(ratio "$_v" "$_t")x"
		echo "  CPU/GiB vp/tcpserver     $(ratio "$_vc" "$_tc")"
	fi
done
echo "conn/s vp/socat          $(ratio "$vp_CR" "$socat_CR")x   (target >= 2)"
[ "$HAVE_TCPSERVER" = 1 ] &&
    echo "conn/s vp/tcpserver      $(ratio "$vp_CR" "$tcpserver_CR")x"
exit 0
