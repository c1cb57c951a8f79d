#!/bin/sh
# vp-tunnel against other peers: a plain vproxy-style peer (empty
# SETTINGS, no extension, GOAWAY on an extended offer) carries echo
# streams; hostile input to a vp-tunnel server gets a GOAWAY with a
# reason; limits; a mute peer is declared dead by keepalive.
. "$(dirname "$0")/lib.sh"
need socat
PY=/usr/bin/python3
FAKE=$(dirname "$0")/../tools/tunnel_fake.py

# --- a plain vproxy-style server: the client's extended offer is
# refused with GOAWAY, it retries plain, and echo streams work.
listen_ready FPORT $PY "$FAKE" server || notok "fake server ready"
listen_ready CPORT vp-tunnel client -1 -v -b 200ms -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$FPORT" 2>$T/c.log ||
    notok "client ready"
pids=""
i=0
while [ $i -lt 20 ]; do
	rand_file "$T/in.$i" $((1000 + i * 37000))
	socat -t 10 - "TCP:127.0.0.1:$CPORT" <"$T/in.$i" >"$T/out.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
i=0
while [ $i -lt 20 ]; do
	same "$T/in.$i" "$T/out.$i" || bad=$((bad + 1))
	i=$((i + 1))
done
check "plain vproxy-style peer: 20 echo streams byte for byte, half-close" [ $bad -eq 0 ]
# Compressible data: the fake peer answers with gzip-flagged DATA.
$PY -c "import sys; sys.stdout.write(''.join('line %d of a compressible text\\n' % i for i in range(40000)))" >"$T/text"
socat -t 10 - "TCP:127.0.0.1:$CPORT" <"$T/text" >"$T/text.out"
check "gzip-flagged DATA from a vproxy-style peer is inflated ($(wc -c <"$T/text") bytes)" same "$T/text" "$T/text.out"
check "client fell back to plain after GOAWAY" grep -q "retrying plain" $T/c.log
check "client logged the peer's GOAWAY reason" grep -q "handshake message is invalid" $T/c.log

# --- hostile input to a vp-tunnel server
listen_ready SPORT vp-tunnel server -1 -m 2 -t 1s tcp:127.0.0.1:0 cat 2>$T/s.log ||
    notok "server ready"
# Quiet cases end on the timeout: keep it short.
FAKE_TIMEOUT=1.5
export FAKE_TIMEOUT
raw() { $PY "$FAKE" raw "$SPORT" "$@"; }
out=$(raw 474554202f20485454502f312e310d0a0d0a)
check "garbage handshake -> GOAWAY 'handshake message is invalid' ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*handshake message is invalid'"
out=$(raw)
check "silent peer -> GOAWAY 'handshake timeout' ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*handshake timeout'"
HS=000000040000000000
out=$(raw $HS 000000010000000001 000002000000000001 6869 000000010080000003)
check "SYN with the reserved bit -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*reserved bit'"
check "...after the earlier stream was answered with a SYN-ACK" \
    sh -c "echo '$out' | grep -q 'HEADERS flags=0 sid=1'"
out=$(raw $HS 000001010000000001 00)
check "HEADERS with a payload -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*HEADERS frame with a payload'"
out=$(raw $HS 000000030000000001)
check "RST_STREAM (type 3) -> GOAWAY unexpected frame type ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*unexpected frame type'"
out=$(raw $HS 000004080000000000 00001000)
check "WINDOW_UPDATE without the extension -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*unexpected frame type'"
out=$(raw $HS 000000040000000000)
check "SETTINGS after the handshake -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*SETTINGS after the handshake'"
out=$(raw $HS 000000060000000000 000008060000000000 0000000000000007)
check "short PING ignored, PING answered with ACK + same id ($out)" \
    sh -c "echo '$out' | grep -q 'PING flags=1 sid=0 len=8'"
out=$(raw $HS 000000010000000001 000000010000000003 000000010000000005)
check "plain mode: a 3rd concurrent stream over -m 2 is refused with RST ($out)" \
    sh -c "echo '$out' | grep -q 'HEADERS flags=1 sid=5'"
# extended handshake: VERSION=1 plus a stream window
EXT=00000c040000000000f0e100000001f0e200010000
out=$(raw $EXT 000000010000000001 000000010000000003 000000010000000005)
check "extended mode: over the stream limit -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*too many concurrent streams'"
listen_ready SPORT2 vp-tunnel server -1 -q -s 4096 -S 65536 tcp:127.0.0.1:0 cat ||
    notok "small-window server ready"
out=$($PY "$FAKE" raw "$SPORT2" $EXT 000000010000000001 0020000000000000010000000000)
check "extended mode: DATA beyond the stream window -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*flow-control window exceeded'"
out=$(raw $HS 000000010000000002)
check "SYN with an even stream id -> GOAWAY ($out)" \
    sh -c "echo '$out' | grep -q 'GOAWAY.*even stream id'"
out=$(raw $HS 000004000000000009 00000000)
check "DATA for an unknown stream is dropped silently (no reply) ($out)" \
    sh -c "echo '$out' | grep -q TIMEOUT && ! echo '$out' | grep -q GOAWAY"
check "server logged the violations" grep -q "handshake message is invalid" $T/s.log

# --- a mute peer: keepalive declares it dead, streams are reset.
listen_ready MPORT $PY "$FAKE" server --mute || notok "mute server ready"
listen_ready CPORT vp-tunnel client -1 -P -K 400ms -b 5s -l tcp:127.0.0.1:0 "tcp:127.0.0.1:$MPORT" 2>$T/m.log ||
    notok "client ready"
# A stream opened on a tunnel whose peer never answers: the connection
# must end (reset or EOF), not hang.
out=$(timeout 20 socat -t 30 - "TCP:127.0.0.1:$CPORT" </dev/null 2>&1; echo "rc=$?")
check "stream on a dead tunnel ends instead of hanging ($out)" \
    sh -c "! echo '$out' | grep -q 'rc=124'"
i=0
while [ $i -lt 100 ] && ! grep -q "keepalive response timeout" $T/m.log; do
	i=$((i + 1)); sleep 0.1
done
check "keepalive timeout declared the mute peer dead" grep -q "keepalive response timeout" $T/m.log
finish
