"""Helpers for t_http_keepalive.sh: a keep-alive HTTP/1.1 origin that logs
every byte it is sent, and clients that pipeline, post chunked bodies in
awkward pieces, or send malformed framing through a proxy.

  ka_helper.py origin LOGDIR       print the port; serve until killed
  ka_helper.py pipeline PORT ORIGINPORT
  ka_helper.py chunked PORT ORIGINPORT FILE
  ka_helper.py badchunk PORT ORIGINPORT
  ka_helper.py lengthmore PORT ORIGINPORT
  ka_helper.py midchunk PORT ORIGINPORT
  ka_helper.py hold PORT ORIGINPORT  GET /x, then keep the connection:
                                     "eof N" if the proxy closes it
                                     within 5 s (N bytes came), "held"

The origin answers each request with 200, keeps the connection (it
ignores "Connection: close", as misconfigured servers do) and writes,
per connection, the raw bytes received (LOGDIR/conn.N.raw) and one line
per request (LOGDIR/requests.log): "METHOD PATH LEN SHA256 AUTH", AUTH
"auth" if a Proxy-Authorization header reached it. Its response body is
the request body's sha256 in hex; for the path /halfclose it is
"eof" or "open": whether the connection was shut for writing (a FIN)
within 0.5 s of the complete request.
"""
import hashlib
import os
import select
import socket
import sys
import threading
import time

AUTH = b"Proxy-Authorization: Basic dTpw\r\n"     # u:p


def read_head(c, buf):
    while b"\r\n\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def need(c, buf, n):
    while len(buf) < n:
        d = c.recv(65536)
        if not d:
            raise EOFError
        buf += d
    return buf


def read_line(c, buf):
    while b"\r\n" not in buf:
        d = c.recv(65536)
        if not d:
            raise EOFError
        buf += d
    line, rest = buf.split(b"\r\n", 1)
    return line, rest


def origin_conn(c, logdir, n, lock):
    raw = open(os.path.join(logdir, "conn.%d.raw" % n), "wb", buffering=0)

    class Tap:
        def recv(self, k):
            d = c.recv(k)
            raw.write(d)
            return d
    t = Tap()
    buf = b""
    try:
        while True:
            head, buf = read_head(t, buf)
            if head is None:
                break
            lines = head.split(b"\r\n")
            method, path, _ = lines[0].split(b" ", 2)
            hdrs = {}
            for ln in lines[1:]:
                k, v = ln.split(b":", 1)
                hdrs[k.strip().lower()] = v.strip()
            body = b""
            if b"chunked" in hdrs.get(b"transfer-encoding", b"").lower():
                while True:
                    line, buf = read_line(t, buf)
                    size = int(line.split(b";")[0], 16)
                    if size == 0:
                        while True:
                            line, buf = read_line(t, buf)
                            if line == b"":
                                break
                        break
                    buf = need(t, buf, size + 2)
                    body += buf[:size]
                    buf = buf[size + 2:]
            elif b"content-length" in hdrs:
                n_ = int(hdrs[b"content-length"])
                buf = need(t, buf, n_)
                body, buf = buf[:n_], buf[n_:]
            sha = hashlib.sha256(body).hexdigest()
            auth = b"proxy-authorization" in hdrs
            with lock:
                with open(os.path.join(logdir, "requests.log"), "a") as f:
                    f.write("%s %s %d %s %s\n" % (method.decode(),
                            path.decode(), len(body), sha,
                            "auth" if auth else "-"))
            out = sha.encode() + b"\n"
            if path == b"/halfclose":
                # an origin that takes a half-close for an abort (Go's
                # net/http cancels the request's context) sees it here
                r, _, _ = select.select([c], [], [], 0.5)
                out = b"eof\n" if r and not c.recv(1, socket.MSG_PEEK) \
                    else b"open\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                      % len(out) + out)
    except (OSError, EOFError, ValueError):
        pass
    finally:
        c.close()


