#!/bin/sh
# vp-listen under systemd-socket-activate: Accept=no style (vp-listen
# systemd ... takes the sockets, picks one by name, sets the UCSPI env)
# and Accept=yes style with --inetd (vp-dial alone is the service, the
# connection on its stdin/stdout). Data checked byte for byte.
. "$(dirname "$0")/lib.sh"
need python3 socat systemd-socket-activate

SHOW='echo "$PROTO $TCPREMOTEIP $TCPLOCALPORT ${LISTEN_FDS:-nolistenfds}"; exec cat'

# Accept=no: one socket.
P=$(free_port)
bg systemd-socket-activate -l "127.0.0.1:$P" vp-listen systemd sh -c "$SHOW"
wait_tcp "$P" || notok "systemd-socket-activate did not listen"
out=$(echo hello | socat -t 10 - "TCP:127.0.0.1:$P")
[ "$out" = "TCP 127.0.0.1 $P nolistenfds
hello" ] && ok "Accept=no: vp-listen systemd serves the passed socket, LISTEN_* not passed on" || \
    notok "Accept=no: '$out'"
rand_file "$T/big" 3000000
socat -t 30 - "TCP:127.0.0.1:$P" <"$T/big" >"$T/big.raw"
# drop the first line the program printed
python3 - "$T/big.raw" "$T/big.out" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d[d.index(b"\n") + 1:])
PY
same "$T/big" "$T/big.out" && ok "Accept=no: 3 MB echoed byte for byte" || notok "Accept=no echo differs"

# Accept=no: two named sockets, vp-listen takes only "b".
PA=$(free_port); PB=$(free_port)
bg systemd-socket-activate -l "127.0.0.1:$PA" -l "127.0.0.1:$PB" --fdname=a:b \
    vp-listen systemd:b sh -c "$SHOW"
wait_tcp "$PB" || notok "named sockets not listening"
out=$(socat -t 10 - "TCP:127.0.0.1:$PB" </dev/null)
[ "$out" = "TCP 127.0.0.1 $PB nolistenfds" ] && ok "systemd:NAME picks the socket named b" || \
    notok "systemd:b: '$out'"
if socat -T 2 - "TCP:127.0.0.1:$PA" </dev/null >"$T/a.out" 2>&1 && [ -s "$T/a.out" ]; then
	notok "socket a should not be served"
else
	ok "the socket named a is not served (closed by vp-listen)"
fi

# Accept=no with a socket of the wrong kind: clear error, exit 78.
PD=$(free_port)
systemd-socket-activate -d -l "127.0.0.1:$PD" vp-listen systemd cat \
    >"$T/d.out" 2>&1 &
DP=$!
PIDS="$PIDS $DP"
# systemd-socket-activate waits for a datagram before it execs.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))' "$PD"
wait "$DP"
rc=$?
[ "$rc" = 78 ] && grep -q 'not a stream socket' "$T/d.out" && \
    ok "a datagram socket is refused: exit 78 ($(grep -o 'fd 3 is.*' "$T/d.out"))" || \
    { notok "datagram socket: exit $rc"; cat "$T/d.out"; }

# Accept=yes (--inetd): vp-dial alone, connection on stdin/stdout.
rand_file "$T/up" 4000000
rand_file "$T/down" 2500000
listen_ready BP vp-listen -1 tcp:127.0.0.1:0 sh -c "cat >'$T/up.got.'\$\$; cat '$T/down'"
PI=$(free_port)
bg systemd-socket-activate -l "127.0.0.1:$PI" --accept --inetd vp-dial 127.0.0.1 "$BP"
wait_tcp "$PI" || notok "inetd mode not listening"
socat -t 30 - "TCP:127.0.0.1:$PI" <"$T/up" >"$T/down.got"
# wait_tcp's probe made one empty connection first: find ours by size.
for f in "$T"/up.got.*; do
	[ "$(wc -c <"$f")" -gt 0 ] && mv "$f" "$T/up.got"
