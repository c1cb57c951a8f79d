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
