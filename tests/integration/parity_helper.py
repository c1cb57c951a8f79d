#!/usr/bin/env python3
"""Peers and clients for t_engine_parity.sh (the engine against a process
per connection). Servers print their port on stdout (flushed) when ready
and serve until killed (or at most 60 s); clients print what they saw,
one fact a line, and every wait is bounded.

  echo6                     echo server on [::1]:0
  multi                     on one port: listeners on 127.0.0.2-.5 whose
                            accept queue is full (SYNs are dropped: a
                            connect there hangs) and an echo server on
                            127.0.0.6
  hold PORT N               N connections open at once, each sending a
                            line and reading it back as soon as it is
                            open; prints what each got (the line, EOF,
                            or the error's name); closes them all
  bypass PORT DPORT RULES HOW
                            SOCKS5 CONNECT 127.0.0.1:DPORT (A) through
                            vp-dispatch -s; A is answered before routing;
                            then the compiled rules RULES.vprc are made
                            unusable (HOW: rename, or stale: the source
                            RULES touched into the future), a second
                            client B sends a whole request, then A sends
                            a line; prints A's and B's replies and what
                            A got back; puts the rules back
  plainrst PORT OPORT NAME  plain HTTP GET http://127.0.0.1:OPORT/NAME,
                            reads the start of the answer, then resets
                            the connection (SO_LINGER 0) mid-download
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dispatch_helper import echo_conn  # noqa: E402


def serve(srv):
    srv.settimeout(60)
    try:
        while True:
            c, _ = srv.accept()
            threading.Thread(target=echo_conn, args=(c,), daemon=True).start()
    except socket.timeout:
        pass


def listener(fam, addr, port, backlog=64):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    return s


def echo6():
    s = listener(socket.AF_INET6, "::1", 0)
    print(s.getsockname()[1], flush=True)
    serve(s)


def multi():
    keep = []
    port = 0
    for a in ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"):
        s = listener(socket.AF_INET, a, port, 0)
        port = s.getsockname()[1]
        # backlog 0 queues one connection: this one; later SYNs are dropped
        keep += [s, socket.create_connection((a, port), 5)]
    s = listener(socket.AF_INET, "127.0.0.6", port)
    print(port, flush=True)
    serve(s)


def outcome(c, want):
    """What a line sent on c brings back: the line, EOF, or an error."""
    try:
        c.sendall(want)
        got = b""
        while not got.endswith(b"\n"):
            d = c.recv(100)
            if not d:
                break
            got += d
        return got.decode(errors="replace").strip() or "EOF"
    except OSError as e:
        return type(e).__name__


def hold(port, n):
    cs, res = [], []
    for i in range(n):
        try:
            c = socket.create_connection(("127.0.0.1", port), 3)
        except OSError as e:
            res.append(type(e).__name__)
            continue
        c.settimeout(3)
        cs.append(c)
        res.append(outcome(c, b"x%d\n" % i))
    print(" ".join(res))
    for c in cs:
        c.close()


def read_until_close(c):
    out = b""
    try:
        while len(out) < 1 << 20:
            d = c.recv(65536)
            if not d:
                return out.hex() + " EOF"
            out += d
    except OSError as e:
        return out.hex() + " " + type(e).__name__
    return out.hex() + " more"


def recv_n(c, n):
    b = b""
    try:
        while len(b) < n:
            d = c.recv(n - len(b))
            if not d:
                break
            b += d
    except OSError as e:
        return b.hex() + " " + type(e).__name__
    return b.hex()


def bypass(port, dport, rules, how):
    vprc = rules + ".vprc"
    a = socket.create_connection(("127.0.0.1", port), 5)
    a.settimeout(3)
    a.sendall(b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" +
              struct.pack(">H", dport))
    print("A reply", recv_n(a, 12), flush=True)
    st = os.stat(rules)
    if how == "rename":
        os.rename(vprc, vprc + ".off")
    else:
        os.utime(rules, ns=(st.st_atime_ns, st.st_mtime_ns + 3600 * 10**9))
    try:
        b = socket.create_connection(("127.0.0.1", port), 5)
        b.settimeout(3)
        b.sendall(b"\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01" +
                  struct.pack(">H", dport))
        # B's answer: the rules were looked at for B before A goes on
        print("B reply", recv_n(b, 12), flush=True)
        a.sendall(b"hello\n")
        print("A got", read_until_close(a), flush=True)
        b.close()
    finally:
        if how == "rename":
            os.rename(vprc + ".off", vprc)
        else:
            os.utime(rules, ns=(st.st_atime_ns, st.st_mtime_ns))
    a.close()


def plainrst(port, oport, name):
    c = socket.create_connection(("127.0.0.1", port), 5)
    c.settimeout(5)
    c.sendall(b"GET http://127.0.0.1:%d/%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
              b"Connection: close\r\n\r\n" % (oport, name.encode(), oport))
    got = b""
    while len(got) < 65536:
        d = c.recv(65536 - len(got))
        if not d:
            break
        got += d
    print("got", "start" if got.startswith(b"HTTP/1.1 200") else got[:40])
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def main():
    a = sys.argv[1:]
    if a[0] == "echo6":
        echo6()
    elif a[0] == "multi":
        multi()
    elif a[0] == "hold":
        hold(int(a[1]), int(a[2]))
    elif a[0] == "bypass":
        bypass(int(a[1]), int(a[2]), a[3], a[4])
    elif a[0] == "plainrst":
        plainrst(int(a[1]), int(a[2]), a[3])
    else:
        print("unknown command", file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
