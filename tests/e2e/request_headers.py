"""Summarizes the request header fields an origin saw, by kind of request, from its JSON-lines log.

usage: request_headers.py TITLE LOG[:SKIP]...
Only lines after the first SKIP lines of a log count (so one log can hold several phases).
Prints one block per kind (index page, JSON API, .metadata, file, file range) with the distinct
values of the fields that matter to a cache: Accept, Accept-Encoding, Cache-Control, Pragma,
Range, If-None-Match, If-Modified-Since, User-Agent, and the protocol.
"""
import json
import sys

FIELDS = ("accept", "accept-encoding", "cache-control", "pragma", "range", "if-range",
          "if-none-match", "if-modified-since", "user-agent", "via")


def kind(rec):
    path = rec["path"]
    if path.startswith("/simple/"):
        return "index page (/simple/…)"
    if path.startswith("/pypi/"):
        return "JSON API (/pypi/…/json)"
    if path.endswith(".metadata"):
        return "PEP 658 .metadata"
    if "range" in rec["headers"]:
        return "file, with Range"
    return "file (/packages/…)"


def main():
    title = sys.argv[1]
    seen = {}
    counts = {}
    for arg in sys.argv[2:]:
        log, _, skip = arg.partition(":")
        skip = int(skip or 0)
        try:
            lines = open(log, encoding="utf-8").read().splitlines()[skip:]
        except OSError:
            continue
        for line in lines:
            rec = json.loads(line)
            if rec.get("event") != "request":
                continue
            k = kind(rec)
            counts[k] = counts.get(k, 0) + 1
            fields = seen.setdefault(k, {})
            fields.setdefault("(protocol, method)", set()).add(f'{rec["proto"]} {rec["method"]}')
            for f in FIELDS:
                v = rec["headers"].get(f)
                if f == "user-agent" and v and len(v) > 40:
                    v = v[:40] + "…"
                fields.setdefault(f, set()).add(v if v is not None else "(absent)")
    print(f"--- {title}")
    for k in sorted(seen):
        print(f"  {k}: {counts[k]} request(s)")
        for f, values in seen[k].items():
            print(f"    {f}: {' | '.join(sorted(values))}")


if __name__ == "__main__":
    main()
