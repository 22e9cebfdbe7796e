"""One h2load run as JSON: h2load_json.py STDOUT_FILE [LOG_FILE] [key=value ...]

From h2load's summary: duration, requests (done, succeeded, failed, errored), bytes, req/s,
bytes/s (bytes received in the main duration / main_s, as h2load's own MB/s), TLS version,
cipher, ALPN. From --log-file (one line per request: start µs, status, duration µs):
p50/p90/p99 latency of 2xx answers.
key=value pairs are copied in (peer, scenario, ...). Prints one JSON line.
"""
import json
import re
import sys


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def main():
    out = {}
    for kv in sys.argv[3:]:
        k, _, v = kv.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    text = open(sys.argv[1], errors="replace").read()
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    if m:
        d = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        out["duration_s"] = d
        out["req_s"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", text)
    if m:
        for k, v in zip(("total", "started", "done", "succeeded", "failed", "errored", "timeout"),
                        m.groups()):
            out["req_" + k] = int(v)
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if m:
        out["status_2xx"], out["status_3xx"], out["status_4xx"], out["status_5xx"] = map(int, m.groups())
    m = re.search(r"traffic: .*?\((\d+)\) total, .*?\((\d+)\) headers.*?, .*?\((\d+)\) data", text)
    if m:
        out["traffic_bytes"], out["header_bytes"], out["data_bytes"] = map(int, m.groups())
        # In a timed run (-D), "traffic ... total" counts what arrived in the main duration
        # (h2load's MB/s is total / main duration); "finished in" includes the warm-up.
        if out.get("main_s"):
            out["bytes_s"] = out["traffic_bytes"] / out["main_s"]
    for key, pat in (("tls", r"TLS Protocol: (\S+)"), ("cipher", r"Cipher: (\S+)"),
                     ("alpn", r"Application protocol: (\S+)")):
        m = re.search(pat, text)
        if m:
            out[key] = m.group(1)
    if len(sys.argv) > 2 and sys.argv[2] not in ("", "-"):
        lat = []
        try:
            with open(sys.argv[2]) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 3 and parts[1].startswith("2"):
                        lat.append(int(parts[2]) / 1000.0)
        except OSError:
            pass
        lat.sort()
        out["latency_n"] = len(lat)
        for p in (50, 90, 99):
            v = pct(lat, p)
            out[f"p{p}_ms"] = round(v, 3) if v is not None else None
    # A timed run of big downloads may end before any of them completes (32 clients x 150 MiB):
    # it is good when bytes arrived and nothing failed.
    out["ok"] = bool(out.get("traffic_bytes")) and out.get("req_failed", 0) == 0 and \
        out.get("req_errored", 0) == 0 and out.get("req_timeout", 0) == 0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
