#!/bin/sh
# vp-dial -x against real proxies: microsocks (SOCKS5, with and without
# RFC 1929 auth, and on a unix socket through socat), ncat's HTTP
# CONNECT proxy, a SOCKS4a proxy, chains of two; each proxy failure with
# its exit status and message; no byte after a reply lost.
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need socat ncat python3 microsocks

rand_file "$T/up" 3000000
rand_file "$T/down" 2000000
ND=$(wc -c <"$T/down")
mkdir "$T/www"
rand_file "$T/www/f.bin" 100000

HP=$(free_port)
bg python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$HP"
wait_tcp "$HP" || notok "http.server did not start"
MS=$(free_port)
bg microsocks -i 127.0.0.1 -p "$MS"
MSA=$(free_port)
bg microsocks -i 127.0.0.1 -p "$MSA" -u bob -P 'pa:ss@word'
NH=$(free_port)
bg ncat -l 127.0.0.1 "$NH" --proxy-type http -k
listen_ready S4 python3 "$PEER" socks4a
bg socat UNIX-LISTEN:"$T/s5.sock",fork TCP:127.0.0.1:"$MS"
wait_tcp "$MS" && wait_tcp "$MSA" && wait_tcp "$NH" && wait_path "$T/s5.sock" ||
    notok "proxies did not start"

# get URL... : GET /f.bin through the proxies, body checked.
get() {
	_args=""
	for _x in "$@"; do _args="$_args -x $_x"; done
	# shellcheck disable=SC2086
	{ printf 'GET /f.bin HTTP/1.0\r\n\r\n'; wait_size "$T/resp" 100100; } |
	    vp-dial $_args 127.0.0.1 "$HP" >"$T/resp" 2>"$T/err"
	_rc=$?
	sed '1,/^\r$/d' "$T/resp" >"$T/body"
	rm -f "$T/resp"
	[ $_rc -eq 0 ] && same "$T/body" "$T/www/f.bin"
}

xfer "socks5 (microsocks)" "socks5://127.0.0.1:$MS"
xfer "socks5 with RFC 1929 auth (microsocks -u -P)" \
    "socks5://bob:pa%3Ass%40word@127.0.0.1:$MSA"
xfer "socks5 on a unix socket" "socks5://unix:$T/s5.sock"
xfer "http CONNECT (ncat --proxy-type http)" "http://127.0.0.1:$NH"
xfer "socks4a, name resolved by the proxy" "socks4a://127.0.0.1:$S4"
xfer "chain socks5 -> http" "socks5://127.0.0.1:$MS" "http://127.0.0.1:$NH"
xfer "chain socks4a -> socks5 with auth" "socks4a://127.0.0.1:$S4" \
    "socks5://bob:pa%3Ass%40word@127.0.0.1:$MSA"

# the SOCKS4a peer passes half-close through: a strict half-close test
socat_ready OP TCP-LISTEN:0,bind=127.0.0.1 \
    SYSTEM:"cat >'$T/up.h'; cat '$T/down'"
vp-dial -x "socks4a://127.0.0.1:$S4" 127.0.0.1 "$OP" <"$T/up" \
    >"$T/down.h" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && same "$T/up" "$T/up.h" && same "$T/down" "$T/down.h"; then
	ok "half-close through a proxy that passes it on"
else
	notok "half-close through socks4a (rc $rc)"; cat "$T/err"
fi

# fail NAME STATUS REGEX ARGS...
fail() {
	_name=$1 _want=$2 _re=$3; shift 3
	vp-dial "$@" </dev/null >"$T/out" 2>"$T/err"
	_rc=$?
	if [ $_rc -eq "$_want" ] && one_fatal "$T/err" && [ ! -s "$T/out" ] &&
	    grep -q -- "$_re" "$T/err"; then
		ok "$_name: exit $_want, '$(cut -d' ' -f3- "$T/err")'"
	else
		notok "$_name (rc $_rc, want $_want)"; cat "$T/err"
	fi
}

# an IPv6 destination through each proxy kind that can carry one
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null; then
	for x in "socks5://127.0.0.1:$MS" "http://127.0.0.1:$NH"; do
		socat_ready P6 TCP6-LISTEN:0,bind=[::1] SYSTEM:"printf v6-ok"
		rm -f "$T/v6out"
		wait_size "$T/v6out" 5 | vp-dial -x "$x" ::1 "$P6" \
		    >"$T/v6out" 2>"$T/err"
		if [ "$(cat "$T/v6out")" = v6-ok ]; then
			ok "IPv6 destination [::1] via ${x%%://*}"
		else
			notok "IPv6 destination via $x"; cat "$T/err"
		fi
	done
	fail "socks4a cannot carry IPv6" 69 "SOCKS4a cannot carry" \
	    -x "socks4a://127.0.0.1:$S4" ::1 80
fi

# a SOCKS5 proxy on an abstract unix socket
ABS=vp-dial-s5-$$
bg socat ABSTRACT-LISTEN:"$ABS",fork TCP:127.0.0.1:"$MS"
i=0
# bounded wait until socat listens (a get() that fails waits 30 s for
# a response that cannot come, so it is tried once, when ready)
until grep -q " @$ABS\$" /proc/net/unix; do
	i=$((i + 1)); [ $i -ge 200 ] && break; sleep 0.05
