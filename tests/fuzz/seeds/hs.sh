#!/bin/sh
# Writes the seed corpus of fuzz_vphs: the same input format as
# fuzz_vpinbound (flags byte, chunk byte, the client's bytes), so the
# same seeds.
set -eu
d=${1:-tests/fuzz/corpus/fuzz_vphs}
sh "$(dirname "$0")/inbound.sh" "$d"
