#!/bin/sh
# vp-listen's log lines say what happened: an engine killed by a signal
# (which one), a -c above the descriptor limit ("above", not "close to"),
# and a bad endpoint lists only the kinds vp-listen can listen on.
. "$(dirname "$0")/lib.sh"
need python3
command -v vp-dispatch >/dev/null 2>&1 || { skip "vp-dispatch not built"; finish; }

listen_ready P vp-listen -1 tcp:127.0.0.1:0 vp-dispatch 2>"$T/e.log"
LP=$LASTPID
EP=""
i=0
while [ -z "$EP" ] && [ $i -lt 200 ]; do
	EP=$(cat /proc/"$LP"/task/*/children 2>/dev/null | cut -d' ' -f1)
	i=$((i + 1))
	[ -z "$EP" ] && sleep 0.02
done
[ -n "$EP" ] && kill -KILL "$EP"
i=0
while ! grep -q 'engine' "$T/e.log" && [ $i -lt 200 ]; do
	i=$((i + 1))
	sleep 0.02
done
grep -q 'the engine was killed by signal 9; 0 connections lost' "$T/e.log" && \
    ok "engine killed: '$(grep engine "$T/e.log" | cut -d' ' -f3-9)'" || \
    notok "engine killed: '$(cat "$T/e.log")'"

sh -c 'ulimit -n 1000 && ulimit -Hn 1000 && exec timeout 1 vp-listen -c 5000 tcp:127.0.0.1:0 cat' 2>"$T/l.log"
grep -q 'limit 5000 is above the descriptor limit 1000' "$T/l.log" && \
    ok "-c 5000 with 1000 descriptors: 'above the descriptor limit'" || \
    notok "-c over the descriptor limit: '$(cat "$T/l.log")'"

vp-listen tcp:127.0.0.1 cat 2>"$T/p.log"
rc=$?
[ "$rc" = 64 ] && grep -q 'unix:PATH, fd:N or systemd' "$T/p.log" && \
    ! grep -q 'exec:\|stdio' "$T/p.log" && \
    ok "bad endpoint (exit 64): only the kinds vp-listen takes are listed" || \
    notok "bad endpoint: exit $rc '$(cat "$T/p.log")'"
finish
