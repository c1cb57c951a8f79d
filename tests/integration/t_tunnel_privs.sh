#!/bin/sh
# vp-tunnel -u/-g: both ends bind, then run as nobody; streams still
# flow and per-stream programs run unprivileged; a bad name is a
# configuration error (78).
. "$(dirname "$0")/lib.sh"
need socat
if [ "$(id -u)" != 0 ]; then
	skip "needs root to drop privileges"
	exit 0
fi
listen_ready SP vp-tunnel server -1 -q -u nobody tcp:127.0.0.1:0 \
    sh -c 'echo "$(id -u) $(id -g)"' || notok "server -u nobody ready"
SPID=$LASTPID
listen_ready CP vp-tunnel client -1 -q -u nobody -g nogroup -l tcp:127.0.0.1:0 \
    "tcp:127.0.0.1:$SP" || notok "client -u nobody ready"
CPID=$LASTPID
out=$(socat -t 5 - "TCP:127.0.0.1:$CP" </dev/null)
check "a stream through both ends: program runs as nobody:nogroup ($out)" \
    [ "$out" = "65534 65534" ]
for p in "$SPID" "$CPID"; do
	u=$(awk '/^Uid:/ { print $2, $3, $4 }' /proc/$p/status)
	g=$(awk '/^Gid:/ { print $2, $3, $4 }' /proc/$p/status)
	if [ "$u" = "65534 65534 65534" ] && [ "$g" = "65534 65534 65534" ]; then
		ok "vp-tunnel pid $p runs as uid 65534 gid 65534 ($u / $g)"
	else
		notok "vp-tunnel pid $p: uid $u gid $g"
	fi
done
vp-tunnel server -u no-such-user-vp tcp:127.0.0.1:0 true 2>"$T/err"
rc=$?
if [ $rc = 78 ] && grep -q "no such user" "$T/err"; then
	ok "unknown user: exit 78, clear message"
else
	notok "unknown user: exit $rc, $(cat "$T/err")"
fi
finish
