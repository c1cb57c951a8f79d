#!/bin/sh
# vp-listen -P (a process per connection, no engine) running our sibling
# vp-dispatch in forked children without exec (vpapplet): it works as the exec'd program does (curl through
# SOCKS5 and HTTP proxying), the child is a fork of vp-listen with only
# fds 0-2 and no signal blocked; -X and a
# vp-dispatch that is not our sibling are exec'd instead.
. "$(dirname "$0")/lib.sh"
need python3 curl
command -v vp-dispatch >/dev/null 2>&1 || { skip "vp-dispatch not built"; finish; }

mkdir "$T/www"
echo "hello through vp" >"$T/www/index.html"
HP=$(free_port)
bg python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$HP"
wait_tcp "$HP" || { notok "http origin did not start"; finish; }

listen_ready P vp-listen -1 -vv -P tcp:127.0.0.1:0 vp-dispatch 2>"$T/a.log"
LP=$LASTPID
grep -q 'without exec' "$T/a.log" && ok "sibling vp-dispatch is run without exec" || \
    notok "applet mode not chosen: $(cat "$T/a.log")"
out=$(curl -s --max-time 20 --socks5-hostname "127.0.0.1:$P" "http://127.0.0.1:$HP/index.html")
[ "$out" = "hello through vp" ] && ok "curl --socks5-hostname through vp-listen + forked vp-dispatch" || \
    notok "socks5h: '$out'"
out=$(curl -s --max-time 20 -x "http://127.0.0.1:$P" "http://127.0.0.1:$HP/index.html")
[ "$out" = "hello through vp" ] && ok "curl -x http:// through vp-listen + forked vp-dispatch" || \
    notok "http proxy: '$out'"

# inspect PORT LOG: connects, waits for the child's start line, prints
# the child's exe, fds (target of each), signal mask and UCSPI variables.
inspect() {
	python3 - "$1" "$2" <<'PY'
import os, re, socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
me = "127.0.0.1:%d" % s.getsockname()[1]
pid = None
for _ in range(400):
    m = re.search(r"from " + re.escape(me) + r": pid (\d+)$", open(log).read(), re.M)
    if m:
        pid = m.group(1)
        break
    time.sleep(0.025)
if pid is None:
    print("nopid"); sys.exit(0)
def state():
    fds = sorted(int(f) for f in os.listdir("/proc/%s/fd" % pid))
    blk = [l.split()[1] for l in open("/proc/%s/status" % pid)
           if l.startswith("SigBlk")][0]
    return fds, int(blk, 16) & 0x7fffffff
# Right after fork() the child still has the parent's descriptors and
# mask; wait (bounded) until it has set itself up and waits for the
# SOCKS greeting.
for _ in range(400):
    fds, blk = state()
    if fds == [0, 1, 2] and blk == 0:
        break
    time.sleep(0.025)
print("exe", os.path.basename(os.readlink("/proc/%s/exe" % pid)))
print("fds", " ".join(map(str, fds)))
print("same01", os.readlink("/proc/%s/fd/0" % pid) == os.readlink("/proc/%s/fd/1" % pid))
print("sigblk", blk)
s.close()
PY
}
out=$(inspect "$P" "$T/a.log")
echo "$out"
echo "$out" | grep -qx 'exe vp-listen' && ok "the child is a fork of vp-listen (no exec)" || \
    notok "applet child exe: $out"
echo "$out" | grep -qx 'fds 0 1 2' && echo "$out" | grep -qx 'same01 True' && \
    ok "applet child has the connection on 0 and 1 and no other descriptor" || \
    notok "applet child fds: $out"
echo "$out" | grep -qx 'sigblk 0' && ok "applet child: no signal blocked" || notok "applet sigmask: $out"
# (The UCSPI environment an applet gets is checked by check_vpapplet:
# /proc/PID/environ shows only what a process was exec'd with.)

# -X: always exec.
listen_ready PX vp-listen -1 -vv -X tcp:127.0.0.1:0 vp-dispatch 2>"$T/x.log"
out=$(inspect "$PX" "$T/x.log")
echo "$out" | grep -qx 'exe vp-dispatch' && ok "-X: vp-dispatch is exec'd" || notok "-X: $out"

# A vp-dispatch elsewhere (not our sibling) is exec'd too.
mkdir "$T/other"
cp "$VP_BIN/vp-dispatch" "$T/other/vp-dispatch"
listen_ready PO vp-listen -1 -vv tcp:127.0.0.1:0 "$T/other/vp-dispatch" 2>"$T/o.log"
out=$(inspect "$PO" "$T/o.log")
echo "$out" | grep -qx 'exe vp-dispatch' && ! grep -q 'without exec' "$T/o.log" && \
    ok "a vp-dispatch that is not our sibling is exec'd" || notok "non-sibling: $out"
out=$(curl -s --max-time 20 --socks5-hostname "127.0.0.1:$PO" "http://127.0.0.1:$HP/index.html")
[ "$out" = "hello through vp" ] && ok "and works the same" || notok "non-sibling socks5h: '$out'"

# Reaped like any child: none left after the connections above.
i=0
while [ -n "$(ps -o pid= --ppid "$LP")" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -z "$(ps -o pid= --ppid "$LP")" ] && ok "applet children reaped" || notok "children left: $(ps -o pid,stat,cmd --ppid "$LP")"
# vp-dial is an applet too: the port forwarder runs without exec.
listen_ready FP vp-listen -1 -vv -P tcp:127.0.0.1:0 vp-dial 127.0.0.1 "$HP" 2>"$T/f.log"
grep -q 'without exec' "$T/f.log" && ok "sibling vp-dial is run without exec" || \
    notok "vp-dial applet mode not chosen: $(cat "$T/f.log")"
out=$(curl -s --max-time 20 "http://127.0.0.1:$FP/index.html")
[ "$out" = "hello through vp" ] && ok "port forward through vp-listen + forked vp-dial" || \
    notok "forward: '$out'"
out=$(inspect "$FP" "$T/f.log")
# (it connects at once, so its own sockets and pipes are open by now)
echo "$out" | grep -qx 'exe vp-listen' && echo "$out" | grep -qx 'sigblk 0' && \
    ok "forked vp-dial: a fork of vp-listen, no signal blocked" || notok "forked vp-dial: $out"
finish
