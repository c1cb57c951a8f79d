# vp-tunnel over KCP/UDP through the impairment link (two network
# namespaces joined by TUN devices and tests/tools/impair): 10% loss
# each way, 50 MB up and 50 MB down over 8 streams, sha256 checked at
# both ends; keyed mode, key made by vp-tunnel keygen.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

TOOLS=${VP_BIN%/bin}/tools
[ -x "$TOOLS/tunnel_streams" ] || { skip "tunnel_streams not built"; exit 0; }
if ! netns_up -l 10 -d 1 -r 5 -D 1 -s 7; then
	skip "network namespaces/TUN unavailable (needs root)"
	exit 0
fi

(umask 077; vp-tunnel keygen >"$T/key") || notok "keygen"
check "keygen writes a 64-hex-digit key line" \
    grep -Eq '^[0-9a-f]{64}$' "$T/key"

ready_in() {	# ready_in NS VAR CMD...: listen_ready inside a namespace
	_ns=$1; _v=$2; shift 2
	listen_ready "$_v" ip netns exec "$_ns" "$@"
}

: >"$T/results"
ready_in "$NSB" sport vp-tunnel server -q -1 -k "$T/key" udp:$IPB:0 \
    "$TOOLS/tunnel_streams" -S "$T/results" ||
    { notok "server ready"; exit 0; }
bg ip netns exec "$NSA" vp-tunnel client -q -k "$T/key" \
    -l "unix:$T/tun.sock" "udp:$IPB:$sport"
wait_path "$T/tun.sock" || { notok "client ready"; exit 0; }

# 8 streams x 6.25 MB each way = 50 MB up and 50 MB down.
out=$("$TOOLS/tunnel_streams" -c "unix:$T/tun.sock" -n 8 -u 6553600 \
    -d 6553600 -t 200)
rc=$?
echo "# $out"
check "50 MB each way over 8 streams at 10% loss (sha256 both ends)" \
    [ "$rc" = 0 ]
# The per-stream programs write their verdicts as they end: bounded wait.
i=0
while [ "$(grep -c '' "$T/results")" -lt 8 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
check "server side saw 8 intact streams" \
    [ "$(grep -c '^ok' "$T/results")" = 8 ]
check "no stream reported bad at the server" \
    [ "$(grep -c '^bad' "$T/results")" = 0 ]
cleanup_pids() { for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; PIDS=""; }
cleanup_pids
netns_down
sed 's/^/# /' "$T/impair.log"
lost=$(sed -n 's/.*A->B: in \([0-9]*\) .* lost \([0-9]*\) .*/\2 \1/p' "$T/impair.log")
check "the link really dropped about 10% (lost/in: $lost)" \
    awk -v l="${lost% *}" -v n="${lost#* }" 'BEGIN { exit !(n > 1000 && l / n > 0.08 && l / n < 0.12) }'
finish
