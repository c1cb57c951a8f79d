#!/usr/bin/env python3
"""Loopback peers for the vp-dial integration tests.

    dial_peer.py MODE [ARG]

Binds 127.0.0.1 port 0, prints the port on stdout (readiness), then:

  silent     accept and never answer (a proxy that hangs)
  garbage    accept, read a little, answer bytes no proxy would send
  socks4a    a minimal SOCKS4/4a CONNECT proxy (one thread per client,
             half-close passed through)
  fullq      listen with backlog 0 and fill the queue: SYNs are dropped,
             so connects time out
  pingpong   not a server: PORT-less client mode, see pingpong() below
  http200x   an HTTP CONNECT proxy that answers 200 and, in the same
             write, the first payload bytes ARG (checks that nothing
             after a reply is lost)

Runs until killed. Only loopback.
"""
import os
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(a, b):
    t = threading.Thread(target=pump, args=(b, a), daemon=True)
    t.start()
    pump(a, b)
    t.join()
    a.close()
    b.close()


def recv_until(c, pred, limit=4096):
    buf = b""
    while not pred(buf):
        d = c.recv(1)
        if not d or len(buf) > limit:
            return None
        buf += d
    return buf


def socks4a(c):
    head = recv_until(c, lambda b: len(b) >= 8)
    if head is None or head[0] != 4 or head[1] != 1:
        c.close()
        return
    port = int.from_bytes(head[2:4], "big")
    ip = head[4:8]
    user = recv_until(c, lambda b: b.endswith(b"\0"))
    host = socket.inet_ntoa(ip)
    if ip[:3] == b"\0\0\0" and ip[3] != 0:
        name = recv_until(c, lambda b: b.endswith(b"\0"))
        host = name[:-1].decode()
    try:
        up = socket.create_connection((host, port), timeout=5)
        up.settimeout(None)
    except OSError:
        c.sendall(b"\x00\x5b" + b"\0" * 6)
        c.close()
        return
    c.sendall(b"\x00\x5a" + head[2:4] + b"\x7f\0\0\1")
    relay(c, up)


def http200x(c, extra):
    if recv_until(c, lambda b: b.endswith(b"\r\n\r\n")) is None:
        c.close()
        return
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n" + extra)
    # then echo whatever comes, until EOF
    pump(c, c)


def pingpong(argv):
    """dial_peer.py pingpong N CMD...: an echo server on loopback, CMD
    (given HOST PORT as its last two arguments) relays to it; N one-byte
    round trips through CMD. Prints the seconds they took."""
    import subprocess
    import time
    n = int(argv[0])
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def echo():
        c, _ = srv.accept()
        while True:
            b = c.recv(100)
            if not b:
                break
            c.sendall(b)
        c.close()
    threading.Thread(target=echo, daemon=True).start()
    p = subprocess.Popen(argv[1:] + ["127.0.0.1", str(srv.getsockname()[1])],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         bufsize=0)
    t0 = time.time()
    for _ in range(n):
        p.stdin.write(b"x")
        if p.stdout.read(1) != b"x":
            print("lost")
            return
    dt = time.time() - t0
    p.stdin.close()
    p.wait(timeout=10)
    print("%.3f" % dt)


def ttyrun(argv):
    """dial_peer.py tty CMD...: runs CMD on a pseudo-terminal (stdin and
    stdout), types "hello" and a newline, waits until the line has come
    back through CMD (the terminal's own echo aside), types ^D, and
    prints CMD's exit status; "timeout" if it did not end in 10 s."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    out = b""
    os.write(fd, b"hello\n")
    end = time.time() + 10
    # the terminal echoes "hello" once; the far side sends it back again
    while out.count(b"hello") < 2 and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                out += os.read(fd, 1024)
            except OSError:
                break
    os.write(fd, b"\x04")
    # drain the terminal until CMD is gone, then reap it (bounded)
    while time.time() < end:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            print(os.waitstatus_to_exitcode(st), out.count(b"hello"))
            return
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                os.read(fd, 1024)
            except OSError:
                pass    # EIO: the slave side is closed; keep reaping
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print("timeout", out.count(b"hello"))


def main():
    mode = sys.argv[1]
    if mode == "pingpong":
        pingpong(sys.argv[2:])
        return
    if mode == "tty":
        ttyrun(sys.argv[2:])
        return
    arg = sys.argv[2] if len(sys.argv) > 2 else ""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(0 if mode == "fullq" else 64)
    port = s.getsockname()[1]
    keep = []
    if mode == "fullq":
        for _ in range(3):
            k = socket.socket()
            k.setblocking(False)
            try:
                k.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            keep.append(k)
    print(port, flush=True)
    sys.stdout.close()
    os.close(1)
    if mode == "fullq":
        threading.Event().wait()
    while True:
        c, _ = s.accept()
        keep.append(c)
        if mode == "silent":
            continue
        if mode == "garbage":
            try:
                c.recv(64)
                c.sendall(b"\x48\x54\x54\x50garbage, not a proxy\r\n\r\n")
            except OSError:
                pass
            continue
        if mode == "socks4a":
            threading.Thread(target=socks4a, args=(c,), daemon=True).start()
        elif mode == "http200x":
            threading.Thread(target=http200x, args=(c, arg.encode()),
                             daemon=True).start()


if __name__ == "__main__":
    main()
