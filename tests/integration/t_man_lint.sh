#!/bin/sh
# Every man page is clean under mandoc -Tlint, documents EXIT STATUS and
# EXAMPLES, and names every option its program's usage message shows.
. "$(dirname "$0")/lib.sh"
need mandoc
for m in "$VP_SRC"/man/*.[1-9]; do
	n=${m##*/}
	out=$(mandoc -Tlint -W warning "$m" 2>&1)
	if [ -z "$out" ]; then ok "$n: mandoc -Tlint clean"; else notok "$n: $out"; fi
	case "$n" in *.1)
		grep -q '^\.Sh EXIT STATUS' "$m" && grep -q '^\.Sh EXAMPLES' "$m" &&
		    ok "$n: EXIT STATUS and EXAMPLES" || notok "$n: EXIT STATUS or EXAMPLES missing"
		prog=${n%.1}
		# every single-letter option in the usage message is documented
		missing=""
		for f in $("$prog" -\? 2>&1 | grep -o '\[-[0-9A-Za-z]\+' | tr -d '[-' | fold -w1 | sort -u); do
			grep -q "^\.It Fl $f\b\|^\.It Fl $f\$" "$m" || missing="$missing -$f"
		done
		[ -z "$missing" ] && ok "$n: every option in the usage message is documented" ||
		    notok "$n: undocumented options:$missing"
	esac
done
finish
