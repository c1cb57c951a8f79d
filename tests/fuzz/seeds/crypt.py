#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vpcrypt: a suite byte, then operations
(op % 8: 0 seal LEN BYTES, 1/2 open I, 3 flip I POS, 4 wrong/cut I N,
5 raw LEN BYTES, 6 suite S, 7 window CTR[8])."""
import os, struct, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vpcrypt"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

def seal(b): return bytes([0, len(b)]) + b
def opn(i): return bytes([1, i])
def flip(i, pos): return bytes([3, i, pos])
def cut(i, n): return bytes([4, i, n])
def raw(b): return bytes([5, len(b)]) + b
def suite(s): return bytes([6, s])
def win(c, rel=False):
    b = bytearray(struct.pack("<Q", c))
    if rel: b[7] |= 0x80
    return bytes([7]) + bytes(b)

def put(name, *ops):
    open(os.path.join(d, name), "wb").write(b"".join(ops))

put("roundtrip", b"\0", seal(b"hello"), seal(b""), opn(0), opn(1))
put("replay", b"\0", seal(b"x" * 40), opn(0), opn(0))
put("aes", b"\1", seal(b"kcp segment"), opn(0), suite(0), seal(b"y"), opn(1))
put("tamper", b"\0", seal(b"abc" * 10), flip(0, 3), flip(0, 15), flip(0, 40), cut(0, 20), opn(0))
put("raw", b"\0", raw(bytes(range(48))), raw(b"\x01" * 15))
put("window", b"\0", win(1), win(5), win(3), win(3), win(2000), win(900), win(977), win(976),
    win(5, True), win(1 << 55), win(0))
put("mixed", b"\0", *[seal(bytes([i]) * i) for i in range(1, 9)], *[opn(i) for i in (3, 1, 2, 0, 7, 7)])
