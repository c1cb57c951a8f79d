# vp-tunnel over KCP through the impairment link: 100% loss for 10 s in
# the middle of a transfer, then recovery.
#  1. keepalive bound longer than the outage (-K 60s): every stream
#     resumes and completes intact.
#  2. default keepalive (10 s): streams either complete or are reset
#     within a bound (no hang, no corruption), and once the link heals
#     the client reconnects and new streams work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

TOOLS=${VP_BIN%/bin}/tools
[ -x "$TOOLS/tunnel_streams" ] || { skip "tunnel_streams not built"; exit 0; }
# 1.5 MB/s each way, so the transfer is still running when the link dies.
if ! netns_up -b 1500000 -D 2 -s 11; then
	skip "network namespaces/TUN unavailable (needs root)"
	exit 0
fi
(umask 077; vp-tunnel keygen >"$T/key")

# start_pair NAME [vp-tunnel options]: server in $NSB, client in $NSA.
start_pair() {
	_n=$1; shift
	: >"$T/results.$_n"
	listen_ready sport ip netns exec "$NSB" vp-tunnel server -q -1 \
	    -k "$T/key" "$@" udp:$IPB:0 \
	    "$TOOLS/tunnel_streams" -S "$T/results.$_n" || return 1
	bg ip netns exec "$NSA" vp-tunnel client -q -k "$T/key" "$@" \
	    -l "unix:$T/$_n.sock" "udp:$IPB:$sport"
	wait_path "$T/$_n.sock"
}

# outage: 10 s of total loss, once the transfer (pid $1) is under way.
outage() {
	sleep 1
	kill -0 "$1" 2>/dev/null || return 1
	impair_down
	sleep 10
	impair_heal
	return 0
}

# --- 1: the tunnel outlives the outage
start_pair a -K 60s || { notok "tunnel a ready"; exit 0; }
"$TOOLS/tunnel_streams" -c "unix:$T/a.sock" -n 4 -u 1500000 -d 1500000 \
    -t 120 >"$T/out.a" &
tsp=$!
if outage $tsp; then
	wait $tsp
	rc=$?
	echo "# $(cat "$T/out.a")"
	check "streams resume after a 10 s outage and finish intact" \
	    [ "$rc" = 0 ]
else
	wait $tsp
	notok "the transfer ended before the outage began (link too fast?)"
fi

# --- 2: default keepalive: fail cleanly, then reconnect
start_pair b || { notok "tunnel b ready"; exit 0; }
"$TOOLS/tunnel_streams" -c "unix:$T/b.sock" -n 4 -u 1500000 -d 1500000 \
    -t 120 >"$T/out.b" &
tsp=$!
t0=$(date +%s)
if outage $tsp; then
	wait $tsp
	rc=$?
	t1=$(date +%s)
	out=$(cat "$T/out.b")
	echo "# $out (rc $rc, $((t1 - t0)) s)"
	# rc 0: all four completed; else the streams were reset (the tool
	# reports resets, or dies of SIGPIPE writing to a reset socket).
	# Either way it must be over soon after the keepalive bound, not
	# at the tool's own 120 s timeout.
	check "streams ended (rc $rc) within 40 s, not hung" \
	    [ $((t1 - t0)) -le 40 ]
	check "no corrupt data at the server" \
	    [ "$(grep -c 'sha256 mismatch' "$T/results.b")" = 0 ]
else
	wait $tsp
	notok "the transfer ended before the outage began"
fi
# After the heal, new streams work (the client reconnects with backoff).
i=0
while [ $i -lt 5 ]; do
	if "$TOOLS/tunnel_streams" -c "unix:$T/b.sock" -n 2 -u 100000 \
	    -d 100000 -t 20 >"$T/out.c" 2>&1; then
		break
	fi
	i=$((i + 1))
done
check "new streams work after recovery" [ $i -lt 5 ]
finish
