#!/bin/sh
# vp-listen on unix sockets: mode/owner/group, a stale socket file
# replaced, a live one refused, an unusable location fatal, ncat -U
# talking to a "cat"-style service byte for byte in both directions with
# half-close, SIGTERM removing the file and leaving children running.
. "$(dirname "$0")/lib.sh"
need python3 ncat

# listen_unix VAR PATH ARGS...: start vp-listen on unix:PATH..., wait for
# the -1 newline; VAR gets the pid.
listen_unix() {
	_v=$1; shift
	listen_ready _dummy vp-listen -1 "$@" || true
	eval "$_v=\$LASTPID"
}

# Mode, owner and group (as root: nobody/nogroup; otherwise mode only).
S=$T/m.sock
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	listen_unix MP "unix:$S,mode=0660,owner=nobody,group=nogroup" cat 2>"$T/m.err"
	st=$(stat -c '%a %U %G %F' "$S" 2>/dev/null)
	[ "$st" = "660 nobody nogroup socket" ] && ok "unix mode/owner/group: $st" || \
	    { notok "unix mode/owner/group: '$st'"; cat "$T/m.err"; }
else
	listen_unix MP "unix:$S,mode=0600" cat
	st=$(stat -c '%a %F' "$S")
	[ "$st" = "600 socket" ] && ok "unix mode: $st" || notok "unix mode: '$st'"
fi

# A live socket is refused, and left in place.
vp-listen "unix:$S" cat 2>"$T/live.err" </dev/null
rc=$?
[ "$rc" = 69 ] && grep -q 'running listener' "$T/live.err" && [ -S "$S" ] && \
    ok "a live socket is refused (exit 69, $(cut -c1-60 "$T/live.err"))" || \
    { notok "live socket: exit $rc"; cat "$T/live.err"; }

# SIGTERM: socket file removed, exit 0.
kill -TERM "$MP"
wait "$MP"
rc=$?
[ "$rc" = 0 ] && [ ! -e "$S" ] && ok "SIGTERM: exit 0, socket file removed" || \
    notok "SIGTERM: exit $rc, file $(ls -l "$S" 2>&1)"

# A stale socket (its listener died without cleaning up) is replaced.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
' "$T/stale.sock"
[ -S "$T/stale.sock" ] || notok "could not make a stale socket"
listen_unix SP "unix:$T/stale.sock" sh -c 'echo fresh'
out=$(ncat -U --recv-only "$T/stale.sock" </dev/null)
[ "$out" = fresh ] && ok "a stale socket file is replaced" || notok "stale socket: '$out'"

# Things that are not sockets are never replaced; bad places are fatal.
echo keep >"$T/regular"
vp-listen "unix:$T/regular" cat 2>"$T/reg.err" </dev/null
rc=$?
[ "$rc" = 78 ] && [ "$(cat "$T/regular")" = keep ] && grep -q 'not a socket' "$T/reg.err" && \
    ok "a regular file at the path is refused and kept (exit 78)" || \
    { notok "regular file: exit $rc"; cat "$T/reg.err"; }
vp-listen "unix:$T/no/such/dir/s.sock" cat 2>"$T/dir.err" </dev/null
rc=$?
[ "$rc" = 78 ] && grep -q 'cannot create' "$T/dir.err" && \
    ok "a missing directory is fatal (exit 78: $(cut -c1-70 "$T/dir.err"))" || \
    { notok "missing dir: exit $rc"; cat "$T/dir.err"; }
mkdir "$T/ro"
chmod 0555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
	vp-listen "unix:$T/ro/s.sock" cat 2>"$T/ro.err" </dev/null
	rc=$?
	[ "$rc" = 78 ] && ok "an unwritable directory is fatal (exit 78)" || \
	    { notok "unwritable dir: exit $rc"; cat "$T/ro.err"; }
else
	skip "unwritable directory (root can write anywhere)"
fi
vp-listen "unix:$T/x.sock,owner=no-such-user-vp" cat 2>"$T/own.err" </dev/null
rc=$?
[ "$rc" = 78 ] && [ ! -e "$T/x.sock" ] && ok "unknown owner is fatal (exit 78), nothing left behind" || \
    { notok "unknown owner: exit $rc"; cat "$T/own.err"; }

# Abstract socket.
listen_unix AP "unix:@vp-test-abstract-$$" sh -c 'echo "$PROTO"'
out=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect("\0" + sys.argv[1])
print(s.recv(100).decode().strip())' "vp-test-abstract-$$")
[ "$out" = UNIX ] && ok "abstract unix socket" || notok "abstract: '$out'"

# ncat -U against "vp-listen unix:PATH cat": byte for byte, with
# half-close (ncat ends its sending side, the echo still arrives whole).
listen_unix CP "unix:$T/cat.sock" cat
rand_file "$T/in" 5000000
ncat -U "$T/cat.sock" <"$T/in" >"$T/out"
same "$T/in" "$T/out" && ok "ncat -U through vp-listen cat: 5 MB echoed byte for byte" || \
    notok "ncat -U echo differs ($(wc -c <"$T/out") bytes)"

# Two directions that differ: the service stores what it gets, then
# answers with a different file only after the client's EOF.
rand_file "$T/down" 3000000
listen_unix HP "unix:$T/hc.sock" sh -c "cat >'$T/up.got'; cat '$T/down'"
rand_file "$T/up" 4000000
ncat -U "$T/hc.sock" <"$T/up" >"$T/down.got"
same "$T/up" "$T/up.got" && same "$T/down" "$T/down.got" && \
    ok "half-close: upload complete, then the reply arrives whole (sha256 $(sha "$T/down.got" | cut -c1-12))" || \
    notok "half-close transfer differs"

# SIGTERM leaves running children alone.
listen_unix KP "unix:$T/k.sock" sh -c 'echo started; read x; echo "after:$x"'
mkfifo "$T/kin"
(ncat -U "$T/k.sock" <"$T/kin" >"$T/kout") &
KC=$!
exec 8>"$T/kin"
i=0
while [ "$(cat "$T/kout")" != started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM "$KP"
wait "$KP"
rc=$?
echo bye >&8
exec 8>&-
wait "$KC"
[ "$rc" = 0 ] && [ ! -e "$T/k.sock" ] && [ "$(tail -1 "$T/kout")" = "after:bye" ] && \
    ok "SIGTERM: listener gone, the running connection finishes" || \
    notok "SIGTERM with a running child: rc $rc, out $(cat "$T/kout")"
# A file name that fits a socket address but not behind the private
# directory's /proc/self/fd/N/ prefix (92 to 107 bytes in all): bound
# under a short name there, then renamed (refused with "File name too
# long" since the socket is made in a private directory).
LD=$(mktemp -d /tmp/vpl.XXXX)	# short, so that the name can be long
LN=$LD/
while [ ${#LN} -lt 107 ]; do LN=${LN}a; done
bg vp-listen "unix:$LN,mode=0600" cat
wait_path "$LN" || notok "a ${#LN}-byte socket path: not started"
printf long >"$T/lin"
ncat -U "$LN" <"$T/lin" >"$T/lout" 2>/dev/null
check "a ${#LN}-byte socket path: listens there, mode 0600, echoes" \
    sh -c "cmp -s '$T/lin' '$T/lout' && [ \"\$(stat -c %a '$LN')\" = 600 ] &&
    [ \"\$(ls -A '$LD')\" = \"\$(basename '$LN')\" ]"
kill "$LASTPID"
wait "$LASTPID" 2>/dev/null
rm -rf "$LD"
finish
