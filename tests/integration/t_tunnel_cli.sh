#!/bin/sh
# vp-tunnel as a user starts it: usage errors and exit codes, -f forward
# mode, systemd socket activation on both sides, readiness (-N fd,
# NOTIFY_SOCKET), a server on stdio ending when its peer goes.
. "$(dirname "$0")/lib.sh"
need socat
PY=/usr/bin/python3

# --- usage and exit codes
st() { "$@" </dev/null >/dev/null 2>"$T/err"; echo $?; }
check "no mode: usage, 64" [ "$(st vp-tunnel)" = 64 ]
check "unknown mode: 64" [ "$(st vp-tunnel relay x)" = 64 ]
check "client without -l: 64" [ "$(st vp-tunnel client tcp:127.0.0.1:1)" = 64 ]
check "server without a program: 64" [ "$(st vp-tunnel server tcp:127.0.0.1:0)" = 64 ]
check "server -f with a program too: 64" [ "$(st vp-tunnel server -f tcp:127.0.0.1:1 tcp:127.0.0.1:0 cat)" = 64 ]
check "bad endpoint: 64" [ "$(st vp-tunnel client -l tcp:127.0.0.1:0 tcp:nohostport)" = 64 ]
check "...with a message" grep -q "PEER tcp:nohostport" "$T/err"
check "-1 with LISTEN stdio: 64" [ "$(st vp-tunnel server -1 stdio cat)" = 64 ]
# the client wrote the port onto its link (its stdout), and stayed
check "client -1 with PEER stdio: 64" [ "$(st timeout 5 vp-tunnel client -1 -l tcp:127.0.0.1:0 stdio)" = 64 ]
check "...with a message" grep -q -- "-1 cannot be used with PEER stdio" "$T/err"
check "stream window above tunnel window: 64" [ "$(st vp-tunnel server -s 4m -S 1m tcp:127.0.0.1:0 cat)" = 64 ]
check "bad duration: 64" [ "$(st vp-tunnel server -K soon tcp:127.0.0.1:0 cat)" = 64 ]
# the messages named no option ("bad duration: 0", "bad size: x")
check "duration out of range: 64" [ "$(st vp-tunnel server -K 0 tcp:127.0.0.1:0 cat)" = 64 ]
check "...the message names the option and the range" grep -q -- "-K '0': a duration from 10ms to 24h" "$T/err"
check "bad size: 64" [ "$(st vp-tunnel client -s x -l tcp:127.0.0.1:0 tcp:127.0.0.1:1)" = 64 ]
check "...the message names the option and the range" grep -q -- "-s 'x': a size from 4096 to" "$T/err"
check "-l on a server: 64" [ "$(st vp-tunnel server -l tcp:127.0.0.1:0 tcp:127.0.0.1:0 cat)" = 64 ]
# -b, and -c at its default value, were taken by a server and ignored
check "-b on a server: 64" [ "$(st timeout 5 vp-tunnel server -b 5s tcp:127.0.0.1:0 cat)" = 64 ]
check "...with a message" grep -q -- "-b is a client option" "$T/err"
check "-c 10s on a server: 64" [ "$(st timeout 5 vp-tunnel server -c 10s tcp:127.0.0.1:0 cat)" = 64 ]
check "-f on a client: 64" [ "$(st timeout 5 vp-tunnel client -f tcp:127.0.0.1:1 -l tcp:127.0.0.1:0 tcp:127.0.0.1:1)" = 64 ]
# -N with a closed descriptor only warned (vp-listen exits 64)
check "-N with a closed descriptor: 64" [ "$(st timeout 5 vp-tunnel server -N 57 tcp:127.0.0.1:0 cat)" = 64 ]
check "...with a message" grep -q -- "-N 57: descriptor not open" "$T/err"
check "-N not a number: 64" [ "$(st timeout 5 vp-tunnel client -N x -l tcp:127.0.0.1:0 tcp:127.0.0.1:1)" = 64 ]
# sizes whose multiplication overflowed were taken (timeout: it ran)
check "size that overflows with its suffix: 64" [ "$(st timeout 5 vp-tunnel server -s 17592186044417m tcp:127.0.0.1:0 cat)" = 64 ]
check "size that overflows with k: 64" [ "$(st timeout 5 vp-tunnel server -S 9223372036854775807k tcp:127.0.0.1:0 cat)" = 64 ]
check "server LISTEN host that does not resolve: 68" [ "$(st timeout 5 vp-tunnel server tcp:nonexistent.invalid:0 cat)" = 68 ]
check "server udp LISTEN host that does not resolve: 68" [ "$(st timeout 5 vp-tunnel server udp:nonexistent.invalid:0 cat)" = 68 ]
check "client -l host that does not resolve: 68" [ "$(st timeout 5 vp-tunnel client -l tcp:nonexistent.invalid:0 tcp:127.0.0.1:1)" = 68 ]
check "missing key file: 66" [ "$(st timeout 5 vp-tunnel server -k "$T/nokey" udp:127.0.0.1:0 cat)" = 66 ]
P=$(free_port)
bg socat "TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
wait_tcp "$P"
# Listener mistakes: the statuses vp-listen gives for the same mistake
# (69 in use or not ours, 78 configuration), on server and client alike
# (they were 69, 71 and 64 by side and by mistake).
: >"$T/regular"
# (-1 prints an empty line for a unix socket: ready, but no port)
listen_ready BUSY vp-tunnel server -1 -q "unix:$T/busy.sock" cat
[ -S "$T/busy.sock" ] || notok "busy unix listener ready"
for m in "tcp-port-in-use tcp:127.0.0.1:$P 69" \
    "socket-in-use unix:$T/busy.sock 69" \
    "address-not-local tcp:192.0.2.1:0 69" \
    "missing-directory unix:$T/nodir/x.sock 78" \
    "not-a-socket unix:$T/regular 78" \
    "not-a-descriptor fd:57 78"; do
	set -- $m
	rs=$(st timeout 5 vp-tunnel server "$2" cat)
	rc=$(st timeout 5 vp-tunnel client -l "$2" tcp:127.0.0.1:1)
	check "$1: server $rs, client $rc, want $3" [ "$rs$rc" = "$3$3" ]
