#!/usr/bin/env python3
"""Clients for t_listen_engine.sh (vp-listen's connection engine).

Each prints what it saw, one fact a line, for the shell to match; every
wait is bounded. Processes are counted from /proc (children by ppid).

  many PORT N LPID LOG      N idle connections; once LOG shows all N
                            passed to the engine, count vp-listen's
                            children and grandchildren, then echo a
                            distinct payload on each
  idle PORT                 an idle and an active connection through
                            vp-dial -i 1s; when is each closed
  term PORT LPID EPID       a connection open, SIGTERM to vp-listen;
                            vp-listen exits, the connection still works
                            both ways, new ones are refused, the engine
                            exits once the connection ends
  limit PORT LPID           -c 2 against a banner backend ("hi"): three
                            clients, the third waits for a slot
  s5hold PORT HOST DPORT LPID EPID PAUSE
                            SOCKS5 CONNECT, PAUSE seconds idle, echo a
                            payload while the connection is open, count
                            processes
  flood PORT N OPORT EPID FILE
                            N silent connections to vp-dispatch -T 1; a
                            normal SOCKS5 GET of FILE from the origin at
                            OPORT meanwhile; engine RSS; when are the
                            silent ones closed
  diff PORT_ENGINE PORT_PROCS DEAD
                            hostile and odd requests to vp-dispatch, the
                            same bytes to the engine and to a process per
                            connection: prints each case's replies (hex)
                            where they differ, and "cases N same M"
  proxied PORT HDR HOST      PROXY header HDR (text, \\r\\n spelled so,
                            or v2 in hex), then SOCKS5 to HOST:1
  persource PORT            -C 1 against a banner backend ("hi")
  stopped PORT LPID EPID LOG
                            ends reported while vp-listen is stopped,
                            in uneven batches (see stopped())
  churn PORT N THREADS      N short echo connections; prints "bad K"
  waitsrc PORT LPID LOG     -C 1 (program: read a line, say "done"): a
                            client waiting for its source resets while
                            vp-listen is stopped and the running one's
                            program exits, so its start fails; later
                            ones of that source must still be started;
                            prints "A ok D ok C ok" or what went wrong
  capterm PORT LPID EPID N  N echo connections held, more than the
                            engine's descriptor cap; SIGTERM to vp-listen,
                            one served client closes: prints "served S
                            ticks T gone G" (T: the engine's CPU ticks in
                            the second after; G: it exited once all closed)
  press PORT N K            N echo connections held at once; prints how
                            many were answered within 2 s, closes K of
                            those, then how many were answered in all
                            (5 s more) and how many got something else
  backend LOG               a server whose first received byte picks what
                            it does (see backend_conn); prints its port
  ddiff PORT_ENGINE PORT_PROCS LOG
                            the backend's behaviours through vp-dial,
                            engine against processes, as diff
"""
import os
import select
import signal
import socket
import struct
import sys
import time


