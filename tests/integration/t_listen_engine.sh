#!/bin/sh
# vp-listen's engine: one long-lived child serves every connection of
# "vp-dial HOST PORT" and vp-dispatch in an event loop. Which programs it
# takes (and which it leaves to a process per connection), one process
# for many connections, bulk data both ways with half-close, names,
# the idle timeout, SIGTERM (open connections finish, new ones refused),
# a killed engine (fallback to processes), vp-dispatch's protocols and
# rules (exec routes forked from the engine, reject, recompiled rules),
# -c, and a flood of silent clients against vp-dispatch -T.
. "$(dirname "$0")/lib.sh"
need python3 socat curl
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"
E="python3 $VP_SRC/tests/integration/engine_client.py"

# wait_log FILE PATTERN [N]: bounded wait (10 s) until FILE has N lines
# (default 1) matching PATTERN.
wait_log() {
	_i=0
	while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "${3:-1}" ] &&
	    [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ]
}

# gone PID: the process has exited (absent, or a zombie not yet reaped).
gone() {
	! [ -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# wait_gone PID: bounded (10 s).
wait_gone() {
	_i=0
	while ! gone "$1" && [ $_i -lt 200 ]; do sleep 0.05; _i=$((_i + 1)); done
	gone "$1"
}

# engine_of PID: vp-listen's only child, the engine.
engine_of() { ps -o pid= --ppid "$1" | tr -d ' ' | head -1; }

# echo_via PORT: a line through the relay comes back.
echo_via() {
	[ "$(printf 'ping %s\n' "$1" | timeout 10 socat -t 5 - "TCP:127.0.0.1:$1")" = "ping $1" ]
}

listen_ready ECHO $H echo || { notok "echo backend"; exit 0; }
mkdir "$T/www"
rand_file "$T/www/blob" 1500000
listen_ready ORIGIN $H http "$T/www" || { notok "http origin"; exit 0; }

# --- 1. which programs the engine runs
listen_ready P vp-listen -1 -vv tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/sel1.log"
LP=$LASTPID
echo_via "$P" && wait_log "$T/sel1.log" ': to the engine' &&
    grep -q 'served by the engine' "$T/sel1.log" &&
    wait_log "$T/sel1.log" 'exited 0 after' &&
    ok "vp-dial 127.0.0.1 PORT: served by the engine, data echoed, 'exited 0' logged" ||
    { notok "vp-dial HOST PORT via the engine"; cat "$T/sel1.log"; }
kill "$LP"

listen_ready P vp-listen -1 -vv tcp:127.0.0.1:0 vp-dispatch 2>"$T/sel2.log"
LP=$LASTPID
grep -q 'served by the engine' "$T/sel2.log" &&
    curl -s -m 10 --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$ORIGIN/blob" -o "$T/sel2.got" &&
    same "$T/www/blob" "$T/sel2.got" && wait_log "$T/sel2.log" ': to the engine' &&
    ok "vp-dispatch: served by the engine, SOCKS5 download byte for byte" ||
    { notok "vp-dispatch via the engine"; cat "$T/sel2.log"; }
DSP=$P	# kept: a SOCKS5 proxy for vp-dial -x below

# the engine reads the options with vp-dial's own option code: -q wins
# over a later -v there as in vp-dial, so no info line for the relay
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial -q -v 127.0.0.1 "$ECHO" 2>"$T/qv.log"
LP=$LASTPID
echo_via "$P" && wait_log "$T/qv.log" 'exited 0 after' &&
    grep -q ': to the engine' "$T/qv.log" && ! grep -q 'bytes out' "$T/qv.log" &&
    ok "vp-dial -q -v in the engine: quiet, as vp-dial itself" ||
    { notok "vp-dial -q -v in the engine"; cat "$T/qv.log"; }
kill "$LP"

# a descriptor limit that holds fewer connections than -c: vp-listen
# warns; the engine takes what it holds (52 under 500), the others wait
# in vp-listen and are served as connections end; none is refused
listen_ready P sh -c 'ulimit -n 500 && exec vp-listen "$@"' sh -1 -v -c 400 -b 512 \
    tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/nofile.log"
LP=$LASTPID
out=$(timeout 60 $E press "$P" 120 40 2>&1)
n1=$(echo "$out" | awk '{ print $2 }')
if grep -q 'the engine holds [0-9]* connections at once, fewer than -c 400' "$T/nofile.log" &&
    [ -n "$n1" ] && [ "$n1" -gt 0 ] && [ "$n1" -lt 120 ] &&
    [ "$out" = "first $n1 all $((n1 + 40)) bad 0" ]; then
	ok "ulimit -n 500, -c 400: warned; $n1 served at once, 40 more as 40 ended, none refused ($out)"
else
	notok "ulimit -n 500, -c 400: '$out'"; grep -v 'to the engine\|exited' "$T/nofile.log" | head -5
fi
kill "$LP"

# vp-listen stopped (SIGTERM) while the engine is at that cap with
# connections still queued for it: one ending must not set the engine
# spinning on its control socket; it exits once all have ended
listen_ready P sh -c 'ulimit -n 400 && exec vp-listen "$@"' sh -1 -c 100 \
    tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/capterm.log"
LP=$LASTPID
EP=$(engine_of "$LP")
out=$(timeout 60 $E capterm "$P" "$LP" "$EP" 50 2>&1)
set -- $out
if [ "${1:-}" = served ] && [ "$2" -gt 0 ] && [ "$2" -lt 50 ] &&
    [ "$4" -lt 30 ] && [ "$6" = yes ]; then
	ok "SIGTERM with the engine at its descriptor cap: no spinning ($4 ticks in 1 s), it exits after its connections"
else
	notok "SIGTERM at the descriptor cap: '$out'"
fi
set --

# a scheduling policy chosen from outside (chrt, systemd's
# CPUSchedulingPolicy=) is the engine's too: SCHED_IDLE (5) kept
if command -v chrt >/dev/null 2>&1; then
	listen_ready P chrt -i 0 vp-listen -1 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO"
	LP=$LASTPID
	EP=$(engine_of "$LP")
	echo_via "$P" && [ -n "$EP" ] && [ "$(awk '{ print $41 }' "/proc/$EP/stat")" = 5 ] &&
	    ok "vp-listen under chrt -i: the engine keeps SCHED_IDLE" ||
	    notok "chrt -i: engine policy $(awk '{ print $41 }' "/proc/$EP/stat" 2>&1)"
	kill "$LP"
fi

# not_engine NAME LOG PORT [CHECK]: no engine, a process per connection.
not_engine() {
	_n=$1 _l=$2 _p=$3
	shift 3
	if ! grep -q 'served by the engine' "$_l" && grep -q 'a process per connection' "$_l" &&
	    "${@:-echo_via}" "$_p" && wait_log "$_l" ': pid [0-9]*$' &&
	    ! grep -q ': to the engine' "$_l"; then
		ok "$_n: no engine, a process per connection, still works"
	else
		notok "$_n"; cat "$_l"
	fi
}

listen_ready P vp-listen -1 -vv -P tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/sel3.log"
LP=$LASTPID
# -P logs no reason (it is asked for); check the rest
if ! grep -q 'served by the engine' "$T/sel3.log" && echo_via "$P" &&
    wait_log "$T/sel3.log" ': pid [0-9]*$' && ! grep -q ': to the engine' "$T/sel3.log"; then
	ok "-P: no engine, a process per connection, still works"
else notok "-P"; cat "$T/sel3.log"; fi
kill "$LP"

listen_ready P vp-listen -1 -vv tcp:127.0.0.1:0 vp-dial -x "socks5://127.0.0.1:$DSP" 127.0.0.1 "$ECHO" 2>"$T/sel4.log"
LP=$LASTPID
not_engine "vp-dial -x socks5://..." "$T/sel4.log" "$P"
kill "$LP"

listen_ready P vp-listen -1 -vv tcp:127.0.0.1:0 vp-dial exec:cat 2>"$T/sel5.log"
LP=$LASTPID
not_engine "vp-dial exec:cat" "$T/sel5.log" "$P"
kill "$LP"

# VP_REPLY in vp-listen's environment: vp-dial owes a SOCKS5 reply
s5echo() {
	_o=$(printf 'after-reply' | timeout 10 socat -t 5 - "TCP:127.0.0.1:$1" | od -An -tx1 | tr -d ' \n')
	case "$_o" in
	0500*"$(printf 'after-reply' | od -An -tx1 | tr -d ' \n')") return 0 ;;
	*) echo "# got $_o"; return 1 ;;
	esac
}
VP_REPLY=socks5 listen_ready P vp-listen -1 -vv tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/sel6.log"
LP=$LASTPID
not_engine "VP_REPLY=socks5 set" "$T/sel6.log" "$P" s5echo
kill "$LP"

