#!/bin/sh
# The engine against a process per connection: vp-listen's engine must
# behave as "vp-listen -P" does (same bytes, replies, exit statuses
# logged with -v, same log lines). Each scenario runs through both, side
# by side, and is compared after pids, ports and timings are normalised;
# the -P side is also checked against the documented behaviour ("[-P]"
# lines), the engine against -P ("[engine]" lines).
#
#  1. vp-dispatch -s -r: a client answered before routing (sniffing)
#     while the compiled rules go missing or stale for a second client:
#     the first is still rejected by its rules, never relayed direct
#  2. a low descriptor limit (ulimit -n 31, -c 5): every connection is
#     served or closed with a logged error, no -c slot is lost; -c 5
#     does not fit the engine there, so vp-listen warns and runs a
#     process per connection
#  3. a name with 5 addresses, the first 4 unanswering: the 5th is
#     reached (a private mount namespace with its own /etc/hosts)
#  4. a name with only ::1 on a host whose only other address is IPv4
#     (a private network namespace): connects as vp-dial does
#  5. vp-dispatch, plain HTTP: a normal download logs the same line; a
#     client reset mid-download ends with the same status (74)
#  6. vp-dispatch, direct route to a closed port: same log line at the
#     default level, same reply, exit 69
#  7. configuration errors met at the handshake (users file readable by
#     others, rules missing): same reply bytes, exit statuses and log
#     lines for a SOCKS4 request and for a silent client under -T 1
#  8. vp-dial -i 1: the end is logged as an "idle timeout"
#
# Checks 3 and 4 run this script again inside unshare(1) (arguments
# --in-hosts, --in-netns6); the namespaces end with that run.
. "$(dirname "$0")/lib.sh"
need python3 socat curl
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"
X="python3 $VP_SRC/tests/integration/parity_helper.py"
SELF=$0

# wait_log FILE PATTERN [N [TICKS]]: bounded wait (TICKS x 0.05 s,
# default 200) until FILE has N lines (default 1) matching PATTERN.
wait_log() {
	_i=0
	while [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -lt "${3:-1}" ] &&
	    [ $_i -lt "${4:-200}" ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ]
}

# norm LOG: the log without the lines that differ by design (a
# connection passed to the engine or given a pid, the end of vp-listen),
# with pids, ports and durations replaced (the unit kept: "2 ms" and
# "0.002 s" differ), sorted. normb: byte counts replaced too.
norm() {
	sed -E -e '/: (to the engine|pid [0-9]+)$/d' -e '/stopped listening$/d' \
	    -e 's/^([a-z-]+)\[[0-9]+\]:/\1:/' -e 's/: pid [0-9]+ /: /' \
	    -e 's/:[0-9]{2,5}\b/:PORT/g' \
	    -e 's/\b[0-9]+(\.[0-9]+)?( ?)(ms|s)\b/N\2\3/g' "$1" | sort
}
normb() { norm "$1" | sed -E 's/\b[0-9]+ bytes/N bytes/g'; }

# status LOG N: the exit status logged for connection N.
status() {
	sed -n "s/.*connection $2 from [^ ]*: \(pid [0-9]* \)\{0,1\}exited \([0-9]*\) .*/\2/p" "$1"
}

# pair NAME ARGS...: vp-listen -v with the engine (port PE, pid LE, log
# $T/NAME.e.log) and with -P (PP, LPP, $T/NAME.p.log), both running ARGS.
pair() {
	_n=$1
	shift
	listen_ready PE vp-listen -1 -v tcp:127.0.0.1:0 "$@" 2>"$T/$_n.e.log" || return 1
	LE=$LASTPID
	listen_ready PP vp-listen -1 -v -P tcp:127.0.0.1:0 "$@" 2>"$T/$_n.p.log" || return 1
	LPP=$LASTPID
}