def children(pid):
    """Pids whose parent is pid (zombies excluded)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        f = st.rsplit(")", 1)[1].split()
        if f[0] != "Z" and int(f[1]) == int(pid):
            out.append(int(d))
    return out


def gone(pid):
    """Whether pid has exited (absent or a zombie)."""
    try:
        with open("/proc/%d/stat" % int(pid)) as f:
            st = f.read()
    except OSError:
        return True
    return st.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % int(pid)) as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def poll(cond, secs):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def recv_exact(c, n, secs=10):
    c.settimeout(secs)
    buf = b""
    while len(buf) < n:
        try:
            b = c.recv(n - len(buf))
        except OSError:
            break
        if not b:
            break
        buf += b
    return buf


def closed_within(c, secs):
    """Seconds until the peer closed c (EOF or reset), or None."""
    t0 = time.time()
    end = t0 + secs
    while time.time() < end:
        r, _, _ = select.select([c], [], [], max(0, end - time.time()))
        if not r:
            break
        try:
            b = c.recv(65536)
        except OSError:
            return time.time() - t0
        if not b:
            return time.time() - t0
    return None


def payload(i, n):
    return bytes((i * 131 + k * 7 + (k >> 8)) & 0xff for k in range(n))


def many(port, n, lpid, log):
    def passed(k):
        with open(log) as f:
            return f.read().count(": to the engine") >= k
    # in batches of 10, each passed before the next: the control
    # socket's queue is short, and a burst beyond it gets processes
    cs = []
    ok = True
    while len(cs) < n:
        for _ in range(min(10, n - len(cs))):
            cs.append(socket.create_connection(("127.0.0.1", port), 5))
        k = len(cs)
        ok = ok and poll(lambda: passed(k), 10)
    print("passed", ok)
    kids = children(lpid)
    grand = sum(len(children(k)) for k in kids)
    print("children", len(kids), "grandchildren", grand)
    good = 0
    for i, c in enumerate(cs):
        p = payload(i, 1000 + i)
        c.sendall(p)
        good += recv_exact(c, len(p)) == p
    print("echoed", good)
    for c in cs:
        c.close()


def idle(port):
    a = socket.create_connection(("127.0.0.1", port), 5)
    b = socket.create_connection(("127.0.0.1", port), 5)
    t0 = time.time()
    # b talks every 0.2 s for 3 s; a says nothing
    a_closed = None
    b_ok = True
    k = 0
    while time.time() - t0 < 3:
        msg = b"tick%d" % k
        b.sendall(msg)
        b_ok = b_ok and recv_exact(b, len(msg), 5) == msg
        k += 1
        if a_closed is None:
            r, _, _ = select.select([a], [], [], 0.2)
            if r:
                try:
                    got = a.recv(100)
                except OSError:
                    got = b""
                if not got:
                    a_closed = time.time() - t0
        else:
            time.sleep(0.2)
    if a_closed is None:
        w = closed_within(a, 7)
        a_closed = None if w is None else time.time() - t0
    print("idle closed", "never" if a_closed is None else "%.2f" % a_closed)
    print("active ok", b_ok and k > 5)


def term(port, lpid, epid):
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.sendall(b"before")
    print("before", recv_exact(c, 6) == b"before")
    os.kill(lpid, signal.SIGTERM)
    print("listen exited", poll(lambda: gone(lpid), 5))
    try:
        n = socket.create_connection(("127.0.0.1", port), 2)
        n.settimeout(2)
        try:
            got = n.recv(1)
        except OSError:
            got = b""
        print("new refused", False, "(accepted; got %r)" % got)
    except OSError:
        print("new refused", True)
    print("engine alive", not gone(epid))
    # 2 MB each way on the surviving connection, then half-close
    p = payload(7, 2000000)
    c.setblocking(False)
    got = bytearray()
    sent = 0
    end = time.time() + 20
    while time.time() < end and len(got) < len(p):
        w = [c] if sent < len(p) else []
        r, w, _ = select.select([c], w, [], 1)
        if w:
            try:
                sent += c.send(p[sent:sent + 65536])
            except BlockingIOError:
                pass
        if r:
            b = c.recv(65536)
            if not b:
                break
            got += b
    print("after term both ways", bytes(got) == p)
    c.shutdown(socket.SHUT_WR)
    c.setblocking(True)
    print("eof after half-close", closed_within(c, 5) is not None)
    c.close()
    print("engine exited", poll(lambda: gone(epid), 10))


def limit(port, lpid):
    def said_hi(s, wait):
        r, _, _ = select.select([s], [], [], wait)
        return bool(r) and recv_exact(s, 3, 2) == b"hi\n"
    c1 = socket.create_connection(("127.0.0.1", port), 5)
    c2 = socket.create_connection(("127.0.0.1", port), 5)
    print("c1", said_hi(c1, 5), "c2", said_hi(c2, 5))
    c3 = socket.create_connection(("127.0.0.1", port), 5)
    print("c3-early", said_hi(c3, 1.0))
    print("children", len(children(lpid)))
    c1.sendall(b"x")
    print("c1 echo", recv_exact(c1, 1) == b"x")
    c1.close()
    print("c3-after", said_hi(c3, 5))
    c3.sendall(b"y")
    print("c3 echo", recv_exact(c3, 1) == b"y")
    print("children", len(children(lpid)))


def s5connect(port, host, dport):
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.sendall(b"\x05\x01\x00")
    if recv_exact(c, 2) != b"\x05\x00":
        return c, None
    h = host.encode()
    c.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h +
              struct.pack(">H", dport))
    rep = recv_exact(c, 4)
    if len(rep) < 4:
        return c, None
    atyp = rep[3]
    n = {1: 4, 4: 16}.get(atyp)
    if n is None and atyp == 3:
        n = recv_exact(c, 1)[0]
    recv_exact(c, (n or 0) + 2)
    return c, rep[1]


def s5hold(port, host, dport, lpid, epid, pause):
    c, rep = s5connect(port, host, dport)
    print("rep", "none" if rep is None else "%02x" % rep)
    # an idle moment first: the route's program must wait for data
    # (a blocking read), not fail
    time.sleep(pause)
    p = payload(3, 100000)
    try:
        c.sendall(p)
    except OSError:
        pass
    print("echo", recv_exact(c, len(p)) == p)
    kids = children(lpid)
    print("listen children", len(kids), "engine children",
          len(children(epid)))
    try:
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    print("eof", closed_within(c, 5) is not None)
    c.close()
    print("engine children after",
          "0" if poll(lambda: not children(epid), 10) else
          len(children(epid)))


def flood(port, n, oport, epid, path):
    t0 = time.time()
    cs = []
    for _ in range(n):
        try:
            cs.append(socket.create_connection(("127.0.0.1", port), 5))
        except OSError:
            pass
    print("opened", len(cs))
    want = open(path, "rb").read()
    c, rep = s5connect(port, "127.0.0.1", oport)
    ok = False
    if rep == 0:
        c.sendall(b"GET /%s HTTP/1.0\r\nHost: x\r\n\r\n" %
                  os.path.basename(path).encode())
        c.settimeout(10)
        buf = b""
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                break
            if not b:
                break
            buf += b
        ok = buf.split(b"\r\n\r\n", 1)[-1] == want
    c.close()
    print("normal request meanwhile", ok)
    print("engine rss", rss_kb(epid))
    first = last = None
    still = list(cs)
    end = t0 + 10
    while still and time.time() < end:
        r, _, _ = select.select(still, [], [], max(0, end - time.time()))
        for s in r:
            try:
                b = s.recv(100)
            except OSError:
                b = b""
            if not b:
                t = time.time() - t0
                first = t if first is None else first
                last = t
                still.remove(s)
                s.close()
    print("closed", len(cs) - len(still), "first %.2f last %.2f" %
          (first or -1, last or -1))


def diff_cases(dead):
    h = bytes.fromhex
    big = b"GET http://127.0.0.1:%d/ HTTP/1.1\r\nX: " % dead
    return [
        ("nothing", b""),
        ("socks5 greeting cut", h("05")),
        ("socks5 no methods", h("0500")),
        ("socks5 only user/pass offered", h("050102")),
        ("socks5 request cut", h("050100") + h("0501000107")),
        ("socks5 BIND", h("050100") + h("050200017f0000010050")),
        ("socks5 UDP ASSOCIATE", h("050100") + h("050300017f0000010050")),
        ("socks5 atyp 9", h("050100") + h("05010009000000000050")),
        ("socks5 domain length 0", h("050100") + h("0501000300") +
         h("0050")),
        ("socks5 bad version in request", h("050100") +
         h("040100017f0000010050")),
        ("socks5 refused", h("050100") + h("050100017f000001") +
         struct.pack(">H", dead)),
        ("socks5 port 0", h("050100") + h("050100017f0000010000")),
        ("socks5 .invalid", h("050100") + h("05010003") +
         bytes([19]) + b"nonexistent.invalid" + h("0050")),
        ("socks4 refused", h("0401") + struct.pack(">H", dead) +
         h("7f000001") + b"u\0"),
        ("socks4 user without NUL", h("0401") + struct.pack(">H", dead) +
         h("7f000001") + b"user"),
        ("socks4a .invalid", h("04010050000000ff") + b"\0" +
         b"nonexistent.invalid\0"),
        ("socks4 BIND", h("0402") + struct.pack(">H", dead) +
         h("7f000001") + b"\0"),
        ("socks4 user 300 bytes", h("0401") + struct.pack(">H", dead) +
         h("7f000001") + b"u" * 300 + b"\0"),
        ("http CONNECT refused", b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n"
         % dead),
        ("http CONNECT .invalid",
         b"CONNECT nonexistent.invalid:80 HTTP/1.1\r\n\r\n"),
        ("http CONNECT no port", b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n"),
        ("http CONNECT port 99999",
         b"CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n"),
        ("http head cut", b"GET http://x/ HTTP/1.1\r\nHost: x\r\n"),
        ("http header 3000 bytes", big + b"a" * 3000 + b"\r\n\r\n"),
        ("http header 20000 bytes", big + b"a" * 20000 + b"\r\n\r\n"),
        ("http header 70000 bytes", big + b"a" * 70000 + b"\r\n\r\n"),
        ("http origin-form", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("http bare LF", b"CONNECT 127.0.0.1:%d HTTP/1.1\n\n" % dead),
        ("http NUL in line", b"CONNECT 127.0.0.1:\0 HTTP/1.1\r\n\r\n"),
        ("garbage 0xff", b"\xff" * 10),
        ("garbage 4 KB", bytes(range(256)) * 16),
        ("one byte then silence is cut by EOF", b"G"),
    ]


def ask(port, data):
    """Reply bytes (up to 64 KiB) of one connection that sends data and
    half-closes; ends on EOF, reset, or 10 s."""
    c = socket.create_connection(("127.0.0.1", port), 5)
    try:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    c.settimeout(10)
    got = b""
    while len(got) < 65536:
        try:
            b = c.recv(65536)
        except OSError as e:
            got += b"<%s>" % type(e).__name__.encode()
            break
        if not b:
            break
        got += b
    c.close()
    return got


def compare(pe, pp, cases):
    """Each (name, data) case through the engine (pe) and processes
    (pp); prints those that differ, returns how many agree."""
    same = 0
    for name, data in cases:
        # a reset where the other closes is timing (a process that
        # exits with bytes unread); the bytes before it must agree
        a = ask(pe, data).replace(b"<ConnectionResetError>", b"")
        b = ask(pp, data).replace(b"<ConnectionResetError>", b"")
        if a == b:
            same += 1
        else:
            print("differs: %s: engine %d bytes %s, processes %d bytes %s" %
                  (name, len(a), a[:64].hex(), len(b), b[:64].hex()))
    return same


def diff(pe, pp, dead):
    cases = diff_cases(dead)
    print("cases", len(cases), "same", compare(pe, pp, cases))


BACKLOG = None     # backend: file that gets "g N" lines


def backend_conn(c):
    try:
        m = c.recv(1)
        if m == b"g":                   # "ready", then counts bytes
            c.sendall(b"ready\n")        # until EOF or reset
            n = 0
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    n += len(b)
            finally:
                with open(BACKLOG, "a") as f:
                    f.write("g %d\n" % n)
        elif m == b"a":                 # says hello and closes
            c.sendall(b"hello\n")
        elif m == b"b":                 # reset at once
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        elif m == b"c":                 # 20 KB then a reset
            c.sendall(payload(5, 20000))
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        elif m == b"d":                 # counts the upload after EOF
            n = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                n += len(b)
            c.sendall(b"%d\n" % n)
        elif m == b"e":                 # half-closes first, still reads
            c.sendall(b"early\n")
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        elif m == b"f":                 # closes without reading a byte
            pass
    except OSError:
        pass
    finally:
        c.close()


def backend(log):
    import threading
    global BACKLOG
    BACKLOG = log
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print(srv.getsockname()[1], flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=backend_conn, args=(c,),
                         daemon=True).start()


def client_reset(port, log):
    """Sends g, waits for the backend's "ready", sends 20 KB and resets;
    returns what the backend counted."""
    def lines():
        try:
            with open(log) as f:
                return f.read().split("\n")[:-1]
        except OSError:
            return []
    before = len(lines())
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.sendall(b"g")
    if recv_exact(c, 6) != b"ready\n":    # relayed both ways by now
        return "not relayed"
    c.sendall(payload(6, 20000))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    if not poll(lambda: len(lines()) > before, 10):
        return "none"
    return lines()[before]


def ddiff(pe, pp, log):
    cases = [
        ("backend says hello and closes", b"a"),
        ("backend resets at once", b"b"),
    ] + [
        ("backend sends 20 KB then resets (%d of 10)" % (i + 1), b"c")
        for i in range(10)
    ] + [
        ("upload 300 KB, count after EOF", b"d" + payload(1, 300000)),
        ("backend half-closes first, client uploads 300 KB",
         b"e" + payload(2, 300000)),
        ("backend closes unread; client sends 1 MB", b"f" +
         payload(4, 1000000)),
    ]
    same = compare(pe, pp, cases)
    for i in range(10):
        a = client_reset(pe, log)
        b = client_reset(pp, log)
        if a == b:
            same += 1
        else:
            print("differs: client sends 20 KB then resets (%d of 10): "
                  "backend counted %s via the engine, %s via a process" %
                  (i + 1, a, b))
    print("cases", len(cases) + 10, "same", same)


def proxied(port, hdr, host):
    """A PROXY header, then SOCKS5 CONNECT host:1; prints the reply code
    and what the route's command says."""
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.sendall(bytes.fromhex(hdr) if hdr[:2] == "0d" else
              hdr.encode().replace(b"\\r\\n", b"\r\n"))
    c.sendall(b"\x05\x01\x00")
    got = recv_exact(c, 2)
    h = host.encode()
    c.sendall(b"\x05\x01\x00\x03" + bytes([len(h)]) + h + b"\x00\x01")
    rep = recv_exact(c, 10)
    rest = b""
    c.settimeout(10)
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            rest += b
    except OSError:
        pass
    print("greet %s rep %s said '%s'" % (got.hex(), rep[1:2].hex(),
                                          rest.decode(errors="replace")))