# --- 2. one process for 100 connections, each its own payload
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/many.log"
LP=$LASTPID
$E many "$P" 100 "$LP" "$T/many.log" >"$T/many.out" 2>&1
[ "$(tr '\n' ' ' <"$T/many.out")" = "passed True children 1 grandchildren 0 echoed 100 " ] &&
    ok "100 open connections: vp-listen has one child (the engine), no other process; each echoes its own payload" ||
    { notok "100 connections: $(tr '\n' ' ' <"$T/many.out")"; }
wait_log "$T/many.log" 'exited 0 after' 100 &&
    ok "100 'exited 0' lines once they close" ||
    notok "100 connections: $(grep -c 'exited 0 after' "$T/many.log") end lines"
kill "$LP"

# --- 3. bulk both ways, half-close, 8 at once with distinct data.
# The backend stores the upload and, after the client's EOF, sends it
# back followed by 3 MB: what comes down is distinct per connection.
rand_file "$T/down" 3000000
listen_ready BP vp-listen -1 -P tcp:127.0.0.1:0 \
    sh -c "cat >'$T/up.got.'\$TCPREMOTEPORT; cat '$T/up.got.'\$TCPREMOTEPORT '$T/down'"
listen_ready FP vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BP" 2>"$T/bulk.log"
LP=$LASTPID
i=0
while [ $i -lt 8 ]; do
	rand_file "$T/up.$i" $((1000000 + i * 77777))
	cat "$T/up.$i" "$T/down" >"$T/want.$i"
	(timeout 30 socat -t 30 - "TCP:127.0.0.1:$FP" <"$T/up.$i" >"$T/got.$i") &
	eval "c$i=\$!"
	i=$((i + 1))
