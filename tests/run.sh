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
do_fuzz=1
case "${1:-}" in
--unit-only) do_unit=1; do_int=0; do_fuzz=0; shift ;;
--integration-only) do_unit=0; do_int=1; do_fuzz=0; shift ;;
--fuzz-only) do_unit=0; do_int=0; do_fuzz=1; shift ;;
esac
[ $# -gt 0 ] && [ "$do_int" = 1 ] && { do_unit=0; do_fuzz=0; }
[ -n "${VP_FUZZ:-}" ] || do_fuzz=0
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

if [ "$do_fuzz" = 1 ]; then
	# A short bounded libFuzzer run of every target over its seed corpus
	# (tests/fuzz/corpus/NAME); new inputs go to a scratch dir, not the repo.
	for t in "$VP_FUZZ"/fuzz_*; do
		[ -x "$t" ] || continue
		name=${t##*/}
		out=$logs/$name.log
		seeds=$here/fuzz/corpus/$name
		scratch=$(mktemp -d /tmp/vp-fuzz.XXXXXX)
		mkdir -p "$seeds"
		timeout $(( ${FUZZ_SECONDS:-3} + 60 )) "$t" \
		    -max_total_time="${FUZZ_SECONDS:-3}" -rss_limit_mb=1024 \
		    -timeout=10 -artifact_prefix="$scratch/" \
		    "$scratch" "$seeds" >"$out" 2>&1
		rc=$?
		runs=$(grep -E '^Done [0-9]+ runs' "$out" | sed -E 's/Done ([0-9]+) runs.*/\1/')
		if [ "$rc" -eq 0 ]; then
			passed=$((passed + 1))
			echo "fuzz $name: ${runs:-?} runs, no crash"
		else
			failed=$((failed + 1))
			echo "FAIL fuzz $name (exit $rc); artifacts:"
			ls "$scratch" | grep -E '^(crash|leak|timeout|oom)-' | sed 's/^/    /'
			grep -E 'ERROR|SUMMARY' "$out" | head -n 5 | sed 's/^/    /'
			mkdir -p "$logs/fuzz-artifacts"
			cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* \
			    "$scratch"/oom-* "$logs/fuzz-artifacts/" 2>/dev/null
		fi
		rm -rf "$scratch"
	done
fi

# VP_SUMMARY: a file to which "PASSED FAILED" is appended (scripts/test.sh
# adds the runs up).
[ -n "${VP_SUMMARY:-}" ] && echo "$passed $failed" >>"$VP_SUMMARY"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
