#!/bin/sh
# vp-dispatch -v's one line per connection has one shape whatever the
# route or inbound: "route R: HOST:PORT: N bytes out, N bytes in, S.MMM s,
# END". A plain HTTP request (relayed by vp-dispatch itself, and by
# vp-listen's engine) once said "(ADDR)" and "N ms" where a CONNECT said
# "N.NNN s". Both with the engine and with vp-listen -P.
. "$(dirname "$0")/lib.sh"
need curl python3
H="python3 $VP_SRC/tests/integration/dispatch_helper.py"

mkdir -p "$T/www"
rand_file "$T/www/f" 100000
listen_ready WEB $H http "$T/www" || { notok "http origin"; exit 1; }

# wait_lines LOG N: bounded wait for N "bytes out" lines in LOG.
wait_lines() {
	_i=0
	while [ "$(grep -c 'bytes out' "$1")" -lt "$2" ] && [ $_i -lt 200 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
}

for mode in engine -P; do
	opt=""
	[ "$mode" = -P ] && opt=-P
	listen_ready P vp-listen -1 $opt tcp:127.0.0.1:0 vp-dispatch -v \
	    2>"$T/log.$mode" || { notok "$mode: vp-listen"; continue; }
	LP=$LASTPID
	rm -f "$T/got"
	curl -s -m 20 -x "http://127.0.0.1:$P" -o "$T/got" \
	    "http://127.0.0.1:$WEB/f" && same "$T/got" "$T/www/f" ||
	    notok "$mode: plain GET"
	curl -s -m 20 -p -x "http://127.0.0.1:$P" -o "$T/got" \
	    "http://127.0.0.1:$WEB/f" && same "$T/got" "$T/www/f" ||
	    notok "$mode: CONNECT GET"
	curl -s -m 20 --socks5-hostname "127.0.0.1:$P" -o "$T/got" \
	    "http://127.0.0.1:$WEB/f" && same "$T/got" "$T/www/f" ||
	    notok "$mode: socks5h GET"
	wait_lines "$T/log.$mode" 3
	kill "$LP"
	n=$(grep -c 'bytes out' "$T/log.$mode")
	good=$(grep -cE "info: route direct: 127\.0\.0\.1:$WEB: [0-9]+ bytes out, [0-9]+ bytes in, [0-9]+\.[0-9]{3} s, [a-z]" "$T/log.$mode")
	if [ "$n" -eq 3 ] && [ "$good" -eq 3 ]; then
		ok "$mode: plain GET, CONNECT and SOCKS5 log lines of one shape"
	else
		notok "$mode: $good of $n lines of the common shape"
		grep 'bytes out' "$T/log.$mode"
	fi
done
finish
