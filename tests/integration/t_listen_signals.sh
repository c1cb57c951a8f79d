#!/bin/sh
# vp-listen started with SIGHUP, SIGINT and SIGQUIT ignored (nohup, a
# shell's background job): the children it runs in-process, a forked
# applet (-P vp-dial) and an engine's exec route (vp-dispatch), start
# with those signals at their default, as exec'd programs do.
. "$(dirname "$0")/lib.sh"
need python3
command -v vp-dispatch >/dev/null 2>&1 || { skip "vp-dispatch not built"; finish; }

# HUP INT QUIT are bits 0-2 of /proc's SigIgn mask
hiq() { python3 -c 'import sys; print(int(sys.argv[1], 16) & 7)' "$1"; }

EP=$(free_port)
bg python3 -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
' "$EP"
wait_tcp "$EP" || { notok "echo server did not start"; finish; }

# 1. -P vp-dial: the forked child's ignored signals while it relays
listen_ready P sh -c 'trap "" HUP INT QUIT; exec vp-listen "$@"' sh -1 -P \
    tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$EP"
LP=$LASTPID
ign=$(python3 - "$P" "$LP" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x"); s.recv(1)          # the child is running and relaying
kids = open("/proc/%s/task/%s/children" % (sys.argv[2], sys.argv[2])).read().split()
for line in open("/proc/%s/status" % kids[0]):
    if line.startswith("SigIgn:"):
        print(line.split()[1])
s.close()
PY
)
parent=$(awk '/^SigIgn:/ { print $2 }' /proc/"$LP"/status)
[ -n "$ign" ] && [ "$(hiq "$parent")" = 7 ] && [ "$(hiq "$ign")" = 0 ] && \
    ok "-P applet child: HUP INT QUIT default (child SigIgn $ign, vp-listen's $parent)" || \
    notok "-P applet child: SigIgn '$ign' (vp-listen's $parent)"

# 2. the engine's exec route: its command reports its own mask
cat >"$T/rules" <<EOF2
outbound sig exec-early exec awk '/^SigIgn/ { print \$2 }' /proc/self/status
route sig domain:sig.example
default sig
EOF2
chmod 644 "$T/rules"
vp-dispatch -C "$T/rules" || notok "rules compile"
listen_ready P2 sh -c 'trap "" HUP INT QUIT; exec vp-listen "$@"' sh -1 \
    tcp:127.0.0.1:0 vp-dispatch -r "$T/rules"
out=$(vp-dial -w 5s -x "socks5://127.0.0.1:$P2" sig.example 9 </dev/null 2>&1)
[ -n "$out" ] && [ "$(hiq "$out" 2>/dev/null)" = 0 ] && \
    ok "engine exec route: HUP INT QUIT default (SigIgn $out)" || \
    notok "engine exec route: SigIgn '$out'"
finish