def persource(port):
    """-C 1: a second client from 127.0.0.1 waits; 127.0.0.2 does not."""
    def conn(src):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        return s

    def said_hi(s, wait):
        r, _, _ = select.select([s], [], [], wait)
        return bool(r) and recv_exact(s, 3, 2) == b"hi\n"
    a1 = conn("127.0.0.1")
    print("a1", said_hi(a1, 5))
    a2 = conn("127.0.0.1")
    b1 = conn("127.0.0.2")
    print("b1", said_hi(b1, 5))
    print("a2-early", said_hi(a2, 1.0))
    a1.close()
    print("a2-after", said_hi(a2, 5))


def fdcount(pid, kind="socket:"):
    n = 0
    try:
        for f in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, f)).startswith(kind):
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def stopped(port, lpid, epid, log):
    """Ends reported in uneven batches while vp-listen is stopped: 200
    silent connections to vp-dispatch -T 1 are passed to the engine;
    vp-listen is stopped (SIGSTOP); 5 clients close (the engine reports
    those first), the other 195 time out; vp-listen continues. Prints
    how many ends vp-listen then logs."""
    def count(what):
        with open(log) as f:
            return f.read().count(what)
    base = fdcount(epid)
    start = count(": to the engine")
    e0 = count("exited")
    cs = []
    while len(cs) < 200:
        for _ in range(20):
            cs.append(socket.create_connection(("127.0.0.1", port), 5))
        k = len(cs)
        poll(lambda: count(": to the engine") - start >= k, 10)
    passed = count(": to the engine") - start
    print("passed", passed)
    os.kill(lpid, signal.SIGSTOP)
    try:
        for c in cs[:5]:
            c.close()
        poll(lambda: fdcount(epid) <= base + passed - 5, 5)
        # the rest time out after 1 s (-T 1) in the engine
        print("engine closed all", poll(lambda: fdcount(epid) <= base, 10))
    finally:
        os.kill(lpid, signal.SIGCONT)
    poll(lambda: count("exited") - e0 >= passed, 10)
    print("ends logged", count("exited") - e0)
    for c in cs[5:]:
        c.close()


