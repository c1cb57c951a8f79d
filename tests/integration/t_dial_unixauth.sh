#!/bin/sh
# vp-dial -x socks5://USER:PASS@unix:PATH: a SOCKS5 proxy on a unix
# socket that wants RFC 1929 credentials (vp-dispatch -a behind vp-listen
# on a unix socket, as vp-dispatch(1)'s example): data both ways byte for
# byte, the password from the URL or from VP_PROXY_PASS, a wrong one
# refused, and the password kept out of the log and of ps.
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need socat

rand_file "$T/up" 1000000
rand_file "$T/down" 700000
ND=$(wc -c <"$T/down")
printf 'alice:s3cr@t:pw\n' >"$T/users"
chmod 600 "$T/users"
# -1 prints an empty line for a unix socket once it is bound
listen_ready U vp-listen -1 unix:"$T/p.sock",mode=0600 vp-dispatch -a "$T/users"
[ -S "$T/p.sock" ] || notok "vp-listen on a unix socket"

xfer "socks5://USER:PASS@unix:PATH (RFC 1929 on a unix socket)" \
    "socks5://alice:s3cr%40t%3Apw@unix:$T/p.sock"
export VP_PROXY_PASS='s3cr@t:pw'
xfer "socks5://USER@unix:PATH with VP_PROXY_PASS" "socks5://alice@unix:$T/p.sock"
unset VP_PROXY_PASS

# a wrong password: refused by the proxy, vp-dial's auth failure status
vp-dial -v -x "socks5://alice:wrong-pw@unix:$T/p.sock" 127.0.0.1 1 \
    </dev/null >/dev/null 2>"$T/bad.err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 64 ] && grep -q 'alice@unix:' "$T/bad.err" &&
    ! grep -q 'wrong-pw' "$T/bad.err"; then
	ok "a wrong password is refused (exit $rc), the log names alice@unix: without it"
else
	notok "wrong password: exit $rc"; cat "$T/bad.err"
fi

# without credentials the proxy says it wants them
vp-dial -x "socks5://unix:$T/p.sock" 127.0.0.1 1 </dev/null >/dev/null 2>"$T/none.err"
rc=$?
check "no credentials: refused (exit $rc), 'wants credentials'" \
    sh -c "[ $rc -ne 0 ] && grep -q 'wants credentials' '$T/none.err'"

# ps: the password is blanked in the argument list, the path kept whole
# (an '@' in it must not be taken for the end of the user info)
mkdir "$T/a@b"
# a proxy that never answers: vp-dial waits for its reply (-w 10)
bg socat UNIX-LISTEN:"$T/a@b/s.sock",fork SYSTEM:"sleep 20"
wait_path "$T/a@b/s.sock" || notok "socat on a@b/s.sock"
vp-dial -x "socks5://alice:hunter2@unix:$T/a@b/s.sock" 127.0.0.1 1 \
    </dev/null >/dev/null 2>&1 &
DP=$!
PIDS="$PIDS $DP"
i=0 args=""
while [ $i -lt 100 ]; do
	# blanked once -x is parsed: until then it is still there
	args=$(tr '\0' ' ' <"/proc/$DP/cmdline" 2>/dev/null)
	case $args in *hunter2*) ;; *vp-dial*@unix:*) break ;; esac
	i=$((i + 1))
	sleep 0.05
done
case $args in
*hunter2*) notok "ps shows the password: $args" ;;
*"alice:*******@unix:$T/a@b/s.sock 127.0.0.1 1"*)
	ok "ps: password blanked, path whole ($args)" ;;
*) notok "ps: unexpected argument list: $args" ;;
esac
kill "$DP" 2>/dev/null

# a log line names a URL with a password as USER:***@, whatever its length
for pw in s3cret Q a-much-longer-password; do
	vp-dial -x "socks5://alice:$pw@bad!host:1" 127.0.0.1 1 </dev/null 2>"$T/m.err"
	rc=$?
	if [ $rc -eq 64 ] && grep -q 'socks5://alice:\*\*\*@bad!host:1: ' "$T/m.err" &&
	    ! grep -q -- "$pw" "$T/m.err"; then
		ok "password of ${#pw} bytes logged as alice:***@"
	else
		notok "masked password ($pw): exit $rc"; cat "$T/m.err"
	fi
done
finish
