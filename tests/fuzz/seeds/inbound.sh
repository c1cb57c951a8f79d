#!/bin/sh
# Writes the seed corpus of fuzz_vpinbound: a flags byte (bit 0 users,
# bits 1-2 forced protocol), a split byte, then the client's bytes.
set -eu
d=${1:-tests/fuzz/corpus/fuzz_vpinbound}
mkdir -p "$d"
find "$d" -type f ! -name 'regress_*' -delete
s() { name=$1; shift; printf "$@" >"$d/$name"; }
s s5noauth   '\000\200\005\001\000\005\001\000\001\177\000\000\001\000\120'
s s5name     '\000\100\005\002\000\002\005\001\000\003\013example.org\001\273early'
s s5v6       '\000\007\005\001\000\005\001\000\004\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\037\220'
s s5auth     '\001\060\005\001\002\001\005alice\006s3cret\005\001\000\003\001x\000\120'
s s5bind     '\000\001\005\001\000\005\002\000\001\001\002\003\004\000\120'
s s5atyp     '\000\001\005\001\000\005\001\000\011\001\002'
s s4         '\000\011\004\001\000\120\177\000\000\001bob\000'
s s4a        '\000\052\004\001\001\273\000\000\000\001u\000example.org\000GET'
s s4bad      '\000\000\004\002\000\120\000\000\000\000\000'
s connect    '\000\030CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n'
s connauth   '\001\111CONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n\026\003\001'
s plain      '\000\220GET http://a.example:81/p?q HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Foo\r\nX-Foo: 1\r\nProxy-Connection: close\r\nAccept: */*\r\n\r\n'
s plain10    '\000\003POST http://10.0.0.1 HTTP/1.0\nContent-Length: 2\nTE: trailers\n\nhi'
s plainauth  '\000\175GET http://h/ HTTP/1.1\r\nproxy-authorization: basic dTpw\r\nUpgrade: h2c\r\n\r\n'
s lflf       '\000\000HEAD http://[fd00::1]:8080/x HTTP/1.1\n\n'
s badver     '\000\000GET http://h/ HTTP/2.0\r\n\r\n'
s fold       '\000\000GET http://h/ HTTP/1.1\r\nA: b\r\n c\r\n\r\n'
s forced5    '\002\000\005\001\000\005\001\000\001\001\001\001\001\000\001'
s forcedh    '\006\000CONNECT x:1 HTTP/1.0\r\n\r\n'
s b64        '\000\000\377YWxpY2U6czNjcmV0'
# regression inputs (crashes found by fuzzing)
s regress_bare_cr '\000\000GET http://h/ HTTP/1.1\r\nX: a\rb\r\n\r\n'
s regress_cr_authority '\000\000GET http://\r\r10.0.0.1/ HTTP/1.1\r\n\r\n'
s regress_cr_port '\000\000GET http://[fd5::1]:\r8080/x HTTP/1.1\n\n'
