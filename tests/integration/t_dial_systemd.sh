#!/bin/sh
# vp-dial as a systemd Accept=yes service (StandardInput=socket): the
# connection is one socket on stdin and stdout. Driven by
# systemd-socket-activate --accept --inetd; both ways and half-close.
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need systemd-socket-activate socat

rand_file "$T/up" 4000000
rand_file "$T/down" 3000000

socat_ready OP TCP-LISTEN:0,bind=127.0.0.1,fork \
    SYSTEM:"cat >'$T/up.r'; cat '$T/down'"
LP=$(free_port)
systemd-socket-activate -l "127.0.0.1:$LP" --accept --inetd \
    vp-dial -v 127.0.0.1 "$OP" 2>"$T/ssa.log" &
PIDS="$PIDS $!"
i=0
while ! grep -q 'Listening on' "$T/ssa.log" && [ $i -lt 200 ]; do
	i=$((i + 1)); sleep 0.05
done

# the client half-closes after its upload; the answer still arrives
socat -t 30 - TCP:127.0.0.1:"$LP" <"$T/up" >"$T/down.r" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && same "$T/up" "$T/up.r" && same "$T/down" "$T/down.r"; then
	ok "inetd-style socket on stdin+stdout: both ways, half-close, sha256 equal"
else
	notok "systemd --accept --inetd (rc $rc)"; cat "$T/err" "$T/ssa.log"
fi
i=0
while ! grep -q 'vp-dial.*bytes out' "$T/ssa.log" && [ $i -lt 200 ]; do
	i=$((i + 1)); sleep 0.05
done
if grep -q "info: 127.0.0.1:$OP: 4000000 bytes out, 3000000 bytes in" \
    "$T/ssa.log"; then
	ok "one log line per connection with the byte counts"
else
	notok "log line"; cat "$T/ssa.log"
fi

# the same with VP_REPLY=socks5 answered on the socket first
LP2=$(free_port)
systemd-socket-activate -l "127.0.0.1:$LP2" --accept --inetd \
    -E VP_REPLY=socks5 vp-dial 127.0.0.1 "$OP" 2>"$T/ssa2.log" &
PIDS="$PIDS $!"
i=0
while ! grep -q 'Listening on' "$T/ssa2.log" && [ $i -lt 200 ]; do
	i=$((i + 1)); sleep 0.05
done
if grep -q 'Listening on' "$T/ssa2.log"; then
	socat -t 30 - TCP:127.0.0.1:"$LP2" <"$T/up" >"$T/down.s" 2>"$T/err"
	tail -c +11 "$T/down.s" >"$T/down.s2"
	if [ "$(head -c 2 "$T/down.s" | od -An -tx1 | tr -d ' \n')" = 0500 ] &&
	    same "$T/down" "$T/down.s2" && same "$T/up" "$T/up.r"; then
		ok "VP_REPLY=socks5 on the inherited socket, then the relay"
	else
		notok "VP_REPLY on the inherited socket"
	fi
else
	notok "systemd-socket-activate on $LP2 did not start"
fi
finish
