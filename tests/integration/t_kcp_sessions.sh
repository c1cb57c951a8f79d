# One KCP server socket, many clients; and NAT rebinding: the client's
# datagrams start coming from another address mid-transfer (a UDP relay
# restarted on a new source port) and the keyed server follows them.
. "$(dirname "$0")/lib.sh"

TOOLS=${VP_BIN%/bin}/tools
[ -x "$TOOLS/tunnel_streams" ] && [ -x "$TOOLS/impair" ] ||
    { skip "test tools not built"; exit 0; }
(umask 077; vp-tunnel keygen >"$T/key")

: >"$T/results"
listen_ready sport vp-tunnel server -q -1 -k "$T/key" udp:127.0.0.1:0 \
    "$TOOLS/tunnel_streams" -S "$T/results" || { notok "server ready"; exit 0; }

# --- several clients on one server socket, at once; clients 1 and 2
# insist on ChaCha20-Poly1305, 3 and 4 leave the cipher to "auto"
# (AES-256-GCM where both ends have it): the server handles the mix.
for n in 1 2 3 4; do
	c=""
	[ $n -le 2 ] && c="-o cipher=chacha"
	bg vp-tunnel client -q -k "$T/key" $c -l "unix:$T/c$n.sock" \
	    udp:127.0.0.1:$sport
done
for n in 1 2 3 4; do
	wait_path "$T/c$n.sock" || notok "client $n ready"
done
for n in 1 2 3 4; do
	"$TOOLS/tunnel_streams" -c "unix:$T/c$n.sock" -n 4 -u 500000 \
	    -d 500000 -t 60 >"$T/out.$n" 2>&1 &
	eval "p$n=\$!"
done
allok=1
for n in 1 2 3 4; do
	eval "wait \$p$n" || allok=0
	echo "# client $n: $(cat "$T/out.$n")"
done
check "4 clients x 4 streams through one server socket, all intact" \
    [ "$allok" = 1 ]

# --- NAT rebinding
# A relay that stands for the client's NAT; 1 MB/s so the transfer
# lasts long enough to move it.
listen_ready rport "$TOOLS/impair" -b 1000000 udp 0 "$sport" ||
    { notok "relay ready"; exit 0; }
relay=$LASTPID
bg vp-tunnel client -q -k "$T/key" -l "unix:$T/nat.sock" udp:127.0.0.1:$rport
wait_path "$T/nat.sock" || { notok "nat client ready"; exit 0; }
"$TOOLS/tunnel_streams" -c "unix:$T/nat.sock" -n 2 -u 1000000 -d 1000000 \
    -t 15 >"$T/out.nat" 2>&1 &
tsp=$!
sleep 1
if kill -0 $tsp 2>/dev/null; then
	kill "$relay"
	wait "$relay" 2>/dev/null
	# Same listening port for the client, a new source port towards
	# the server: the mapping changed.
	listen_ready rport2 "$TOOLS/impair" -b 1000000 udp "$rport" "$sport" ||
	    notok "second relay ready"
	wait $tsp
	rc=$?
	echo "# $(cat "$T/out.nat")"
	check "streams continue after the client's address changed" [ "$rc" = 0 ]
else
	wait $tsp
	notok "the transfer ended before the address change"
fi
finish
