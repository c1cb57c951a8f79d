#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vptunnel: 4 config bytes (client,
server, link room, deliver), then operations (op byte = code << 1 | end,
end 0 client, 1 server; see the target for the codes and arguments)."""
import os, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vptunnel"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

C, S = 0, 1
def op(code, end, *args):
    return bytes([code << 1 | end]) + bytes(args)
def carry_all(): return op(1, C, 0)
def opn(): return op(4, C, 0)
def send(end, i, n16): return op(5, end, i, n16)
def fin(end, i): return op(6, end, i)
def rst(end, i): return op(7, end, i)
def consume(end, i, n32): return op(8, end, i, n32)
def release(end, i): return op(9, end, i)
def tick(n20): return op(10, C, n20)
def knob(end, v): return op(11, end, v)
def frame(end, *eight): return op(3, end, *eight)
def raw(end, b): return op(2, end, len(b)) + b

def put(name, cfg, *ops):
    open(os.path.join(d, name), "wb").write(bytes(cfg) + b"".join(ops))

echo = [carry_all(), opn(), carry_all(), send(C, 0, 20), carry_all(),
        consume(S, 0, 40), send(S, 0, 10), carry_all(), consume(C, 0, 255),
        fin(C, 0), carry_all(), fin(S, 0), carry_all(), release(C, 0),
        release(S, 0), carry_all()]
put("ext_echo", [0x05, 0x05, 8, 0x20], *echo)
put("plain_echo", [0x04, 0x04, 8, 0x21], *echo)
put("ext_refused", [0x05, 0x04, 8, 1], *echo)
put("nodeliver", [0x33, 0x33, 2, 0x80], *echo)
many = [carry_all()] + [opn() for _ in range(6)] + [carry_all()]
many += [send(C, i, 200) for i in range(6)] + [carry_all()] * 3
put("many_stalled", [0x13, 0x13, 64, 0], *many, tick(100), carry_all())
put("keepalive", [0x05, 0x05, 8, 1], carry_all(), *[tick(30), carry_all()] * 8)
put("ka_timeout", [0x05, 0x05, 8, 1], carry_all(), *[tick(40)] * 10)
put("hs_timeout", [0x05, 0x05, 8, 1], tick(200))
base = [carry_all(), opn(), carry_all()]
put("gzip_small", [0x04, 0x04, 8, 1], *base, frame(C, 0, 0x04, 1, 0, 0, 0, 0, 0))
put("gzip_bomb", [0x05, 0x05, 8, 0], *base, frame(C, 8, 0x04, 1, 0, 0, 0, 0, 0), consume(C, 0, 10))
put("window_flood", [0x05, 0x05, 8, 1], *base, frame(S, 5, 0, 1, 0, 0x7f, 0xff, 0xff, 0xff),
    frame(S, 5, 0, 1, 0, 0x7f, 0xff, 0xff, 0xff))
put("syn_flood", [0x15, 0x15, 8, 1], carry_all(), *[frame(S, 1, 0, 2 * i + 1, 0, 0, 0, 0, 0) for i in range(8)])
put("rst_echo", [0x05, 0x05, 8, 1], *base, frame(C, 1, 1, 1, 0, 0, 0, 0, 0), rst(S, 0), carry_all())
put("ping", [0x05, 0x05, 8, 1], carry_all(), frame(S, 3, 0, 0, 8, 1, 2, 3, 4), frame(C, 3, 1, 0, 8, 0, 0, 0, 1))
put("goaway", [0x05, 0x05, 8, 1], *base, frame(C, 4, 0, 0, 12, 0xff, 0xff, 0x41, 0x42), op(12, S, 1), carry_all())
put("link_down", [0x05, 0x05, 8, 1], *base, op(12, C, 2), send(S, 0, 3), carry_all())
put("raw_junk", [0x04, 0x04, 8, 1], carry_all(), raw(S, b"\x00\x00\x05\x00\x00\x00\x00\x00\x01hello"))
put("full_link", [0x05, 0x05, 0, 1], carry_all(), opn(), opn(), knob(C, 0), send(C, 0, 255),
    op(0, S, 3), send(C, 1, 255), op(0, S, 3), carry_all(), carry_all())
