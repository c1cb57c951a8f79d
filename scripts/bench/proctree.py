#!/usr/bin/env python3
"""proctree.py PID cpu|ticks|pss|count: for PID and all its live
descendants: CPU seconds (user+sys, reaped children included), the same
in clock ticks, PSS in KiB (smaps_rollup), or how many descendants."""
import os
import sys

root, what = int(sys.argv[1]), sys.argv[2]
kids = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        st = open("/proc/%s/stat" % d).read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    kids.setdefault(int(f[1]), []).append(int(d))


def walk(pid):
    yield pid
    for k in kids.get(pid, []):
        yield from walk(k)


tot = 0
n = -1
for p in walk(root):
    n += 1
    try:
        if what in ("cpu", "ticks"):
            st = open("/proc/%d/stat" % p).read()
            f = st[st.rindex(")") + 2:].split()
            tot += sum(int(x) for x in f[11:15])
        elif what == "pss":
            for ln in open("/proc/%d/smaps_rollup" % p):
                if ln.startswith("Pss:"):
                    tot += int(ln.split()[1])
    except OSError:
        pass
if what == "cpu":
    print("%.3f" % (tot / os.sysconf("SC_CLK_TCK")))
elif what == "count":
    print(n)
else:
    print(int(tot))