done
i=0
good=0
while [ $i -lt 8 ]; do
	eval "wait \$c$i"
	same "$T/want.$i" "$T/got.$i" && good=$((good + 1))
	i=$((i + 1))
done
ups=0
for f in "$T"/up.got.*; do
	i=0
	while [ $i -lt 8 ]; do
		[ "$(sha "$T/up.$i")" = "$(sha "$f")" ] && ups=$((ups + 1))
		i=$((i + 1))
	done
done
[ "$good" = 8 ] && [ "$ups" = 8 ] && [ "$(grep -c ': to the engine' "$T/bulk.log")" = 8 ] &&
    ok "8 parallel through the engine: ~1 MB up, half-close, upload + 3 MB down; sha256 equal both ways" ||
    { notok "bulk: $good downloads and $ups uploads intact of 8"; cat "$T/bulk.log"; }
kill "$LP"

# --- 4. names: localhost resolves (off the loop); .invalid is exit 68
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial localhost "$ECHO" 2>"$T/name.log"
LP=$LASTPID
echo_via "$P" && grep -q ': to the engine' "$T/name.log" &&
    ok "vp-dial localhost PORT through the engine" ||
    { notok "vp-dial localhost"; cat "$T/name.log"; }
kill "$LP"
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial nonexistent.invalid "$ECHO" 2>"$T/nx.log"
LP=$LASTPID
out=$(printf 'x\n' | timeout 20 socat -t 15 - "TCP:127.0.0.1:$P" 2>&1)
rc=$?
[ $rc = 0 ] && [ -z "$out" ] && wait_log "$T/nx.log" 'exited 68' &&
    grep -q ': to the engine' "$T/nx.log" &&
    ok "vp-dial nonexistent.invalid: client closed, 'exited 68' logged" ||
    { notok "nonexistent.invalid: rc $rc, out '$out'"; cat "$T/nx.log"; }
kill "$LP"

# --- 5. idle timeout -i 1s
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial -i 1s 127.0.0.1 "$ECHO" 2>"$T/idle.log"
LP=$LASTPID
$E idle "$P" >"$T/idle.out" 2>&1
t=$(sed -n 's/^idle closed //p' "$T/idle.out")
case "$t" in
never|'') notok "-i 1s: idle connection not closed within 10 s: $(cat "$T/idle.out")" ;;
*)	if awk -v t="$t" 'BEGIN { exit !(t >= 0.9) }'; then
		ok "-i 1s: idle connection closed by the engine (after $t s)"
	else notok "-i 1s: idle connection closed too early ($t s)"; fi ;;
esac
grep -q '^active ok True$' "$T/idle.out" &&
    ok "-i 1s: an active connection stays open for 3 s" ||
    notok "-i 1s: active connection: $(cat "$T/idle.out")"
kill "$LP"

# --- 6. SIGTERM: vp-listen exits, the engine finishes what it has
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/term.log"
LP=$LASTPID
EP=$(engine_of "$LP")
$E term "$P" "$LP" "$EP" >"$T/term.out" 2>&1
wait "$LP"
rc=$?
grep -q '^listen exited True$' "$T/term.out" && [ $rc = 0 ] &&
    ok "SIGTERM: vp-listen exits 0 with a connection open in the engine" ||
    notok "SIGTERM: exit $rc: $(tr '\n' ' ' <"$T/term.out")"
