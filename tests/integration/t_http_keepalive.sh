#!/bin/sh
# Plain HTTP through vp-dispatch carries exactly one request to the
# origin, in the engine (vp-listen ... vp-dispatch) and with vp-listen -P:
# a second request on the same client connection (keep-alive reuse or
# pipelining) is never relayed to the first origin, with its
# Proxy-Authorization or past the rules; request bodies (Content-Length,
# chunked, in awkward pieces) arrive byte for byte; malformed chunked
# framing ends the connection; the origin gets no half-close until the
# client sends more or closes. Also for an exec route (a command the
# engine forks, as -P does: "vp-dial %h %p" alone it would run itself)
# and a socks5 route (forked too, with the body bytes already read).
. "$(dirname "$0")/lib.sh"
need python3 curl
K="python3 $VP_SRC/tests/integration/ka_helper.py"

mkdir "$T/o" "$T/www"
listen_ready O $K origin "$T/o" || { notok "keep-alive origin"; exit 0; }
# an origin that closes after its response (dispatch_helper.py http)
printf 'xyz' >"$T/www/x"
listen_ready W python3 "$VP_SRC/tests/integration/dispatch_helper.py" http \
    "$T/www" || { notok "closing origin"; exit 0; }
printf 'u:p\n' >"$T/users"
chmod 600 "$T/users"
cat >"$T/rules" <<EOF2
outbound direct direct
outbound deny reject
route deny full:localhost
default direct
EOF2
cat >"$T/xrules" <<EOF2
outbound cmd exec vp-dial -q %h %p
outbound deny reject
route deny full:localhost
default cmd
EOF2
# a socks5 route: through an upstream SOCKS5 proxy (vp-dispatch itself);
# the engine forks it, with the body bytes it has already read
listen_ready S5 vp-listen -1 -P tcp:127.0.0.1:0 vp-dispatch -i socks5 ||
    { notok "upstream socks5"; exit 0; }
cat >"$T/srules" <<EOF2
outbound up socks5 127.0.0.1:$S5
outbound deny reject
route deny full:localhost
default up
EOF2
chmod 600 "$T/rules" "$T/xrules" "$T/srules"
vp-dispatch -C "$T/rules" && vp-dispatch -C "$T/xrules" &&
    vp-dispatch -C "$T/srules" || { notok "compile rules"; exit 0; }
rand_file "$T/blob" 300000
BSHA=$(sha "$T/blob")

# reqs: the origin's request log (empty until the first request)
reqs() { cat "$T/o/requests.log" 2>/dev/null; }
clear() { : >"$T/o/requests.log"; }

