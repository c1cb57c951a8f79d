#!/bin/sh
# Destinations come from untrusted clients: names with ';', '$(...)',
# backticks, quotes, newlines, spaces, and over-long names must never
# reach a shell unquoted. Every outbound here is a command template; a
# hostile name is refused (never run), and a valid 255-byte name reaches
# the command as exactly one argument.
. "$(dirname "$0")/lib.sh"
need python3

cat >"$T/rules" <<EOF
outbound rec exec-early printf '[%%s]\n' %h %p >>$T/args; exec cat >/dev/null
default rec
EOF
vp-dispatch -C "$T/rules" || notok "compile rules"
listen_ready DP vp-listen -1 -q tcp:127.0.0.1:0 vp-dispatch -r "$T/rules" ||
    notok "vp-listen + vp-dispatch ready"

# req KIND NAME: one request (socks5 / socks4a / connect / get) for NAME
# port 80; prints the first reply bytes as hex ("closed" if none).
req() {
	timeout 20 python3 - "$DP" "$1" "$2" <<'PY'
import socket, struct, sys
port, kind, name = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(10)
if kind == "socks5":
    s.sendall(b"\x05\x01\x00")
    s.recv(2)
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name) & 0xff]) + name + struct.pack(">H", 80))
elif kind == "socks4a":
    s.sendall(b"\x04\x01" + struct.pack(">H", 80) + b"\x00\x00\x00\x01" + b"u\x00" + name + b"\x00")
elif kind == "connect":
    s.sendall(b"CONNECT " + name + b":80 HTTP/1.1\r\nHost: x\r\n\r\n")
else:
    s.sendall(b"GET http://" + name + b"/ HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    r = s.recv(16)
except OSError:
    r = b""
print(r.hex() if r else "closed")
PY
}

# refused HEX KIND: the reply is a failure of that protocol, or a close.
refused() {
	case "$1" in
	closed) return 0 ;;
	0500*) return 1 ;;
	esac
	case "$2" in
	socks5) case "$1" in 05*) return 0 ;; esac ;;
	socks4a) case "$1" in 005b*) return 0 ;; esac ;;
	*) case "$1" in 485454502f312e3120[34]*) return 0 ;; esac ;;
	esac
	return 1
}

n=0
for name in "a;touch $T/PWNED" "\$(touch $T/PWNED)" "\`touch $T/PWNED\`" \
    "x'; touch $T/PWNED; '" "a
touch $T/PWNED" "a b" "-oProxyCommand=touch" "a|touch" "a&&touch" "a>x"; do
	n=$((n + 1))
	for kind in socks5 socks4a connect get; do
		out=$(req "$kind" "$name")
		if refused "$out" "$kind"; then
			ok "hostile name $n via $kind refused ($out)"
		else
			notok "hostile name $n via $kind: got '$out'"
		fi
	done
done
check "no hostile name ever reached a shell" [ ! -e "$T/PWNED" ]
check "the outbound command never ran for a hostile name" [ ! -s "$T/args" ]

# A valid name of 255 bytes (the SOCKS5 maximum) reaches the command as
# one argument, unchanged.
L=$(python3 -c 'l="a"*63; print(".".join([l,l,l,"b"*63]))')
out=$(req socks5 "$L")
i=0
while [ $i -lt 100 ] && [ "$(wc -l <"$T/args" 2>/dev/null || echo 0)" -lt 2 ]; do
	sleep 0.05; i=$((i + 1))
done
check "255-byte name: success reply ($out)" [ "${out#050000}" != "$out" ]
check "255-byte name reaches the command as one argument" \
    [ "$(head -n 1 "$T/args")" = "[$L]" ]
check "port reaches the command as one argument" \
    [ "$(sed -n 2p "$T/args")" = "[80]" ]
finish
