#!/usr/bin/env python3
"""Helpers for t_http_linger.sh: a response on its way to a client that
is still sending must arrive whole, whatever the relay's ends do.

  linger_helper.py origin N
      Listens on 127.0.0.1 port 0 and prints the port. Per connection:
      reads a request head, answers at once with N bytes (413, a
      Content-Length body), half-closes, waits (bounded) until the client
      side has acknowledged all of it, and closes with the request body
      unread: the relay gets a reset on its writes.
  linger_helper.py client PORT ORIGIN_PORT N http|raw
      Connects to PORT, sends a request (an absolute-URI POST for http,
      origin-form for raw) with a Content-Length far beyond what it
      sends, keeps sending its body from a thread, and reads the
      response slowly through a small receive buffer. Prints
      "STATUS BODYBYTES" and exits 0 when the whole body (N) came.
"""
import fcntl
import socket
import struct
import sys
import termios
import threading
import time


def origin(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    print(s.getsockname()[1], flush=True)

    def serve(c):
        buf = b""
        c.settimeout(10)
        try:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            c.sendall(b"HTTP/1.1 413 Payload Too Large\r\n"
                      b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                      % n + b"x" * n)
            c.shutdown(socket.SHUT_WR)
            for _ in range(2000):       # at most 20 s
                q = struct.unpack("i", fcntl.ioctl(
                    c, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
                if q == 0:
                    break
                time.sleep(0.01)
        except OSError:
            pass
        c.close()       # the request body unread: a reset

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def client(port, oport, n, mode):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    c.connect(("127.0.0.1", port))
    target = b"http://127.0.0.1:%d/" % oport if mode == "http" else b"/"
    c.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 4000000000\r\n\r\n")
    stop = []

    def up():
        chunk = b"y" * 65536
        t0 = time.time()
        try:
            while not stop and time.time() - t0 < 30:
                c.sendall(chunk)
        except OSError:
            pass

    threading.Thread(target=up, daemon=True).start()
    got = b""
    c.settimeout(10)
    try:
        while len(got) < n + 4096:
            d = c.recv(16384)
            if not d:
                break
            got += d
            time.sleep(0.005)   # a slow reader
    except OSError as e:
        print("recv:", e, file=sys.stderr)
    stop.append(1)
    head, _, body = got.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode(errors="replace") or "-"
    print(status.replace(" ", "_"), len(body))
    sys.exit(0 if len(body) == n else 1)


if __name__ == "__main__":
    if sys.argv[1] == "origin":
        origin(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]),
               sys.argv[5])