def origin(logdir):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    print(s.getsockname()[1], flush=True)
    lock = threading.Lock()
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        threading.Thread(target=origin_conn, args=(c, logdir, n, lock),
                         daemon=True).start()


def connect(port):
    c = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def read_all(c):
    out = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    return out


def req(op, path, extra=b""):
    return (b"POST http://127.0.0.1:%s%s HTTP/1.1\r\nHost: x\r\n" %
            (op.encode(), path) + AUTH + extra + b"\r\n")


def main():
    a = sys.argv[1:]
    if a[0] == "origin":
        origin(a[1])
        return
    port, op = a[1], a[2]
    c = connect(port)
    if a[0] == "pipeline":
        # two requests in one write, the second to another path
        c.sendall(b"GET http://127.0.0.1:%s/first HTTP/1.1\r\nHost: x\r\n"
                  % op.encode() + AUTH + b"\r\n" +
                  b"GET http://127.0.0.1:%s/second HTTP/1.1\r\nHost: x\r\n"
                  % op.encode() + AUTH + b"\r\n")
    elif a[0] == "chunked":
        data = open(a[3], "rb").read()
        c.sendall(req(op, b"/chunked", b"Transfer-Encoding: chunked\r\n"))
        # chunks of odd sizes, sent in pieces (TCP_NODELAY: segments)
        # cut inside size lines, between CR and LF and inside data
        body = b""
        i, k = 0, 1
        while i < len(data):
            n = min(len(data) - i, k * 977 % 70001 + 1)
            body += b"%x;ext=%d\r\n" % (n, k) + data[i:i + n] + b"\r\n"
            i += n
            k += 1
        body += b"0\r\nX-Trailer: yes\r\n\r\n"
        cuts = [1, 2, 3, 5, 9, 10, 11, 17, 4000, 4001, 70000]
        p = 0
        for cut in cuts:
            if p < len(body):
                c.sendall(body[p:p + cut])
                p += cut
        c.sendall(body[p:])
        # then a second request on the same connection
        c.sendall(b"GET http://127.0.0.1:%s/after HTTP/1.1\r\nHost: x\r\n"
                  % op.encode() + AUTH + b"\r\n")
    elif a[0] == "badchunk":
        c.sendall(req(op, b"/bad", b"Transfer-Encoding: chunked\r\n") +
                  b"5\r\nhello\r\nzz\r\nGET http://127.0.0.1:%s/smuggled "
                  b"HTTP/1.1\r\nHost: x\r\n\r\n" % op.encode())
    elif a[0] == "midchunk":
        # the head and part of a chunk's data in one write: a proxy
        # reads them with the head; the rest comes later (the pause
        # only makes that split likely; any split must work)
        c.sendall(req(op, b"/mid", b"Transfer-Encoding: chunked\r\n") +
                  b"8\r\nhell")
        time.sleep(0.3)
        c.sendall(b"o wo\r\n3\r\nrld\r\n0\r\n\r\n"
                  b"GET http://127.0.0.1:%s/after HTTP/1.1\r\nHost: x\r\n"
                  % op.encode() + AUTH + b"\r\n")
    elif a[0] == "hold":
        c.sendall(b"GET http://127.0.0.1:%s/x HTTP/1.1\r\nHost: x\r\n"
                  % op.encode() + AUTH + b"\r\n")
        c.settimeout(5)
        got = b""
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    print("eof %d" % len(got))
                    return
                got += d
        except socket.timeout:
            print("held")
            return
    elif a[0] == "lengthmore":
        c.sendall(req(op, b"/length", b"Content-Length: 5\r\n") +
                  b"helloGET http://127.0.0.1:%s/smuggled HTTP/1.1\r\n"
                  b"Host: x\r\n\r\n" % op.encode())
    out = read_all(c)
    c.close()
    sys.stdout.write("%d responses\n" % out.count(b"HTTP/1.1 "))
    sys.stdout.write(out.decode("latin-1").split("\r\n\r\n", 1)[-1] if
                     out else "")


if __name__ == "__main__":
    main()
