#!/bin/sh
# VP_REPLY: vp-dial answers a waiting SOCKS5 / SOCKS4 / HTTP client on
# stdout before relaying: success with the bound address, or the precise
# failure code; checked byte for byte. VP_EARLY_FD: early data reaches
# the destination before stdin.
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need socat python3 microsocks od

hex() { od -An -tx1 -v "$@" | tr -d ' \n'; }

# origin: reads everything, then answers HELLO (strict half-close)
origin() {
	socat_ready OP TCP-LISTEN:0,bind=127.0.0.1 \
	    SYSTEM:"cat >'$T/in'; printf HELLO"
}
CP=$(free_port)
listen_ready FQ python3 "$PEER" fullq
listen_ready GB python3 "$PEER" garbage
MS=$(free_port)
bg microsocks -i 127.0.0.1 -p "$MS"
wait_tcp "$MS" || notok "microsocks did not start"

# want NAME STATUS HEX [vp-dial args...]: stdout must be exactly HEX
want() {
	_name=$1 _st=$2 _hex=$3; shift 3
	vp-dial "$@" </dev/null >"$T/out" 2>"$T/err"
	_rc=$?
	_got=$(hex "$T/out")
	if [ "$_rc" -eq "$_st" ] && [ "$_got" = "$_hex" ]; then
		ok "$_name: exit $_st, reply $_hex"
	else
		notok "$_name: exit $_rc (want $_st), reply $_got (want $_hex)"
		cat "$T/err"
	fi
}

# --- SOCKS5
origin
VP_REPLY=socks5 vp-dial 127.0.0.1 "$OP" </dev/null >"$T/out" 2>"$T/err"
rc=$?
# 05 00 00 01, 127.0.0.1, any port, then the payload
if [ $rc -eq 0 ] && [ "$(hex -N 8 "$T/out")" = 050000017f000001 ] &&
    [ "$(hex -j 8 -N 2 "$T/out")" != 0000 ] &&
    [ "$(tail -c +11 "$T/out")" = HELLO ]; then
	ok "socks5 success: 05 00 00 01 + bound 127.0.0.1:port, then payload"
else
	notok "socks5 success (rc $rc): $(hex "$T/out")"; cat "$T/err"
fi
Z6=000000000000
export VP_REPLY=socks5
want "socks5 refused" 69 "05050001$Z6" 127.0.0.1 "$CP"
want "socks5 name not found" 68 "05040001$Z6" no-such-host.invalid 80
want "socks5 timeout" 75 "05060001$Z6" -w 1 127.0.0.1 "$FQ"
want "socks5 refused behind a proxy" 69 "05050001$Z6" \
    -x "socks5://127.0.0.1:$MS" 127.0.0.1 "$CP"
want "socks5 bad proxy reply" 65 "05010001$Z6" \
    -x "socks5://127.0.0.1:$GB" 127.0.0.1 "$CP"
want "socks5 proxy not reachable" 69 "05050001$Z6" \
    -x "socks5://127.0.0.1:$CP" 127.0.0.1 "$CP"

# --- SOCKS4
export VP_REPLY=socks4
origin
vp-dial 127.0.0.1 "$OP" </dev/null >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(hex -N 2 "$T/out")" = 005a ] &&
    [ "$(hex -j 4 -N 4 "$T/out")" = 7f000001 ] &&
    [ "$(tail -c +9 "$T/out")" = HELLO ]; then
	ok "socks4 success: 00 5a port 127.0.0.1, then payload"
else
	notok "socks4 success (rc $rc): $(hex "$T/out")"
fi
want "socks4 refused" 69 "005b$Z6" 127.0.0.1 "$CP"
want "socks4 name not found" 68 "005b$Z6" no-such-host.invalid 80

# --- HTTP
export VP_REPLY=http
origin
vp-dial 127.0.0.1 "$OP" </dev/null >"$T/out" 2>"$T/err"
rc=$?
printf 'HTTP/1.1 200 Connection established\r\n\r\nHELLO' >"$T/exp"
if [ $rc -eq 0 ] && same "$T/out" "$T/exp"; then
	ok "http success: 200 Connection established, then payload"
else
	notok "http success (rc $rc)"
fi
E502=$(printf 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' | hex)
E504=$(printf 'HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' | hex)
want "http refused" 69 "$E502" 127.0.0.1 "$CP"
want "http name not found" 68 "$E502" no-such-host.invalid 80
want "http timeout" 75 "$E504" -w 1 127.0.0.1 "$FQ"

export VP_REPLY=bogus
want "unknown VP_REPLY" 78 "" 127.0.0.1 "$CP"
unset VP_REPLY

# --- VP_EARLY_FD: early bytes first, then stdin; the variable is consumed
origin
printf 'EARLY-' >"$T/early"
printf 'STDIN' | VP_EARLY_FD=3 vp-dial 127.0.0.1 "$OP" 3<"$T/early" \
    >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$T/in")" = "EARLY-STDIN" ] &&
    [ "$(cat "$T/out")" = HELLO ]; then
	ok "VP_EARLY_FD: early data reaches the destination before stdin"
else
	notok "VP_EARLY_FD (rc $rc): '$(cat "$T/in")'"; cat "$T/err"
fi
origin
printf 'from-a-pipe|' | { exec 4<&0; printf 'rest' |
    VP_REPLY=socks5 VP_EARLY_FD=4 vp-dial 127.0.0.1 "$OP" >"$T/out" 2>"$T/err"; }
if [ "$(cat "$T/in")" = "from-a-pipe|rest" ] &&
    [ "$(hex -N 2 "$T/out")" = 0500 ]; then
	ok "VP_EARLY_FD from a pipe, with VP_REPLY=socks5"
else
	notok "VP_EARLY_FD pipe: '$(cat "$T/in")'"
fi
# not passed on to an exec: command
printf 'early' | { exec 3<&0; VP_REPLY=http VP_EARLY_FD=3 \
    vp-dial exec:'cat >/dev/null; env' </dev/null >"$T/out" 2>"$T/err"; }
if head -n 1 "$T/out" | grep -q '^HTTP/1.1 200' &&
    ! grep -q -e '^VP_REPLY=' -e '^VP_EARLY_FD=' "$T/out"; then
	ok "exec: answered by vp-dial; VP_REPLY/VP_EARLY_FD not passed on"
else
	notok "exec: environment"; cat "$T/out"
fi
VP_EARLY_FD=notanumber vp-dial 127.0.0.1 "$CP" </dev/null 2>"$T/err"
rc=$?
[ $rc -eq 65 ] && one_fatal "$T/err" && ok "bad VP_EARLY_FD: exit 65" ||
    notok "bad VP_EARLY_FD (rc $rc)"
finish
