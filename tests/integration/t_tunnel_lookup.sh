#!/bin/sh
# vp-tunnel's client looks its peer's name up off its event loop (and
# vp-listen can be stopped while it looks up its listen host). In a
# network namespace of our own whose resolv.conf points at a name server
# that never answers (a UDP socket that reads and drops), a client whose
# peer is tcp:NAME or udp:NAME stays responsive during the lookup: it
# ends at SIGTERM at once, where a blocking getaddrinfo held it for the
# resolver's whole timeout (2 x 4 s here); the lookup's failure is
# logged and retried. A name from /etc/hosts (localhost) still works,
# byte for byte, over tcp: and udp:, and a udp: link logs its KCP
# statistics at the end as it does when dialled by address.
. "$(dirname "$0")/lib.sh"
need python3 ncat

N=vplk$$
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1 ||
    ! ip netns add "$N" 2>/dev/null; then
	skip "network namespaces unavailable (needs root)"
	exit 0
fi
trap 'cleanup; ip netns del "$N" 2>/dev/null; rm -rf "/etc/netns/$N"' EXIT
ip -n "$N" link set lo up
mkdir -p "/etc/netns/$N"
printf 'nameserver 127.0.0.1\noptions timeout:4 attempts:2\n' \
    >"/etc/netns/$N/resolv.conf"

# the silent name server: prints "ready" once bound, then a line on
# stderr (to dns.log) for each query it drops
mkfifo "$T/dns.ready"
ip netns exec "$N" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    s.recv(4096)
    print("query", file=sys.stderr, flush=True)
' >"$T/dns.ready" 2>"$T/dns.log" &
PIDS="$PIDS $!"
read -r r <"$T/dns.ready" || r=""
[ "$r" = ready ] || { notok "silent name server"; exit 0; }

# gone_within PID TENTHS: 0 once PID has exited, bounded
gone_within() {
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt "$2" ]; do
		_i=$((_i + 1)); sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

for proto in tcp udp; do
	listen_ready cp ip netns exec "$N" vp-tunnel client -v -1 -l tcp:127.0.0.1:0 \
	    "$proto:vp-lookup.invalid:9" ||
	    { notok "$proto: client ready"; continue; }
	pid=$LASTPID
	# wait (bounded) until its lookup has reached the name server
	: >"$T/dns.log"
	_i=0
	while [ ! -s "$T/dns.log" ] && [ $_i -lt 100 ]; do
		_i=$((_i + 1)); sleep 0.05
	done
	[ -s "$T/dns.log" ] || notok "$proto: the lookup reached the name server"
	kill -TERM "$pid"
	check "$proto: SIGTERM ends a client whose peer lookup hangs, within 1 s" \
	    gone_within "$pid" 10
	wait "$pid" 2>/dev/null
done

# vp-listen's own listen host, looked up before anything is bound: a
# SIGTERM meanwhile ends it at once too (it waited for the resolver,
# then exited 75, while its signals were held for a clean exit)
: >"$T/dns.log"
ip netns exec "$N" vp-listen tcp:vp-lookup.invalid:8080 cat 2>/dev/null &
pid=$!
PIDS="$PIDS $pid"
_i=0
while [ ! -s "$T/dns.log" ] && [ $_i -lt 100 ]; do
	_i=$((_i + 1)); sleep 0.05
done
[ -s "$T/dns.log" ] || notok "vp-listen: the lookup reached the name server"
kill -TERM "$pid"
check "vp-listen: SIGTERM during its listen host's lookup ends it within 1 s" \
    gone_within "$pid" 10
wait "$pid" 2>/dev/null

# the lookup's failure: logged, then retried (-b 1: after 1 s); the
# resolver gives up sooner now
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
    >"/etc/netns/$N/resolv.conf"
listen_ready cp ip netns exec "$N" vp-tunnel client -1 -b 1 -l tcp:127.0.0.1:0 \
    tcp:vp-lookup.invalid:9 2>"$T/fail.log" ||
    { notok "failing client ready"; exit 0; }
pid=$LASTPID
_i=0
while [ "$(grep -c 'connect vp-lookup.invalid' "$T/fail.log")" -lt 2 ] &&
    [ $_i -lt 400 ]; do
	_i=$((_i + 1)); sleep 0.1
done
check "a failed lookup is logged and retried ($(head -n 1 "$T/fail.log"))" \
    test "$(grep -c 'connect vp-lookup.invalid' "$T/fail.log")" -ge 2
kill "$pid"

# names that resolve (from /etc/hosts): data byte for byte
rand_file "$T/blob" 200000
for proto in tcp udp; do
	listen_ready sp ip netns exec "$N" vp-tunnel server -q -1 "$proto:127.0.0.1:0" cat ||
	    { notok "$proto: server"; continue; }
	listen_ready cp ip netns exec "$N" vp-tunnel client -v -1 -l tcp:127.0.0.1:0 \
	    "$proto:localhost:$sp" 2>"$T/c.$proto.log" ||
	    { notok "$proto: client"; continue; }
	pid=$LASTPID
	timeout 30 ip netns exec "$N" ncat 127.0.0.1 "$cp" <"$T/blob" \
	    >"$T/back" 2>/dev/null
	check "$proto: a peer by name (localhost): 200000 bytes back intact" \
	    same "$T/blob" "$T/back"
	kill -TERM "$pid"
	gone_within "$pid" 100
	wait "$pid" 2>/dev/null
	# the KCP statistics line, which a link dialled by name had lost
	[ "$proto" = udp ] &&
	    check "udp: a peer by name still gets its kcp statistics line" \
		grep -q "kcp: datagrams" "$T/c.$proto.log"
done
finish
