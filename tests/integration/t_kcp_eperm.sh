# A failed send is a lost datagram, never a dead session: an nftables
# rule in the client's namespace drops its UDP in the output hook for
# 3 s mid-transfer (sendmsg fails with EPERM, where kcptun stalls for
# good); the streams must carry on and finish intact once it is gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

TOOLS=${VP_BIN%/bin}/tools
[ -x "$TOOLS/tunnel_streams" ] || { skip "tunnel_streams not built"; exit 0; }
need nft
if ! netns_up -b 1500000 -s 3; then
	skip "network namespaces/TUN unavailable (needs root)"
	exit 0
fi
(umask 077; vp-tunnel keygen >"$T/key")
: >"$T/results"
listen_ready sport ip netns exec "$NSB" vp-tunnel server -q -1 -k "$T/key" \
    udp:$IPB:0 "$TOOLS/tunnel_streams" -S "$T/results" ||
    { notok "server ready"; exit 0; }
bg ip netns exec "$NSA" vp-tunnel client -q -k "$T/key" \
    -l "unix:$T/c.sock" "udp:$IPB:$sport"
wait_path "$T/c.sock" || { notok "client ready"; exit 0; }

"$TOOLS/tunnel_streams" -c "unix:$T/c.sock" -n 3 -u 1500000 -d 1500000 \
    -t 60 >"$T/out" 2>&1 &
tsp=$!
sleep 1
if kill -0 $tsp 2>/dev/null; then
	ina nft -f - <<EOF
table inet vpeperm {
	chain out {
		type filter hook output priority 0;
		ip daddr $IPB udp dport $sport counter drop
	}
}
EOF
	sleep 3
	dropped=$(ina nft list table inet vpeperm |
	    sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	ina nft delete table inet vpeperm
	wait $tsp
	rc=$?
	echo "# $(cat "$T/out"); $dropped datagrams refused by the output hook"
	check "sends failed while the rule stood" [ "${dropped:-0}" -gt 0 ]
	check "streams finish intact after 3 s of EPERM on every send" \
	    [ "$rc" = 0 ]
else
	wait $tsp
	notok "the transfer ended before the rule went in"
fi
finish
