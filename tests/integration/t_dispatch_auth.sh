#!/bin/sh
# Users (-a): SOCKS5 RFC 1929 success and failure, a client without the
# user/password method, HTTP 407 and Proxy-Authorization Basic, SOCKS4
# refused, VP_USER reaching the outbound, a readable users file refused.
. "$(dirname "$0")/lib.sh"
need curl python3
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"

expect() {
	_w=$1; _want=$2; shift 2
	_out=$("$@" 2>&1)
	case "$_out" in
	*"$_want"*) ok "$_w" ;;
	*) notok "$_w: wanted '$_want', got '$(echo "$_out" | tail -n 3)'" ;;
	esac
}

mkdir -p "$T/www"
echo "secret page" >"$T/www/page"
listen_ready WEB $H http "$T/www" || notok "origin"
printf '# users\nalice:s3cr:et\nbob:hunter2\n' >"$T/users"
chmod 600 "$T/users"
listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -a "$T/users" || {
	notok "start with -a"; exit 1; }

expect "socks5 user/password accepted" "secret page" \
    curl -s -m 10 -x "socks5h://alice:s3cr%3Aet@127.0.0.1:$P" "http://localhost:$WEB/page"
expect "socks5 wrong password: 01 01 and close" "auth 0101" \
    $H socks5 "$P" localhost "$WEB" --user alice --pass wrong
expect "socks5 unknown user: 01 01" "auth 0101" \
    $H socks5 "$P" localhost "$WEB" --user mallory --pass hunter2
expect "socks5 without the user/password method: 05 ff" "reply 05ff" \
    $H send "$P" 050100
expect "http without credentials: 407" 407 \
    curl -s -m 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$P" \
    "http://localhost:$WEB/page"
expect "407 carries Proxy-Authenticate: Basic" "Proxy-Authenticate: Basic" \
    curl -s -m 10 -D - -o /dev/null -x "http://127.0.0.1:$P" "http://localhost:$WEB/page"
expect "http CONNECT without credentials: 407" 407 \
    curl -s -m 10 -o /dev/null -w '%{http_connect}' -p -x "http://127.0.0.1:$P" \
    "http://localhost:$WEB/page"
expect "http wrong password: 407" 407 \
    curl -s -m 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$P" \
    -U bob:nope "http://localhost:$WEB/page"
expect "http Proxy-Authorization Basic accepted" "secret page" \
    curl -s -m 10 -x "http://127.0.0.1:$P" -U bob:hunter2 "http://localhost:$WEB/page"
expect "http CONNECT with credentials" "secret page" \
    curl -s -m 10 -p -x "http://127.0.0.1:$P" -U bob:hunter2 "http://localhost:$WEB/page"
expect "socks4 refused when users are configured: 5b" "cd 5b" \
    $H socks4 "$P" localhost "$WEB"
expect "http NTLM Proxy-Authorization with users: 407, not 400" 407 \
    curl -s -m 10 -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$P" \
    --proxy-ntlm -U bob:hunter2 "http://localhost:$WEB/page"
# RFC 1929: a malformed request (empty user name; version 5) still gets
# status 01 01 after 05 02, not a bare close or a reset
expect "socks5 auth with an empty user name: 05 02 01 01" "reply 05020101" \
    $H send "$P" 05010201000170
expect "socks5 auth with version 5: 05 02 01 01" "reply 05020101" \
    $H send "$P" 0501020501750170

# VP_USER and user: routing reach the outbound.
cat >"$T/rules" <<'EOF'
outbound who exec-early printf 'user=%%s route=%%s to %%s' "$VP_USER" "$VP_ROUTE" %h
outbound d direct
route who user:bob
default d
EOF
chmod 644 "$T/rules"
vp-dispatch -C "$T/rules"
listen_ready R vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -a "$T/users" -r "$T/rules"
expect "user:bob routes to exec-early with VP_USER=bob" \
    "data user=bob route=who to x.example" \
    $H socks5 "$R" x.example 80 --user bob --pass hunter2
expect "alice takes the default route" "secret page" \
    curl -s -m 10 -x "socks5h://alice:s3cr%3Aet@127.0.0.1:$R" "http://localhost:$WEB/page"
# Passwords never reach the logs.
vp-dispatch -v -a "$T/users" 2>"$T/log" >/dev/null <<EOF
$(printf 'GET http://localhost:%s/page HTTP/1.1\r\nProxy-Authorization: Basic Ym9iOmJhZA==\r\n\r\n' "$WEB")
EOF
if grep -q 'bob' "$T/log" && ! grep -q 'bad' "$T/log"; then
	ok "failed login logged with the user, without the password"
else
	notok "auth log: $(cat "$T/log")"
fi

chmod 640 "$T/users"
vp-dispatch -a "$T/users" </dev/null >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" = 78 ] && grep -q 'group or others' "$T/err"; then
	ok "group-readable users file refused (exit 78)"
else
	notok "group-readable users file: exit $rc: $(cat "$T/err")"
fi
printf 'nocolon\n' >"$T/users2"
chmod 600 "$T/users2"
vp-dispatch -a "$T/users2" </dev/null >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" = 78 ] && grep -q 'users2:1:' "$T/err"; then
	ok "malformed users file: line number, exit 78"
else
	notok "malformed users file: exit $rc: $(cat "$T/err")"
fi
finish
