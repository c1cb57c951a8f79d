#!/bin/sh
# vp-tunnel client -K against a peer that completes the handshake and
# then never reads: the tunnel ends as a stalled link, logged with the
# message vp-tunnel(1) quotes under -K (the page quoted another text).
. "$(dirname "$0")/lib.sh"
need python3 socat

MAN=${MAN:-$(dirname "$0")/../../man/vp-tunnel.1}
want=$(sed -n 's/^\.Dq \(link stalled: .*\)$/\1/p' "$MAN")
check "vp-tunnel(1) quotes a 'link stalled:' message ($want)" [ -n "$want" ]


listen_ready PPORT python3 "$VP_SRC/tests/integration/stall_peer.py" 60 || notok "stalled peer ready"
listen_ready CPORT vp-tunnel client -1 -P -K 1s -l tcp:127.0.0.1:0 \
    "tcp:127.0.0.1:$PPORT" 2>$T/c.log || notok "client ready"
# One stream's upload fills the link (the peer reads nothing).
bg sh -c "head -c 8000000 /dev/zero | socat -u - TCP:127.0.0.1:$CPORT"
i=0
while [ $i -lt 200 ] && ! grep -q "link stalled" $T/c.log; do
	sleep 0.05
	i=$((i + 1))
done
check "the stalled link ends the tunnel within 10 s" grep -q "closed: link stalled" $T/c.log
check "...logged as the page says ('$want')" grep -qF "closed: ${want:-(none quoted)}" $T/c.log
finish
