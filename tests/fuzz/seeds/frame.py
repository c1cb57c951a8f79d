#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vpframe: a maxlen selector byte, a
chunking seed byte, then a stream of tunnel frames (wire-spec.md)."""
import os, struct, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vpframe"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

def fr(t, flags, sid, payload=b"", length=None):
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload

def settings(*kv):
    return fr(4, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in kv))

def put(name, sel, seed, b):
    open(os.path.join(d, name), "wb").write(bytes([sel, seed]) + b)

ext = settings((0xf0e1, 1), (0xf0e2, 262144), (0xf0e3, 262144), (0xf0e4, 1024), (0xf0e5, 16384))
put("handshake", 0, 7, fr(4, 0, 0) + ext + fr(6, 0, 0, b"\0" * 8) + fr(6, 1, 0, b"\0" * 7 + b"\1"))
put("stream", 1, 3, fr(1, 0, 1) + fr(0, 0, 1, b"hello") + fr(0, 1, 1) + fr(1, 1, 3))
put("bigdata", 0, 200, fr(1, 0, 5) + fr(0, 0, 5, bytes(range(256)) * 3) + fr(8, 0, 5, struct.pack(">I", 768)))
put("gzip", 2, 9, fr(0, 4, 7, b"\x1f\x8b\x08\x00" + b"x" * 20))
put("goaway", 0, 1, fr(7, 0, 0, b"\xff" * 8 + b"bye"))
put("longctl", 0, 11, fr(7, 0, 0, b"\xff" * 8 + b"r" * 1100))
put("truncated", 0, 5, fr(0, 0, 9, b"abc", length=10))
put("rbit", 0, 0, fr(0, 0, 0x80000001, b"x"))
put("toobig", 3, 0, fr(0, 0, 1, b"123456789"))
put("hdrpayload", 0, 0, fr(1, 0, 1, b"x"))
put("window0", 0, 0, fr(8, 0, 1, b"\0\0\0\0"))
put("settings7", 0, 0, fr(4, 0, 0, b"1234567"))
put("pingsid", 0, 0, fr(6, 0, 3, b"\0" * 8))
put("unknown", 0, 0, fr(2, 0, 1, b"\0" * 5))
