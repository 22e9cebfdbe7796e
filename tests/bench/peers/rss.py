"""Peak memory of process trees while a scenario runs (scenario 5 of tests/bench/run.sh).

usage: rss.py OUT.json MAX_SECONDS LABEL=PID[,PID...] ...
Every 100 ms, for each LABEL, the sum over the given pids and all their descendants of
VmRSS (what `ps` shows; shared pages count once per process) and of Pss (/proc/PID/smaps_rollup:
shared pages split between the processes sharing them, the fair figure for a multi-process
server such as nginx). Stops on SIGTERM/SIGINT or after MAX_SECONDS and writes
{LABEL: {"rss_kib": peak, "pss_kib": peak, "processes": n, "samples": n}}.
"""
import json
import os
import signal
import sys
import time

stop = False


def on_signal(*_):
    global stop
    stop = True


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def tree(pids):
    seen, todo = set(), list(pids)
    while todo and len(seen) < 1000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo += children(p)
    return seen


def field_kib(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    out, max_s = sys.argv[1], float(sys.argv[2])
    groups = {}
    for arg in sys.argv[3:]:
        label, _, pids = arg.partition("=")
        groups[label] = [int(p) for p in pids.split(",") if p]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    peak = {k: {"rss_kib": 0, "pss_kib": 0, "processes": 0, "samples": 0} for k in groups}
    deadline = time.monotonic() + max_s
    while not stop and time.monotonic() < deadline:
        for label, pids in groups.items():
            procs = tree(pids)
            rss = sum(field_kib(f"/proc/{p}/status", "VmRSS:") for p in procs)
            pss = sum(field_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in procs)
            g = peak[label]
            g["rss_kib"] = max(g["rss_kib"], rss)
            g["pss_kib"] = max(g["pss_kib"], pss)
            g["processes"] = max(g["processes"], len(procs))
            g["samples"] += 1
        time.sleep(0.1)
    with open(out, "w") as f:
        json.dump(peak, f)


if __name__ == "__main__":
    main()
