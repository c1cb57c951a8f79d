#!/bin/sh
# bench-relay.sh: the issue-2 benchmark. A TCP port forwarder on loopback
# made of vp-listen + vp-dial against socat's fork mode and tcpserver
# (ucspi-tcp) running socat, with a direct connection as the ceiling.
#
#   make BUILD=build && VP_BUILD=build sh scripts/bench/bench-relay.sh
#   make STATIC=1 BUILD=build-static && VP_BUILD=build-static sh ...
#                     (statically linked: each connection's exec is cheaper)
#
#   BYTES=1073741824  bulk bytes per run (>= 1 GiB)   RUNS=2  best of
#   CONNS=3000        short connections per relay     PAR=8   clients
#
# Bulk: tests/tools/bench_dialxfer (vp-dial's bench tool) sends BYTES
# through the relay to its sink.
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
BYTES=${BYTES:-1073741824}
RUNS=${RUNS:-2}
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

# bulk NAME PORT [PID]: best of RUNS; sets GB (Gbit/s) and CPU (s/GiB).
bulk() {
	GB=0
	CPU=-
	_r=0
	while [ $_r -lt "$RUNS" ]; do
		_c0=0
		_n0=0
		[ -n "${3:-}" ] && _c0=$(cpu_ticks "$3") && \
		    _n0=$(python3 "$(dirname "$0")/proctree.py" "$3" count)
		_out=$("$BULK" send "$2" "$BYTES") || { echo "bulk $1 failed" >&2; return; }
		[ -n "${3:-}" ] && wait_children "$3" "$_n0"
		_g=$(echo "$_out" | awk '{ print $2 }')
		if [ -n "${3:-}" ]; then
			_c1=$(cpu_ticks "$3")
			_cpu=$(awk -v a="$_c0" -v b="$_c1" -v t="$TCK" -v n="$BYTES" \
			    'BEGIN { printf "%.3f", (b - a) / t / (n / 1073741824) }')
		else
			_cpu=-
		fi
		echo "  $1 run $((_r + 1)): $_out (s Gbit/s), cpu $_cpu s/GiB" >&2
		if awk -v a="$_g" -v b="$GB" 'BEGIN { exit !(a > b) }'; then
			GB=$_g
			CPU=$_cpu
		fi
		_r=$((_r + 1))
	done
}
rate() {	# NAME PORT: sets CR (conn/s)
	_out=$("$RATE" run "$2" "$CONNS" "$PAR")
	echo "  $1 rate: $_out (conns failed s conn/s)" >&2
	CR=$(echo "$_out" | awk '{ print ($2 == 0) ? $4 : "fail" }')
}

LINK=dynamic
ldd "$BIN/vp-dial" >/dev/null 2>&1 || LINK=static
echo "bench-relay: $BYTES bytes x best of $RUNS, $CONNS connections x $PAR parallel, $(nproc) CPUs, $LINK vp binaries, load $(cut -d' ' -f1 /proc/loadavg)" >&2
bulk direct "$SINK"
D_GB=$GB
rate direct "$RSRV"
D_CR=$CR

KINDS="vp vpP socat"
[ "$HAVE_TCPSERVER" = 1 ] && KINDS="$KINDS tcpserver"
for k in $KINDS; do
	start_relay "$k" "$SINK"
	bulk "$k" "$RP" "$RPID"
	eval "${k}_GB=\$GB ${k}_CPU=\$CPU"
	stop_relay
	start_relay "$k" "$RSRV" "-t 0"
	rate "$k" "$RP"
	eval "${k}_CR=\$CR"
	stop_relay
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

printf '\n%-30s %10s %12s %10s\n' relay Gbit/s "CPU s/GiB" conn/s
printf '%-30s %10s %12s %10s\n' direct "$D_GB" - "$D_CR"
printf '%-30s %10s %12s %10s\n' "vp-listen + vp-dial ($LINK)" "$vp_GB" "$vp_CPU" "$vp_CR"
printf '%-30s %10s %12s %10s\n' "  the same, -P (fork/conn)" "$vpP_GB" "$vpP_CPU" "$vpP_CR"
printf '%-30s %10s %12s %10s\n' "socat fork" "$socat_GB" "$socat_CPU" "$socat_CR"
if [ "$HAVE_TCPSERVER" = 1 ]; then
	printf '%-30s %10s %12s %10s\n' "tcpserver + socat" "$tcpserver_GB" "$tcpserver_CPU" "$tcpserver_CR"
fi
echo
echo "throughput vp/socat      $(ratio "$vp_GB" "$socat_GB")x   (target >= 2.5)"
echo "throughput vp/direct     $(ratio "$vp_GB" "$D_GB")    (target >= 0.70)"
echo "CPU/GiB vp/socat         $(ratio "$vp_CPU" "$socat_CPU")    (target <= 0.33)"
echo "conn/s vp/socat          $(ratio "$vp_CR" "$socat_CR")x   (target >= 2)"
if [ "$HAVE_TCPSERVER" = 1 ]; then
	echo "throughput vp/tcpserver  $(ratio "$vp_GB" "$tcpserver_GB")x"
	echo "CPU/GiB vp/tcpserver     $(ratio "$vp_CPU" "$tcpserver_CPU")"
	echo "conn/s vp/tcpserver      $(ratio "$vp_CR" "$tcpserver_CR")x"
fi
