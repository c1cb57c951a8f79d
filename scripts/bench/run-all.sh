#!/bin/sh
# run-all.sh: every benchmark in scripts/bench/, one after another
# (make bench). Each prints its own figures and ratios; loopback only.
#
#   VP_BUILD=build sh scripts/bench/run-all.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${VP_BUILD:=build}"
export VP_BUILD
# the tools compared against: socat, tcpserver, microsocks, dante, v2ray, kcptun
sh "$here/../deps.sh" --bench || echo "run-all: could not install every tool" >&2
rc=0
for b in "$here"/bench-*.sh; do
	[ -f "$b" ] || continue
	echo "=== ${b##*/}"
	sh "$b" || { echo "=== ${b##*/} failed" >&2; rc=1; }
	echo
done
exit $rc
