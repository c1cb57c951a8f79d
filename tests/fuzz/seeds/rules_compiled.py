#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vprules_compiled: a flags byte (0x80
cut/extend to 4 * the length byte, 0x40 fix the header's total), a
length byte, then (offset LE16, XOR value) patches of the compiled
file. Header fields (struct hdr): magic 0, endian 8, ndep 12, nout 16,
nrule 20, ncond 24, nitem 28, ndom 32, nip4 36, nip6 40, defout 44,
strsize 48, total 56; deps start at 64."""
import os, struct, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vprules_compiled"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

def put(name, flags, ln, *patches):
    b = bytes([flags, ln]) + b"".join(struct.pack("<HB", o, v) for o, v in patches)
    open(os.path.join(d, name), "wb").write(b)

put("intact", 0, 0)
put("magic", 0, 0, (0, 1))
put("endian", 0, 0, (8, 3))
for name, off in [("ndep", 12), ("nout", 16), ("nrule", 20), ("ncond", 24), ("nitem", 28),
                  ("ndom", 32), ("nip4", 36), ("nip6", 40), ("defout", 44), ("strsize", 48)]:
    put(name + "_inc", 0, 0, (off, 1))
    put(name + "_big", 0, 0, (off + 3, 0x80))
put("total", 0, 0, (56, 8))
put("cut", 0xc0, 100)
put("cut_hdr", 0x80, 10)
put("extend", 0xc0, 255)
put("strs_swap", 0x40, 0, (48, 16), (56, 16))
put("deep", 0, 0, (200, 0x10), (300, 0x80), (400, 0x01), (500, 0xff), (700, 0x40), (900, 0x7f))
