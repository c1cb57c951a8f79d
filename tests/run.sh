#!/bin/sh
# Runs every test: the Check unit suites, then the integration scripts.
# Ends with the summary line "N passed, N failed"; exits 1 if any failed.
#
#   VP_BUILD=build sh tests/run.sh [--unit-only|--integration-only] [NAME...]
#
# NAME picks integration scripts by substring (e.g. "dial" runs
# tests/integration/*dial*.sh). Logs go to $VP_BUILD/test-logs/.

set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${VP_BUILD:?VP_BUILD must name the build directory}"
logs=$VP_BUILD/test-logs
mkdir -p "$logs"
passed=0
failed=0
do_unit=1
do_int=1
case "${1:-}" in
--unit-only) do_unit=1; do_int=0; shift ;;
--integration-only) do_unit=0; do_int=1; shift ;;
esac
[ $# -gt 0 ] && [ "$do_int" = 1 ] && do_unit=0
TIMEOUT=${VP_TEST_TIMEOUT:-300}

if [ "$do_unit" = 1 ]; then
	for t in "$VP_BUILD"/tests/check_*; do
		[ -x "$t" ] || continue
		name=${t##*/}
		out=$logs/$name.log
		CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-30} \
		    timeout "$TIMEOUT" "$t" >"$out" 2>&1
		rc=$?
		line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$out" | tail -n 1)
		if [ -z "$line" ]; then
			echo "FAIL $name: no Check summary (exit $rc)"
			tail -n 20 "$out" | sed 's/^/    /'
			failed=$((failed + 1))
			continue
		fi
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		passed=$((passed + n - f - e))
		failed=$((failed + f + e))
		echo "unit $name: $line"
		if [ $((f + e)) -gt 0 ]; then
			grep -E ':(F|E):' "$out" | head -n 20 | sed 's/^/    /'
		fi
	done
fi

if [ "$do_int" = 1 ]; then
	for t in "$here"/integration/t_*.sh; do
		[ -f "$t" ] || continue
		name=${t##*/}
		name=${name%.sh}
		if [ $# -gt 0 ]; then
			pick=0
			for want in "$@"; do
				case "$name" in *"$want"*) pick=1 ;; esac
			done
			[ "$pick" = 1 ] || continue
		fi
		out=$logs/$name.log
		start=$(date +%s)
		VP_BIN=$VP_BUILD/bin VP_TOOLS=$VP_BUILD/tools VP_SRC=$here/.. \
		    timeout -k 5 "$TIMEOUT" sh "$t" >"$out" 2>&1 </dev/null
		rc=$?
		secs=$(( $(date +%s) - start ))
		p=$(grep -c '^ok ' "$out")
		f=$(grep -c '^not ok ' "$out")
		s=$(grep -c '^skip ' "$out")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "not ok - $name exited $rc" >>"$out"
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		echo "integration $name: $p passed, $f failed, $s skipped (${secs}s)"
		if [ "$f" -gt 0 ]; then
			grep -E '^not ok ' "$out" | sed 's/^/    /'
			tail -n 15 "$out" | sed 's/^/    | /'
		fi
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
