#!/bin/sh
# vp-listen: the environment and descriptors the program sees (tcp v4,
# v6, unix with peer credentials), readiness (-1, -N, NOTIFY_SOCKET) and
# the usage / configuration errors with their exit status.
. "$(dirname "$0")/lib.sh"
need python3 ncat

# The per-connection program: the UCSPI variables, the open fds, the
# signal mask and dispositions, then whatever the client sends.
cat >"$T/show" <<'SH'
#!/bin/sh
env | grep -E '^(PROTO|TCP|UNIX|LISTEN_|NOTIFY_SOCKET)' | sort
SH
chmod +x "$T/show"

# tcp v4 with -1
if listen_ready P vp-listen -1 tcp:127.0.0.1:0 "$T/show"; then
	ok "-1 prints the bound port ($P)"
else
	notok "-1 prints the bound port"
fi
out=$(python3 - "$P" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("CLIENTPORT=%d" % s.getsockname()[1])
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.decode())
PY
)
cport=$(echo "$out" | sed -n 's/^CLIENTPORT=//p')
echo "$out" | grep -qx 'PROTO=TCP' && \
echo "$out" | grep -qx 'TCPREMOTEIP=127.0.0.1' && \
echo "$out" | grep -qx "TCPREMOTEPORT=$cport" && \
echo "$out" | grep -qx 'TCPLOCALIP=127.0.0.1' && \
echo "$out" | grep -qx "TCPLOCALPORT=$P" && \
    ok "tcp v4: PROTO, TCPREMOTEIP/PORT, TCPLOCALIP/PORT" || \
    { notok "tcp v4 environment"; echo "$out"; }
# The signal state, seen by a program vp-listen runs directly (a shell
# would show its own transient mask).
listen_ready SP vp-listen -1 tcp:127.0.0.1:0 grep -E '^Sig(Blk|Ign)' /proc/self/status
sig=$(ncat --recv-only 127.0.0.1 "$SP" </dev/null)
blk=$(echo "$sig" | sed -n 's/^SigBlk:[[:space:]]*//p')
ign=$(echo "$sig" | sed -n 's/^SigIgn:[[:space:]]*//p')
# Signals 1-31 (glibc keeps 32/33 for itself).
if [ -n "$blk" ] && [ $((0x$blk & 0x7fffffff)) = 0 ] &&
    [ $((0x$ign & 0x7fffffff)) = 0 ]; then
	ok "signals unblocked and at their defaults in the child"
else
	notok "signal state in the child: blocked $blk ignored $ign"
fi
# No stray descriptors: ls run directly sees 0 1 2 and its own dir fd.
bg vp-listen -1 tcp:127.0.0.1:0 ls /proc/self/fd >"$T/lsport"
wait_path "$T/lsport"
LP=""
i=0
while [ -z "$LP" ] && [ $i -lt 200 ]; do
	LP=$(cat "$T/lsport"); i=$((i + 1)); [ -n "$LP" ] || sleep 0.05
done
fds=$(ncat --recv-only 127.0.0.1 "$LP" </dev/null | sort -n | tr '\n' ' ')
[ "$fds" = "0 1 2 3 " ] && ok "no stray descriptors in the child ($fds)" || \
    notok "stray descriptors in the child: $fds"
echo "$out" | grep -q '^UNIX' && notok "no UNIX variables for tcp" || \
    ok "no UNIX variables for tcp"

# tcp v6 (dual-stack wildcard reached over ::1 and over 127.0.0.1)
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	listen_ready P6 vp-listen -1 'tcp:[::1]:0' "$T/show"
	out=$(ncat -6 --recv-only ::1 "$P6" </dev/null)
	echo "$out" | grep -qx 'TCPREMOTEIP=::1' && \
	echo "$out" | grep -qx 'TCPLOCALIP=::1' && \
	    ok "tcp v6: TCPREMOTEIP=::1" || { notok "tcp v6 env"; echo "$out"; }
	listen_ready PW vp-listen -1 'tcp::0' "$T/show"
	out=$(ncat -4 --recv-only 127.0.0.1 "$PW" </dev/null)
	echo "$out" | grep -qx 'TCPREMOTEIP=127.0.0.1' && \
	    ok "wildcard is dual-stack; v4-mapped shown as 127.0.0.1" || \
	    { notok "wildcard v4 client"; echo "$out"; }
	out=$(ncat -6 --recv-only ::1 "$PW" </dev/null)
	echo "$out" | grep -qx 'TCPREMOTEIP=::1' && \
	    ok "wildcard answers ::1 too" || { notok "wildcard v6"; echo "$out"; }