done
check "...the not-a-socket file is left alone" [ -f "$T/regular" ]

# A per-stream program that cannot be run: 69 at start, as vp-listen
# (the server started and reset every stream), its unix socket removed.
check "server program missing: 69" [ "$(st timeout 5 vp-tunnel server tcp:127.0.0.1:0 "$T/noprog")" = 69 ]
check "...with a message" grep -q "program $T/noprog: No such file" "$T/err"
check "server program not in PATH: 69" [ "$(st timeout 5 vp-tunnel server "unix:$T/np.sock" no-such-prog-vp)" = 69 ]
check "...with a message" grep -q "no-such-prog-vp: not found in PATH" "$T/err"
check "...and its unix socket removed" [ ! -e "$T/np.sock" ]
check "server program not executable: 69" [ "$(st timeout 5 vp-tunnel server stdio "$T/regular")" = 69 ]
if [ "$(id -u)" = 0 ]; then
	printf '#!/bin/sh\ncat\n' >"$T/rootonly"
	chmod 700 "$T/rootonly"
	check "server -u nobody, program only root may run: 69" \
	    [ "$(st timeout 5 vp-tunnel server -u nobody tcp:127.0.0.1:0 "$T/rootonly")" = 69 ]
else
	skip "server -u: needs root"
fi

# --- -f forward mode to an echo server
EP=$P
listen_ready SP vp-tunnel server -1 -q -f "tcp:127.0.0.1:$EP" tcp:127.0.0.1:0 || notok "server -f ready"
listen_ready CP vp-tunnel client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SP" || notok "client ready"
rand_file "$T/in" 3000000
socat -t 10 - "TCP:127.0.0.1:$CP" <"$T/in" >"$T/out"
check "server -f tcp:ECHO: 3 MB both ways, half-close" same "$T/in" "$T/out"
DEAD=$(free_port)
listen_ready SP2 vp-tunnel server -1 -f "tcp:127.0.0.1:$DEAD" tcp:127.0.0.1:0 2>"$T/dead.log" ||
    notok "server -f dead ready"
