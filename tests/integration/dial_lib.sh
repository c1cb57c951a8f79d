# Helpers for the t_dial_*.sh tests (sourced after lib.sh).

PEER=$VP_SRC/tests/integration/dial_peer.py
_dl_n=0

# socat_ready VAR SOCAT-ARGS...: starts "socat -d -d ARGS" whose first
# address listens on TCP port 0, waits (bounded, 10 s) for its
# "listening on" notice and sets VAR to the port. Its pid is $LASTPID.
socat_ready() {
	_v=$1; shift
	_dl_n=$((_dl_n + 1))
	_log=$T/socat.$_dl_n.log
	socat -d -d "$@" 2>"$_log" &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
	_i=0
	while [ $_i -lt 200 ]; do
		_p=$(sed -n 's/.*listening on AF=[0-9]* [^ ]*:\([0-9][0-9]*\)$/\1/p' \
		    "$_log" | head -n 1)
		if [ -n "$_p" ]; then
			eval "$_v=\$_p"
			return 0
		fi
		_i=$((_i + 1))
		sleep 0.05
	done
	return 1
}

# wait_size FILE BYTES: waits (bounded, 30 s) until FILE holds BYTES.
wait_size() {
	_i=0
	while [ $_i -lt 600 ]; do
		[ -f "$1" ] && [ "$(wc -c <"$1")" -ge "$2" ] && return 0
		_i=$((_i + 1))
		sleep 0.05
	done
	return 1
}

# wait_pid PID [SECONDS]: waits for a background pid, bounded; sets RC.
# Returns 1 (and kills it) if it is still running after the time.
wait_pid() {
	_i=0
	_lim=$(( ${2:-20} * 20 ))
	while kill -0 "$1" 2>/dev/null && [ $_i -lt $_lim ]; do
		_i=$((_i + 1))
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		RC=timeout
		return 1
	fi
	wait "$1"
	RC=$?
	return 0
}

# fatal_line FILE: the file holds exactly one line, a vp-dial fatal one.
one_fatal() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -q '^vp-dial\[[0-9]*\]: fatal: ' "$1"
}

# xfer NAME URL...: $T/up up and $T/down ($ND bytes) down at once through
# vp-dial -x URL..., both checked byte for byte. microsocks and ncat end
# a connection at the first EOF (no half-close), so stdin stays open
# until the download is in. Export VP_PROXY_PASS first to test it.
xfer() {
	_name=$1; shift
	_args=""
	for _x in "$@"; do _args="$_args -x $_x"; done
	socat_ready _op TCP-LISTEN:0,bind=127.0.0.1 \
	    SYSTEM:"exec 3<&0; cat <&3 >'$T/up.r' & cat '$T/down'; wait"
	_sp=$LASTPID
	rm -f "$T/down.r"
	# shellcheck disable=SC2086
	{ cat "$T/up"; wait_size "$T/down.r" "$ND"; } |
	    vp-dial $_args localhost "$_op" >"$T/down.r" 2>"$T/err"
	_rc=$?
	wait_pid "$_sp" 20
	if [ $_rc -eq 0 ] && same "$T/up" "$T/up.r" &&
	    same "$T/down" "$T/down.r"; then
		ok "$_name: $(wc -c <"$T/up") bytes up, $ND down, both byte for byte"
	else
		notok "$_name (rc $_rc)"; cat "$T/err"
	fi
}
