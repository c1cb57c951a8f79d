#!/usr/bin/python3
"""A plain vproxy-style tunnel peer and a raw frame client, for tests.

  tunnel_fake.py server [--mute]
      Listens on 127.0.0.1 (port 0), prints the port, and serves tunnels
      the way vproxy does (wire-spec.md Part 1): the first 9 bytes must be
      the empty SETTINGS (anything else: GOAWAY "handshake message is
      invalid", close), the answer is the same empty SETTINGS, no
      extension; SYN -> SYN-ACK; DATA is echoed back on the same stream
      (gzipped with flag 0x4 when over 1 KiB and smaller, as vproxy does);
      FIN -> FIN; PING -> PING ACK; GOAWAY ends the tunnel. --mute stops
      answering anything after the handshake (a dead peer).

  tunnel_fake.py raw PORT HEX...
      Connects to PORT, sends each HEX chunk, then prints every frame the
      peer sends until it closes (or $FAKE_TIMEOUT, default 5 s, pass): "TYPE flags=F sid=N len=L"
      and, for GOAWAY, "reason=TEXT".

Written for vp's tests; it only implements what they need.
"""
import gzip
import os
import socket
import struct
import sys
import threading

EMPTY_SETTINGS = bytes.fromhex('000000040000000000')
NAMES = {0: 'DATA', 1: 'HEADERS', 4: 'SETTINGS', 6: 'PING', 7: 'GOAWAY',
         8: 'WINDOW_UPDATE'}


def frame(ftype, flags, sid, payload=b''):
    n = len(payload)
    return struct.pack('>BHBBI', n >> 16, n & 0xffff, ftype, flags, sid) + payload


def read_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return b


def serve_one(c, mute):
    lock = threading.Lock()

    def send(b):
        with lock:
            c.sendall(b)
    try:
        hs = read_exact(c, 9)
        if hs != EMPTY_SETTINGS:
            send(frame(7, 0, 0, b'\xff' * 8 + b'handshake message is invalid'))
            c.close()
            return
        send(EMPTY_SETTINGS)
        streams = set()
        while True:
            h = read_exact(c, 9)
            if h is None:
                break
            n = h[0] << 16 | h[1] << 8 | h[2]
            t, fl = h[3], h[4]
            sid = struct.unpack('>I', h[5:9])[0]
            p = read_exact(c, n) if n else b''
            if p is None or mute:
                continue
            if sid & 0x80000000 or t not in (0, 1, 6, 7):
                send(frame(7, 0, 0, b'\xff' * 8 + b'bad frame'))
                break
            if t == 1 and fl == 0:
                if sid not in streams:
                    streams.add(sid)
                    send(frame(1, 0, sid))
            elif t == 1 and fl & 1:
                streams.discard(sid)
            elif t == 0 and sid in streams:
                if fl & 4:
                    p = gzip.decompress(p)
                # vproxy gzips payloads over 1 KiB when that is smaller
                z = gzip.compress(p, 9) if len(p) > 1024 else p
                if p and len(z) < len(p):
                    send(frame(0, 4, sid, z))
                elif p:
                    send(frame(0, 0, sid, p))
                if fl & 1:
                    send(frame(0, 1, sid))
            elif t == 6 and not fl & 1 and len(p) >= 8:
                send(frame(6, 1, 0, p[:8]))
            elif t == 7:
                break
    except OSError:
        pass
    c.close()


def server(mute):
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(16)
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve_one, args=(c, mute), daemon=True).start()


def raw(port, chunks):
    s = socket.create_connection(('127.0.0.1', port), 5)
    s.settimeout(float(os.environ.get('FAKE_TIMEOUT', '5')))
    try:
        for h in chunks:
            s.sendall(bytes.fromhex(h))
    except OSError as e:
        print('send:', e)
    try:
        while True:
            h = read_exact(s, 9)
            if h is None:
                print('EOF')
                break
            n = h[0] << 16 | h[1] << 8 | h[2]
            sid = struct.unpack('>I', h[5:9])[0]
            p = read_exact(s, n) if n else b''
            line = '%s flags=%d sid=%d len=%d' % (NAMES.get(h[3], h[3]), h[4], sid, n)
            if h[3] == 7 and p and len(p) >= 8:
                line += ' reason=' + p[8:].decode('ascii', 'replace')
            print(line, flush=True)
    except socket.timeout:
        print('TIMEOUT')
    except OSError as e:
        print('ERROR', e)


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'server':
        server('--mute' in sys.argv[2:])
    elif len(sys.argv) >= 3 and sys.argv[1] == 'raw':
        raw(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(__doc__)