grep -q '^new refused True$' "$T/term.out" &&
    ok "SIGTERM: new connections refused" ||
    notok "SIGTERM: $(grep '^new' "$T/term.out")"
grep -q '^after term both ways True$' "$T/term.out" &&
    grep -q '^eof after half-close True$' "$T/term.out" &&
    ok "SIGTERM: the open connection still carries 2 MB both ways, then half-closes" ||
    notok "SIGTERM: open connection: $(tr '\n' ' ' <"$T/term.out")"
grep -q '^engine exited True$' "$T/term.out" &&
    ok "SIGTERM: the engine exits once its last connection ends" ||
    notok "SIGTERM: engine $EP still there: $(tr '\n' ' ' <"$T/term.out")"

# --- 7. the engine killed: a warning, then a process per connection
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/kill.log"
LP=$LASTPID
echo_via "$P" || notok "before the kill"
EP=$(engine_of "$LP")
if [ -n "$EP" ] && kill -9 "$EP"; then
	wait_log "$T/kill.log" 'warning: the engine' &&
	    ok "engine killed: vp-listen warns ($(grep 'warning: the engine' "$T/kill.log" | head -1 | sed 's/.*warning: //'))" ||
	    { notok "engine killed: no warning"; cat "$T/kill.log"; }
	n=0
	i=0
	while [ $i -lt 3 ]; do echo_via "$P" && n=$((n + 1)); i=$((i + 1)); done
	kill -0 "$LP" && [ $n = 3 ] && wait_log "$T/kill.log" ': pid [0-9]*$' 3 &&
	    wait_log "$T/kill.log" 'pid [0-9]* exited 0' 3 &&
	    ok "engine killed: vp-listen goes on, 3 connections served by a process each" ||
	    { notok "after the engine was killed: $n of 3"; cat "$T/kill.log"; }
else
	notok "no engine to kill"
fi
kill "$LP"

# --- 8. vp-dispatch: protocols, exec routes, reject, recompiled rules
cat >"$T/rules" <<EOF
outbound inloop exec vp-dial %h %p
outbound viaexec exec vp-dial -w 5s %h %p
outbound cat exec-early exec cat
outbound deny reject
outbound pol exec-early exec awk '{ print "policy", \$41 }' /proc/self/stat
outbound out direct
route inloop domain:localhost
route pol domain:policy.example
route viaexec port:$ECHO
route cat domain:cat.example
route deny domain:blocked.example
default out
EOF
chmod 644 "$T/rules"
vp-dispatch -C "$T/rules" || notok "rules compile"
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dispatch -r "$T/rules" 2>"$T/dsp.log"
LP=$LASTPID
EP=$(engine_of "$LP")
n=0
for how in "--socks5-hostname 127.0.0.1:$P" "--socks4a 127.0.0.1:$P" \
    "-x http://127.0.0.1:$P" "-p -x http://127.0.0.1:$P"; do
	rm -f "$T/d.got"
	# shellcheck disable=SC2086
	if curl -s -m 10 $how "http://localhost:$ORIGIN/blob" -o "$T/d.got" &&
	    same "$T/www/blob" "$T/d.got"; then
		ok "vp-dispatch engine: curl $(echo "$how" | sed 's/127.0.0.1:[0-9]*//') GET 1.5 MB byte for byte"
	else notok "vp-dispatch engine: curl $how"; fi
done
curl -s -m 10 --socks5-hostname "127.0.0.1:$P" --data-binary "@$T/www/blob" \
    "http://127.0.0.1:$ORIGIN/echo" -o "$T/d.post" && same "$T/www/blob" "$T/d.post" &&
    ok "vp-dispatch engine: POST 1.5 MB up and back through SOCKS5" ||
    notok "vp-dispatch engine: POST"
# "exec vp-dial %h %p" is the direct route spelled out: run in the loop
$E s5hold "$P" localhost "$ECHO" "$LP" "$EP" 0 >"$T/il.out" 2>&1
[ "$(tr '\n' ' ' <"$T/il.out")" = "rep 00 echo True listen children 1 engine children 0 eof True engine children after 0 " ] &&
    ok "exec 'vp-dial %h %p' (direct spelled out): served in the engine's loop, no fork" ||
    notok "exec vp-dial %h %p: $(tr '\n' ' ' <"$T/il.out")"
