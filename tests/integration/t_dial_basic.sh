#!/bin/sh
# vp-dial direct: HTTP/1.0 half-close against a real server, large data
# both ways (file, pipe), tcp:/unix:/@abstract/exec: endpoints, the
# failure classes with their messages and exit statuses, signals.
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need socat ncat python3

rand_file "$T/up" 6000000
rand_file "$T/down" 5000000
mkdir "$T/www"
rand_file "$T/www/big.bin" 300000

# --- HTTP/1.0 through a real server: stdin ends, the response arrives
HP=$(free_port)
bg python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$HP"
HTTPPID=$LASTPID
wait_tcp "$HP" || notok "http.server did not start"
printf 'GET /big.bin HTTP/1.0\r\n\r\n' | vp-dial 127.0.0.1 "$HP" \
    >"$T/resp" 2>"$T/err"
rc=$?
sed '1,/^\r$/d' "$T/resp" >"$T/body"
if [ $rc -eq 0 ] && head -n 1 "$T/resp" | grep -q '^HTTP/1.0 200' &&
    same "$T/body" "$T/www/big.bin" && [ ! -s "$T/err" ]; then
	ok "HTTP/1.0 GET with half-close: whole response, exit 0, quiet"
else
	notok "HTTP/1.0 GET (rc $rc)"; cat "$T/err"
fi

# --- strict half-close: the origin answers only after our EOF
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 \
    SYSTEM:"cat >'$T/up.1'; cat '$T/down'"
vp-dial 127.0.0.1 "$P" <"$T/up" >"$T/down.1" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && same "$T/up" "$T/up.1" && same "$T/down" "$T/down.1"; then
	ok "half-close: origin sees EOF, then its 5 MB answer arrives (file stdin)"
else
	notok "strict half-close (rc $rc)"; cat "$T/err"
fi

# --- stdout appended to a file (splice cannot write there: copied)
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 \
    SYSTEM:"cat >/dev/null; cat '$T/down'"
printf 'head|' >"$T/down.app"
vp-dial 127.0.0.1 "$P" </dev/null >>"$T/down.app" 2>"$T/err"
rc=$?
{ printf 'head|'; cat "$T/down"; } >"$T/down.exp"
if [ $rc -eq 0 ] && same "$T/down.app" "$T/down.exp"; then
	ok "stdout in append mode (>>): copied, not spliced, all there"
else
	notok "append-mode stdout (rc $rc)"; cat "$T/err"
fi

# --- both ways at once, pipes on stdin and stdout
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 \
    SYSTEM:"exec 3<&0; cat <&3 >'$T/up.2' & cat '$T/down'; wait"
cat "$T/up" | vp-dial "tcp:127.0.0.1:$P" 2>"$T/err" | cat >"$T/down.2"
if same "$T/up" "$T/up.2" && same "$T/down" "$T/down.2"; then
	ok "both ways at once through pipes, sha256 $(sha "$T/up.2" | cut -c1-12)"
else
	notok "both ways through pipes"; cat "$T/err"
fi

# --- unix socket and abstract socket endpoints
socat -d -d UNIX-LISTEN:"$T/o.sock" \
    SYSTEM:"cat >'$T/up.3'; cat '$T/down'" 2>/dev/null &
PIDS="$PIDS $!"
wait_path "$T/o.sock"
vp-dial "unix:$T/o.sock" <"$T/up" >"$T/down.3" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && same "$T/up" "$T/up.3" && same "$T/down" "$T/down.3"; then
	ok "unix:PATH endpoint, both ways"
else
	notok "unix:PATH endpoint (rc $rc)"; cat "$T/err"
fi
ABS=vp-dial-test-$$
socat ABSTRACT-LISTEN:"$ABS" SYSTEM:"cat >'$T/up.4'; cat '$T/down'" &
PIDS="$PIDS $!"
i=0
until vp-dial "unix:@$ABS" <"$T/up" >"$T/down.4" 2>"$T/err"; do
	# bounded retry while the foreign listener comes up
	i=$((i + 1)); [ $i -ge 100 ] && break; sleep 0.05
done
if same "$T/up" "$T/up.4" && same "$T/down" "$T/down.4"; then
	ok "unix:@abstract endpoint, both ways"
else
	notok "unix:@abstract endpoint"; cat "$T/err"
