#!/bin/sh
# vp-tunnel client dialling a peer that never answers (its SYNs are
# dropped by an nft rule in a network namespace of our own): the
# connect runs in the event loop, so SIGTERM is handled at once and
# local connections are still accepted and answered (reset after -c)
# while the connect hangs, instead of the loop blocking for the whole
# 10 s dial timeout.
if [ -z "${VP_TUN_NETNS:-}" ]; then
	if command -v unshare >/dev/null 2>&1 && command -v nft >/dev/null 2>&1 &&
	    unshare -n true 2>/dev/null; then
		VP_TUN_NETNS=1 exec unshare -n sh "$0" "$@"
	fi
	echo "skip - no network namespace (unshare -n) or nft"
	exit 0
fi
. "$(dirname "$0")/lib.sh"
need python3 ss

ip link set lo up || { skip "lo in the namespace"; exit 0; }
BLACK=9
nft add table inet vptest &&
    nft add chain inet vptest in '{ type filter hook input priority 0; }' &&
    nft add rule inet vptest in tcp dport $BLACK drop ||
    { skip "nft rule"; exit 0; }

# wait_synsent: until a connect to the blackholed port is in progress.
wait_synsent() {
	_i=0
	while [ $_i -lt 100 ]; do
		[ -n "$(ss -Htn state syn-sent "dst 127.0.0.1:$BLACK")" ] && return 0
		_i=$((_i + 1)); sleep 0.1
	done
	return 1
}

# --- SIGTERM during the dial
listen_ready CPORT vp-tunnel client -1 -v -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$BLACK" 2>$T/c1.log ||
    notok "client ready"
CLI=$LASTPID
check "the client dials the blackholed peer" wait_synsent
kill -TERM $CLI
i=0
while [ $i -lt 30 ] && kill -0 $CLI 2>/dev/null; do
	i=$((i + 1)); sleep 0.1
done
check "SIGTERM during a hanging dial: exits within 3 s (dial timeout 10 s)" \
    sh -c "! kill -0 $CLI 2>/dev/null"
wait $CLI
check "... with status 0" [ $? -eq 0 ]

# --- local connections are served while the dial hangs
listen_ready CPORT vp-tunnel client -1 -v -c 500ms -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$BLACK" 2>$T/c2.log ||
    notok "client ready"
CLI=$LASTPID
check "the client dials the blackholed peer" wait_synsent
out=$(python3 - "$CPORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.settimeout(5)
t = time.time()
try:
    r = s.recv(1)
    print("eof" if r == b"" else "data", round(time.time() - t, 1))
except ConnectionResetError:
    print("reset", round(time.time() - t, 1))
except socket.timeout:
    print("timeout", round(time.time() - t, 1))
PY
)
check "a local connection during the dial is reset after -c 500ms, not after the dial ($out)" \
    sh -c "echo '$out' | grep -q '^reset'"
check "... and logged" grep -q "tunnel not available after 500 ms" $T/c2.log
kill -TERM $CLI
wait $CLI
[ $FAILED -eq 0 ] && finish
exit 1