$E s5hold "$P" 127.0.0.1 "$ECHO" "$LP" "$EP" 0.3 >"$T/ex.out" 2>&1
[ "$(tr '\n' ' ' <"$T/ex.out")" = "rep 00 echo True listen children 1 engine children 1 eof True engine children after 0 " ] &&
    ok "exec route (vp-dial -w 5s %h %p): works, forked from the engine (1 child of the engine while open, 0 after)" ||
    notok "exec route: $(tr '\n' ' ' <"$T/ex.out")"
$E s5hold "$P" cat.example 9 "$LP" "$EP" 0.3 >"$T/ee.out" 2>&1
[ "$(tr '\n' ' ' <"$T/ee.out")" = "rep 00 echo True listen children 1 engine children 1 eof True engine children after 0 " ] &&
    ok "exec-early route (exec cat): idle 0.3 s, then echoes; forked from the engine" ||
    { notok "exec-early route (exec cat) after 0.3 s idle: $(tr '\n' ' ' <"$T/ee.out")"
      grep 'cat:' "$T/dsp.log" | head -3; }
# scheduling: the engine runs SCHED_BATCH (3); a command forked from it
# runs SCHED_OTHER (0), as vp-listen would have run it
out=$(vp-dial -w 5s -x "socks5://127.0.0.1:$P" policy.example 9 </dev/null 2>&1)
[ "$(awk '{ print $41 }' "/proc/$EP/stat")" = 3 ] && [ "$out" = "policy 0" ] &&
    ok "engine: SCHED_BATCH; a command forked from it: SCHED_OTHER" ||
    notok "scheduling policies: engine $(awk '{ print $41 }' "/proc/$EP/stat"), route command '$out'"
out=$($H socks5 "$P" blocked.example 80 2>&1)
case "$out" in
*"rep 02"*) ok "reject route: SOCKS5 reply 02" ;;
*) notok "reject route: '$out'" ;;
esac
grep -q 'exited 0 after' "$T/dsp.log" && [ "$(grep -c ': pid [0-9]*$' "$T/dsp.log")" = 0 ] &&
    ok "vp-dispatch: every connection went to the engine" ||
    { notok "vp-dispatch log"; cat "$T/dsp.log"; }
# recompile: cat.example now rejected; seen within a bounded wait
sed 's/^route cat domain:cat.example/route deny domain:cat.example/' "$T/rules" >"$T/rules.new"
cat "$T/rules.new" >"$T/rules"
vp-dispatch -C "$T/rules" || notok "rules recompile"
i=0
while [ $i -lt 50 ]; do
	case "$($H socks5 "$P" cat.example 9 2>&1)" in
	*"rep 02"*) break ;;
	esac
	sleep 0.1
	i=$((i + 1))
done
[ $i -lt 50 ] && ok "rules recompiled while running take effect ($((i / 10)).$((i % 10)) s)" ||
    notok "recompiled rules not seen within 5 s"
case "$($H socks5 "$P" blocked.example 80 2>&1)" in
*"rep 02"*) ok "recompiled rules: the old reject still holds" ;;
*) notok "recompiled rules: blocked.example" ;;
esac
kill "$LP"

# --- 9. -c 2 with the engine: the third client waits for a slot
listen_ready BAN $H banner hi || notok "banner backend"
listen_ready P vp-listen -1 -v -c 2 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BAN" 2>"$T/lim.log"
LP=$LASTPID
$E limit "$P" "$LP" >"$T/lim.out" 2>&1
[ "$(tr '\n' ' ' <"$T/lim.out")" = "c1 True c2 True c3-early False children 1 c1 echo True c3-after True c3 echo True children 1 " ] &&
    ok "-c 2 through the engine: the third client waits until one ends, then is served" ||
    { notok "-c 2: $(tr '\n' ' ' <"$T/lim.out")"; cat "$T/lim.log"; }
kill "$LP"

# --- 10. 200 silent clients against vp-dispatch -T 1
listen_ready P vp-listen -1 -v -c 700 tcp:127.0.0.1:0 vp-dispatch -T 1 2>"$T/flood.log"
LP=$LASTPID
EP=$(engine_of "$LP")
$E flood "$P" 200 "$ORIGIN" "$EP" "$T/www/blob" >"$T/flood.out" 2>&1
grep -q '^opened 200$' "$T/flood.out" && grep -q '^closed 200 ' "$T/flood.out" &&
    awk '/^closed/ { exit !($4 >= 0.9) }' "$T/flood.out" &&
    ok "-T 1: 200 silent clients all closed after ~1 s ($(grep '^closed' "$T/flood.out"))" ||
    notok "-T 1 flood: $(tr '\n' ' ' <"$T/flood.out")"