else
	skip "no IPv6 loopback"
fi

# unix with peer credentials; -N readiness
mkfifo "$T/nfifo"
# (the fifo is opened by the background process itself)
bg sh -c 'exec vp-listen -N 9 "unix:$1" "$2" 9>"$3"' sh "$T/s.sock" \
    "$T/show" "$T/nfifo"
line=$(head -c 1 "$T/nfifo" | od -An -c | tr -d ' ')
[ "$line" = '\n' ] && ok "-N writes a newline and closes" || notok "-N wrote '$line'"
[ -S "$T/s.sock" ] && ok "-N: newline on the fd once the unix socket exists" || \
    notok "-N readiness"
out=$(python3 - "$T/s.sock" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print("MYPID=%d" % os.getpid())
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.decode())
PY
)
mypid=$(echo "$out" | sed -n 's/^MYPID=//p')
echo "$out" | grep -qx 'PROTO=UNIX' && \
echo "$out" | grep -qx "UNIXREMOTEPID=$mypid" && \
echo "$out" | grep -qx "UNIXREMOTEEUID=$(id -u)" && \
echo "$out" | grep -qx "UNIXREMOTEEGID=$(id -g)" && \
    ok "unix: PROTO=UNIX, UNIXREMOTEPID/EUID/EGID of the client" || \
    { notok "unix env"; echo "$out"; }
echo "$out" | grep -q '^TCP' && notok "no TCP variables for unix" || \
    ok "no TCP variables for unix"

# NOTIFY_SOCKET: a datagram receiver gets READY=1; the child does not
# inherit NOTIFY_SOCKET.
python3 - "$T/notify.sock" >"$T/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
s.settimeout(20)
try:
    print(s.recv(1024).decode(), flush=True)
except socket.timeout:
    print("timeout", flush=True)
PY
NPID=$!
PIDS="$PIDS $NPID"
wait_path "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock listen_ready PN vp-listen -1 tcp:127.0.0.1:0 "$T/show"
wait "$NPID"
grep -qx 'READY=1' "$T/notify.out" && ok "READY=1 sent to NOTIFY_SOCKET" || \
    { notok "NOTIFY_SOCKET"; cat "$T/notify.out"; }
out=$(ncat --recv-only 127.0.0.1 "$PN" </dev/null)
echo "$out" | grep -q NOTIFY_SOCKET && notok "NOTIFY_SOCKET leaked to child" || \
    ok "NOTIFY_SOCKET not passed to the program"

# Usage and configuration errors: message and status.
expect() {	# expect STATUS WHAT CMD...
	_st=$1; _what=$2; shift 2
	"$@" >"$T/err.out" 2>&1 </dev/null
	_rc=$?
	if [ "$_rc" = "$_st" ] && grep -q 'vp-listen\[' "$T/err.out" ||
	    { [ "$_rc" = "$_st" ] && grep -q usage "$T/err.out"; }; then
		ok "$_what: exit $_st ($(head -1 "$T/err.out" | cut -c1-70))"
	else
		notok "$_what: exit $_rc, wanted $_st"; cat "$T/err.out"
	fi
}
expect 64 "no program" vp-listen tcp:127.0.0.1:0
expect 64 "bad endpoint" vp-listen tcp:127.0.0.1:99999 cat
expect 64 "exec endpoint cannot listen" vp-listen exec:cat cat
expect 64 "bad -c" vp-listen -c 0 tcp:127.0.0.1:0 cat
expect 64 "bad -c" vp-listen -c x tcp:127.0.0.1:0 cat
expect 64 "bad -t" vp-listen -p -t 0 tcp:127.0.0.1:0 cat
expect 64 "unknown option" vp-listen -Z tcp:127.0.0.1:0 cat
expect 64 "-N fd not open" vp-listen -N 77 tcp:127.0.0.1:0 cat
expect 69 "program not found" vp-listen tcp:127.0.0.1:0 no-such-program-vp
expect 69 "port in use" vp-listen tcp:127.0.0.1:"$P" cat
expect 78 "systemd without sockets" vp-listen systemd cat
expect 78 "fd:N that is not a socket" vp-listen fd:0 cat
finish