done
same "$T/up" "$T/up.got" && same "$T/down" "$T/down.got" && \
    ok "Accept=yes --inetd vp-dial: 4 MB up, 2.5 MB down after half-close, byte for byte" || \
    notok "inetd vp-dial transfer differs ($(wc -c <"$T/up.got") / $(wc -c <"$T/down.got"))"

# The shipped units, run as systemd would: the ExecStart of
# vp-forward.service under systemd-socket-activate with the socket's
# FileDescriptorName and a NOTIFY_SOCKET (Type=notify), and the
# ExecStart of vp-dial@.service with --accept --inetd.
U=$VP_SRC/scripts/systemd
exec_of() {	# UNIT BACKENDPORT: its ExecStart, on our binaries and backend
	sed -n 's/^ExecStart=//p' "$U/$1" |
	    sed "s|/usr/local/bin/|$VP_BIN/|g; s| 127.0.0.1 22\$| 127.0.0.1 $2|"
}
fdname=$(sed -n 's/^FileDescriptorName=//p' "$U/vp-forward.socket")
grep -qx 'Type=notify' "$U/vp-forward.service" || notok "vp-forward.service is not Type=notify"
cmd=$(exec_of vp-forward.service "$BP")
python3 - "$T/unit-notify.sock" >"$T/unit-notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    print(s.recv(1024).decode(), flush=True)
except socket.timeout:
    print("timeout", flush=True)
PY
NP=$!
PIDS="$PIDS $NP"
wait_path "$T/unit-notify.sock"
PU=$(free_port)
# shellcheck disable=SC2086
# (systemd-socket-activate passes on only the variables named by -E)
bg systemd-socket-activate -l "127.0.0.1:$PU" --fdname="$fdname" \
    -E NOTIFY_SOCKET="$T/unit-notify.sock" $cmd
# (systemd-socket-activate execs the service at the first connection,
# which wait_tcp's probe makes)
wait_tcp "$PU" || notok "vp-forward.socket emulation not listening"
rm -f "$T"/up.got.*
socat -t 30 - "TCP:127.0.0.1:$PU" <"$T/up" >"$T/down.got2"
wait "$NP"
grep -qx 'READY=1' "$T/unit-notify.out" && ok "vp-forward.service ExecStart: READY=1 on NOTIFY_SOCKET" || \
    notok "vp-forward.service readiness: $(cat "$T/unit-notify.out")"
for f in "$T"/up.got.*; do
	[ "$(wc -c <"$f")" -gt 0 ] && mv "$f" "$T/up.got2"
done
same "$T/up" "$T/up.got2" && same "$T/down" "$T/down.got2" && \
    ok "vp-forward.socket + .service as shipped: forwarded byte for byte both ways" || \
    notok "vp-forward units transfer differs"
grep -qx 'Accept=yes' "$U/vp-dial.socket" && grep -qx 'StandardInput=socket' "$U/vp-dial@.service" || \
    notok "vp-dial.socket/@.service are not Accept=yes / StandardInput=socket"
cmd=$(exec_of vp-dial@.service "$BP")
PY2=$(free_port)
# shellcheck disable=SC2086
bg systemd-socket-activate -l "127.0.0.1:$PY2" --accept --inetd $cmd
wait_tcp "$PY2" || notok "vp-dial.socket emulation not listening"
rm -f "$T"/up.got.*
socat -t 30 - "TCP:127.0.0.1:$PY2" <"$T/up" >"$T/down.got3"
for f in "$T"/up.got.*; do
	[ "$(wc -c <"$f")" -gt 0 ] && mv "$f" "$T/up.got3"
done
same "$T/up" "$T/up.got3" && same "$T/down" "$T/down.got3" && \
    ok "vp-dial.socket + vp-dial@.service as shipped: forwarded byte for byte both ways" || \
    notok "vp-dial@.service transfer differs"
finish
