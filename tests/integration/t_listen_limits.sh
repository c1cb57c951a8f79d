#!/bin/sh
# vp-listen limits: -c defers connections beyond the limit (they wait in
# the backlog and are served later, none dropped), -C per source, and
# after 2000 connections no zombie and no leaked descriptor.
. "$(dirname "$0")/lib.sh"
need python3

children() {	# number of live children of pid $1
	ps -o pid= --ppid "$1" 2>/dev/null | wc -l
}

# -c 2: five clients, two served at once, the rest as slots free up.
listen_ready P vp-listen -1 -c 2 tcp:127.0.0.1:0 sh -c 'echo hi; exec cat'
LP=$LASTPID
python3 - "$P" "$LP" >"$T/c.out" 2>&1 <<'PY'
import select, socket, subprocess, sys, time
port, lp = int(sys.argv[1]), sys.argv[2]

def kids():
    r = subprocess.run(["ps", "-o", "pid=", "--ppid", lp], capture_output=True)
    return len(r.stdout.split())

def served(conns, wait, want=None):
    """Sockets among conns that said hi within wait seconds (stops
    early once want of them did)."""
    got = set()
    end = time.time() + wait
    while time.time() < end and (want is None or len(got) < want):
        r, _, _ = select.select([c for c in conns if c not in got], [], [],
                                max(0, end - time.time()))
        for c in r:
            if c.recv(3) == b"hi\n":
                got.add(c)
        if not r:
            break
    return got

conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
first = served(conns, 5, 2)
more = served([c for c in conns if c not in first], 1.0)
print("first", len(first), "extra", len(more), "children", kids())
maxkids = kids()
order = [c for c in conns if c in first]
waiting = [c for c in conns if c not in first]
done = 0
# Finish served connections one by one; each frees one slot.
while order:
    c = order.pop(0)
    c.sendall(b"echo\n")
    ok = c.recv(5) == b"echo\n"
    c.close()
    done += ok
    if waiting:
        s = served(waiting, 10, 1)
        s |= served([w for w in waiting if w not in s], 0.2)
        print("after close: newly served", len(s))
        for x in s:
            waiting.remove(x)
            order.append(x)
    maxkids = max(maxkids, kids())
print("done", done, "maxkids", maxkids)
PY
cat "$T/c.out"
grep -q '^first 2 extra 0 children 2$' "$T/c.out" && \
    ok "-c 2: two served, the others wait (not refused)" || notok "-c 2 first phase"
[ "$(grep -c '^after close: newly served 1$' "$T/c.out")" = 3 ] && \
    grep -q '^done 5 maxkids 2$' "$T/c.out" && \
    ok "-c 2: each finished connection lets one waiting client in; all 5 served, never more than 2 children" || \
    notok "-c 2 second phase"

# -C 1 per source: a second client from 127.0.0.1 waits, one from
# 127.0.0.2 is served at once.
listen_ready P vp-listen -1 -c 10 -C 1 tcp:127.0.0.1:0 sh -c 'echo hi; exec cat'
python3 "$VP_SRC/tests/integration/engine_client.py" persource "$P" >"$T/C.out" 2>&1
cat "$T/C.out"
[ "$(tr '\n' ' ' <"$T/C.out")" = "a1 True b1 True a2-early False a2-after True " ] && \
    ok "-C 1: per-source limit holds the second client of a source until the first ends" || \
    notok "-C 1"

# -c 2 -C 1: a client held for its source that resets its connection
# frees its slot at once (another source need not wait for the first
# connection). A plain close (FIN) cannot be told from a half-close, so
# such a client keeps its slot until it is served.
listen_ready P vp-listen -1 -v -c 2 -C 1 tcp:127.0.0.1:0 sh -c 'echo hi; exec cat' 2>"$T/gone.log"
python3 - "$P" >"$T/gone.out" 2>&1 <<'PY'
import select, socket, struct, sys
port = int(sys.argv[1])
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
def said_hi(s, wait):
    r, _, _ = select.select([s], [], [], wait)
    return bool(r) and s.recv(3) == b"hi\n"
