#!/bin/sh
# vp-listen -p behind a real haproxy (send-proxy-v2 with a CRC32c TLV,
# send-proxy v1, and v2 to a unix socket): the program sees the real
# client address; data after the header arrives intact both ways. A
# malformed or missing header closes only that connection, and a silent
# client never holds up the others.
. "$(dirname "$0")/lib.sh"
need python3 haproxy

SHOW='echo "$PROTO $TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT"; exec cat'
listen_ready VP vp-listen -1 -p -t 4s tcp:127.0.0.1:0 sh -c "$SHOW"
bg vp-listen -p "unix:$T/pp.sock" sh -c "$SHOW"
wait_path "$T/pp.sock"
F1=$(free_port); F2=$(free_port); F3=$(free_port)
cat >"$T/haproxy.cfg" <<CFG
global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend v2
	bind 127.0.0.1:$F2
	default_backend v2
backend v2
	server vp 127.0.0.1:$VP send-proxy-v2 proxy-v2-options crc32c
frontend v1
	bind 127.0.0.1:$F1
	default_backend v1
backend v1
	server vp 127.0.0.1:$VP send-proxy
frontend v2unix
	bind 127.0.0.1:$F3
	default_backend v2unix
backend v2unix
	server vp $T/pp.sock send-proxy-v2
CFG
bg haproxy -db -f "$T/haproxy.cfg"
HP=$LASTPID
if ! wait_tcp "$F1" || ! wait_tcp "$F2" || ! wait_tcp "$F3"; then
	notok "haproxy did not start"; finish
fi

# client PORT: connects from 127.0.0.2, prints its own port and the
# program's first line, then sends 2 MB and checks the echo.
client() {
	python3 - "$1" "$T/blob" <<'PY'
import hashlib, socket, sys, threading
port, blob = int(sys.argv[1]), open(sys.argv[2], "rb").read()
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", port))
f = s.makefile("rb")
line = f.readline().decode().strip()
def send():
    s.sendall(blob)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = f.read()
t.join()
same = hashlib.sha256(got).digest() == hashlib.sha256(blob).digest()
print(s.getsockname()[1], line, "echo-ok" if same else "echo-bad %d" % len(got))
PY
}
rand_file "$T/blob" 2000000

for v in "v2 $F2" "v1 $F1"; do
	set -- $v
	out=$(client "$2")
	cport=${out%% *}
	[ "$out" = "$cport TCP 127.0.0.2 $cport 127.0.0.1 $2 echo-ok" ] && \
	    ok "haproxy send-proxy$( [ "$1" = v2 ] && echo -v2): program sees 127.0.0.2:$cport, 2 MB echoed intact" || \
	    notok "haproxy $1: '$out'"
done
out=$(client "$F3")
cport=${out%% *}
[ "$out" = "$cport TCP 127.0.0.2 $cport 127.0.0.1 $F3 echo-ok" ] && \
    ok "haproxy send-proxy-v2 to unix:PATH: PROTO=TCP with the client's address" || \
    notok "haproxy v2 over unix: '$out'"

# Direct hostile clients, while a silent one sits there.
python3 - "$VP" >"$T/h.out" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port))
def closed(s, wait=5):
    s.settimeout(wait)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
silent = conn()
t0 = time.time()
# A valid v1 header and data in one write: the data is not eaten.
s = conn()
s.sendall(b"PROXY TCP4 192.0.2.9 192.0.2.10 4000 80\r\nHELLO\n")
s.settimeout(5)
f = s.makefile("rb")
print("v1", f.readline().decode().strip(), f.readline().decode().strip())
# Had the silent client blocked the accept loop, this one would only have
# been served after the silent one's header timeout closed it.
silent.setblocking(False)
try:
    silent.recv(1)
    still_open = False
except BlockingIOError:
    still_open = True
silent.setblocking(True)
print("served-while-silent", still_open)
s.close()
# Header trickled one byte at a time.
s = conn()
hdr = b"PROXY TCP6 2001:db8::7 ::1 5555 443\r\n"
for b in hdr:
    s.send(bytes([b]))
    time.sleep(0.002)
s.sendall(b"X\n")
f = s.makefile("rb")
print("trickle", f.readline().decode().strip(), f.readline().decode().strip())
s.close()
# v2 LOCAL (a health check): the real addresses are kept.
s = conn()
sig = b"\r\n\r\n\x00\r\nQUIT\n"
s.sendall(sig + b"\x20\x00\x00\x00" + b"L\n")
f = s.makefile("rb")
line = f.readline().decode().split()
print("local", line[1], line[2] == str(s.getsockname()[1]), f.readline().decode().strip())
s.close()
# Malformed ones: each is closed, nothing reaches the program.
for name, data in [("garbage", b"GET / HTTP/1.0\r\n\r\n"),
                   ("bare-lf", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
                   ("bad-port", b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"),
                   ("long-v1", b"PROXY UNKNOWN " + b"x" * 200),
                   ("v2-bad-version", sig + b"\x31\x11\x00\x0c" + b"\x00" * 12),
                   ("v2-short-block", sig + b"\x21\x11\x00\x04" + b"\x00" * 4),
                   ("v2-tlv-overrun", sig + b"\x21\x11\x00\x10" + b"\x00" * 12 + b"\x04\x00\x09\x00"),
                   ("v2-huge", sig + b"\x21\x11\xff\xff" + b"\x00" * 12)]:
    s = conn()
    s.sendall(data)
    print(name, "closed" if closed(s) else "open")
    s.close()
# The silent one is dropped at the header timeout (-t 4s).
print("silent", "closed" if closed(silent, 15) else "open", time.time() - t0 >= 3)
# And the listener still serves.
s = conn()
s.sendall(b"PROXY UNKNOWN\r\nZ\n")
f = s.makefile("rb")
print("after", f.readline().decode().split()[1], f.readline().decode().strip())
PY
cat "$T/h.out"
grep -qx 'v1 TCP 192.0.2.9 4000 192.0.2.10 80 HELLO' "$T/h.out" && \
    ok "v1 header and data in one segment: addresses used, data intact" || notok "v1 direct"
grep -qx 'served-while-silent True' "$T/h.out" && \
    ok "a silent client does not block the accept loop" || notok "silent client blocks"
grep -qx 'trickle TCP 2001:db8::7 5555 ::1 443 X' "$T/h.out" && \
    ok "v1 TCP6 header trickled byte by byte" || notok "trickled header"
grep -qx 'local 127.0.0.1 True L' "$T/h.out" && \
    ok "v2 LOCAL keeps the real addresses" || notok "v2 LOCAL"
for n in garbage bare-lf bad-port long-v1 v2-bad-version v2-short-block v2-tlv-overrun v2-huge; do
	grep -qx "$n closed" "$T/h.out" && ok "malformed header ($n): that connection closed" || \
	    notok "malformed header ($n) not closed"
done
grep -qx 'silent closed True' "$T/h.out" && ok "missing header: closed at the -t timeout" || \
    notok "silent connection not closed"
grep -qx 'after 127.0.0.1 Z' "$T/h.out" && ok "the listener still serves afterwards" || \
    notok "listener dead after hostile clients"
finish
