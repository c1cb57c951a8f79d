#!/usr/bin/env python3
"""A vp-tunnel peer that completes the handshake and then never reads.

  stall_peer.py SECONDS
      Listens on 127.0.0.1 port 0 with a small receive buffer, prints the
      port, accepts one link, reads the client's 9-byte SETTINGS, answers
      with a plain SETTINGS frame and then never reads the link again for
      SECONDS (the test's cleanup ends it sooner).
"""
import socket
import sys
import time

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
ls.bind(("127.0.0.1", 0))
ls.listen(1)
print(ls.getsockname()[1], flush=True)
c, _ = ls.accept()
hs = b""
while len(hs) < 9:
    b = c.recv(9 - len(hs))
    if not b:
        sys.exit(1)
    hs += b
c.sendall(bytes.fromhex("000000040000000000"))   # plain SETTINGS
time.sleep(float(sys.argv[1]))