# same_logs NAME [normb]: the two logs of pair NAME, normalised, are
# equal; shows both when not. engine_took NAME: the engine side did use
# the engine (else the comparison proves nothing).
same_logs() {
	"${2:-norm}" "$T/$1.e.log" >"$T/$1.e.norm"
	"${2:-norm}" "$T/$1.p.log" >"$T/$1.p.norm"
	same "$T/$1.e.norm" "$T/$1.p.norm" && return 0
	echo "# engine log, normalised:"
	sed 's/^/#   /' "$T/$1.e.norm"
	echo "# -P log, normalised:"
	sed 's/^/#   /' "$T/$1.p.norm"
	return 1
}
engine_took() { grep -q ': to the engine' "$T/$1.e.log"; }

# san LOG...: no sanitizer report in the logs (under ASan/UBSan).
san() {
	if grep -l 'Sanitizer\|runtime error' "$@" >"$T/san.list" 2>/dev/null; then
		notok "sanitizer reports in $(tr '\n' ' ' <"$T/san.list")"
		grep -h -A8 'Sanitizer\|runtime error' "$@" | head -30
	fi
}

# hello_both NAME WHAT: a line through the pair started by "pair NAME"
# (ports PE, PP), at once through both; each must echo it and exit 0,
# the engine with the same log as -P.
hello_both() {
	(printf 'hello\n' | timeout 10 socat -t 8 - "TCP:127.0.0.1:$PE" >"$T/$1.e.out" 2>&1) &
	_ce=$!
	(printf 'hello\n' | timeout 10 socat -t 8 - "TCP:127.0.0.1:$PP" >"$T/$1.p.out" 2>&1) &
	_cp=$!
	wait "$_ce" "$_cp"
	wait_log "$T/$1.e.log" 'exited' 1 100
	wait_log "$T/$1.p.log" 'exited' 1 100
	_pe=$(status "$T/$1.e.log" 1)
	_pp=$(status "$T/$1.p.log" 1)
	[ "$(cat "$T/$1.p.out")" = hello ] && [ "$_pp" = 0 ] &&
	    ok "[-P] $2, exit 0" ||
	    { notok "[-P] $2: got '$(cat "$T/$1.p.out")', exit '$_pp'"; cat "$T/$1.p.log"; }
	engine_took "$1" && [ "$(cat "$T/$1.e.out")" = hello ] && [ "$_pe" = 0 ] &&
	    same_logs "$1" &&
	    ok "[engine] $2, exit 0, same log as -P" ||
	    { notok "[engine] $2: got '$(cat "$T/$1.e.out")', exit '$_pe' (-P: 0)"
	      sed 's/^/#   /' "$T/$1.e.log"; }
}