# wait_reqs N: bounded wait (10 s) until the origin logged N requests.
wait_reqs() {
	_i=0
	while [ "$(reqs | wc -l)" -lt "$1" ] && [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
}

run_mode() {
	m=$1 rules=$2 what=$3
	flag=""
	[ "$m" = P ] && flag=-P
	listen_ready P vp-listen -1 -v $flag tcp:127.0.0.1:0 vp-dispatch -v \
	    -a "$T/users" -r "$rules" 2>"$T/$m.$what.log" ||
	    { notok "[$m $what] vp-listen"; return; }
	LP=$LASTPID
	X="curl -s -m 20 -x http://127.0.0.1:$P --proxy-user u:p"

	# (a) curl reuses the connection for a URL the rules reject
	clear
	codes=$($X -o /dev/null -o /dev/null -w '%{http_code}\n' \
	    "http://127.0.0.1:$O/a" "http://localhost:$O/denied" | tr '\n' ' ')
	wait_reqs 1
	if [ "$codes" = "200 403 " ] && [ "$(reqs | wc -l)" = 1 ] &&
	    reqs | grep -q '^GET /a 0 .* -$'; then
		ok "[$m $what] keep-alive: 2nd URL rejected (403) by the rules, origin saw one request, no credentials"
	else
		notok "[$m $what] keep-alive: codes '$codes', origin: $(reqs | tr '\n' ';')"
	fi

	# (b) two requests pipelined in one write
	clear
	out=$(timeout 20 $K pipeline "$P" "$O" | head -1)
	wait_reqs 1
	if [ "$out" = "1 responses" ] && [ "$(reqs | wc -l)" = 1 ] &&
	    reqs | grep -q '^GET /first 0 .* -$'; then
		ok "[$m $what] pipelined: origin saw the first request only"
	else
		notok "[$m $what] pipelined: client '$out', origin: $(reqs | tr '\n' ';')"
	fi

	# (c) bodies: Content-Length and chunked (curl -T -) byte for byte
	clear
	r1=$($X --data-binary @"$T/blob" "http://127.0.0.1:$O/cl")
	r2=$($X -T - "http://127.0.0.1:$O/chunked" <"$T/blob")
	wait_reqs 2
	if [ "$r1" = "$BSHA" ] && [ "$r2" = "$BSHA" ] &&
	    [ "$(reqs | grep -c " 300000 $BSHA -\$")" = 2 ]; then
		ok "[$m $what] POST Content-Length and PUT chunked: 300000 bytes, sha256 equal both ways"
	else
		notok "[$m $what] bodies: '$r1' '$r2' (want $BSHA), origin: $(reqs | tr '\n' ';')"
	fi

	# (d) a chunked body cut at awkward places, a request after it
	clear
	out=$(timeout 20 $K chunked "$P" "$O" "$T/blob" | tr '\n' ' ')
	wait_reqs 1
	if [ "$out" = "1 responses $BSHA " ] && [ "$(reqs | wc -l)" = 1 ] &&
	    reqs | grep -q "^POST /chunked 300000 $BSHA -\$"; then
		ok "[$m $what] chunked body in awkward pieces: byte for byte, the request after it not relayed"
	else
		notok "[$m $what] awkward chunks: client '$out', origin: $(reqs | tr '\n' ';')"
	fi

	# (f) the origin gets no FIN right after a complete request: some
	# take it for an abort (Go's net/http cancels the request). It
	# comes when the client sends more or closes (see (a), (b)).
	out=$($X "http://127.0.0.1:$O/halfclose")
	[ "$out" = open ] &&
	    ok "[$m $what] no half-close to the origin after a complete request" ||
	    notok "[$m $what] the origin saw a FIN right after the request: '$out'"

	# (g) the head and part of a chunk's data in one write, the rest
	# later: the whole body still arrives (a socks5 route once cut it
	# after that chunk)
	clear
	out=$(timeout 20 $K midchunk "$P" "$O" | tr '\n' ' ')
	wait_reqs 1
	wsha=$(printf 'hello world' | sha256sum | cut -d' ' -f1)
	[ "$out" = "1 responses $wsha " ] && reqs | grep -q "^POST /mid 11 $wsha -\$" &&
	    ok "[$m $what] head with part of a chunk, the rest later: the whole body" ||
	    notok "[$m $what] split chunk: client '$out', origin: $(reqs | tr '\n' ';')"

	# (h) a client that keeps its connection after the response: once
	# the origin has closed, the proxy closes too (an exec route held
	# it, and the command, until the client went)
	out=$(timeout 20 $K hold "$P" "$W")
	case $out in
	"eof "*) ok "[$m $what] the origin's close after its response ends the connection ($out)" ;;
	*) notok "[$m $what] connection held after the response: '$out'" ;;
	esac

	# (e) malformed chunked framing; a Content-Length body with more after it
	clear
	out=$(timeout 20 $K badchunk "$P" "$O" | head -1)
	out2=$(timeout 20 $K lengthmore "$P" "$O" | tr '\n' ' ')
	wait_reqs 1
	hsha=$(printf hello | sha256sum | cut -d' ' -f1)
	if [ -n "$out" ] && [ "$out2" = "1 responses $hsha " ] &&
	    ! grep -q smuggled "$T"/o/conn.*.raw &&
	    reqs | grep -q "^POST /length 5 $hsha -\$" &&
	    [ "$($X "http://127.0.0.1:$O/still")" = \
	      "$(printf '' | sha256sum | cut -d' ' -f1)" ]; then
		ok "[$m $what] malformed chunk ends the connection ($out), Content-Length body exact, nothing smuggled, still serving"
	else
		notok "[$m $what] malformed/length: '$out' '$out2', origin: $(reqs | tr '\n' ';')"
	fi
	if grep -q 'AddressSanitizer\|runtime error\|signal' "$T/$m.$what.log"; then
		notok "[$m $what] crash in the log: $(grep -m3 'Sanitizer\|runtime error\|signal' "$T/$m.$what.log")"
	fi
	if grep -q 'Proxy-Authorization' "$T"/o/conn.*.raw; then
		notok "[$m $what] Proxy-Authorization reached the origin"
	fi
	# every connection's end reported before vp-listen goes
	_i=0
	while [ "$(grep -c 'exited' "$T/$m.$what.log")" -lt \
	    "$(grep -c ': to the engine$\|: pid [0-9]*$' "$T/$m.$what.log")" ] &&
	    [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	kill "$LP"
	wait "$LP" 2>/dev/null
}

for m in engine P; do
	run_mode $m "$T/rules" direct
	run_mode $m "$T/xrules" exec
	run_mode $m "$T/srules" socks5
done

# a command that answers without reading the request (and goes): its
# answer still reaches the client (writing the request to it failed,
# and once ended the relay before its answer was passed on)
printf 'outbound say exec-early printf R-say\ndefault say\n' >"$T/sayrules"
chmod 600 "$T/sayrules"
vp-dispatch -C "$T/sayrules" || notok "say rules: compile"
for m in engine P; do
	flag=""
	[ "$m" = P ] && flag=-P
	listen_ready SP vp-listen -1 $flag tcp:127.0.0.1:0 vp-dispatch \
	    -r "$T/sayrules" 2>"$T/say.$m.log" || { notok "[$m] say: vp-listen"; continue; }
	LP=$LASTPID
	n=0
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ "$(curl -s -m 10 --http0.9 -x "http://127.0.0.1:$SP" \
		    "http://127.0.0.1:$O/x")" = R-say ] && n=$((n + 1))
	done
	[ "$n" = 20 ] &&
	    ok "[$m] a command that answers without reading the request: 20 of 20 answers arrive" ||
	    notok "[$m] a command that answers without reading: $n of 20 answers arrived"
	kill "$LP"
	wait "$LP" 2>/dev/null
done

# the engine and -P: the same vp-dispatch log lines and exit statuses
norm() {
	{ grep 'vp-dispatch' "$1" | sed -E 's/\[[0-9]+\]//; s/[0-9]+ ms/N ms/; s/[0-9]+\.[0-9]{3} s/N s/; s/:[0-9]+/:P/g'
	  grep -o 'exited [0-9]*' "$1"; } | sort
}
for what in direct exec socks5; do
	if [ "$(norm "$T/engine.$what.log")" = "$(norm "$T/P.$what.log")" ]; then
		ok "[$what] engine and -P: same log lines and exit statuses"
	else
		notok "[$what] engine and -P differ: $(norm "$T/engine.$what.log" | tr '\n' ';') / $(norm "$T/P.$what.log" | tr '\n' ';')"
	fi
done