def churn(port, n, threads):
    """n short connections over some threads: each sends a line and
    expects it back."""
    import threading
    bad = []

    def worker(k):
        for j in range(k):
            try:
                c = socket.create_connection(("127.0.0.1", port), 5)
                m = b"churn %d\n" % j
                c.sendall(m)
                c.shutdown(socket.SHUT_WR)
                if recv_exact(c, len(m) + 1) != m:
                    bad.append(j)
                c.close()
            except OSError:
                bad.append(j)
    ts = [threading.Thread(target=worker, args=(n // threads,))
          for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("bad", len(bad))


def wait_for(cond, secs=10.0):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def log_has(log, text, n=1):
    with open(log) as f:
        return f.read().count(text) >= n


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def zombie_child(pid):
    try:
        kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    except OSError:
        return False
    return any(proc_state(int(k)) == "Z" for k in kids)


def waitsrc(port, lpid, log):
    def conn():
        c = socket.create_connection(("127.0.0.1", port), 5)
        c.settimeout(5)
        return c

    def ask(c):
        try:
            c.sendall(b"x\n")
            return "ok" if c.recv(10) == b"done\n" else "bad"
        except OSError as e:
            return type(e).__name__
    out = []
    a = conn()
    if not wait_for(lambda: log_has(log, "connection 1 from", 1) and
                    log_has(log, ": pid ")):
        print("A not started")
        return
    b = conn()
    if not wait_for(lambda: log_has(log, "already, waiting")):
        print("B not waiting")
        return
    os.kill(lpid, signal.SIGSTOP)
    try:
        wait_for(lambda: proc_state(lpid) == "T")
        b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        b.close()
        out.append("A " + ask(a))
        a.close()
        # A's program has exited (a zombie: vp-listen is stopped)
        wait_for(lambda: zombie_child(lpid))
    finally:
        os.kill(lpid, signal.SIGCONT)
    if not wait_for(lambda: log_has(log, "exited", 1)):
        print(" ".join(out), "A's end not logged")
        return
    d = conn()
    if not wait_for(lambda: log_has(log, ": pid ", 2)):
        print(" ".join(out), "D not started")
        return
    c = conn()
    if not wait_for(lambda: log_has(log, "already, waiting", 2)):
        print(" ".join(out), "C not waiting")
        return
    out.append("D " + ask(d))
    d.close()
    out.append("C " + ask(c))
    c.close()
    print(" ".join(out))


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def capterm(port, lpid, epid, n):
    cs = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(n)]
    for i, c in enumerate(cs):
        c.sendall(b"p%d" % i)
    served = []
    end = time.time() + 2
    for i, c in enumerate(cs):
        c.settimeout(max(0.01, end - time.time()))
        try:
            if c.recv(100):
                served.append(i)
        except OSError:
            pass
    os.kill(lpid, signal.SIGTERM)
    wait_for(lambda: proc_state(lpid) in ("Z", "?"))
    cs[served[0]].close() if served else None
    t0 = cpu_ticks(epid)
    time.sleep(1)	# a measurement, not a wait for anything
    ticks = cpu_ticks(epid) - t0
    for c in cs:
        c.close()
    gone = wait_for(lambda: proc_state(epid) in ("Z", "?"))
    print("served %d ticks %d gone %s" % (len(served), ticks,
                                           "yes" if gone else "no"))


def press(port, n, k):
    cs = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(n)]
    for i, c in enumerate(cs):
        c.sendall(b"x%d\n" % i)
    got = {}

    def collect(timeout):
        end = time.time() + timeout
        for i, c in enumerate(cs):
            if i in got or c is None:
                continue
            c.settimeout(max(0.01, end - time.time()))
            try:
                got[i] = c.recv(100)
            except socket.timeout:
                pass
            except OSError:
                got[i] = b"error"
    collect(2)
    first = len(got)
    for j in sorted(got)[:k]:
        cs[j].close()
        cs[j] = None
    collect(5)
    bad = sum(1 for i, v in got.items() if v != b"x%d\n" % i)
    print("first %d all %d bad %d" % (first, len(got), bad))
    for c in cs:
        if c is not None:
            c.close()


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "many":
        many(int(a[1]), int(a[2]), int(a[3]), a[4])
    elif cmd == "idle":
        idle(int(a[1]))
    elif cmd == "term":
        term(int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "limit":
        limit(int(a[1]), int(a[2]))
    elif cmd == "s5hold":
        s5hold(int(a[1]), a[2], int(a[3]), int(a[4]), int(a[5]),
               float(a[6]))
    elif cmd == "flood":
        flood(int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5])
    elif cmd == "proxied":
        proxied(int(a[1]), a[2], a[3])
    elif cmd == "persource":
        persource(int(a[1]))
    elif cmd == "stopped":
        stopped(int(a[1]), int(a[2]), int(a[3]), a[4])
    elif cmd == "waitsrc":
        waitsrc(int(a[1]), int(a[2]), a[3])
    elif cmd == "capterm":
        capterm(int(a[1]), int(a[2]), int(a[3]), int(a[4]))
    elif cmd == "press":
        press(int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "churn":
        churn(int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "backend":
        backend(a[1])
    elif cmd == "ddiff":
        ddiff(int(a[1]), int(a[2]), a[3])
    elif cmd == "diff":
        diff(int(a[1]), int(a[2]), int(a[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
