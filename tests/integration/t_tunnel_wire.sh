#!/bin/sh
# vp-tunnel: the bytes on the link decode as HTTP/2 frames of the
# expected types in a standard decoder (python3-hyperframe), in
# extended and in plain mode; PING keepalive is answered; SIGTERM ends
# with a GOAWAY carrying a reason.
. "$(dirname "$0")/lib.sh"
need socat
PY=/usr/bin/python3
$PY -c 'import hyperframe' 2>/dev/null || { skip "python3-hyperframe not installed"; exit 0; }
TOOL=$VP_BUILD/tools/tunnel_streams

cat >$T/decode.py <<'PYEOF'
import sys
from hyperframe.frame import Frame
def frames(path):
    data = open(path, 'rb').read()
    off, out = 0, []
    while off < len(data):
        if len(data) - off < 9:
            raise SystemExit("%s: %d trailing bytes" % (path, len(data) - off))
        f, length = Frame.parse_frame_header(memoryview(data[off:off + 9]))
        body = data[off + 9:off + 9 + length]
        if len(body) != length:
            raise SystemExit("%s: truncated frame" % path)
        f.parse_body(memoryview(body))
        out.append(f)
        off += 9 + length
    return data, out
path, want = sys.argv[1], sys.argv[2:]
data, fs = frames(path)
types = [type(f).__name__.replace('Frame', '').upper().replace('WINDOWUPDATE', 'WINDOW_UPDATE') for f in fs]
print(path.rsplit('/', 1)[-1], len(fs), 'frames:', ' '.join(sorted(set(types))))
for w in want:
    if w.startswith('first='):
        exp = bytes.fromhex(w[6:])
        if not data.startswith(exp):
            raise SystemExit("first bytes %s, expected %s" % (data[:len(exp)].hex(), exp.hex()))
    elif w.startswith('no='):
        if w[3:] in types:
            raise SystemExit("unexpected %s frame" % w[3:])
    elif w.startswith('last='):
        if types[-1] != w[5:]:
            raise SystemExit("last frame %s, expected %s" % (types[-1], w[5:]))
    elif w.startswith('settings='):
        s = fs[0]
        if types[0] != 'SETTINGS' or len(s.settings) != int(w[9:]):
            raise SystemExit("first frame %s with %d settings" % (types[0], len(getattr(s, 'settings', {}))))
    elif w == 'goaway-reason':
        g = [f for f in fs if type(f).__name__ == 'GoAwayFrame']
        if not g or not g[-1].additional_data:
            raise SystemExit("no GOAWAY with a reason")
        print('GOAWAY reason:', g[-1].additional_data.decode())
    elif w == 'ping-ack':
        p = [f for f in fs if type(f).__name__ == 'PingFrame' and 'ACK' in f.flags]
        if not p:
            raise SystemExit("no PING ACK")
        print('PING ACK opaque data:', p[0].opaque_data.hex())
    elif w == 'stream-ids-odd':
        ids = {f.stream_id for f in fs if f.stream_id}
        if not ids or any(i % 2 == 0 for i in ids):
            raise SystemExit("stream ids %s" % sorted(ids))
    else:
        if w not in types:
            raise SystemExit("no %s frame among %s" % (w, sorted(set(types))))
PYEOF

# capture MODEFLAGS NAME: server <- socat (dumps both directions) <- client
capture() {
	_fl=$1 _n=$2
	R=$T/res.$_n
	listen_ready SPORT vp-tunnel server -1 -q -K 300ms $_fl tcp:127.0.0.1:0 "$TOOL" -S "$R" || return 1
	SRV=$LASTPID
	MPORT=$(free_port)
	# fork: the readiness probe gets its own (empty) relay child.
	bg socat -r "$T/$_n.c2s" -R "$T/$_n.s2c" \
	    "TCP-LISTEN:$MPORT,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$SPORT"
	wait_tcp "$MPORT" || return 1
	listen_ready CPORT vp-tunnel client -1 -q -K 300ms $_fl -l tcp:127.0.0.1:0 \
	    "tcp:127.0.0.1:$MPORT" || return 1
	CLI=$LASTPID
	"$TOOL" -c "tcp:127.0.0.1:$CPORT" -n 5 -u 400000 -d 400000 >/dev/null || return 1
	# Idle long enough for a keepalive PING and its ACK (both captured).
	_i=0
	while [ $_i -lt 100 ]; do
		$PY - "$T/$_n.c2s" "$T/$_n.s2c" <<'P2' && break
import sys
from hyperframe.frame import Frame
def acks(path):
    d = open(path, 'rb').read(); off = 0; n = 0
    while off + 9 <= len(d):
        f, l = Frame.parse_frame_header(memoryview(d[off:off+9]))
        n += type(f).__name__ == 'PingFrame' and d[off + 4] & 1; off += 9 + l
    return n
# each side has answered a PING of the other
sys.exit(0 if acks(sys.argv[1]) and acks(sys.argv[2]) else 1)
P2
		_i=$((_i + 1))
		sleep 0.1
	done
	kill -TERM "$SRV"
	wait "$SRV" 2>/dev/null
	kill -TERM "$CLI"
	wait "$CLI" 2>/dev/null
	return 0
}

if capture "" ext; then
	check "extended: client->server frames decode as HTTP/2" \
	    $PY $T/decode.py $T/ext.c2s settings=5 HEADERS DATA WINDOW_UPDATE PING stream-ids-odd
	check "extended: server->client frames decode as HTTP/2" \
	    $PY $T/decode.py $T/ext.s2c settings=5 HEADERS DATA WINDOW_UPDATE ping-ack last=GOAWAY goaway-reason
else
	notok "extended capture run"
fi
if capture "-P" plain; then
	check "plain: handshake is exactly the empty SETTINGS, no WINDOW_UPDATE" \
	    $PY $T/decode.py $T/plain.c2s first=000000040000000000 HEADERS DATA PING no=WINDOW_UPDATE stream-ids-odd
	check "plain: server->client decodes, ends with GOAWAY + reason" \
	    $PY $T/decode.py $T/plain.s2c first=000000040000000000 HEADERS DATA ping-ack no=WINDOW_UPDATE last=GOAWAY goaway-reason
else
	notok "plain capture run"
fi
finish
