#!/bin/sh
# vp-tunnel(1) EXAMPLES as written, on loopback: a standing server on
# 127.0.0.1 running vp-dispatch, a client reaching it through a real
# sshd with 'exec:ssh -W', curl through the client's SOCKS port.
. "$(dirname "$0")/lib.sh"
need curl python3
sshd_start || finish

mkdir "$T/www"
rand_file "$T/www/f" 2000000
listen_ready HP python3 -u -c "
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='$T/www')
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), h)
print(s.server_address[1], flush=True)
s.serve_forever()" || notok "origin ready"
listen_ready SP vp-tunnel server -1 -q tcp:127.0.0.1:0 vp-dispatch ||
    notok "server ready"
listen_ready CP vp-tunnel client -1 -q -l tcp:127.0.0.1:0 \
    "exec:ssh $SSH_OPTS -p $SSHD_PORT -W 127.0.0.1:$SP root@127.0.0.1" ||
    notok "client ready"
curl -s --max-time 20 -o "$T/got" --socks5-hostname "127.0.0.1:$CP" \
    "http://127.0.0.1:$HP/f"
check "server on 127.0.0.1, client over 'exec:ssh -W', curl: 2 MB intact" same "$T/www/f" "$T/got"
curl -s --max-time 20 -o "$T/got2" --socks5-hostname "127.0.0.1:$CP" \
    "http://127.0.0.1:$HP/f"
check "...and a second request on the same tunnel" same "$T/www/f" "$T/got2"
finish
