#!/bin/sh
# vp-listen tcp:NAME:PORT: a name with an IPv4 and an IPv6 address is
# listened on at both, on one port (port 0 too), served byte for byte on
# each; a name that does not resolve exits 68. The two-address name comes
# from a private /etc/hosts in a mount namespace (root and unshare).
. "$(dirname "$0")/lib.sh"
need python3 ncat

vp-listen tcp:no-such-host.invalid:0 cat 2>"$T/nh.err" </dev/null
rc=$?
[ "$rc" = 68 ] && ok "a listen host name that does not resolve exits 68 ($(cut -c1-60 "$T/nh.err"))" || \
    { notok "unresolvable listen host: exit $rc"; cat "$T/nh.err"; }

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 || \
    ! unshare -m true 2>/dev/null || \
    ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	skip "two-address name (needs root, unshare -m and IPv6 loopback)"
	finish
fi
printf '127.0.0.1 vp-dual.test\n::1 vp-dual.test\n' >"$T/hosts"
rand_file "$T/in" 1000000
# In the namespace: start vp-listen, send the file to each address, and
# print the port and each address's result.
unshare -m sh -c '
mount --bind "$1/hosts" /etc/hosts || exit 1
vp-listen -1 tcp:vp-dual.test:0 cat >"$1/port" 2>"$1/err" &
lp=$!
i=0
while [ ! -s "$1/port" ] && [ $i -lt 200 ]; do
	kill -0 $lp 2>/dev/null || break
	i=$((i + 1)); sleep 0.05
done
p=$(cat "$1/port")
for a in 127.0.0.1 ::1; do
	if ncat "$a" "$p" <"$1/in" >"$1/out" 2>/dev/null && cmp -s "$1/in" "$1/out"; then
		echo "$a:ok"
	else
		echo "$a:bad"
	fi
done
ss -ltn | grep -c ":$p "
kill $lp; wait $lp
' sh "$T" >"$T/res" 2>&1
grep -q '^127.0.0.1:ok$' "$T/res" && grep -q '^::1:ok$' "$T/res" && [ "$(tail -1 "$T/res")" = 2 ] && \
    ok "tcp:NAME:0 with 127.0.0.1 and ::1: two sockets on one port, 1 MB echoed on each" || \
    { notok "tcp:NAME:0 two addresses: $(tr '\n' ' ' <"$T/res")"; cat "$T/err"; }
# A name with 70 addresses (127.0.0.1-70): vp-listen listens on the
# first 64 and says so (the rest were left out without a word); a
# vp-tunnel client -l serves every socket it opened, its 17th address
# and on too (it bound them and never polled them).
: >"$T/hosts70"
i=1
while [ $i -le 70 ]; do echo "127.0.0.$i vp-many.test" >>"$T/hosts70"; i=$((i + 1)); done
listen_ready TS vp-tunnel server -q -1 tcp:127.0.0.1:0 cat ||
    { notok "tunnel server"; finish; }
unshare -m sh -c '
mount --bind "$1/hosts70" /etc/hosts || exit 1
vp-listen -1 tcp:vp-many.test:0 cat >"$1/lport" 2>"$1/lerr" &
lp=$!
vp-tunnel client -1 -l tcp:vp-many.test:0 tcp:127.0.0.1:$2 >"$1/tport" 2>"$1/terr" &
tp=$!
i=0
while { [ ! -s "$1/lport" ] || [ ! -s "$1/tport" ]; } && [ $i -lt 200 ]; do
	i=$((i + 1)); sleep 0.05
done
for a in 127.0.0.1 127.0.0.17 127.0.0.64; do
	r=$(echo hi | timeout 10 ncat "$a" "$(cat "$1/tport")" 2>/dev/null)
	echo "tunnel $a:$r"
done
r=$(echo hi | timeout 10 ncat 127.0.0.64 "$(cat "$1/lport")" 2>/dev/null)
echo "listen 127.0.0.64:$r"
kill $lp $tp; wait $lp $tp
' sh "$T" "$TS" >"$T/res70" 2>&1
for a in 127.0.0.1 127.0.0.17 127.0.0.64; do
	check "vp-tunnel client -l tcp:NAME with 64 addresses serves $a" \
	    grep -q "^tunnel $a:hi\$" "$T/res70"
done
check "vp-listen tcp:NAME with 70 addresses serves its 64th" \
    grep -q "^listen 127.0.0.64:hi\$" "$T/res70"
check "vp-listen says which addresses it left out ($(cat "$T/lerr"))" \
    grep -q "not listening on its last 6 addresses" "$T/lerr"
check "vp-tunnel says so too ($(cat "$T/terr"))" \
    grep -q "not listening on its last 6 addresses" "$T/terr"
finish
