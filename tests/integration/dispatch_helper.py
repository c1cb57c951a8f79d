#!/usr/bin/env python3
"""Peers and raw clients for the vp-dispatch integration tests.

Servers bind 127.0.0.1:0, print the port on stdout (flushed) when
ready, and serve until killed:

  echo                      echo every connection's bytes, half-close aware
  banner TEXT               server speaks first: sends TEXT, then echoes
  http DIR                  HTTP/1.1 origin: GET /NAME serves DIR/NAME,
                            POST /echo answers the body; logs request heads
                            to DIR/heads.log
  socks5-fake REP           SOCKS5 upstream answering every request with REP
                            (hex); REP 00 then echoes

Clients (exit 0 on success, print what they saw):

  socks5 PORT HOST DPORT [opts]   raw SOCKS5 request; prints "rep XX"
        --cmd N --atyp N --user U --pass P --early DATA --read N
        --greet-only --no-close
  socks4 PORT HOST DPORT          raw SOCKS4a; prints "cd XX"
  send PORT HEX [--read N]        send bytes, print reply as hex and
                                  "closed after S s"
  slow PORT HEX DELAY             send one byte per DELAY seconds until
                                  closed; prints "closed after N bytes"
  spawn HEX MODE -- CMD...        run CMD with one end of a socketpair on
                                  fd 0/1, send HEX, then MODE: close (EOF),
                                  keep (stay open), slow:D (the bytes one by
                                  one, D s apart); prints the reply as hex
                                  and "exit N after S s" (killed after 15 s)
  tlshello PORT HOST DPORT SNI    SOCKS5 with an IP destination, then a TLS
                                  ClientHello with SNI; prints what comes back
"""
import os
import select
import socket
import struct
import sys
import threading
import time


def ready(srv):
    print(srv.getsockname()[1], flush=True)


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    return s


def serve(srv, handler):
    ready(srv)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def echo_conn(c, first=b""):
    try:
        if first:
            c.sendall(first)
        while True:
            d = c.recv(65536)
            if not d:
                c.shutdown(socket.SHUT_WR)
                break
            c.sendall(d)
    except OSError:
        pass
    finally:
        c.close()


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError("short read")
        b += d
    return b


def http_conn(c, root):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return
            buf += d
        head, body = buf.split(b"\r\n\r\n", 1)
        with open(os.path.join(root, "heads.log"), "ab") as f:
            f.write(head + b"\r\n\r\n")
        lines = head.split(b"\r\n")
        method, path, _ = lines[0].split(b" ", 2)
        hdrs = {}
        for ln in lines[1:]:
            k, v = ln.split(b":", 1)
            hdrs[k.strip().lower()] = v.strip()
        if method == b"POST":
            n = int(hdrs.get(b"content-length", b"0"))
            body += recv_exact(c, n - len(body)) if n > len(body) else b""
            data = body[:n]
        else:
            name = os.path.basename(path.decode())
            try:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
            except OSError:
                c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                          b"Connection: close\r\n\r\n")
                return
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(data) + data)
        c.shutdown(socket.SHUT_WR)
        c.settimeout(5)
        while c.recv(65536):
            pass
    except (OSError, EOFError, ValueError):
        pass
    finally:
        c.close()


def socks5_fake_conn(c, rep):
    try:
        g = recv_exact(c, 2)
        recv_exact(c, g[1])
        c.sendall(b"\x05\x00")
        h = recv_exact(c, 4)
        if h[3] == 1:
            recv_exact(c, 6)
        elif h[3] == 4:
            recv_exact(c, 18)
        else:
            n = recv_exact(c, 1)[0]
            recv_exact(c, n + 2)
        c.sendall(bytes([5, rep, 0, 1, 127, 0, 0, 1, 0, 9]))
        if rep == 0:
            echo_conn(c)
    except (OSError, EOFError):
        pass
    finally:
        c.close()


def opt(args, name, default=None):
    if name in args:
        i = args.index(name)
        return args[i + 1]
    return default


def connect(port):
    c = socket.create_connection(("127.0.0.1", int(port)), 5)
    c.settimeout(10)
    return c


def read_all(c, limit=1 << 20):
    out = b""
    try:
        while len(out) < limit:
            d = c.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        out += b"<timeout>"
    return out


