#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vpsniff: TLS ClientHellos and HTTP heads."""
import os, struct, sys

d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_vpsniff"
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):             # keep the regression inputs
    if not f.startswith("regress_"):
        os.unlink(os.path.join(d, f))

def put(name, b):
    open(os.path.join(d, name), "wb").write(b)

def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body

def sni(*names, ntype=0):
    lst = b"".join(struct.pack(">BH", ntype, len(n)) + n for n in names)
    return ext(0, struct.pack(">H", len(lst)) + lst)

def hello(exts, sid=b"\x01" * 32, recmax=None):
    body = b"\x03\x03" + b"\x11" * 32 + bytes([len(sid)]) + sid
    body += b"\x00\x04\x13\x01\x13\x02" + b"\x01\x00"
    if exts is not None:
        e = b"".join(exts)
        body += struct.pack(">H", len(e)) + e
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs

put("tls_sni", hello([ext(0x0a, b"\x00\x02\x00\x1d"), sni(b"example.org"),
                      ext(0x2b, b"\x02\x03\x04")]))
put("tls_nosni", hello([ext(0x0a, b"\x00\x02\x00\x1d")]))
put("tls_noext", hello(None))
put("tls_ip", hello([sni(b"10.0.0.1")]))
put("tls_two", hello([sni(b"a.example", b"b.example")]))
put("tls_badtype", hello([sni(b"x.example", ntype=1)]))
put("tls_long", hello([sni(b"a" * 63 + b"." + b"b" * 63 + b".example")]))
h = hello([sni(b"split.example")])
put("tls_trunc", h[: len(h) - 7])
put("http_get", b"GET / HTTP/1.1\r\nHost: www.example.org\r\nAccept: */*\r\n\r\n")
put("http_port", b"POST /x HTTP/1.0\r\nUser-Agent: a\r\nhost:  a.example:8080 \r\n\r\n")
put("http_v6", b"HEAD / HTTP/1.1\r\nHost: [fd00::1]:80\r\n\r\n")
put("http_nohost", b"OPTIONS * HTTP/1.1\r\nX: y\r\n\r\n")
put("http_lf", b"PUT /a HTTP/1.1\nHost: lf.example\n\n")
put("http_partial", b"GET /index.html HTTP/1.1\r\nHos")
put("not", b"SSH-2.0-OpenSSH_9.6\r\n")
