#!/bin/sh
# local-proxy.sh: one command from a fresh Debian machine to a local
# proxy: installs the build dependencies, builds vp, and runs
#
#     vp-listen tcp:127.0.0.1:1080 vp-dispatch
#
# which speaks SOCKS5, SOCKS4/4a and HTTP (CONNECT and plain) on one
# port and connects everything directly: no configuration. Try
#
#     curl --socks5-hostname 127.0.0.1:1080 https://example.org/
#     curl --socks4a 127.0.0.1:1080 http://example.org/
#     curl -x http://127.0.0.1:1080 https://example.org/
#
# Usage: sh scripts/local-proxy.sh [HOST:PORT]   (default 127.0.0.1:1080)
# Environment: VP_BUILD build directory (default build), VP_NO_DEPS=1 /
# VP_NO_BUILD=1 skip those steps, VP_LISTEN_OPTS extra vp-listen options
# (e.g. "-v" for a log line per connection, "-1" to print the port),
# VP_DISPATCH_OPTS extra vp-dispatch options (e.g. "-r rules").
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
listen=${1:-127.0.0.1:1080}
build=${VP_BUILD:-build}
case "$build" in /*) ;; *) build=$top/$build ;; esac

if [ "${VP_NO_DEPS:-0}" != 1 ]; then
	sh "$top/scripts/deps.sh" --build
fi
if [ "${VP_NO_BUILD:-0}" != 1 ]; then
	make -C "$top" -s -j2 BUILD="$build" "$build/bin/vp-listen" \
	    "$build/bin/vp-dispatch" "$build/bin/vp-dial" >&2
fi
echo "vp: proxy on $listen (SOCKS5, SOCKS4a, HTTP); stop with ^C" >&2
# shellcheck disable=SC2086
exec "$build/bin/vp-listen" ${VP_LISTEN_OPTS:-} "tcp:$listen" \
    "$build/bin/vp-dispatch" ${VP_DISPATCH_OPTS:-}
