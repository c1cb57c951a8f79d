#!/bin/sh
# vp-listen unix: sockets against races, made deterministic by delaying
# system calls with strace fault injection:
#  - the path swapped for a symbolic link while the owner and mode are
#    applied must not chmod/chown the link's target;
#  - a second vp-listen started while the first is between bind() and
#    listen() must not take the first one's socket for a stale one;
#  - SIGTERM while the socket is being set up: exit 0, no file left.
. "$(dirname "$0")/lib.sh"
need strace ncat
if ! strace -qq -o /dev/null true 2>/dev/null; then
	skip "strace cannot trace here"
	finish
fi
VPL=$(command -v vp-listen)
# LeakSanitizer cannot run under ptrace (sanitizer builds)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS

# child_of PID: PID's child running vp-listen (strace's tracee, once it
# has exec'd), bounded wait.
child_of() {
	_i=0
	while [ $_i -lt 200 ]; do
		for _c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
			[ "$(cat /proc/"$_c"/comm 2>/dev/null)" = vp-listen ] && \
			    { echo "$_c"; return 0; }
		done
		_i=$((_i + 1))
		sleep 0.02
	done
	return 1
}

# until_file TEST PATH PID: polls (bounded, 10 s) until [ TEST PATH ]
# holds or PID has exited.
until_file() {
	_i=0
	while [ $_i -lt 200 ]; do
		[ "$1" "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		_i=$((_i + 1))
		sleep 0.02
	done
	return 1
}

# 1. The socket path replaced by a symbolic link to a victim file while
# chmod/chown are delayed 0.5 s: the victim keeps its mode (and owner).
D=$T/shared
mkdir "$D"
chmod 0777 "$D"
echo secret >"$T/victim"
chmod 0600 "$T/victim"
OPTS=mode=0666
[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && OPTS="$OPTS,owner=nobody"
bg strace -qq -f -o /dev/null -e trace=chmod,fchmodat,chown,fchownat,lchown \
    -e inject=chmod,fchmodat,chown,fchownat,lchown:delay_enter=500000 \
    "$VPL" -N 3 "unix:$D/sock,$OPTS" cat 3>"$T/r1" 2>"$T/e1"
SP=$LASTPID
VP=$(child_of "$SP")
# the "attacker": as soon as anything is at the path, swap it
if until_file -S "$D/sock" "$SP"; then
	mv "$D/sock" "$D/sock.moved" && ln -s "$T/victim" "$D/sock"
fi
until_file -s "$T/r1" "$SP"
st=$(stat -c '%a %U' "$T/victim")
want="600 $(id -un)"
[ "$st" = "$want" ] && ok "unix:PATH,$OPTS: a symlink swapped in during setup is not followed (victim $st)" || \
    { notok "unix:PATH,$OPTS: the victim became '$st' (was '$want')"; cat "$T/e1"; }
[ -n "$VP" ] && kill "$VP" 2>/dev/null
wait "$SP" 2>/dev/null
rm -f "$D/sock" "$D/sock.moved"

# 1b. The private directory renamed away and replaced by a symbolic link
# to another directory while bind() is delayed 0.5 s: nothing is created
# in that other directory, and the socket still ends up at the path.
mkdir "$T/elsewhere"
bg strace -qq -f -o /dev/null -e trace=bind -e inject=bind:delay_enter=500000 \
    "$VPL" -N 3 "unix:$D/s2,$OPTS" sh -c 'echo served' 3>"$T/r1b" 2>"$T/e1b"
SP=$LASTPID
VP=$(child_of "$SP")
i=0
while [ $i -lt 200 ] && [ -z "$(ls -A "$D" | grep '^\.vp-listen')" ]; do
	kill -0 "$SP" 2>/dev/null || break
	i=$((i + 1))
	sleep 0.02
done
pd=$(ls -A "$D" | grep '^\.vp-listen' | head -1)
[ -n "$pd" ] && mv "$D/$pd" "$D/moved" && ln -s "$T/elsewhere" "$D/$pd"
until_file -s "$T/r1b" "$SP"
out=$(ncat -U --recv-only "$D/s2" </dev/null 2>/dev/null)
[ -n "$pd" ] && [ -z "$(ls -A "$T/elsewhere")" ] && [ "$out" = served ] && \
    ok "unix: the private directory swapped for a symlink: nothing created elsewhere, socket at the path" || \
    { notok "unix: private dir swap ('$pd'): elsewhere has '$(ls -A "$T/elsewhere")', path answers '$out'"; cat "$T/e1b"; }
[ -n "$VP" ] && kill "$VP" 2>/dev/null
wait "$SP" 2>/dev/null
rm -rf "$D"/* "$D"/.vp-listen* 2>/dev/null

# 2. Listener A is held 1 s between bind() and listen(); B starts
# meanwhile. Exactly one of them may own the path; the other exits 69.
S=$T/race.sock
bg strace -qq -f -o /dev/null -e trace=listen \
    -e inject=listen:delay_enter=1000000 \
    "$VPL" -N 3 "unix:$S" sh -c 'echo A' 3>"$T/rA" 2>"$T/eA"
SA=$LASTPID
VA=$(child_of "$SA")
# A is in its window once its socket (or its private directory) exists
i=0
while [ $i -lt 200 ] && [ ! -S "$S" ] && [ -z "$(ls -A "$T" | grep '^\.vp-listen')" ]; do
	kill -0 "$SA" 2>/dev/null || break
	i=$((i + 1))
	sleep 0.02
done
bg "$VPL" -N 3 "unix:$S" sh -c 'echo B' 3>"$T/rB" 2>"$T/eB"
SB=$LASTPID
until_file -s "$T/rB" "$SB"
until_file -s "$T/rA" "$SA"
alive=""
kill -0 "$SB" 2>/dev/null && alive="$alive B"
[ -n "$VA" ] && kill -0 "$VA" 2>/dev/null && alive="$alive A"
out=$(ncat -U --recv-only "$S" </dev/null 2>/dev/null)
case "$alive" in
" B"|" A")
	[ " $out" = "$alive" ] && ok "unix: a socket between bind and listen is not taken for stale (one owner:$alive)" || \
	    notok "unix race: owner$alive but the path answers '$out'";;
*)
	notok "unix race: running:$alive (both own the path; '$out' answers)"
	cat "$T/eA" "$T/eB";;
esac
[ -n "$VA" ] && kill "$VA" 2>/dev/null
kill "$SB" 2>/dev/null
wait "$SA" 2>/dev/null
wait "$SB" 2>/dev/null
[ -z "$(ls -A "$T" | grep '^\.vp-listen')" ] && ok "unix: no private directory left behind" || \
    notok "unix: left behind: $(ls -A "$T" | grep '^\.vp-listen')"

# 3. SIGTERM while vp-listen is held 1 s in listen(): exit 0 (strace
# exits with its tracee's status), no socket file or directory left.
mkdir "$T/early"
bg strace -qq -f -o /dev/null -e trace=listen \
    -e inject=listen:delay_enter=1000000 "$VPL" "unix:$T/early/s" cat 2>"$T/eT"
SE=$LASTPID
VE=$(child_of "$SE")
i=0
while [ $i -lt 200 ] && [ -z "$(ls -A "$T/early")" ]; do
	i=$((i + 1))
	sleep 0.02
done
[ -n "$VE" ] && kill -TERM "$VE"
wait "$SE"
rc=$?
left=$(ls -A "$T/early")
[ "$rc" = 0 ] && [ -z "$left" ] && ok "SIGTERM during start-up: exit 0, nothing left in the directory" || \
    { notok "SIGTERM during start-up: exit $rc, left '$left'"; cat "$T/eT"; }
finish
