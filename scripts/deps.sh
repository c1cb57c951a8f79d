#!/bin/sh
# Installs what vp needs on Debian: build dependencies, and with --test
# (the default when run by scripts/test.sh) the real peers the
# integration tests and benchmarks talk to. Skips what is present.
#
#   sh scripts/deps.sh [--build|--test|--bench]
set -eu

BUILD="build-essential make gcc clang pkg-config libbsd-dev check libsodium-dev zlib1g-dev mandoc"
TEST="curl openssh-server openssh-client ncat socat haproxy systemd python3 iproute2 nftables python3-hyperframe valgrind microsocks openssl"
BENCH="ucspi-tcp iperf3 kcptun v2ray microsocks dante-server"

want=$BUILD
case "${1:---test}" in
--build) ;;
--test) want="$BUILD $TEST" ;;
--bench) want="$BUILD $TEST $BENCH" ;;
*) echo "usage: deps.sh [--build|--test|--bench]" >&2; exit 64 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