fi

# --- exec: the command's stdin/stdout are the stream
printf 'GET /big.bin HTTP/1.0\r\n\r\n' |
    vp-dial exec:"ncat 127.0.0.1 $HP" >"$T/resp" 2>"$T/err"
rc=$?
sed '1,/^\r$/d' "$T/resp" >"$T/body"
if [ $rc -eq 0 ] && same "$T/body" "$T/www/big.bin"; then
	ok "exec:'ncat 127.0.0.1 PORT' as the outbound"
else
	notok "exec:ncat (rc $rc)"; cat "$T/err"
fi
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 \
    SYSTEM:"cat >'$T/up.5'; cat '$T/down'"
vp-dial exec:"socat - TCP:127.0.0.1:$P" <"$T/up" >"$T/down.5" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && same "$T/up" "$T/up.5" && same "$T/down" "$T/down.5"; then
	ok "exec:'socat - TCP:...' both ways with half-close"
else
	notok "exec:socat (rc $rc)"; cat "$T/err"
fi
# the command gets fds 0-2 only (3 is ls's own directory handle)
r=$(vp-dial exec:'ls /proc/self/fd' </dev/null 3</dev/null 7</dev/null |
    tr '\n' ' ')
[ "$r" = "0 1 2 3 " ] && ok "exec: no stray descriptors in the command" ||
    notok "exec: command sees fds '$r'"
vp-dial exec:'exit 3' </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 3 ] && [ ! -s "$T/out" ]; then
	ok "exec: command's exit status is vp-dial's (3)"
else
	notok "exec: exit status (rc $rc)"
fi

# --- failure classes: one fatal line, the right status, nothing on stdout
CP=$(free_port)
vp-dial 127.0.0.1 "$CP" </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 69 ] && one_fatal "$T/err" && [ ! -s "$T/out" ] &&
    grep -q "fatal: connect to 127.0.0.1:$CP: connection refused\$" "$T/err"; then
	ok "refused: exit 69, '$(cut -d' ' -f2- "$T/err")'"
else
	notok "refused (rc $rc)"; cat "$T/err"
fi
vp-dial no-such-host.invalid 80 </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 68 ] && one_fatal "$T/err" &&
    grep -q 'connect to no-such-host.invalid:80: name not found$' "$T/err"; then
	ok "name not found: exit 68"
else
	notok "name not found (rc $rc)"; cat "$T/err"
fi
listen_ready FQ python3 "$PEER" fullq
FQPID=$LASTPID
vp-dial -w 1 127.0.0.1 "$FQ" </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 75 ] && one_fatal "$T/err" && grep -q ': timed out$' "$T/err"; then
	ok "connect timeout (listener with a full backlog): exit 75"
else
	notok "connect timeout (rc $rc)"; cat "$T/err"
fi
vp-dial "unix:$T/nothing.sock" </dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 69 ] && one_fatal "$T/err"; then
	ok "unix socket that is not there: exit 69"
else
	notok "missing unix socket (rc $rc)"; cat "$T/err"
fi

# --- usage errors: 64 and a message
for args in "127.0.0.1 70000" "127.0.0.1 0" "bad;host 80" "udp:127.0.0.1:53" \
    "-w 0 127.0.0.1 80" "-w xyz 127.0.0.1 80" "-x ftp://h:1 h 1" "a b c" \
    "-Z h 1" "fd:3" "-x socks5://h:1 unix:/tmp/x"; do
	# shellcheck disable=SC2086
	vp-dial $args </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 64 ] || [ ! -s "$T/err" ] || [ -s "$T/out" ]; then
		notok "usage error for '$args' (rc $rc)"
		BADUSE=1
	fi
done
[ -z "${BADUSE:-}" ] && ok "usage errors exit 64 with a message"
env -u VP_DEST_HOST vp-dial </dev/null >/dev/null 2>&1
[ $? -eq 64 ] && ok "no destination: exit 64" || notok "no destination"

# --- VP_DEST_HOST/VP_DEST_PORT when no operands
printf 'GET /big.bin HTTP/1.0\r\n\r\n' | VP_DEST_HOST=127.0.0.1 \
    VP_DEST_PORT=$HP vp-dial >"$T/resp" 2>"$T/err"
