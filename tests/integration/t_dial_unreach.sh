#!/bin/sh
# Unreachable destinations, inside a network namespace this test makes
# (only lo, plus "unreachable" and "prohibit" routes), so no packet can
# leave the machine: network unreachable, host unreachable, not allowed;
# exit 69, the message, and the SOCKS5 reply codes 03 / 04 / 02.
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need ip od
[ "$(id -u)" = 0 ] || { skip "needs root for a network namespace"; finish; }
NS=vpdial$$
if ! ip netns add "$NS" 2>/dev/null; then
	skip "cannot create a network namespace"
	finish
fi
trap 'ip netns del "$NS" 2>/dev/null; cleanup' EXIT
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip route add unreachable 10.8.0.0/16
ip netns exec "$NS" ip route add prohibit 10.7.0.0/16

# un NAME HOST MESSAGE SOCKS5-REP
un() {
	ip netns exec "$NS" env PATH="$PATH" vp-dial -w 2 "$2" 80 </dev/null \
	    >"$T/out" 2>"$T/err"
	_rc=$?
	ip netns exec "$NS" env PATH="$PATH" VP_REPLY=socks5 vp-dial -w 2 \
	    "$2" 80 </dev/null >"$T/rep" 2>/dev/null
	_rep=$(od -An -tx1 -N 2 "$T/rep" | tr -d ' \n')
	if [ $_rc -eq 69 ] && one_fatal "$T/err" && [ ! -s "$T/out" ] &&
	    grep -q ": $3\$" "$T/err" && [ "$_rep" = "05$4" ]; then
		ok "$1: exit 69, '$3', SOCKS5 reply $4"
	else
		notok "$1 (rc $_rc, reply $_rep)"; cat "$T/err"
	fi
}
un "no route" 10.9.9.9 "network unreachable" 03
un "IPv6, no route" 2001:db8::1 "network unreachable" 03
un "unreachable route" 10.8.0.1 "host unreachable" 04
un "prohibit route" 10.7.0.1 "not allowed (permission denied)" 02
finish
