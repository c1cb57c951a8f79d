# Impairment link between two network namespaces (sourced after lib.sh).
#
#   netns_up [impair options]   creates namespaces $NSA and $NSB joined
#                               by TUN devices through tests/tools/impair
#                               ($NSA has $IPA, $NSB has $IPB), or
#                               returns 1 (not root, no TUN, no ip(8)).
#   ina CMD... / inb CMD...     run CMD inside $NSA / $NSB.
#   impair_down / impair_heal   100% loss / back to the settings.
#   netns_down                  removes everything netns_up created;
#                               runs at exit on its own.
#
# Names carry the shell's pid so parallel runs do not collide.

NSA=vpa$$
NSB=vpb$$
IPA=10.201.$(($$ % 200)).1
IPB=10.201.$(($$ % 200)).2
IMPAIR_PID=""
NETNS_MADE=0

netns_down() {
	if [ -n "$IMPAIR_PID" ]; then
		kill "$IMPAIR_PID" 2>/dev/null
		wait "$IMPAIR_PID" 2>/dev/null
		IMPAIR_PID=""
	fi
	if [ "$NETNS_MADE" = 1 ]; then
		ip netns del "$NSA" 2>/dev/null
		ip netns del "$NSB" 2>/dev/null
		NETNS_MADE=0
	fi
}

trap 'cleanup; netns_down' EXIT

ina() { ip netns exec "$NSA" "$@"; }
inb() { ip netns exec "$NSB" "$@"; }

netns_up() {
	_tools=${VP_BIN%/bin}/tools
	[ "$(id -u)" = 0 ] || return 1
	[ -c /dev/net/tun ] || return 1
	command -v ip >/dev/null 2>&1 || return 1
	[ -x "$_tools/impair" ] || return 1
	ip netns add "$NSA" 2>/dev/null || return 1
	if ! ip netns add "$NSB" 2>/dev/null; then
		ip netns del "$NSA"
		return 1
	fi
	NETNS_MADE=1
	_fifo=$T/impair.$$
	mkfifo "$_fifo"
	"$_tools/impair" "$@" tun "$NSA" vpta "$NSB" vptb >"$_fifo" \
	    2>"$T/impair.log" &
	IMPAIR_PID=$!
	read -r _r <"$_fifo" || _r=""
	rm -f "$_fifo"
	[ "$_r" = ready ] || return 1
	ip -n "$NSA" link set lo up &&
	ip -n "$NSB" link set lo up &&
	ip -n "$NSA" addr add "$IPA/24" dev vpta &&
	ip -n "$NSB" addr add "$IPB/24" dev vptb &&
	ip -n "$NSA" link set vpta up &&
	ip -n "$NSB" link set vptb up || return 1
	return 0
}

impair_down() { kill -USR1 "$IMPAIR_PID"; }
impair_heal() { kill -USR2 "$IMPAIR_PID"; }
