#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vpkcp_pair: 5 config bytes (flags,
side A windows/mtu, side B windows/mtu, unused, clock), then operations
(op byte = code << 1 | side; see the target)."""
import os, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vpkcp_pair"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

A, B = 0, 1
def op(code, side, *args): return bytes([code << 1 | side]) + bytes(args)
def dlv(s): return op(0, s)
def lose(s): return op(1, s)
def dup(s): return op(2, s)
def swap(s, k): return op(3, s, k)
def replay(s, k): return op(4, s, k)
def write(s, n8): return op(5, s, n8)
def read(s, n8): return op(6, s, n8)
def tick(ms): return op(7, A, ms)
def flush(s): return op(8, s)
def hostile(s, b): return op(9, s, len(b)) + b
def corrupt(s, pos, x): return op(10, s, pos, x)
def all_(): return op(11, A)

def put(name, cfg, *ops):
    open(os.path.join(d, name), "wb").write(bytes(cfg) + b"".join(ops))

put("echo", [0x05, 0x2a, 0x2a, 0, 0x10], write(A, 100), flush(A), all_(), tick(20),
    all_(), read(B, 200), write(B, 50), flush(B), all_(), tick(20), all_(), read(A, 255))
put("lossy", [0x15, 0x2a, 0x2a, 0, 0xf0], write(A, 200), flush(A), lose(A), dlv(A), lose(A),
    tick(50), all_(), tick(200), all_(), read(B, 255))
put("reorder", [0x25, 0x4b, 0x4b, 0, 0], write(A, 150), flush(A), swap(A, 2), swap(A, 1),
    dup(A), dlv(A), dlv(A), replay(A, 0), all_(), tick(30), all_(), read(B, 255))
put("zero_window", [0x05, 0x06, 0x02, 0, 0], *[write(A, 255), flush(A), all_(), tick(40)] * 4,
    *[tick(250), all_()] * 4, read(B, 255))
put("wrap", [0x45, 0x2a, 0x2a, 0, 0xff], *[write(A, 20), write(B, 20), tick(255), all_()] * 6)
put("dead", [0x85, 0x2a, 0x2a, 0, 0], write(A, 50), flush(A), *[lose(A), tick(250)] * 6)
hdr = (0x1234).to_bytes(4, "little") + bytes([81, 0]) + (32768).to_bytes(2, "little")
seg = hdr + (0).to_bytes(4, "little") + (0).to_bytes(4, "little") + (0).to_bytes(4, "little") + (4).to_bytes(4, "little") + b"evil"
put("hostile_push", [0x05, 0x2a, 0x2a, 0, 0], hostile(B, seg), read(B, 10), write(A, 10), all_())
ack = (0x1234).to_bytes(4, "little") + bytes([82, 0]) + (65535).to_bytes(2, "little") + bytes(4) + (5).to_bytes(4, "little") + (9).to_bytes(4, "little") + bytes(4)
put("hostile_ack", [0x05, 0x2a, 0x2a, 0, 0], write(A, 100), flush(A), hostile(A, ack), all_(), tick(100), all_())
put("corrupt", [0x05, 0x2a, 0x2a, 0, 0], write(A, 30), flush(A), corrupt(A, 5, 0x40), all_())
