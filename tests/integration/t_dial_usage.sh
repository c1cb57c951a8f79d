#!/bin/sh
# vp-dial's usage errors for an endpoint operand: exit 64, and the
# message lists what vp-dial can connect to (HOST PORT, tcp:, unix:,
# exec:), not the listener-only kinds of the endpoint grammar (fd:N,
# systemd, stdio), which vp-dial refuses; a specific reason for the kinds
# it takes is kept.
. "$VP_SRC/tests/integration/lib.sh"

# usage ARG WANT: vp-dial ARG exits 64 with WANT in its one line.
usage() {
	vp-dial "$1" </dev/null >/dev/null 2>"$T/err"
	_rc=$?
	if [ $_rc -eq 64 ] && grep -q -- "$2" "$T/err" &&
	    ! grep -q 'fd:N\|systemd or stdio' "$T/err" &&
	    [ "$(wc -l <"$T/err")" -eq 1 ]; then
		ok "'$1': exit 64, '$(sed 's/^[^:]*: fatal: //' "$T/err")'"
	else
		notok "'$1': exit $_rc: $(cat "$T/err")"
	fi
}

usage bogus:x 'expected HOST PORT, HOST:PORT, tcp:HOST:PORT, \[V6\]:PORT, unix:PATH or exec:COMMAND'
usage nohostport 'expected HOST PORT'
usage 127.0.0.1:99999 'expected HOST PORT'
usage fd:x 'expected HOST PORT'
usage fd:3 'vp-dial connects to tcp:, unix: or exec: endpoints'
usage systemd 'vp-dial connects to tcp:, unix: or exec:'
usage udp:127.0.0.1:1 'vp-dial connects to tcp:, unix: or exec:'
usage 'bad_host!:1' 'bad host name'
usage unix: 'unix: needs a path'
usage exec: 'exec: needs a command'
finish
