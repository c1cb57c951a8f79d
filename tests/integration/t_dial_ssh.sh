#!/bin/sh
# ssh with ProxyCommand vp-dial against a real sshd on loopback: direct,
# through a SOCKS5 proxy and through an exec: outbound; data both ways
# checked with sha256; the session ends cleanly (ssh's SIGHUP / EOF).
. "$VP_SRC/tests/integration/lib.sh"
. "$VP_SRC/tests/integration/dial_lib.sh"
need ssh ssh-keygen microsocks sha256sum
sshd_start
case $? in
1) finish ;;
2) notok "sshd did not start"; exit 1 ;;
esac
SP=$SSHD_PORT
MS=$(free_port)
bg microsocks -i 127.0.0.1 -p "$MS"
wait_tcp "$MS" || notok "microsocks did not start"

rand_file "$T/blob" 4000000
SUM=$(sha "$T/blob")

# s PROXYCOMMAND REMOTE-COMMAND...: ssh through the ProxyCommand.
s() {
	_pc=$1; shift
	# shellcheck disable=SC2086
	ssh $SSH_OPTS -o ProxyCommand="$_pc" -p "$SP" root@127.0.0.1 "$@"
}

for pc in "vp-dial %h %p" \
    "vp-dial -x socks5://127.0.0.1:$MS %h %p" \
    "vp-dial exec:'exec socat - TCP:%h:%p'"; do
	out=$(s "$pc" echo hi 2>"$T/err")
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = hi ] && [ ! -s "$T/err" ]; then
		ok "ssh -o ProxyCommand=\"$pc\" echo hi"
	else
		notok "ssh via \"$pc\" (rc $rc, '$out')"; cat "$T/err"
	fi
done

# -F: the connected socket handed to ssh (ProxyUseFdpass), no relay left
for pc in "vp-dial -F %h %p" "vp-dial -F -x socks5://127.0.0.1:$MS %h %p"; do
	# shellcheck disable=SC2086
	out=$(ssh $SSH_OPTS -o ProxyUseFdpass=yes -o ProxyCommand="$pc" \
	    -p "$SP" root@127.0.0.1 sha256sum <"$T/blob" 2>"$T/err" |
	    cut -d' ' -f1)
	if [ "$out" = "$SUM" ]; then
		ok "ProxyUseFdpass with \"$pc\": 4 MB up, sha256 equal"
	else
		notok "ProxyUseFdpass \"$pc\" ('$out')"; cat "$T/err"
	fi
done
vp-dial -F 127.0.0.1 "$SP" </dev/null >"$T/out" 2>"$T/err"
[ $? -eq 71 ] && one_fatal "$T/err" &&
    ok "-F with stdout not a socket: exit 71, '$(cut -d' ' -f3- "$T/err")'" ||
    { notok "-F on a file"; cat "$T/err"; }

# an ssh -W jump as the exec: outbound (the sshd forwards to itself)
pc="vp-dial exec:'ssh $SSH_OPTS -p $SP -W %h:%p root@127.0.0.1'"
out=$(s "$pc" echo jumped 2>"$T/err")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = jumped ]; then
	ok "ProxyCommand vp-dial exec:'ssh -W %h:%p jumphost'"
else
	notok "ssh -W as exec: outbound (rc $rc, '$out')"; cat "$T/err"
fi

# 4 MB up and down through the proxy command, checked on both sides
up=$(s "vp-dial %h %p" sha256sum <"$T/blob" 2>"$T/err" | cut -d' ' -f1)
[ "$up" = "$SUM" ] && ok "4 MB up through ProxyCommand vp-dial, sha256 equal" ||
    { notok "upload through ssh ($up)"; cat "$T/err"; }
s "vp-dial -x socks5://127.0.0.1:$MS %h %p" cat "$T/blob" >"$T/blob.down" \
    </dev/null 2>"$T/err"
[ "$(sha "$T/blob.down")" = "$SUM" ] &&
    ok "4 MB down through vp-dial -x socks5, sha256 equal" ||
    { notok "download through ssh+socks5"; cat "$T/err"; }

# no vp-dial is left behind once the sessions are over (bounded wait:
# ssh does not wait for its proxy command, it sends SIGHUP)
i=0
while pgrep -f "vp-dial.* 127.0.0.1 $SP\$" >/dev/null 2>&1 && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.05
done
if ! pgrep -f "vp-dial.* 127.0.0.1 $SP\$" >/dev/null 2>&1; then
	ok "no vp-dial left running after the ssh sessions"
else
	notok "vp-dial still running"
fi
finish