grep -q '^normal request meanwhile True$' "$T/flood.out" &&
    ok "-T 1 flood: a normal SOCKS5 request is served meanwhile" ||
    notok "-T 1 flood: normal request: $(tr '\n' ' ' <"$T/flood.out")"
rss=$(sed -n 's/^engine rss //p' "$T/flood.out")
if [ "${VP_SANITIZE:-}" = 1 ]; then
	skip "engine RSS ceiling under ASan ($rss kB)"
elif [ -n "$rss" ] && [ "$rss" -gt 0 ] && [ "$rss" -lt 20480 ]; then
	ok "-T 1 flood: engine RSS $rss kB (< 20 MB)"
else
	notok "-T 1 flood: engine RSS '$rss' kB"
fi
# every end reaches vp-listen (its slots are freed): 200 + the normal one
wait_log "$T/flood.log" 'exited' 201 &&
    ok "-T 1 flood: each connection's end logged (201)" ||
    notok "-T 1 flood: $(grep -c exited "$T/flood.log") end lines of 201"
# twice more, 300 at once: many ends reported together
$E flood "$P" 300 "$ORIGIN" "$EP" "$T/www/blob" >"$T/flood2.out" 2>&1
$E flood "$P" 300 "$ORIGIN" "$EP" "$T/www/blob" >>"$T/flood2.out" 2>&1
[ "$(grep -c '^closed 300 ' "$T/flood2.out")" = 2 ] && wait_log "$T/flood.log" 'exited' 803 &&
    ok "-T 1 flood: 2 x 300 more, each end logged (803 in all)" ||
    notok "-T 1 flood, 2 x 300 more: $(grep -c exited "$T/flood.log") end lines of 803 ($(grep -c ': to the engine' "$T/flood.log") passed to the engine)"
kill "$LP"

# Ends reported in uneven batches (5, then 195) while vp-listen is
# stopped, so that it reads them all at once: every one must arrive
listen_ready P vp-listen -1 -v -c 700 tcp:127.0.0.1:0 vp-dispatch -T 1 2>"$T/stop.log"
LP=$LASTPID
EP=$(engine_of "$LP")
$E stopped "$P" "$LP" "$EP" "$T/stop.log" >"$T/stop.out" 2>&1
[ "$(tr '\n' ' ' <"$T/stop.out")" = "passed 200 engine closed all True ends logged 200 " ] &&
    ok "200 ends reported while vp-listen was stopped (5, then 195): all 200 logged" ||
    notok "ends reported while vp-listen was stopped: $(tr '\n' ' ' <"$T/stop.out")"
kill "$LP"

# --- 11. hostile and odd requests: the engine answers as vp-dispatch
# does in a process of its own (same reply bytes, same exit status)
DEAD=$(free_port)
listen_ready PE vp-listen -1 -v tcp:127.0.0.1:0 vp-dispatch -T 2 2>"$T/dife.log"
LE=$LASTPID
listen_ready PP vp-listen -1 -v -P tcp:127.0.0.1:0 vp-dispatch -T 2 2>"$T/sel3p.log"
LPP=$LASTPID
$E diff "$PE" "$PP" "$DEAD" >"$T/diff.out" 2>&1
n=$(sed -n 's/^cases \([0-9]*\) same .*/\1/p' "$T/diff.out")
grep -q "^cases $n same $n\$" "$T/diff.out" &&
    ok "$n hostile/odd requests: the engine's replies equal vp-dispatch's own, byte for byte" ||
    { notok "engine vs process replies"; cat "$T/diff.out"; }
# statuses by connection number (the same order on both)
statuses() {
	sed -n 's/.*connection \([0-9]*\) from [^ ]*: \(pid [0-9]* \)\{0,1\}exited \([0-9]*\) .*/\1 \3/p' "$1" | sort -n
}
# same_statuses WHAT ENGINE_LOG PROCESS_LOG: once both logged $n ends,
# the same exit status for each connection number
same_statuses() {
	wait_log "$2" 'exited' "${n:-1}"
	wait_log "$3" 'exited' "${n:-1}"
	statuses "$2" >"$T/st.e"
	statuses "$3" >"$T/st.p"
	[ "$(wc -l <"$T/st.e")" = "${n:-x}" ] && same "$T/st.e" "$T/st.p" &&
	    ok "$1: exit statuses equal ($(cut -d' ' -f2 "$T/st.e" | sort -n | uniq -c | awk '{ printf "%s%sx%s", s, $1, $2; s=" " }'))" ||
	    { notok "$1: exit statuses differ (connection, status: engine | processes)"; paste "$T/st.e" "$T/st.p"; }
}
same_statuses "the same $n requests" "$T/dife.log" "$T/sel3p.log"
grep -q ': to the engine' "$T/dife.log" && ! grep -q ': to the engine' "$T/sel3p.log" ||
    notok "differential: which side ran the engine"
