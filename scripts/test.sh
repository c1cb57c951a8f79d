#!/bin/sh
# Everything needed to run every test on a fresh Debian machine:
# installs the dependencies, builds, runs the whole suite (Check unit
# suites, integration tests against real peers, short fuzzing runs),
# then the whole suite again under AddressSanitizer + UndefinedBehavior-
# Sanitizer. Ends with the total "N passed, N failed".
#
#   sh scripts/test.sh            everything
#   VP_NO_SANITIZE=1 sh scripts/test.sh   skip the sanitizer pass
set -u
cd "$(dirname "$0")/.."
sh scripts/deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }
jobs=$(nproc 2>/dev/null || echo 2)
sum=$(mktemp /tmp/vp-summary.XXXXXX)
trap 'rm -f "$sum"' EXIT
rc=0
if ! make -j"$jobs" all >/dev/null; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "== tests"
VP_SUMMARY=$sum make -j"$jobs" check || rc=1
if [ "${VP_NO_SANITIZE:-0}" != 1 ]; then
	echo "== the same under ASan + UBSan (build-san/)"
	VP_SUMMARY=$sum make -j"$jobs" SANITIZE=1 NOFUZZ=1 check || rc=1
fi
awk '{ p += $1; f += $2 } END { printf "%d passed, %d failed\n", p, f }' "$sum"
exit $rc