def socks5_addr(host):
    try:
        return b"\x01" + socket.inet_pton(socket.AF_INET, host)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        pass
    h = host.encode()
    return b"\x03" + bytes([len(h)]) + h


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == "echo":
        serve(listener(), echo_conn)
    elif cmd == "banner":
        text = a[1].encode() + b"\n"
        serve(listener(), lambda c: echo_conn(c, text))
    elif cmd == "http":
        root = a[1]
        serve(listener(), lambda c: http_conn(c, root))
    elif cmd == "socks5-fake":
        rep = int(a[1], 16)
        serve(listener(), lambda c: socks5_fake_conn(c, rep))
    elif cmd == "socks5":
        port, host, dport = a[1], a[2], int(a[3])
        c = connect(port)
        user = opt(a, "--user")
        m = b"\x02" if user is not None else b"\x00"
        greet = b"\x05\x01" + m
        req = (b"\x05" + bytes([int(opt(a, "--cmd", "1"))]) + b"\x00")
        if opt(a, "--atyp") is not None:
            req += bytes([int(opt(a, "--atyp"))]) + b"\x01\x02\x03\x04"
        else:
            req += socks5_addr(host)
        req += struct.pack(">H", dport)
        early = (opt(a, "--early") or "").encode()
        if user is None:
            c.sendall(greet + req + early)
            try:
                r = recv_exact(c, 2)
            except (EOFError, ConnectionResetError):
                print("closed")
                return 1
        else:
            c.sendall(greet)
            r = recv_exact(c, 2)
            print("method %02x" % r[1])
            if r[1] != 2:
                return 1
            pw = opt(a, "--pass", "").encode()
            c.sendall(b"\x01" + bytes([len(user)]) + user.encode() +
                      bytes([len(pw)]) + pw)
            r = c.recv(2)
            print("auth %s" % r.hex())
            if r != b"\x01\x00":
                rest = read_all(c)
                print("then %d bytes, closed" % len(rest))
                return 1
            c.sendall(req + early)
        try:
            r = recv_exact(c, 4)
        except EOFError:
            print("closed")
            return 1
        print("rep %02x" % r[1], flush=True)
        if r[1] == 0:
            if r[3] == 1:
                recv_exact(c, 6)
            elif r[3] == 4:
                recv_exact(c, 18)
            else:
                recv_exact(c, recv_exact(c, 1)[0] + 2)
            if opt(a, "--read") is None:
                c.shutdown(socket.SHUT_WR)
            out = read_all(c, int(opt(a, "--read", str(1 << 20))))
            sys.stdout.write("data " + out.decode(errors="replace") + "\n")
        else:
            rest = read_all(c)
            print("then %d bytes, closed" % (len(rest) - 6))
        return 0
    elif cmd == "socks4":
        port, host, dport = a[1], a[2], int(a[3])
        c = connect(port)
        c.sendall(b"\x04\x01" + struct.pack(">H", dport) + b"\x00\x00\x00\x01"
                  + b"u\x00" + host.encode() + b"\x00")
        r = c.recv(8)
        print("cd %02x" % r[1] if len(r) == 8 else "closed", flush=True)
        if len(r) == 8 and r[1] == 0x5a:
            c.shutdown(socket.SHUT_WR)
            out = read_all(c)
            sys.stdout.write("data " + out.decode(errors="replace") + "\n")
        return 0
    elif cmd == "send":
        port, data = a[1], bytes.fromhex(a[2])
        c = connect(port)
        t = time.time()
        try:
            c.sendall(data)
        except OSError:
            pass
        out = read_all(c)
        print("reply " + out.hex())
        print("closed after %.1f s" % (time.time() - t))
        return 0
    elif cmd == "slow":
        port, data, delay = a[1], bytes.fromhex(a[2]), float(a[3])
        c = connect(port)
        n = 0
        t = time.time()
        for i in range(len(data)):
            try:
                c.sendall(data[i:i + 1])
            except OSError:
                break
            n += 1
            r, _, _ = select.select([c], [], [], delay)
            if r:
                if not c.recv(4096):
                    break
        print("closed after %d bytes, %.1f s" % (n, time.time() - t))
        return 0
    elif cmd == "spawn":
        import subprocess
        data, mode = bytes.fromhex(a[1]), a[2]
        argv = a[a.index("--") + 1:]
        x, y = socket.socketpair()
        t = time.time()
        p = subprocess.Popen(argv, stdin=y, stdout=y)
        y.close()
        if mode.startswith("slow:"):
            d = float(mode[5:])
            for i in range(len(data)):
                try:
                    x.sendall(data[i:i + 1])
                except OSError:
                    break
                if p.poll() is not None:
                    break
                time.sleep(d)
        else:
            x.sendall(data)
            if mode == "close":
                x.shutdown(socket.SHUT_WR)
        out = b""
        x.settimeout(15)
        try:
            while True:
                r = x.recv(65536)
                if not r:
                    break
                out += r
        except OSError:
            pass
        try:
            rc = p.wait(max(0.1, 15 - (time.time() - t)))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        print("reply " + out.hex())
        print("exit %d after %.1f s" % (rc, time.time() - t))
        return 0
    elif cmd == "tlshello":
        port, host, dport, sni = a[1], a[2], int(a[3]), a[4].encode()
        c = connect(port)
        c.sendall(b"\x05\x01\x00\x05\x01\x00" + socks5_addr(host) +
                  struct.pack(">H", dport))
        r = recv_exact(c, 12)
        print("rep %02x" % r[3])
        ext = (b"\x00\x00" + struct.pack(">H", len(sni) + 5) +
               struct.pack(">H", len(sni) + 3) + b"\x00" +
               struct.pack(">H", len(sni)) + sni)
        body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" +
                b"\x01\x00" + struct.pack(">H", len(ext)) + ext)
        hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
        c.sendall(b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs)
        c.shutdown(socket.SHUT_WR)
        out = read_all(c)
        print("data " + out.decode(errors="replace"))
        return 0
    else:
        print("unknown command", file=sys.stderr)
        return 64


if __name__ == "__main__":
    sys.exit(main() or 0)
