#!/bin/sh
# The port forwarder "vp-listen tcp:... vp-dial 127.0.0.1 PORT": data
# byte for byte (sha256) in both directions with half-close, several
# connections at once, and a refused backend seen as a closed client
# connection with vp-dial's exit status logged.
. "$(dirname "$0")/lib.sh"
need python3 socat
command -v vp-dial >/dev/null 2>&1 || { skip "vp-dial not built"; finish; }

rand_file "$T/down" 6000000
# Backend: stores the upload per connection, answers after the EOF.
listen_ready BP vp-listen -1 tcp:127.0.0.1:0 \
    sh -c "cat >'$T/up.got.'\$TCPREMOTEPORT; cat '$T/down'"
listen_ready FP vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BP" 2>"$T/fwd.log"

rand_file "$T/up" 8000000
socat -t 60 - "TCP:127.0.0.1:$FP" <"$T/up" >"$T/down.got"
f=$(ls "$T"/up.got.* | head -1)
[ "$(sha "$T/up")" = "$(sha "$f")" ] && [ "$(sha "$T/down")" = "$(sha "$T/down.got")" ] && \
    ok "port forward: 8 MB up then 6 MB down after half-close, sha256 equal both ways" || \
    notok "port forward transfer differs ($(wc -c <"$f") up, $(wc -c <"$T/down.got") down)"
rm -f "$T"/up.got.*

# Eight at once, each with its own data.
i=0
while [ $i -lt 8 ]; do
	rand_file "$T/up.$i" $((1000000 + i * 77777))
	(timeout 20 socat -t 20 - "TCP:127.0.0.1:$FP" <"$T/up.$i" >"$T/down.$i") &
	eval "c$i=\$!"
	i=$((i + 1))
done
i=0
good=0
while [ $i -lt 8 ]; do
	eval "wait \$c$i"
	same "$T/down" "$T/down.$i" && good=$((good + 1))
	i=$((i + 1))
done
ups=0
for f in "$T"/up.got.*; do
	i=0
	while [ $i -lt 8 ]; do
		same "$T/up.$i" "$f" && ups=$((ups + 1))
		i=$((i + 1))
	done
done
[ "$good" = 8 ] && [ "$ups" = 8 ] && ok "8 parallel forwarded connections, each byte for byte both ways" || \
    notok "parallel: $good downloads and $ups uploads intact of 8"

# Backend refused: the client sees the connection closed, vp-listen logs
# vp-dial's exit status (69) and goes on serving.
DEAD=$(free_port)
listen_ready RP vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$DEAD" 2>"$T/ref.log"
out=$(socat -t 10 - "TCP:127.0.0.1:$RP" </dev/null 2>&1)
i=0
while ! grep -q 'exited 69' "$T/ref.log" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -z "$out" ] && grep -q 'exited 69' "$T/ref.log" && grep -q 'refused' "$T/ref.log" && \
    ok "refused backend: connection closed, 'exited 69' logged" || \
    { notok "refused backend"; cat "$T/ref.log"; }
grep -q 'exited 0' "$T/fwd.log" && ok "-v logs each forwarded connection's end" || notok "-v log"

# The man page's example against a real sshd: vp-listen tcp:... vp-dial
# 127.0.0.1 SSHPORT, then ssh through the forwarded port, data both ways.
if sshd_start; then
	listen_ready SF vp-listen -1 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$SSHD_PORT"
	rand_file "$T/ssh.up" 2000000
	# shellcheck disable=SC2086
	ssh $SSH_OPTS -p "$SF" root@127.0.0.1 "cat >'$T/ssh.got'; sha256sum '$T/ssh.got'" \
	    <"$T/ssh.up" >"$T/ssh.out" 2>"$T/ssh.err"
	[ "$(cut -d' ' -f1 "$T/ssh.out")" = "$(sha "$T/ssh.up")" ] && \
	    ok "ssh through vp-listen tcp:... vp-dial 127.0.0.1 SSHPORT: 2 MB up, sha256 back" || \
	    { notok "ssh through the forwarder"; cat "$T/ssh.err"; }
	# shellcheck disable=SC2086
	ssh $SSH_OPTS -p "$SF" root@127.0.0.1 "cat '$T/down'" >"$T/ssh.down" 2>>"$T/ssh.err"
	same "$T/down" "$T/ssh.down" && ok "ssh through the forwarder: 6 MB down byte for byte" || \
	    notok "ssh download through the forwarder differs"
fi
finish
