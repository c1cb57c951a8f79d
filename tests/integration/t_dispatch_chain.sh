#!/bin/sh
# The chains of DESIGN.md: ssh with ProxyCommand vp-dial -x socks5://
# through vp-listen + vp-dispatch to a real sshd (4 MB each way,
# sha256); an "exec vp-dial %h %p" route answering VP_REPLY itself
# (success, refused) and getting the early bytes through VP_EARLY_FD
# (SOCKS5 pipelined payload, a rewritten plain-HTTP head); a socks5
# route over a unix socket to a second vp-listen + vp-dispatch.
. "$(dirname "$0")/lib.sh"
need python3 curl ssh ssh-keygen
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"

expect() {
	_w=$1; _want=$2; shift 2
	_out=$("$@" 2>&1)
	case "$_out" in
	*"$_want"*) ok "$_w" ;;
	*) notok "$_w: wanted '$_want', got '$(echo "$_out" | tail -n 3)'" ;;
	esac
}

command -v vp-dial >/dev/null || { skip "vp-dial not built"; exit 0; }
listen_ready ECHO $H echo || notok "echo server"
mkdir -p "$T/www"
rand_file "$T/www/blob" 2000000
listen_ready WEB $H http "$T/www" || notok "origin"
DEAD=$(free_port)

# Second hop: vp-dispatch on a unix socket (the tunnel's far side).
listen_ready U vp-listen -1 "unix:$T/far.sock" vp-dispatch
wait_path "$T/far.sock" || notok "unix listener"
cat >"$T/rules" <<EOF
outbound dial exec vp-dial %h %p
outbound far socks5 unix:$T/far.sock
outbound d direct
route far domain:far.example
route far port:$WEB
default dial
EOF
chmod 644 "$T/rules"
vp-dispatch -C "$T/rules" || notok "compile"
listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -r "$T/rules" || {
	notok "start"; exit 1; }

expect "exec vp-dial: success reply from vp-dial, early data via VP_EARLY_FD" \
    "data early-bytes" $H socks5 "$P" 127.0.0.1 "$ECHO" --early early-bytes --read 11
expect "exec vp-dial: refused answered by vp-dial (05)" "rep 05" \
    $H socks5 "$P" 127.0.0.1 "$DEAD"
expect "exec vp-dial: refused as HTTP 502" 502 \
    curl -s -m 10 -o /dev/null -w '%{http_connect}' -p -x "http://127.0.0.1:$P" \
    "http://127.0.0.1:$DEAD/"
rm -f "$T/got"
curl -s -m 20 -x "http://127.0.0.1:$P" -o "$T/got" "http://localhost:$WEB/blob" &&
    same "$T/got" "$T/www/blob"
check "plain HTTP through the socks5-over-unix route, 2 MB byte for byte" test $? -eq 0
# A plain request through exec vp-dial: the head travels in VP_EARLY_FD.
cat >"$T/rules2" <<'EOF'
outbound dial exec vp-dial %h %p
default dial
EOF
chmod 644 "$T/rules2"
vp-dispatch -C "$T/rules2"
listen_ready P2 vp-listen -1 tcp:127.0.0.1:0 vp-dispatch -r "$T/rules2"
rm -f "$T/got"
curl -s -m 20 -x "http://127.0.0.1:$P2" -o "$T/got" "http://localhost:$WEB/blob" &&
    same "$T/got" "$T/www/blob"
check "plain HTTP through exec vp-dial (head via VP_EARLY_FD), byte for byte" test $? -eq 0
# far.example does not exist: the far vp-dispatch's failure comes back.
# (a 70-byte label fails in the resolver without leaving the machine)
LONG=$(printf 'a%.0s' $(seq 70)).far.example
expect "socks5 route to the far vp-dispatch answers its failure (04)" "rep 04" \
    $H socks5 "$P" "$LONG" 80

# ssh through ProxyCommand vp-dial -x socks5:// -> vp-listen + vp-dispatch.
sshd_start
case $? in
1) finish ;;
2) notok "sshd did not start"; finish ;;
esac
listen_ready PD vp-listen -1 tcp:127.0.0.1:0 vp-dispatch
s() {
	# shellcheck disable=SC2086
	ssh $SSH_OPTS -o ProxyCommand="vp-dial -x socks5://127.0.0.1:$PD %h %p" \
	    -p "$SSHD_PORT" root@127.0.0.1 "$@"
}
rand_file "$T/blob" 4000000
SUM=$(sha "$T/blob")
out=$(s echo hi 2>"$T/err")
[ "$out" = hi ] && ok "ssh ProxyCommand vp-dial -x socks5:// via vp-dispatch: echo hi" ||
    { notok "ssh echo ($out)"; cat "$T/err"; }
up=$(s sha256sum <"$T/blob" 2>"$T/err" | cut -d' ' -f1)
[ "$up" = "$SUM" ] && ok "ssh via vp-dispatch: 4 MB up, sha256 equal" ||
    { notok "ssh upload ($up)"; cat "$T/err"; }
s cat "$T/blob" >"$T/down" </dev/null 2>"$T/err"
[ "$(sha "$T/down")" = "$SUM" ] && ok "ssh via vp-dispatch: 4 MB down, sha256 equal" ||
    { notok "ssh download"; cat "$T/err"; }
finish