# --- 3 (inside unshare -m): multi.test has 5 addresses, the first 4
# drop SYNs; vp-dial tries them all (a new attempt every 250 ms)
in_hosts() {
	{
		echo '127.0.0.1 localhost'
		for a in 2 3 4 5 6; do echo "127.0.0.$a multi.test"; done
	} >"$T/hosts"
	if ! mount --bind "$T/hosts" /etc/hosts 2>"$T/mount.err"; then
		skip "5 addresses: cannot bind-mount /etc/hosts ($(cat "$T/mount.err"))"
		return
	fi
	n=$(getent ahostsv4 multi.test | awk '{ print $1 }' | uniq | tr '\n' ' ')
	if [ "$n" != "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 " ]; then
		skip "5 addresses: multi.test resolves to '$n' here"
		umount /etc/hosts
		return
	fi
	listen_ready MP $X multi || { notok "5 addresses: backends"; umount /etc/hosts; return; }
	MB=$LASTPID
	pair multi vp-dial -v -w 4 multi.test "$MP" || notok "5 addresses: vp-listen"
	hello_both multi "5 addresses, first 4 unanswering: the 5th echoes"
	kill "$LE" "$LPP" "$MB"
	wait "$LE" "$LPP" "$MB" 2>/dev/null
	san "$T"/*.log
	umount /etc/hosts
}

# --- 4 (inside unshare -mn): lo, and a veth with only an IPv4 address;
# v6only.test is ::1 alone; an echo server on [::1]
in_netns6() {
	if ! { ip link set lo up && ip link add vpp0 type veth peer name vpp1 &&
	    ip link set vpp0 addrgenmode none && ip link set vpp1 addrgenmode none &&
	    ip addr add 10.9.9.1/24 dev vpp0 && ip link set vpp0 up &&
	    ip link set vpp1 up; } 2>"$T/ip.err"; then
		skip "IPv6-only name: cannot set up the namespace ($(head -1 "$T/ip.err"))"
		return
	fi
	printf '127.0.0.1 localhost\n::1 v6only.test\n' >"$T/hosts6"
	if ! mount --bind "$T/hosts6" /etc/hosts 2>"$T/mount.err"; then
		skip "IPv6-only name: cannot bind-mount /etc/hosts ($(cat "$T/mount.err"))"
		return
	fi
	listen_ready E6 $X echo6 || { notok "IPv6-only name: echo on [::1]"; umount /etc/hosts; return; }
	EB=$LASTPID
	pair v6 vp-dial -v -w 4 v6only.test "$E6" || notok "IPv6-only name: vp-listen"
	hello_both v6 "a name with only ::1, no other IPv6 address: echoes"
	kill "$LE" "$LPP" "$EB"
	wait "$LE" "$LPP" "$EB" 2>/dev/null
	san "$T"/*.log
	umount /etc/hosts
}

case "${1:-}" in
--in-hosts) in_hosts; finish ;;
--in-netns6) in_netns6; finish ;;
esac

listen_ready ECHO $H echo || { notok "echo backend"; exit 0; }

# --- 1. rules bypass: vp-dispatch -s answers A before routing it; the
# compiled rules are then renamed away (or made stale) and B comes in;
# A must still be routed by the rules it started with: rejected (69)
cat >"$T/brules" <<EOF
outbound no reject
outbound d direct
route no port:$ECHO
default d
EOF
chmod 644 "$T/brules"
vp-dispatch -C "$T/brules" || notok "rules bypass: compile"
for how in rename stale; do
	n=b$how
	pair $n vp-dispatch -v -s -r "$T/brules" || notok "rules bypass: vp-listen"
	# (compiled again after each run, in case a restored time is off)
	timeout 20 $X bypass "$PE" "$ECHO" "$T/brules" $how >"$T/$n.e.out" 2>&1
	vp-dispatch -C "$T/brules" || notok "rules bypass: compile again"
	timeout 20 $X bypass "$PP" "$ECHO" "$T/brules" $how >"$T/$n.p.out" 2>&1
	vp-dispatch -C "$T/brules" || notok "rules bypass: compile again"
	wait_log "$T/$n.e.log" 'exited' 2
	wait_log "$T/$n.p.log" 'exited' 2
	a=$(sed -n 's/^A got //p' "$T/$n.p.out")
	if grep -q '^A reply 050005000001' "$T/$n.p.out" && [ -n "$a" ] &&
	    case "$a" in *68656c6c6f0a*) false ;; esac &&
	    [ "$(status "$T/$n.p.log" 1)" = 69 ] && grep -q 'route no rejects' "$T/$n.p.log"; then
		ok "[-P] rules bypass ($how): A answered 00 by -s, then rejected (exit 69), not relayed"
	else
		notok "[-P] rules bypass ($how): $(tr '\n' ' ' <"$T/$n.p.out") exit $(status "$T/$n.p.log" 1)"
		cat "$T/$n.p.log"
	fi
	if engine_took $n && same "$T/$n.e.out" "$T/$n.p.out" &&
	    [ "$(status "$T/$n.e.log" 1)" = "$(status "$T/$n.p.log" 1)" ] &&
	    [ "$(status "$T/$n.e.log" 2)" = "$(status "$T/$n.p.log" 2)" ] &&
	    same_logs $n; then
		ok "[engine] rules bypass ($how): A rejected as with -P, never relayed direct; same statuses and log"
	else
		notok "[engine] rules bypass ($how): $(tr '\n' ' ' <"$T/$n.e.out") exits $(status "$T/$n.e.log" 1)/$(status "$T/$n.e.log" 2) (-P: $(tr '\n' ' ' <"$T/$n.p.out") exits $(status "$T/$n.p.log" 1)/$(status "$T/$n.p.log" 2))"
	fi
	kill "$LE" "$LPP"
	wait "$LE" "$LPP" 2>/dev/null
done

# --- 2. descriptor exhaustion: ulimit -n 31 (soft and hard) and -c 5;
# two rounds of 5 connections held open at once. In the first, each is
# echoed or closed with an error logged, and all 5 ends are logged once
# they close (no -c slot lost); the second gets all 5 echoed.
for side in p e; do
	[ $side = p ] && m=-P what="[-P]" || m="" what="[engine]"
	listen_ready P sh -c 'ulimit -n 31 && exec vp-listen "$@"' sh $m -1 -v -c 5 \
	    tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$ECHO" 2>"$T/fd.$side.log" ||
	    notok "$what ulimit -n 31: vp-listen"
	LP=$LASTPID
	timeout 30 $X hold "$P" 5 >"$T/fd.$side.1" 2>&1
	r1=$?
	wait_log "$T/fd.$side.log" 'exited' 5 60
	ends1=$(grep -c 'exited' "$T/fd.$side.log")
	errs=$(grep -v 'descriptor limit' "$T/fd.$side.log" | grep -c 'warning:\|fatal:\|error')
	good1=1
	[ -s "$T/fd.$side.1" ] || good1=0
	for w in $(cat "$T/fd.$side.1"); do
		case $w in x[0-4]) ;; *) [ "$errs" -gt 0 ] || good1=0 ;; esac
	done
	if [ $r1 != 124 ] && [ $good1 = 1 ] && [ "$ends1" = 5 ]; then
		ok "$what ulimit -n 31, -c 5, 5 held: each echoed or closed with an error logged ($(tr '\n' ' ' <"$T/fd.$side.1")), 5 ends logged, no hang"
	else
		notok "$what ulimit -n 31, -c 5, 5 held: '$(tr '\n' ' ' <"$T/fd.$side.1")' (status $r1), $errs error lines, $ends1 ends logged of 5"
	fi
	timeout 30 $X hold "$P" 5 >"$T/fd.$side.2" 2>&1
	r2=$?
	wait_log "$T/fd.$side.log" 'exited' 10 60
	ends=$(grep -c 'exited' "$T/fd.$side.log")
	if [ $r2 != 124 ] && [ "$(cat "$T/fd.$side.2")" = "x0 x1 x2 x3 x4" ] && [ "$ends" = 10 ]; then
		ok "$what ulimit -n 31, -c 5: a second round of 5 all echoed, 10 ends logged"
	else
		notok "$what ulimit -n 31, -c 5, second round: '$(tr '\n' ' ' <"$T/fd.$side.2")' (status $r2), $ends ends logged of 10"
		sed 's/^/#   /' "$T/fd.$side.log"
	fi
	# -c 5 connections do not fit in 31 descriptors with the engine
	# (about six each in one process): vp-listen says so and runs a
	# process per connection, which keeps the -c promise
	if [ $side = e ]; then
		grep -q 'too low for the engine.*a process per connection' "$T/fd.e.log" &&
		    ! grep -q ': to the engine' "$T/fd.e.log" &&
		    ok "[engine] ulimit -n 31, -c 5: too few descriptors for the engine: warned, a process per connection" ||
		    notok "[engine] ulimit -n 31, -c 5: no warning, or the engine was used"
	fi
	kill "$LP"
	wait "$LP" 2>/dev/null
done

# --- 3 and 4: in namespaces of their own, this script again
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	timeout 60 unshare -m sh "$SELF" --in-hosts ||
	    notok "5 addresses: the run in a mount namespace failed ($?)"
else
	skip "5 addresses: unshare -m unavailable (needs root)"
fi
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 && unshare -mn true 2>/dev/null; then
	timeout 60 unshare -mn sh "$SELF" --in-netns6 ||
	    notok "IPv6-only name: the run in a network namespace failed ($?)"
else
	skip "IPv6-only name: unshare -mn or ip(8) unavailable"
fi

# --- 5. vp-dispatch, plain HTTP (absolute-form GET through curl -x)
mkdir "$T/www"
rand_file "$T/www/blob" 300000
rand_file "$T/www/big" 16000000	# more than every buffer on the way
listen_ready ORIGIN $H http "$T/www" || notok "http origin"
pair http vp-dispatch -v || notok "plain HTTP: vp-listen"
curl -s -m 10 -x "http://127.0.0.1:$PE" "http://127.0.0.1:$ORIGIN/blob" -o "$T/http.e.got"
curl -s -m 10 -x "http://127.0.0.1:$PP" "http://127.0.0.1:$ORIGIN/blob" -o "$T/http.p.got"
wait_log "$T/http.e.log" 'exited' 1
wait_log "$T/http.p.log" 'exited' 1
cp "$T/http.e.log" "$T/http1.e.log"
cp "$T/http.p.log" "$T/http1.p.log"
same "$T/www/blob" "$T/http.p.got" && [ "$(status "$T/http.p.log" 1)" = 0 ] &&
    grep -q 'vp-dispatch\[[0-9]*\]: info: .*300062 bytes in.* done$' "$T/http.p.log" &&
    ok "[-P] plain HTTP GET through curl -x: byte for byte, exit 0, one info line" ||
    { notok "[-P] plain HTTP GET"; cat "$T/http.p.log"; }
engine_took http && same "$T/www/blob" "$T/http.e.got" &&
    [ "$(status "$T/http.e.log" 1)" = 0 ] && same_logs http1 &&
    ok "[engine] plain HTTP GET: byte for byte, exit 0, the same info line as -P" ||
    notok "[engine] plain HTTP GET: exit $(status "$T/http.e.log" 1), log line differs from -P's"
timeout 20 $X plainrst "$PE" "$ORIGIN" big >"$T/rst.e.out" 2>&1
timeout 20 $X plainrst "$PP" "$ORIGIN" big >"$T/rst.p.out" 2>&1
wait_log "$T/http.e.log" 'exited' 2
wait_log "$T/http.p.log" 'exited' 2
pe=$(status "$T/http.e.log" 2)
pp=$(status "$T/http.p.log" 2)
grep -q '^got start$' "$T/rst.p.out" && [ "$pp" = 74 ] &&
    ok "[-P] plain HTTP, client reset mid-download: exit 74" ||
    { notok "[-P] plain HTTP reset: $(cat "$T/rst.p.out"), exit '$pp'"; cat "$T/http.p.log"; }
grep -q '^got start$' "$T/rst.e.out" && [ "$pe" = "$pp" ] && same_logs http normb &&
    ok "[engine] plain HTTP, client reset mid-download: exit $pe and the log as -P" ||
    notok "[engine] plain HTTP reset: $(cat "$T/rst.e.out"), exit '$pe' (-P: $pp)"
kill "$LE" "$LPP"
wait "$LE" "$LPP" 2>/dev/null

# --- 6. vp-dispatch (default log level), direct route to a closed port
DEAD=$(free_port)
pair dead vp-dispatch || notok "closed port: vp-listen"
req=050100050100017f000001$(printf %04x "$DEAD")
$H send "$PE" "$req" 2>&1 | grep '^reply' >"$T/dead.e.out"
$H send "$PP" "$req" 2>&1 | grep '^reply' >"$T/dead.p.out"
wait_log "$T/dead.e.log" 'exited' 1
wait_log "$T/dead.p.log" 'exited' 1
[ "$(cat "$T/dead.p.out")" = "reply 050005050001000000000000" ] &&
    [ "$(status "$T/dead.p.log" 1)" = 69 ] &&
    grep -q "vp-dispatch\[[0-9]*\]: fatal: route direct: connect to 127.0.0.1:$DEAD: connection refused$" "$T/dead.p.log" &&
    ok "[-P] SOCKS5 to a closed port: reply 05, exit 69, 'fatal: route direct: connect to ...: connection refused'" ||
    { notok "[-P] closed port: $(cat "$T/dead.p.out")"; cat "$T/dead.p.log"; }
engine_took dead && same "$T/dead.e.out" "$T/dead.p.out" &&
    [ "$(status "$T/dead.e.log" 1)" = "$(status "$T/dead.p.log" 1)" ] && same_logs dead &&
    ok "[engine] SOCKS5 to a closed port: same reply, exit and log line as -P" ||
    notok "[engine] closed port: $(cat "$T/dead.e.out"), exit $(status "$T/dead.e.log" 1)"
kill "$LE" "$LPP"
wait "$LE" "$LPP" 2>/dev/null

# --- 7. configuration errors met at the handshake: a users file others
# may read; a missing compiled rules file (users configured). Connection
# 1 is a SOCKS4 request, connection 2 is silent (-T 1).
printf 'alice:s3cr:et\nbob:hunter2\n' >"$T/users600"
chmod 600 "$T/users600"
cp "$T/users600" "$T/users644"
chmod 644 "$T/users644"
s4=04010050"7f000001"7500
cfgs=""
for cfg in users644 norules; do
	case $cfg in
	users644) set -- -T 1 -a "$T/users644" ;;
	norules) set -- -T 1 -a "$T/users600" -r "$T/missing.rules" ;;
	esac
	pair $cfg vp-dispatch "$@" || notok "$cfg: vp-listen"
	for s in e p; do
		[ $s = e ] && port=$PE || port=$PP
		( $H send "$port" "$s4" 2>&1 | grep '^reply' >"$T/$cfg.$s.out"
		  $H send "$port" "" 2>&1 | grep '^reply' >>"$T/$cfg.$s.out" ) &
		eval "c_${cfg}_$s=\$!"
	done
	cfgs="$cfgs $cfg:$LE:$LPP"
done
for c in $cfgs; do
	cfg=${c%%:*}
	eval "wait \$c_${cfg}_e \$c_${cfg}_p"
	wait_log "$T/$cfg.e.log" 'exited' 2 100
	wait_log "$T/$cfg.p.log" 'exited' 2 100
	want="reply 005b000000000000
reply "
	pst="$(status "$T/$cfg.p.log" 1) $(status "$T/$cfg.p.log" 2)"
	est="$(status "$T/$cfg.e.log" 1) $(status "$T/$cfg.e.log" 2)"
	[ "$(cat "$T/$cfg.p.out")" = "$want" ] && [ "$(echo "$pst" | wc -w)" = 2 ] &&
	    ok "[-P] $cfg: SOCKS4 answered 5b, silent client closed; exits $pst" ||
	    { notok "[-P] $cfg: $(tr '\n' ' ' <"$T/$cfg.p.out") exits $pst"; cat "$T/$cfg.p.log"; }
	engine_took $cfg && same "$T/$cfg.e.out" "$T/$cfg.p.out" && [ "$est" = "$pst" ] &&
	    same_logs $cfg &&
	    ok "[engine] $cfg: SOCKS4 request and silent client: same replies, exits ($est) and log as -P" ||
	    notok "[engine] $cfg: $(tr '\n' ' ' <"$T/$cfg.e.out") exits $est (-P: $(tr '\n' ' ' <"$T/$cfg.p.out") exits $pst)"
	c=${c#*:}
	kill "${c%%:*}" "${c#*:}"
	wait "${c%%:*}" "${c#*:}" 2>/dev/null
done

# --- 8. vp-dial -i 1: an idle connection's end is an "idle timeout"
pair idle vp-dial -v -i 1 127.0.0.1 "$ECHO" || notok "idle: vp-listen"
$H send "$PE" "" >/dev/null 2>&1 &
ce=$!
$H send "$PP" "" >/dev/null 2>&1 &
cp=$!
wait "$ce" "$cp"
wait_log "$T/idle.e.log" 'exited' 1
wait_log "$T/idle.p.log" 'exited' 1
grep -q "vp-dial\[[0-9]*\]: info: 127.0.0.1:$ECHO: 0 bytes out, 0 bytes in, .* s, idle timeout$" "$T/idle.p.log" &&
    ok "[-P] vp-dial -i 1: logged as 'idle timeout'" ||
    { notok "[-P] vp-dial -i 1"; cat "$T/idle.p.log"; }
engine_took idle && same_logs idle &&
    ok "[engine] vp-dial -i 1: logged as 'idle timeout', as -P" ||
    notok "[engine] vp-dial -i 1: the end line differs"
kill "$LE" "$LPP"
wait "$LE" "$LPP" 2>/dev/null

# --- 9. vp-dispatch -v, SOCKS5 and CONNECT: the byte counts in the end
# line are the relay's, without the success reply (the engine once
# counted the reply in "bytes in": 10 more for SOCKS5, 39 for CONNECT)
pair counts vp-dispatch -v || notok "counts: vp-listen"
for p in "$PE" "$PP"; do
	curl -s -m 10 -x "socks5h://127.0.0.1:$p" "http://127.0.0.1:$ORIGIN/blob" -o /dev/null
	curl -s -m 10 -p -x "http://127.0.0.1:$p" "http://127.0.0.1:$ORIGIN/blob" -o /dev/null
done
wait_log "$T/counts.e.log" 'exited' 2
wait_log "$T/counts.p.log" 'exited' 2
engine_took counts && [ "$(grep -c ' bytes in' "$T/counts.p.log")" = 2 ] &&
    same_logs counts &&
    ok "[engine] SOCKS5 and CONNECT: the same byte counts as -P" ||
    notok "[engine] SOCKS5 and CONNECT: byte counts differ from -P's"
kill "$LE" "$LPP"
wait "$LE" "$LPP" 2>/dev/null

# --- 10. an "exec vp-dial %h %p" route is direct spelled out, in both:
# a plain HTTP request to a closed port gets 502 (-P once ran vp-dial
# without VP_REPLY and closed without a word)
printf 'outbound dial exec vp-dial %%h %%p\ndefault dial\n' >"$T/dialrules"
chmod 644 "$T/dialrules"
vp-dispatch -C "$T/dialrules" || notok "dial route rules: compile"
pair dialroute vp-dispatch -r "$T/dialrules" || notok "dial route: vp-listen"
curl -s -m 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$PE" \
    "http://127.0.0.1:$DEAD/" >"$T/dialroute.e.out"
curl -s -m 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$PP" \
    "http://127.0.0.1:$DEAD/" >"$T/dialroute.p.out"
wait_log "$T/dialroute.e.log" 'exited' 1
wait_log "$T/dialroute.p.log" 'exited' 1
[ "$(cat "$T/dialroute.p.out")" = 502 ] &&
    ok "[-P] plain HTTP on an exec vp-dial %h %p route to a closed port: 502" ||
    { notok "[-P] exec vp-dial route: '$(cat "$T/dialroute.p.out")'"; cat "$T/dialroute.p.log"; }
engine_took dialroute && same "$T/dialroute.e.out" "$T/dialroute.p.out" &&
    [ "$(status "$T/dialroute.e.log" 1)" = "$(status "$T/dialroute.p.log" 1)" ] &&
    same_logs dialroute &&
    ok "[engine] the same route: the same reply, exit and log as -P" ||
    notok "[engine] exec vp-dial route: '$(cat "$T/dialroute.e.out")', exit $(status "$T/dialroute.e.log" 1)"
kill "$LE" "$LPP"
wait "$LE" "$LPP" 2>/dev/null
san "$T"/*.log
finish