listen_ready CP2 vp-tunnel client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SP2" || notok "client ready"
out=$($PY -c "
import socket
s = socket.create_connection(('127.0.0.1', $CP2)); s.settimeout(10)
try:
    s.sendall(b'x' * 100000)
    print('eof' if s.recv(10) == b'' else 'data')
except socket.timeout:
    print('timeout')
except (ConnectionResetError, BrokenPipeError):
    print('reset')")
check "server -f to a refused port: the local connection is reset ($out)" [ "$out" = reset ]
check "...and the server logged the refused connect" grep -q "refused" "$T/dead.log"

# --- the per-stream program's environment
listen_ready SP4 vp-tunnel server -1 -q tcp:127.0.0.1:0 sh -c 'echo "peer=$VP_TUNNEL_PEER stream=$VP_TUNNEL_STREAM"' ||
    notok "env server ready"
listen_ready CP4 vp-tunnel client -1 -q -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SP4" || notok "client ready"
l1=$(socat -t 5 - "TCP:127.0.0.1:$CP4" </dev/null)
l2=$(socat -t 5 - "TCP:127.0.0.1:$CP4" </dev/null)
check "PROGRAM sees VP_TUNNEL_PEER and VP_TUNNEL_STREAM ($l1; $l2)" \
    sh -c "echo '$l1' | grep -Eq '^peer=127\.0\.0\.1:[0-9]+ stream=1\$' && echo '$l2' | grep -q 'stream=3\$'"

# --- -i: an idle stream is reset, an active one is not
listen_ready SP5 vp-tunnel server -1 -q -f "tcp:127.0.0.1:$EP" tcp:127.0.0.1:0 || notok "server ready"
listen_ready CP5 vp-tunnel client -1 -q -i 400ms -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SP5" ||
    notok "client -i ready"
out=$($PY -c "
import socket
s = socket.create_connection(('127.0.0.1', $CP5)); s.settimeout(10)
try:
    print('eof' if s.recv(10) == b'' else 'data')
except socket.timeout:
    print('timeout')
except ConnectionResetError:
    print('reset')")
check "-i 400ms: a silent stream is reset by the tunnel ($out)" [ "$out" = reset ]
out=$($PY -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $CP5)); s.settimeout(5)
for i in range(12):
    s.sendall(b'x'); assert s.recv(1) == b'x'; time.sleep(0.1)
print('alive')" 2>&1 | tail -1)
check "-i 400ms: a stream with a byte every 100 ms lives past 1 s ($out)" [ "$out" = alive ]

# --- systemd socket activation (Accept=no) on both sides
if command -v systemd-socket-activate >/dev/null 2>&1; then
	SP3=$(free_port)
	bg systemd-socket-activate -l "127.0.0.1:$SP3" vp-tunnel server -q systemd cat
	wait_tcp "$SP3" || notok "activated server"
	CP3=$(free_port)
	bg systemd-socket-activate -l "127.0.0.1:$CP3" vp-tunnel client -q -l systemd "tcp:127.0.0.1:$SP3"
	wait_tcp "$CP3" || notok "activated client"
	socat -t 10 - "TCP:127.0.0.1:$CP3" <"$T/in" >"$T/out3"
	check "systemd-activated client -l systemd -> systemd-activated server: echo" same "$T/in" "$T/out3"
else
	skip "systemd-socket-activate not installed"
fi

# --- readiness: -N fd and NOTIFY_SOCKET
mkfifo "$T/nfifo"
bg sh -c "exec vp-tunnel server -q -N 3 tcp:127.0.0.1:0 cat 3>$T/nfifo"
read -r line <"$T/nfifo"
check "-N 3: a newline on fd 3 when ready" [ -z "$line" ]
cat >"$T/notify.py" <<'PYEOF'
import os, socket, subprocess, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(10)
env = dict(os.environ, NOTIFY_SOCKET=path)
p = subprocess.Popen(sys.argv[2:], env=env)
try:
    msg = s.recv(256).decode()
finally:
    p.terminate()
    p.wait()
print(msg)
PYEOF
msg=$($PY "$T/notify.py" "$T/notify.sock" vp-tunnel server -q tcp:127.0.0.1:0 cat)
check "NOTIFY_SOCKET gets READY=1 ($msg)" [ "$msg" = "READY=1" ]

# --- stdio server: exits 0 when the client end closes
printf '\000\000\000\004\000\000\000\000\000' >"$T/hs"
out=$(vp-tunnel server -q stdio cat <"$T/hs" | od -An -tx1 | tr -d ' \n')
rc=$?
check "stdio server answers the handshake and exits 0 at EOF ($out)" \
    sh -c "[ $rc -eq 0 ] && [ '$out' = 000000040000000000 ]"
printf 'garbage!!' >"$T/bad"
vp-tunnel server -q stdio cat <"$T/bad" >/dev/null 2>&1
rc=$?
check "stdio server on garbage: GOAWAY and exit 65 (rc=$rc)" [ $rc -eq 65 ]
finish