kill "$LE" "$LPP"

# --- 12. vp-dial's ends through the engine as in a process: a backend
# that closes, resets (after data: 10 times, the race is the engine's
# wake-up finding the data and the reset together), half-closes first,
# or closes unread; a client that resets after sending
listen_ready BK $E backend "$T/backend.out" || notok "backend"
listen_ready PE vp-listen -1 -v tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BK" 2>"$T/ddife.log"
LE=$LASTPID
listen_ready PP vp-listen -1 -v -P tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BK" 2>"$T/sel3d.log"
LPP=$LASTPID
$E ddiff "$PE" "$PP" "$T/backend.out" >"$T/ddiff.out" 2>&1
n=$(sed -n 's/^cases \([0-9]*\) same .*/\1/p' "$T/ddiff.out")
grep -q "^cases $n same $n\$" "$T/ddiff.out" &&
    ok "vp-dial, $n cases (backend closes, resets, resets after 20 KB, half-closes first, closes unread; client resets after 20 KB): the same bytes arrive via the engine as via a process" ||
    { notok "vp-dial engine vs process"; cat "$T/ddiff.out"; }
same_statuses "vp-dial, the same $n" "$T/ddife.log" "$T/sel3d.log"
kill "$LE" "$LPP"

# --- 13. 1000 short connections: the engine keeps no descriptor, no
# child, and its memory returns
listen_ready P vp-listen -1 -c 50 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/churn.log"
LP=$LASTPID
EP=$(engine_of "$LP")
# fdkind PID KIND: how many of PID's descriptors are sockets or pipes
# (the engine keeps up to 64 idle splice pipes for reuse: pipes are
# bounded, sockets must return to what they were)
fdkind() {
	n=0
	for f in /proc/"$1"/fd/*; do
		case "$(readlink "$f" 2>/dev/null)" in
		"$2":*) n=$((n + 1)) ;;
		esac
	done
	echo $n
}
echo_via "$P"
$E churn "$P" 200 4 >/dev/null 2>&1	# warm up: allocator and tables
s0=$(fdkind "$EP" socket)
r0=$(rss_kb "$EP")
$E churn "$P" 1000 4 >"$T/churn.out" 2>&1
i=0
while [ "$(fdkind "$EP" socket)" != "$s0" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
s1=$(fdkind "$EP" socket)
p1=$(fdkind "$EP" pipe)
r1=$(rss_kb "$EP")
grep -q '^bad 0$' "$T/churn.out" && ok "1000 short connections through the engine, each echoed" ||
    notok "1000 connections: $(cat "$T/churn.out")"
[ "$s0" = "$s1" ] && [ "$p1" -le 128 ] && [ "$(nchildren "$EP")" = 0 ] && [ "$(nchildren "$LP")" = 1 ] &&
    ok "after 1000 connections: engine sockets $s0 before and after, $p1 pipe ends (<= 128, the pool), no child left" ||
    notok "after 1000 connections: engine sockets $s0 -> $s1, pipe ends $p1, engine children $(nchildren "$EP")"
if [ "${VP_SANITIZE:-}" = 1 ]; then
	skip "engine RSS growth under ASan (its quarantine keeps freed memory): $r0 -> $r1 kB"
elif [ "$r1" -lt $((r0 + 2048)) ]; then
	ok "engine RSS after 1000 more connections: $r0 -> $r1 kB (< 2 MB growth)"
else
	notok "engine RSS grew: $r0 -> $r1 kB"
fi
kill "$LP"

# --- 14. PROXY headers (-p) with the engine: the route sees the
# header's addresses (source: matcher, UCSPI variables of a forked
# route), as with a process per connection
cat >"$T/prules" <<EOF
outbound who exec-early printf '%%s %%s %%s %%s' "\$TCPREMOTEIP" "\$TCPREMOTEPORT" "\$TCPLOCALIP" "\$TCPLOCALPORT"
outbound doc exec-early printf doc
outbound deny reject
route doc source:192.0.2.0/24 domain:doc.example
route who domain:who.example
default deny
EOF
chmod 644 "$T/prules"
vp-dispatch -C "$T/prules" || notok "PROXY rules compile"
listen_ready PE vp-listen -1 -v -p tcp:127.0.0.1:0 vp-dispatch -r "$T/prules" 2>"$T/ppe.log"
LE=$LASTPID
listen_ready PP vp-listen -1 -v -p -P tcp:127.0.0.1:0 vp-dispatch -r "$T/prules" 2>"$T/sel3x.log"
LPP=$LASTPID
V1='PROXY TCP4 192.0.2.9 198.51.100.1 4000 1080\r\n'
V2=0d0a0d0a000d0a515549540a2111000cc000024dc633640204d201bb
V6='PROXY TCP6 2001:db8::7 2001:db8::1 5555 443\r\n'
X='PROXY TCP4 203.0.113.5 198.51.100.1 4000 1080\r\n'
for c in "v1 who|$V1|who.example|greet 0500 rep 00 said '192.0.2.9 4000 198.51.100.1 1080'" \
    "v2 who|$V2|who.example|greet 0500 rep 00 said '192.0.2.77 1234 198.51.100.2 443'" \
    "v1 TCP6 who|$V6|who.example|greet 0500 rep 00 said '2001:db8::7 5555 2001:db8::1 443'" \
    "v1 source: matches|$V1|doc.example|greet 0500 rep 00 said 'doc'" \
    "v2 source: matches|$V2|doc.example|greet 0500 rep 00 said 'doc'" \
    "v1 source: does not match|$X|doc.example|greet 0500 rep 02 said ''"; do
	name=${c%%|*}; r=${c#*|}; hdr=${r%%|*}; r=${r#*|}; host=${r%%|*}; want=${r#*|}
	e=$($E proxied "$PE" "$hdr" "$host" 2>&1)
	p=$($E proxied "$PP" "$hdr" "$host" 2>&1)
	if [ "$e" = "$want" ] && [ "$p" = "$want" ]; then
		ok "-p with the engine, PROXY $name: $want"
	else
		notok "-p PROXY $name: engine [$e] processes [$p] want [$want]"
	fi
done
grep -q ': to the engine' "$T/ppe.log" || notok "-p: nothing went to the engine"
kill "$LE" "$LPP"

# --- 15. -C 1 per source through the engine
listen_ready P vp-listen -1 -v -c 10 -C 1 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$BAN" 2>"$T/C.log"
LP=$LASTPID
$E persource "$P" >"$T/C.out" 2>&1
[ "$(tr '\n' ' ' <"$T/C.out")" = "a1 True b1 True a2-early False a2-after True " ] &&
    grep -q ': to the engine' "$T/C.log" &&
    ok "-C 1 through the engine: a source's second client waits for its first; another source does not" ||
    { notok "-C 1: $(tr '\n' ' ' <"$T/C.out")"; cat "$T/C.log"; }
kill "$LP"

# --- 16. vp-dispatch -t HOST:PORT (no handshake) through the engine
listen_ready P vp-listen -1 -v tcp:127.0.0.1:0 vp-dispatch -t "127.0.0.1:$ECHO" 2>"$T/fixed.log"
LP=$LASTPID
rand_file "$T/fx" 500000
timeout 20 socat -t 10 - "TCP:127.0.0.1:$P" <"$T/fx" >"$T/fx.got"
same "$T/fx" "$T/fx.got" && grep -q ': to the engine' "$T/fixed.log" &&
    ok "vp-dispatch -t 127.0.0.1:PORT through the engine: 500 kB echoed byte for byte" ||
    { notok "vp-dispatch -t"; cat "$T/fixed.log"; }
kill "$LP"

# under ASan/UBSan: no report in any log (the engine logs to vp-listen's
# stderr). sel3-6, sel3p, sel3d and sel3x are the runs with a process per connection.
wait "$LP" 2>/dev/null
san() {	# san WHAT LOG...
	_w=$1; shift
	if grep -l 'Sanitizer\|runtime error' "$@" >"$T/san.list" 2>/dev/null; then
		notok "$_w: sanitizer reports in $(tr '\n' ' ' <"$T/san.list")"
		grep -h -A8 'Sanitizer\|runtime error' "$@" | head -30
	else
		ok "$_w: no sanitizer report in the logs"
	fi
}
set --
for f in "$T"/*.log; do
	case "$f" in
	*/sel[3-6].log|*/sel3[pdx].log) ;;
	*) set -- "$@" "$f" ;;
	esac
done
san "engine runs" "$@"
san "process-per-connection runs" "$T"/sel[3-6].log "$T"/sel3[pdx].log
finish