sed '1,/^\r$/d' "$T/resp" >"$T/body"
same "$T/body" "$T/www/big.bin" && ok "destination from VP_DEST_HOST/PORT" ||
    notok "VP_DEST_HOST/PORT"

# --- IPv6 literals, -4/-6
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null; then
	socat_ready P TCP6-LISTEN:0,bind=[::1] \
	    SYSTEM:"cat >'$T/up.v6'; cat '$T/down'"
	vp-dial -6 ::1 "$P" <"$T/up" >"$T/down.v6" 2>"$T/err"
	rc=$?
	if [ $rc -eq 0 ] && same "$T/up" "$T/up.v6" &&
	    same "$T/down" "$T/down.v6"; then
		ok "IPv6: vp-dial -6 ::1 PORT both ways"
	else
		notok "IPv6 (rc $rc)"; cat "$T/err"
	fi
	vp-dial -4 ::1 "$P" </dev/null 2>"$T/err"
	[ $? -eq 64 ] && ok "-4 with an IPv6 literal: usage error" ||
	    notok "-4 ::1"
else
	skip "no IPv6 loopback"
fi

# --- idle timeout: nothing moves for 300 ms, the relay ends (exit 0)
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 SYSTEM:"cat >/dev/null"
mkfifo "$T/idlefifo"
vp-dial -v -i 300ms 127.0.0.1 "$P" <"$T/idlefifo" >/dev/null 2>"$T/err" &
DP=$!
exec 8>"$T/idlefifo"
wait_pid $DP 10
exec 8>&-
if [ "$RC" = 0 ] && grep -q 'idle timeout' "$T/err"; then
	ok "-i 300ms: an idle connection ends, exit 0, logged"
else
	notok "idle timeout (rc $RC)"; cat "$T/err"
fi

# --- a terminal on stdin and stdout: typed line relayed, ^D half-closes
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 SYSTEM:"cat"
r=$(python3 "$PEER" tty vp-dial 127.0.0.1 "$P")
if [ "$r" = "0 2" ]; then
	ok "TTY on stdin/stdout: line relayed, ^D ends it, exit 0"
else
	notok "TTY (got '$r')"
fi

# --- interactive traffic is not held back (a corked socket waits ~200 ms
# per lone byte: 20 round trips would take 4 s; they take milliseconds)
t=$(python3 "$PEER" pingpong 20 vp-dial)
if python3 -c "import sys; sys.exit(0 if float('$t') < 2.0 else 1)" 2>/dev/null; then
	ok "20 one-byte round trips through vp-dial in ${t}s (no corking)"
else
	notok "one-byte round trips took '$t' s: bytes held back"
fi

# --- signals: SIGHUP during the relay ends it cleanly (exit 0)
socat_ready P TCP-LISTEN:0,bind=127.0.0.1 SYSTEM:"cat >'$T/up.6'"
mkfifo "$T/fifo"
vp-dial -vv 127.0.0.1 "$P" <"$T/fifo" >/dev/null 2>"$T/err" &
DP=$!
exec 7>"$T/fifo"
printf 'hello\n' >&7
i=0
while ! grep -q 'connected to' "$T/err" && [ $i -lt 200 ]; do
	i=$((i + 1)); sleep 0.05
done
wait_size "$T/up.6" 6
kill -HUP $DP
wait_pid $DP 10
exec 7>&-
if [ "$RC" = 0 ] && grep -q 'stopped' "$T/err"; then
	ok "SIGHUP during the relay: clean end, exit 0, log line"
else
	notok "SIGHUP (rc $RC)"; cat "$T/err"
fi
# SIGTERM while still connecting: ends at once
vp-dial -w 20 127.0.0.1 "$FQ" </dev/null >/dev/null 2>&1 &
DP=$!
i=0	# until the background shell has become vp-dial (bounded)
while [ $i -lt 200 ]; do
	case $(readlink "/proc/$DP/exe" 2>/dev/null) in
	*/vp-dial) break ;;
	esac
	i=$((i + 1)); sleep 0.01
done
kill -TERM $DP
wait_pid $DP 5
if [ "$RC" = 143 ]; then
	ok "SIGTERM while connecting: ends at once"
else
	notok "SIGTERM while connecting (rc $RC)"
fi
kill "$HTTPPID" "$FQPID" 2>/dev/null
finish
