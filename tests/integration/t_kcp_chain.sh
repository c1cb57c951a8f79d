# The user's chain over KCP, as issue 5 shows it: a keyed vp-tunnel
# server on udp:0.0.0.0:4000 running vp-dispatch per stream, a client
# whose local socket is a SOCKS5 entry, curl --socks5-hostname through
# it, across the impairment link at 5% loss each way; the file fetched
# from an HTTP server on the far side must be byte-identical.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

need curl vp-dispatch
if ! netns_up -l 5 -s 9; then
	skip "network namespaces/TUN unavailable (needs root)"
	exit 0
fi
(umask 077; vp-tunnel keygen >"$T/key")
mkdir "$T/www"
rand_file "$T/www/blob" 5000000
listen_ready hport ip netns exec "$NSB" python3 -c '
import http.server, functools, sys
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
h = functools.partial(H, directory=sys.argv[1])
s = http.server.HTTPServer(("127.0.0.1", 0), h)
print(s.server_address[1], flush=True)
s.serve_forever()' "$T/www" || { notok "http server"; exit 0; }
bg ip netns exec "$NSB" vp-tunnel server -q -k "$T/key" udp:0.0.0.0:4000 \
    vp-dispatch
listen_ready cport ip netns exec "$NSA" vp-tunnel client -q -1 -k "$T/key" \
    -l tcp:127.0.0.1:0 "udp:$IPB:4000" || { notok "client ready"; exit 0; }

code=$(ina curl -s --max-time 60 --socks5-hostname "127.0.0.1:$cport" \
    -o "$T/got" -w '%{http_code}' "http://127.0.0.1:$hport/blob")
check "curl socks5h through vp-tunnel/KCP (5% loss) and vp-dispatch: 200" \
    [ "$code" = 200 ]
check "5 MB fetched byte for byte" same "$T/www/blob" "$T/got"
code=$(ina curl -s --max-time 30 -x "socks5h://127.0.0.1:$cport" \
    -o /dev/null -w '%{http_code}' "http://localhost:$hport/nothing")
check "a second stream on the same tunnel (404 from the far side)" \
    [ "$code" = 404 ]
finish
