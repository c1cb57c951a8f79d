#!/bin/sh
# The documented chains: vp-tunnel server running vp-dispatch per
# stream; vp-dial -x socks5://unix:TUNNEL.sock through it (plain relay,
# and as ssh ProxyCommand against a real sshd); curl --socks5-hostname
# through the client's tcp listener; and one ssh connection carrying
# the whole tunnel (PEER exec:ssh ... vp-tunnel server stdio vp-dispatch).
. "$(dirname "$0")/lib.sh"
need socat curl
[ -x "$VP_BIN/vp-dispatch" ] && [ -x "$VP_BIN/vp-dial" ] ||
    { skip "vp-dispatch/vp-dial not built"; exit 0; }
PY=/usr/bin/python3

EP=$(free_port)
bg socat "TCP-LISTEN:$EP,bind=127.0.0.1,fork,reuseaddr" EXEC:cat
wait_tcp "$EP" || notok "echo server"
mkdir -p "$T/www"
rand_file "$T/www/blob" 3000000
HP=$(free_port)
bg $PY -m http.server -b 127.0.0.1 -d "$T/www" "$HP"
wait_tcp "$HP" || notok "http server"

listen_ready SP vp-tunnel server -1 -q tcp:127.0.0.1:0 vp-dispatch || notok "tunnel server"
listen_ready CP vp-tunnel client -1 -q -l "unix:$T/tunnel.sock,mode=0600" \
    -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$SP" || notok "tunnel client"

rand_file "$T/in" 2000000
vp-dial -x "socks5://unix:$T/tunnel.sock" 127.0.0.1 "$EP" <"$T/in" >"$T/out"
check "vp-dial -x socks5://unix:tunnel.sock -> tunnel -> vp-dispatch -> echo: 2 MB both ways" \
    same "$T/in" "$T/out"
curl -s --socks5-hostname "127.0.0.1:$CP" "http://127.0.0.1:$HP/blob" -o "$T/curl.out"
check "curl --socks5-hostname through the tunnel: sha256 equal" \
    [ "$(sha "$T/curl.out")" = "$(sha "$T/www/blob")" ]
# 20 concurrent vp-dial streams
pids=""
i=0
while [ $i -lt 20 ]; do
	head -c $((5000 + i * 20000)) "$T/in" >"$T/in.$i"
	vp-dial -x "socks5://unix:$T/tunnel.sock" 127.0.0.1 "$EP" <"$T/in.$i" >"$T/out.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
i=0
while [ $i -lt 20 ]; do same "$T/in.$i" "$T/out.$i" || bad=$((bad + 1)); i=$((i + 1)); done
check "20 concurrent vp-dial streams through one tunnel" [ $bad -eq 0 ]
out=$(vp-dial -w 5 -x "socks5://unix:$T/tunnel.sock" 127.0.0.1 "$(free_port)" </dev/null 2>&1)
rc=$?
check "refused destination behind the tunnel: vp-dial exits 69 (rc=$rc)" [ $rc -eq 69 ]

# --- ssh
if command -v ssh >/dev/null; then
	sshd_start
	rc=$?
else
	skip "ssh chains: no ssh client"
	rc=1
fi
[ $rc = 2 ] && notok "sshd did not start"
if [ $rc = 0 ]; then
	SSP=$SSHD_PORT
	SSH="ssh $SSH_OPTS"
	up=$($SSH -o ProxyCommand="vp-dial -x socks5://unix:$T/tunnel.sock %h %p" \
	    -p "$SSP" root@127.0.0.1 sha256sum <"$T/in" 2>"$T/err" | cut -d' ' -f1)
	check "ssh ProxyCommand 'vp-dial -x socks5://unix:tunnel.sock %h %p': 2 MB up, sha256 equal" \
	    [ "$up" = "$(sha "$T/in")" ]
	# The whole tunnel inside one ssh connection.
	listen_ready CP2 vp-tunnel client -1 -q -l tcp:127.0.0.1:0 \
	    "exec:$SSH -p $SSP root@127.0.0.1 $VP_BIN/vp-tunnel server -q stdio $VP_BIN/vp-dispatch" ||
	    notok "client over ssh"
	curl -s --socks5-hostname "127.0.0.1:$CP2" "http://127.0.0.1:$HP/blob" -o "$T/curl2.out"
	check "PEER exec:ssh ... vp-tunnel server stdio vp-dispatch: curl through it, sha256 equal" \
	    [ "$(sha "$T/curl2.out")" = "$(sha "$T/www/blob")" ]
	socat -t 10 - "SOCKS4A:127.0.0.1:127.0.0.1:$EP,socksport=$CP2" <"$T/in" >"$T/out.ssh" 2>/dev/null
	check "...and a SOCKS4a stream through the same ssh tunnel, 2 MB both ways" same "$T/in" "$T/out.ssh"
fi
finish
