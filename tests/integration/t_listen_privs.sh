#!/bin/sh
# vp-listen -u/-g: bind first (a port below 1024 as root), then run as
# the given user and group; the programs run unprivileged; bad names are
# configuration errors (78).
. "$(dirname "$0")/lib.sh"
need python3 socat
if [ "$(id -u)" != 0 ]; then
	skip "needs root to drop privileges"
	exit 0
fi

# a free privileged port on loopback
LOW=$(python3 -c '
import socket
for p in range(900, 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
listen_ready P vp-listen -1 -u nobody "tcp:127.0.0.1:$LOW" sh -c 'echo "$(id -u) $(id -g) $(id -G)"' ||
    notok "vp-listen -u nobody on port $LOW ready"
LPID=$LASTPID
out=$(socat -t 5 - "TCP:127.0.0.1:$LOW" </dev/null)
check "port $LOW bound, program runs as nobody:nogroup ($out)" [ "$out" = "65534 65534 65534" ]
st=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/$LPID/status)
check "vp-listen itself runs as nobody: real, effective, saved ($st)" [ "$st" = "65534 65534 65534 65534" ]

listen_ready P vp-listen -1 -u nobody -g daemon tcp:127.0.0.1:0 sh -c 'echo "$(id -u) $(id -g) $(id -G)"' ||
    notok "vp-listen -u nobody -g daemon ready"
out=$(socat -t 5 - "TCP:127.0.0.1:$P" </dev/null)
g=$(getent group daemon | cut -d: -f3)
check "-u -g: -g names the group and the only supplementary group, the user's are dropped as vp-listen(1) says ($out)" [ "$out" = "65534 $g $g" ]

# A program only root may run: checked as nobody, refused at start (69),
# nothing left behind (timeout: the old code started and kept running).
mkdir "$T/priv"
printf '#!/bin/sh\necho ran\n' >"$T/priv/s.sh"
chmod 0755 "$T/priv/s.sh"
chmod 0700 "$T/priv"
timeout 10 vp-listen -u nobody "unix:$T/u.sock" "$T/priv/s.sh" 2>"$T/err" </dev/null
rc=$?
[ "$rc" = 69 ] && grep -q "s.sh: Permission denied" "$T/err" && [ ! -e "$T/u.sock" ] && \
    ok "-u nobody: a program nobody may not run exits 69 at start, no socket left ($(cut -c1-70 "$T/err"))" || \
    { notok "-u nobody, unrunnable program: exit $rc, $(ls "$T" | tr '\n' ' ')"; cat "$T/err"; }

vp-listen -u no-such-user-vp tcp:127.0.0.1:0 true 2>"$T/err"
rc=$?
check "unknown user: exit 78 ($rc)" [ $rc = 78 ]
check "unknown user: clear message" grep -q "no such user: no-such-user-vp" "$T/err"
vp-listen -g no-such-group-vp tcp:127.0.0.1:0 true 2>"$T/err"
rc=$?
check "unknown group: exit 78 ($rc)" [ $rc = 78 ]
finish
