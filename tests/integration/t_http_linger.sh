#!/bin/sh
# A response on its way to a client that is still sending arrives whole.
# The origin answers a huge upload at once (413) and closes with the
# body unread, so the relay's writes to it are reset; the client keeps
# sending and reads slowly. Through vp-dispatch (plain HTTP) and a
# vp-dial port forward, in the engine and with vp-listen -P:
#  - the relay still passes on all that came from the origin before the
#    reset (vprelay used to end both ways at the failed write);
#  - its lingering close reads the client until what it sent is
#    delivered (it used to close after 64 reads or 0.5 s, and the
#    client's next bytes brought a reset that destroyed the rest).
. "$(dirname "$0")/lib.sh"
need python3
L="python3 $VP_SRC/tests/integration/linger_helper.py"
N=1500000

listen_ready O $L origin $N || { notok "origin"; exit 0; }
listen_ready D vp-listen -1 tcp:127.0.0.1:0 vp-dispatch || { notok "engine dispatch"; exit 0; }
listen_ready DP vp-listen -1 -P tcp:127.0.0.1:0 vp-dispatch || { notok "-P dispatch"; exit 0; }
listen_ready F vp-listen -1 tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$O" || { notok "engine forward"; exit 0; }
listen_ready FP vp-listen -1 -P tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$O" || { notok "-P forward"; exit 0; }

for c in "D http engine vp-dispatch" "DP http -P vp-dispatch" \
    "F raw engine vp-dial" "FP raw -P vp-dial"; do
	set -- $c
	eval "port=\$$1"
	for i in 1 2; do
		out=$(timeout 60 $L client "$port" "$O" $N "$2" 2>"$T/err")
		check "$3 $4: the whole response to a client still sending, run $i ($out)" \
		    test "$out" = "HTTP/1.1_413_Payload_Too_Large $N"
	done
done
finish
