#!/bin/sh
# vp-dial with a chain of two proxies as README shows it: a SOCKS5 proxy
# on a unix socket first (vp-dispatch behind vp-listen, standing in for a
# tunnel client), then an HTTP proxy with Basic auth (vp-dispatch -a on
# TCP): data both ways byte for byte. The other order cannot work (the
# HTTP proxy cannot be asked for a unix socket): a usage error (64)
# before anything is connected, not a connect failure (69).
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need socat

rand_file "$T/up" 800000
rand_file "$T/down" 600000
ND=$(wc -c <"$T/down")
printf 'user:pw\n' >"$T/users"
chmod 600 "$T/users"
# -1 prints an empty line for a unix socket once it is bound
listen_ready U vp-listen -1 -v unix:"$T/tunnel.sock" vp-dispatch 2>"$T/u.log"
[ -S "$T/tunnel.sock" ] || notok "vp-listen on a unix socket"
listen_ready HP vp-listen -1 -v tcp:127.0.0.1:0 vp-dispatch -i http -a "$T/users" \
    2>"$T/h.log" || notok "vp-listen (http proxy)"

xfer "README chain -x socks5://unix:... -x http://user:pw@..." \
    "socks5://unix:$T/tunnel.sock" "http://user:pw@127.0.0.1:$HP"

# the reverse order: refused as usage before connecting anywhere
# nconn LOG: how many connections vp-listen -v has logged (numbered at accept)
nconn() { grep -o 'connection [0-9]* ' "$1" | sort -u | wc -l; }
nu=$(nconn "$T/u.log")
nh=$(nconn "$T/h.log")
vp-dial -x "http://user:pw@127.0.0.1:$HP" -x "socks5://unix:$T/tunnel.sock" \
    127.0.0.1 1 </dev/null >/dev/null 2>"$T/rev.err"
rc=$?
if [ $rc -eq 64 ] && grep -q 'can only come first' "$T/rev.err" &&
    ! grep -q 'pw@' "$T/rev.err" &&
    [ "$(nconn "$T/u.log")" = "$nu" ] && [ "$(nconn "$T/h.log")" = "$nh" ]; then
	ok "a unix-socket proxy second in a chain: exit 64, nothing connected ($(cat "$T/rev.err"))"
else
	notok "unix-socket proxy second: exit $rc"; cat "$T/rev.err"
fi
finish