a1 = conn("127.0.0.1")
print("a1", said_hi(a1, 5))
a2 = conn("127.0.0.1")          # held: same source, and fills -c 2
b1 = conn("127.0.0.2")
print("b1-while-a2-held", said_hi(b1, 1.0))
# the held client gives up with a reset (SO_LINGER 0)
a2.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
a2.close()
print("b1-after-a2-gone", said_hi(b1, 5))
print("a1-still", a1.sendall(b"z\n") or a1.recv(2) == b"z\n")
PY
cat "$T/gone.out"
[ "$(tr '\n' ' ' <"$T/gone.out")" = "a1 True b1-while-a2-held False b1-after-a2-gone True a1-still True " ] && \
    grep -q 'client gone while waiting' "$T/gone.log" && \
    ok "-C: a held client that resets frees its slot for others" || \
    { notok "-C held client hang-up"; cat "$T/gone.log"; }

# 2000 connections: no zombies, no descriptor leak, one log line each way.
listen_ready P vp-listen -1 -v -c 50 tcp:127.0.0.1:0 sh -c 'echo x' 2>"$T/v.log"
LP=$LASTPID
before=$(ls /proc/"$LP"/fd | wc -l)
python3 - "$P" >"$T/s.out" <<'PY'
import socket, sys, threading
port = int(sys.argv[1])
bad = []
def worker(n):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if s.recv(10) != b"x\n":
            bad.append(1)
        s.close()
ts = [threading.Thread(target=worker, args=(500,)) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("bad", len(bad))
PY
i=0
while [ "$(children "$LP")" != 0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
after=$(ls /proc/"$LP"/fd | wc -l)
z=$(children "$LP")
grep -q '^bad 0$' "$T/s.out" && ok "2000 connections served" || notok "2000 connections: $(cat "$T/s.out")"
[ "$z" = 0 ] && ok "no zombies or leftover children after 2000 connections" || \
    notok "$z children left: $(ps -o pid,stat,cmd --ppid "$LP")"
[ "$before" = "$after" ] && ok "no descriptor leak ($before fds before and after)" || \
    notok "descriptors: $before before, $after after"
s=$(grep -c ': pid [0-9]*$' "$T/v.log")
e=$(grep -c 'exited 0 after' "$T/v.log")
[ "$s" = 2000 ] && [ "$e" = 2000 ] && ok "-v: one start and one end line per connection" || \
    notok "-v lines: $s starts, $e ends"

# Out of descriptors (EMFILE): vp-listen pauses accepting, warns once,
# and serves again when descriptors free up; it neither spins nor dies.
listen_ready P sh -c 'ulimit -n 12 && exec vp-listen -1 -p -t 1s tcp:127.0.0.1:0 sh -c "echo ok"' 2>"$T/emfile.log"
LP=$LASTPID
python3 - "$P" >"$T/emfile.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(15)]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"PROXY UNKNOWN\r\n")
s.settimeout(20)
print(s.recv(10).decode().strip())
PY
cpu=$(awk '{ print $14 + $15 }' /proc/"$LP"/stat)
[ "$(cat "$T/emfile.out")" = ok ] && kill -0 "$LP" && \
    ok "EMFILE: accepting pauses, the client is served once descriptors free up" || \
    { notok "EMFILE: '$(cat "$T/emfile.out")'"; cat "$T/emfile.log"; }
[ "$(grep -c 'Too many open files' "$T/emfile.log")" = 1 ] && [ "$cpu" -lt 50 ] && \
    ok "EMFILE: one warning, no busy loop ($cpu ticks of CPU)" || \
    notok "EMFILE: $(grep -c 'Too many' "$T/emfile.log") warnings, $cpu ticks"

# -C 1: a client waiting for its source resets while vp-listen is
# stopped and the running connection's program exits, so its turn comes
# and its start fails (client gone); later clients of that source must
# still be started (the waiting count was once taken off twice)
listen_ready P vp-listen -1 -v -C 1 -c 10 tcp:127.0.0.1:0 \
    sh -c 'read x; echo done' 2>"$T/ws.log"
LP=$LASTPID
out=$(timeout 60 python3 "$VP_SRC/tests/integration/engine_client.py" waitsrc "$P" "$LP" "$T/ws.log" 2>&1)
[ "$out" = "A ok D ok C ok" ] &&
    ok "-C 1: a waiting client gone before its turn; the next ones of that source still run" ||
    { notok "-C 1, waiting client gone before its turn: '$out'"; cat "$T/ws.log"; }
kill "$LP"

# Too many descriptors in flight (ETOOMANYREFS): a user may have at most
# RLIMIT_NOFILE descriptors passed over unix sockets and not yet
# received. With another process of that user holding them, vp-listen
# (-u nobody) cannot hand a connection to its engine. It must warn, keep
# the connection and hand it over once they are released, not take the
# engine for dead (it did: the engine's connections were written off and
# every later connection got a process of its own).
PY3=/usr/bin/python3
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && [ -x "$PY3" ] &&
    command -v setpriv >/dev/null 2>&1 && command -v socat >/dev/null 2>&1; then
	listen_ready ECHO vp-listen -1 tcp:127.0.0.1:0 cat
	# the holder: sends /dev/null 250 times a message over a socket
	# pair it never reads, until the kernel refuses (ETOOMANYREFS)
	HOLD='import array, os, signal, socket
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
fd, n = os.open("/dev/null", os.O_RDONLY), 0
try:
    while n < 5000:
        a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
            array.array("i", [fd] * 250))])
        n += 250
