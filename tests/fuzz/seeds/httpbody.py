#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vphttpbody: Content-Length and chunked
bodies, good and malformed, and proxy request heads that declare them.

Input format (see tests/fuzz/fuzz_vphttpbody.c): flags byte (bits 0-1:
0 none, 1 Content-Length, 2 chunked, 3 head decides; bit 2: 8-byte
length; bit 3: padding), 4 seed bytes (piece sizes), the length (2 or 8
bytes) for Content-Length, the padding (offset 2, count 2, byte 1),
then the client's bytes."""
import os, struct, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vphttpbody"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

SEEDS = [0x01020304, 0x9e3779b9, 0x00000007]


def put(name, flags, body, length=None, pad=None):
    for i, s in enumerate(SEEDS):
        b = bytes([flags]) + struct.pack(">I", s)
        if (flags & 3) == 1:
            b += struct.pack(">Q" if flags & 4 else ">H", length)
        if flags & 8:
            at, cnt, c = pad
            b += struct.pack(">HHB", at, cnt, c)
        open(os.path.join(d, "%s_%d" % (name, i)), "wb").write(b + body)


NEXT = b"GET http://next.example/ HTTP/1.1\r\nHost: next.example\r\n\r\n"

# no body, Content-Length
put("none", 0, NEXT)
put("cl", 1, b"hello" + NEXT, 5)
put("cl_short", 1, b"hel", 5)
put("cl_zero", 1, NEXT, 0)
put("cl_bin", 1, b"\0\r\n0\r\n\r\n\xff", 9)
put("cl_huge", 1 | 4, b"x" * 64, 2**64 - 1)

# chunked, good
C = 2
put("ch_simple", C, b"5\r\nhello\r\n0\r\n\r\n" + NEXT)
put("ch_last", C, b"0\r\n\r\n")
put("ch_zeros", C, b"000\r\n\r\nX")
put("ch_hex", C, b"00A;name=val;q=\"a b\"\r\n0123456789\r\n"
    b"b ; x\r\n0123456789a\r\nF\t\r\n0123456789abcde\r\n0;last\r\n\r\n")
put("ch_trailers", C, b"1\r\nZ\r\n0\r\nX-Sum: 1\r\nX-Two: a\tb\r\n\r\nnext")
put("ch_datacrlf", C, b"7\r\n0\r\n\r\n\r\n\r\n0\r\n\r\n")
put("ch_partial", C, b"5\r\nhel")
put("ch_partial_trailer", C, b"5\r\nhello\r\n0\r\nX: y\r\n")
put("ch_ext8bit", C, b"3;n=\xe9\xff\r\nabc\r\n0\r\n\r\n")
put("ch_max", C, b"1000000000000000\r\nabc")
put("ch_many", C, b"1\r\na\r\n" * 40 + b"0\r\n\r\n")
put("ch_trailer_names", C, b"0\r\n!#$%&'*+-.^_`|~09az:\r\nA:b: \xe9\r\n\r\n")

# chunked, malformed
for i, bad in enumerate([
        b"\r\n", b";x\r\n", b"g\r\n", b"-1\r\n", b" 1\r\n", b"0x5\r\n",
        b"5\n", b"5\r\r\n", b"5 x\r\n", b"5;a\nb\r\n", b"5;a\x01\r\n",
        b"3\r\nabcX\r\n", b"3\r\nabc\n", b"0\r\nX: y\n\r\n",
        b"0\r\n folded\r\n\r\n", b"0\r\n\tfolded\r\n\r\n", b"0\r\n: v\r\n\r\n",
        b"0\r\nA: \x01\r\n\r\n", b"0\r\n\rX", b"10000000000000000\r\n",
        b"1000000000000001\r\n", b"fffffffffffffffffffffffff\r\n",
        b"5;a\x7f\r\nhello\r\n0\r\n\r\n", b"0\r\nA: b\rc\r\n\r\n",
        b"0\r\nX\r\n\r\n", b"0\r\nA B: c\r\n\r\n"]):
    put("ch_bad%02d" % i, C, bad)

# the bounds, reached by padding: a size line of VPHB_LINEMAX (4096)
# bytes with its CR, one more; leading zeros; a trailer section of
# VPHB_TRAILMAX (16384), one more
put("ch_line_max", C | 8, b"1;\r\na\r\n0\r\n\r\n", pad=(2, 4093, ord("e")))
put("ch_line_over", C | 8, b"1;\r\na\r\n0\r\n\r\n", pad=(2, 4094, ord("e")))
put("ch_line_zeros", C | 8, b"1\r\na\r\n0\r\n\r\n", pad=(0, 4094, ord("0")))
put("ch_trail_max", C | 8, b"0\r\nA:\r\n\r\n", pad=(5, 16384 - 6, ord("v")))
put("ch_trail_over", C | 8, b"0\r\nA:\r\n\r\n", pad=(5, 16384 - 5, ord("v")))

# proxy request heads that declare the framing (vpin_http decides)
H = 3
put("head_chunked", H, b"POST http://example.org/up HTTP/1.1\r\n"
    b"Host: example.org\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n" + NEXT)
put("head_gzip_chunked", H, b"POST http://example.org/ HTTP/1.1\r\n"
    b"Transfer-Encoding: gzip, chunked\r\n\r\n4;x\r\nabcd\r\n0\r\nT: 1\r\n\r\n")
put("head_cl", H, b"PUT http://[::1]:8080/x HTTP/1.1\r\nContent-Length: 5\r\n"
    b"Content-Length: 5\r\n\r\nhello" + NEXT)
put("head_none", H, b"GET http://example.org/ HTTP/1.0\r\n\r\n" + NEXT)
put("head_lf", H, b"POST http://a.example/ HTTP/1.1\nTransfer-Encoding: chunked\n\n"
    b"3\r\nabc\r\n0\r\n\r\n")
put("head_both", H, b"POST http://a.example/ HTTP/1.1\r\nContent-Length: 3\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