done
get "socks5://unix:@$ABS" && ok "socks5://unix:@abstract proxy" ||
    { notok "abstract unix proxy"; cat "$T/err"; }

get "http://127.0.0.1:$NH" && ok "HTTP GET through ncat's CONNECT proxy" ||
    notok "GET via http proxy"

# payload in the same segment as the proxy's reply is not lost
listen_ready HX python3 "$PEER" http200x 'SSH-2.0-early-banner'
printf 'ping' | { cat; wait_size "$T/hx" 24; } |
    vp-dial -x "http://127.0.0.1:$HX" example.org 22 >"$T/hx" 2>"$T/err"
if [ "$(cat "$T/hx")" = "SSH-2.0-early-bannerping" ]; then
	ok "bytes right after the proxy's 200 reach stdout, in order"
else
	notok "early payload after the reply: '$(cat "$T/hx")'"; cat "$T/err"
fi

# --- failures
CP=$(free_port)
fail "socks5: destination refused" 69 \
    "via socks5://127.0.0.1:$MS: proxy refused: connection refused (SOCKS5 reply 05)\$" \
    -x "socks5://127.0.0.1:$MS" 127.0.0.1 "$CP"
fail "socks5: name not found at the proxy" 69 "(SOCKS5 reply 0[14])$" \
    -x "socks5://127.0.0.1:$MS" no-such-host.invalid 80
fail "socks5: wrong password" 69 "authentication failed" \
    -x "socks5://bob:wrong@127.0.0.1:$MSA" 127.0.0.1 "$HP"
fail "socks5: credentials missing" 69 "no acceptable authentication method" \
    -x "socks5://127.0.0.1:$MSA" 127.0.0.1 "$HP"
fail "http proxy: destination refused" 75 "proxy refused: HTTP 504" \
    -x "http://127.0.0.1:$NH" 127.0.0.1 "$CP"
fail "socks4a: request rejected" 69 "SOCKS4 reply 5b" \
    -x "socks4a://127.0.0.1:$S4" 127.0.0.1 "$CP"
fail "proxy itself refuses the connection" 69 \
    "cannot reach proxy socks5://127.0.0.1:$CP: connection refused" \
    -x "socks5://127.0.0.1:$CP" 127.0.0.1 "$HP"
fail "proxy name not found" 68 "cannot reach proxy .*: name not found" \
    -x "socks5://no-such-proxy.invalid:1080" 127.0.0.1 "$HP"
fail "second proxy in a chain refused" 69 "connection refused (SOCKS5 reply 05)" \
    -x "socks5://127.0.0.1:$MS" -x "socks5://127.0.0.1:$CP" 127.0.0.1 "$HP"
listen_ready GB python3 "$PEER" garbage
fail "bad proxy reply (socks5)" 65 "bad proxy reply: malformed SOCKS5" \
    -x "socks5://127.0.0.1:$GB" 127.0.0.1 "$HP"
fail "bad proxy reply (http)" 65 "bad proxy reply" \
    -x "http://127.0.0.1:$GB" 127.0.0.1 "$HP"
listen_ready SL python3 "$PEER" silent
fail "proxy that never answers (-w 1)" 75 "proxy timed out" \
    -w 1 -x "socks5://127.0.0.1:$SL" 127.0.0.1 "$HP"
fail "unix-socket proxy not first in a chain (usage)" 64 "only come first" \
    -x "socks5://127.0.0.1:$MS" -x "socks5://unix:$T/s5.sock" 127.0.0.1 "$HP"

# the password from the environment instead of the command line
if VP_PROXY_PASS='pa:ss@word' get "socks5://bob@127.0.0.1:$MSA"; then
	ok "socks5://USER@ with the password in VP_PROXY_PASS"
else
	notok "VP_PROXY_PASS"; cat "$T/err"
fi
env -u VP_PROXY_PASS vp-dial -x "socks5://bob@127.0.0.1:$MSA" 127.0.0.1 "$HP" \
    </dev/null >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 64 ] && grep -q 'needs a password' "$T/err" &&
    ok "socks5://USER@ with no password anywhere: usage error" ||
    notok "missing password (rc $rc)"

# the password never shows in ps
{ sleep 0; wait_size "$T/never" 1; } 2>/dev/null |
    vp-dial -x "socks5://bob:pa%3Ass%40word@127.0.0.1:$MSA" 127.0.0.1 "$HP" \
    >/dev/null 2>&1 &
DP=$!
i=0	# bounded: until vp-dial runs and has read its options
while [ $i -lt 250 ]; do
	c=$(tr '\0' ' ' <"/proc/$DP/cmdline" 2>/dev/null)
	case $c in *vp-dial*\*\**) break ;; esac
	i=$((i + 1)); sleep 0.02
done
case $c in
*pa%3Ass*) notok "password visible in ps: $c" ;;
*"bob:"*"@127.0.0.1"*) ok "password blanked in the command line ($c)" ;;
*) notok "could not read vp-dial's command line: $c" ;;
esac
kill $DP 2>/dev/null
touch "$T/never"; echo x >"$T/never"
wait $DP 2>/dev/null
finish
