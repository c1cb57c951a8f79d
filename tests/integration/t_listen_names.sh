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
finish