except OSError as e:
    print("held", n, e.errno, flush=True)
signal.pause()'
	(ulimit -n 400 && exec setpriv --reuid=65534 --regid=65534 \
	    --clear-groups "$PY3" -c "$HOLD" >"$T/hold.out") &
	HP=$!
	PIDS="$PIDS $HP"
	_i=0
	while ! grep -q held "$T/hold.out" 2>/dev/null && [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	listen_ready P sh -c "ulimit -n 400 && exec vp-listen -1 -v -u nobody \
	    tcp:127.0.0.1:0 vp-dial 127.0.0.1 $ECHO" 2>"$T/refs.log"
	LP=$LASTPID
	{ printf 'held\n'; sleep 30; } | timeout 30 socat -t 30 - \
	    "TCP:127.0.0.1:$P" >"$T/refs.out" &
	CP=$!
	PIDS="$PIDS $CP"
	_i=0
	while ! grep -q 'pass it to the engine yet' "$T/refs.log" &&
	    [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	c0=$(awk '{ print $14 + $15 }' /proc/"$LP"/stat)
	check "ETOOMANYREFS: the holder holds ($(cat "$T/hold.out")), vp-listen warns and waits" \
	    grep -q 'Too many references.*in flight for this user' "$T/refs.log"
	kill "$HP"	# its descriptors in flight go with it
	_i=0
	while ! grep -q '^held$' "$T/refs.out" && [ $_i -lt 200 ]; do
		sleep 0.05; _i=$((_i + 1))
	done
	c1=$(awk '{ print $14 + $15 }' /proc/"$LP"/stat)
	kill "$CP" 2>/dev/null
	grep -q '^held$' "$T/refs.out" && grep -q ': to the engine' "$T/refs.log" &&
	    ! grep -q 'a process per connection' "$T/refs.log" &&
	    ok "ETOOMANYREFS: once released, the connection goes to the engine, which is not written off" ||
	    { notok "ETOOMANYREFS: connection not served by the engine"; cat "$T/refs.log"; }
	out=$(echo again | timeout 10 socat -t 5 - "TCP:127.0.0.1:$P")
	[ "$out" = again ] && [ "$(grep -c ': to the engine' "$T/refs.log")" = 2 ] &&
	    [ $((c1 - c0)) -lt 50 ] &&
	    ok "ETOOMANYREFS: the next connection goes to the engine too; $((c1 - c0)) ticks of CPU while waiting" ||
	    { notok "ETOOMANYREFS: next connection '$out', $((c1 - c0)) ticks"; cat "$T/refs.log"; }
	kill "$LP"
else
	skip "ETOOMANYREFS: needs root, user nobody, /usr/bin/python3, setpriv, socat"
fi
finish
