"""RESULTS.md and throughput.png from one run of tests/bench/run.sh.

usage: report.py RESULTS.jsonl OUT_DIR [WORK_DIR]
Every figure comes from RESULTS.jsonl (one JSON object per measurement, written by run.sh).
Where a scenario ran in several interleaved rounds the best round of each peer is kept: load from
elsewhere on the machine only ever lowers a figure. The hand-written diagnosis of the profile,
tests/bench/analysis.md, is included as it is.
"""
import collections
import json
import os
import sys

MiB = 1048576.0
HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def ratio(a, b):
    if not a or not b:
        return None
    return a / b


def fr(x, nd=2):
    return "–" if x is None else f"{x:.{nd}f}"


def fmib(x):
    return "–" if not x else f"{x / MiB:,.0f}"


def fint(x):
    return "–" if x is None else f"{x:,.0f}"


def fms(x):
    return "–" if x is None else (f"{x:.1f}" if x >= 10 else f"{x:.2f}")


def mark(ok):
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def good(r):
    """An h2load run that moved bytes and had no failed, errored or timed-out request (a timed
    run of 32 x 150 MiB downloads may complete none within its window)."""
    return bool(r.get("traffic_bytes")) and not r.get("req_failed") and not r.get("req_errored") \
        and not r.get("req_timeout")


def best(rows, metric):
    """{key: row with the highest metric} over rounds."""
    out = {}
    for r in rows:
        k = r["_key"]
        if r.get(metric) is not None and (k not in out or r[metric] > out[k].get(metric, 0)):
            out[k] = r
    return out


def main():
    rows = load(sys.argv[1])
    out_dir = sys.argv[2]
    by = collections.defaultdict(list)
    for r in rows:
        by[r.get("kind")].append(r)
    facts = by["facts"][0] if by["facts"] else {}
    end = by["end"][0] if by["end"] else {}
    aes = {r["cores"]: r.get("bytes_s") for r in by["aes"]}
    cores = facts.get("cores", 2)
    aes_all = aes.get(cores)
    md = []
    w = md.append
    targets = []  # (target, measured, met)

    # --- scenario 1
    bulk = [dict(r, _key=(r["proto"], r["clients"], r["peer"])) for r in by["h2load"]
            if r.get("scenario") == "bulk" and good(r)]
    b1 = best(bulk, "bytes_s")
    s1_rows, s1_h2_ratios, s1_best_pg = [], [], 0
    for proto in ("h2", "h1"):
        for c in (1, 4, 8, 32):
            pg = b1.get((proto, c, "pipgate"), {}).get("bytes_s")
            ng = b1.get((proto, c, "nginx"), {}).get("bytes_s")
            if pg is None and ng is None:
                continue
            rt = ratio(pg, ng)
            if proto == "h2" and rt is not None:
                s1_h2_ratios.append(rt)
            s1_best_pg = max(s1_best_pg, pg or 0)
            s1_rows.append((proto, c, pg, ng, rt))

    # --- scenario 2
    pages = [dict(r, _key=(r["page"], r["enc"], r["proto"], r["peer"])) for r in by["h2load"]
             if r.get("scenario") == "pages" and good(r)]
    b2 = best(pages, "req_s")
    s2_rows, s2_h2_ratios = [], []
    for page in ("small", "large"):
        for enc in ("gzip", "identity"):
            for proto in ("h2", "h1"):
                pg = b2.get((page, enc, proto, "pipgate"), {})
                ng = b2.get((page, enc, proto, "nginx"), {})
                if not pg and not ng:
                    continue
                rt = ratio(pg.get("req_s"), ng.get("req_s"))
                if proto == "h2" and rt is not None:
                    s2_h2_ratios.append(rt)
                s2_rows.append((page, enc, proto, pg, ng, rt))

    # --- scenario 3
    hs = [dict(r, _key=(r["mode"], r["peer"])) for r in by["handshakes"] if r.get("per_s")]
    b3 = best(hs, "per_s")
    s3_ratios = []
    for mode in ("full", "resume"):
        rt = ratio(b3.get((mode, "pipgate"), {}).get("per_s"), b3.get((mode, "nginx"), {}).get("per_s"))
        if rt is not None:
            s3_ratios.append(rt)

    # --- scenario 4
    cold = {r["peer"]: r for r in by["cold"]}
    coal = {r["peer"]: r for r in by["coalesce"]}
    # --- scenario 5
    rss = {r["phase"]: r["peaks"] for r in by["rss"]}

    def peak(phase, label, field="rss_kib"):
        p = rss.get(phase, {}).get(label)
        return p.get(field) if p else None

    # --- targets
    if s1_h2_ratios:
        targets.append(("Scenario 1 (cached 150 MiB wheel, h2): pipgate ≥ 1.2× nginx at every concurrency",
                        "min " + fr(min(s1_h2_ratios)) + "×, max " + fr(max(s1_h2_ratios)) + "×",
                        min(s1_h2_ratios) >= 1.2))
    if s2_h2_ratios:
        targets.append(("Scenario 2 (cached index pages, h2): pipgate ≥ 1.2× nginx on every page/encoding",
                        "min " + fr(min(s2_h2_ratios)) + "×, max " + fr(max(s2_h2_ratios)) + "×",
                        min(s2_h2_ratios) >= 1.2))
    if s3_ratios:
        targets.append(("Scenario 3 (new TLS connections/s): pipgate ≥ 1.0× nginx, full and resumed",
                        "full " + fr(s3_ratios[0]) + "×" + (", resumed " + fr(s3_ratios[1]) + "×" if len(s3_ratios) > 1 else ""),
                        min(s3_ratios) >= 1.0))
    c = coal.get("pipgate")
    if c and c.get("ttfb_max_s") is not None:
        spread = (c["ttfb_max_s"] - c["ttfb_min_s"]) * 1000
        text = (f"from each client's start: last follower {spread:.0f} ms after the leader "
                f"(median {(c['ttfb_median_s'] - c['ttfb_min_s']) * 1000:.0f} ms)")
        ok = spread <= 50
        if c.get("req_ttfb_max_s") is not None:
            rspread = (c["req_ttfb_max_s"] - c["req_ttfb_min_s"]) * 1000
            text += (f"; from each request sent (without the client's own TLS queue): last "
                     f"{rspread:.0f} ms after the first")
            ok = rspread <= 50
        targets.append(("Scenario 4: 20 followers' first byte within 50 ms of the leader's "
                        "(judged from each request sent)", text, ok))
    stream_peaks = [x for x in (peak("bulk4-pipgate", "pipgate"), peak("bulk32-pipgate", "pipgate"),
                                peak("coalesce-pipgate", "pipgate")) if x]
    if stream_peaks:
        targets.append(("Scenario 5: pipgate's total RSS < 100 MiB while streaming (4, 32) and coalescing",
                        f"peak {max(stream_peaks) / 1024:.1f} MiB", max(stream_peaks) < 100 * 1024))
    idle = [x for x in (peak("idle-fresh", "pipgate"), peak("idle-warm", "pipgate"),
                        peak("idle-after", "pipgate")) if x]
    if idle:
        targets.append(("Scenario 5: pipgate's total RSS ≤ 30 MiB idle",
                        " / ".join(f"{x / 1024:.1f}" for x in idle) + " MiB (fresh / warm / after the load)",
                        max(idle) <= 30 * 1024))
    if aes_all and s1_best_pg:
        targets.append((f"Scenario 1: ≥ 60 % of the {cores}-core AES-128-GCM limit",
                        f"{100 * s1_best_pg / aes_all:.0f} % ({fmib(s1_best_pg)} of {fmib(aes_all)} MiB/s)",
                        s1_best_pg / aes_all >= 0.6))

    # --- the document
    w("# pipgate against its peers: benchmark results")
    w("")
    w(f"Measured by `tests/bench/run.sh`{' --quick' if facts.get('quick') else ''} on "
      f"{facts.get('date', '?')}, in {end.get('elapsed_s', '?')} s: pipgate and its peers on the same "
      "machine in the same run, each scenario interleaved between the peers"
      f" ({facts.get('rounds')} round(s), the best of each peer kept; h2load runs of "
      f"{facts.get('dur')} s after 1 s of warm-up). **Every ratio reads \"above 1: pipgate is better\"**: "
      "pipgate / peer for rates, peer / pipgate for times and memory (those columns say so). Raw figures: "
      "`results.jsonl`; chart: `throughput.png`. Not a test: figures depend on the machine and on "
      "whatever else runs on it; compare ratios from one run.")
    w("")
    la_b = facts.get("loadavg_before") or ["?"] * 3
    la_a = end.get("loadavg_after") or ["?"] * 3
    quiet = None
    try:
        quiet = float(la_b[0]) < 0.7
    except (TypeError, ValueError):
        pass
    w("| machine | |")
    w("|---|---|")
    w(f"| CPU | {facts.get('cpu', '?')}, {cores} cores (client and servers share them) |")
    w(f"| memory, kernel, OS | {facts.get('memory', '?')}, Linux {facts.get('kernel', '?')}, {facts.get('os', '?')} |")
    rose = False
    try:
        rose = quiet and float(la_a[0]) >= 1.0
    except (TypeError, ValueError):
        pass
    w(f"| load average (1, 5, 15 min) | before {' '.join(la_b)}; after {' '.join(la_a)}"
      + ("" if quiet else " — **not a quiet machine**: other builds and tests ran beside the benchmark; "
         "both peers were measured under the same conditions, interleaved")
      + (" — quiet at the start (below 0.7); other work on the machine resumed during the run, "
         "which both peers met alike (interleaved rounds, best kept)" if rose else "") + " |")
    w(f"| AES-128-GCM (`openssl speed -evp aes-128-gcm`, 16 KiB) | {fmib(aes.get(cores))} MiB/s on {cores} cores, "
      f"{fmib(aes.get(1))} MiB/s on 1 |")
    w(f"| kernel TLS (sendfile over TLS for nginx) | {'available' if facts.get('ktls') else 'not available (no tls module): nginx encrypts in user space, like pipgate'} |")
    w(f"| origin | tests/e2e/origin.py (h2 + HTTP/1.1), {facts.get('origin_rate')} (tc tbf), "
      f"{facts.get('origin_latency_ms')} ms before each response head |")
    w(f"| pipgate revision | {facts.get('git', '?')}; binary sha256 {facts.get('binary', '?')} |")
    if facts.get("scale", 1) != 1:
        w(f"| object sizes | scaled by {facts.get('scale')} (a development run, not the real figures) |")
    w("")
    v = facts.get("versions", {})
    w("Versions: " + "; ".join(f"{k} `{v[k]}`" for k in v) + ".")
    w("")

    w("## Targets")
    w("")
    w("| target | measured | |")
    w("|---|---|---|")
    for t, m, ok in targets:
        w(f"| {t} | {m} | {mark(ok)} |")
    w("")

    w("## 1. Cached 150 MiB wheel: throughput (MiB/s)")
    w("")
    w("`h2load -c N -m 1` (h2) and `h2load --h1 -c N` downloading the same cached wheel over and "
      "over, TLS_AES_128_GCM_SHA256, from the client namespace (one h2load thread).")
    w("")
    w(f"| protocol | clients | pipgate | nginx | ratio | pipgate, % of {cores}-core AES-GCM |")
    w("|---|---:|---:|---:|---:|---:|")
    for proto, c, pg, ng, rt in s1_rows:
        pct = f"{100 * pg / aes_all:.0f} %" if pg and aes_all else "–"
        w(f"| {proto} | {c} | {fmib(pg)} | {fmib(ng)} | {fr(rt)} | {pct} |")
    w("")

    w("## 2. Cached index pages: requests/s and latency")
    w("")
    w("PEP 691 JSON project pages (`Accept: application/vnd.pypi.simple.v1+json`), small "
      f"(~2 KiB) and large (~2 MiB), gzip or identity (both proxies store gzip and decode for "
      "identity clients). h2: `h2load -c 4 -m 32` (128 streams in flight; `-m 4` for the large "
      "page); h1: `h2load --h1 -c 32` keep-alive. Latency: p50 / p99 of every answer, ms.")
    w("")
    w("| page | encoding | protocol | pipgate req/s | nginx req/s | ratio | pipgate p50 / p99 | nginx p50 / p99 |")
    w("|---|---|---|---:|---:|---:|---:|---:|")
    for page, enc, proto, pg, ng, rt in s2_rows:
        w(f"| {page} | {enc} | {proto} | {fint(pg.get('req_s'))} | {fint(ng.get('req_s'))} | {fr(rt)} | "
          f"{fms(pg.get('p50_ms'))} / {fms(pg.get('p99_ms'))} | {fms(ng.get('p50_ms'))} / {fms(ng.get('p99_ms'))} |")
    w("")

    w("## 3. New TLS connections per second")
    w("")
    w("`peers/handshakes.c`: 2 client processes, each connection a TLS 1.3 handshake "
      "(X25519, ECDSA P-256 leaf verified against the CA, as pip does), one small GET, close. "
      "Resumed: each connection offers the last session ticket it got.")
    w("")
    w("| handshake | pipgate conn/s | nginx conn/s | ratio | pipgate resumed | nginx resumed |")
    w("|---|---:|---:|---:|---:|---:|")
    for mode in ("full", "resume"):
        pg, ng = b3.get((mode, "pipgate"), {}), b3.get((mode, "nginx"), {})
        if not pg and not ng:
            continue

        def reuse(d):
            return f"{100 * d['reused'] / d['connections']:.0f} %" if d.get("connections") else "–"
        w(f"| {'full' if mode == 'full' else 'resumed'} | {fint(pg.get('per_s'))} | {fint(ng.get('per_s'))} | "
          f"{fr(ratio(pg.get('per_s'), ng.get('per_s')))} | {reuse(pg)} | {reuse(ng)} |")
    w("")

    w(f"## 4. Cold misses through a {facts.get('origin_rate', '400mbit')} origin")
    w("")
    if cold:
        w("One client, the 150 MiB wheel, nothing cached (h2):")
        w("")
        w("| | pipgate | nginx | ratio |")
        w("|---|---:|---:|---:|")
        pg, ng = cold.get("pipgate", {}), cold.get("nginx", {})
        w(f"| throughput, MiB/s | {fr((pg.get('bytes_s') or 0) / MiB, 1)} | {fr((ng.get('bytes_s') or 0) / MiB, 1)} | "
          f"{fr(ratio(pg.get('bytes_s'), ng.get('bytes_s')))} |")
        w(f"| time to first byte, ms (ratio nginx / pipgate) | {fms((pg.get('ttfb_s') or 0) * 1000)} | {fms((ng.get('ttfb_s') or 0) * 1000)} | "
          f"{fr(ratio(ng.get('ttfb_s'), pg.get('ttfb_s')))} |")
        w(f"| answer, X-Cache, bytes as published | {pg.get('code')} {pg.get('x_cache')} {pg.get('sha_ok')} | "
          f"{ng.get('code')} {ng.get('x_cache')} {ng.get('sha_ok')} | |")
        w("")
    if coal:
        w("21 clients ask for the same cold 64 MiB wheel at once (one curl, `--parallel-immediate`: "
          "each its own h2 connection). First byte of each, from its own start (curl's "
          "`time_starttransfer`, which includes the wait for the client's own TLS handshakes, done "
          "one after the other by the one curl process) and from its request sent "
          "(`time_starttransfer - time_pretransfer`: the server's part): the first client is "
          "the leader, the other 20 the followers. nginx's `proxy_cache_lock` makes followers "
          "wait for the whole file (polling every 500 ms); pipgate streams the fill to all.")
        w("")
        w("| | pipgate | nginx |")
        w("|---|---:|---:|")
        pg, ng = coal.get("pipgate", {}), coal.get("nginx", {})

        def ms(d, k):
            return fms(d[k] * 1000) if d.get(k) is not None else "–"
        w(f"| leader's first byte, ms | {ms(pg, 'ttfb_min_s')} | {ms(ng, 'ttfb_min_s')} |")
        w(f"| followers' first byte, median, ms | {ms(pg, 'ttfb_median_s')} | {ms(ng, 'ttfb_median_s')} |")
        w(f"| last follower's first byte, ms | {ms(pg, 'ttfb_max_s')} | {ms(ng, 'ttfb_max_s')} |")
        if pg.get("req_ttfb_min_s") is not None or ng.get("req_ttfb_min_s") is not None:
            w(f"| from the request sent: first / median / last, ms | {ms(pg, 'req_ttfb_min_s')} / "
              f"{ms(pg, 'req_ttfb_median_s')} / {ms(pg, 'req_ttfb_max_s')} | {ms(ng, 'req_ttfb_min_s')} / "
              f"{ms(ng, 'req_ttfb_median_s')} / {ms(ng, 'req_ttfb_max_s')} |")
        w(f"| all 21 complete, s | {fr(pg.get('total_max_s'))} | {fr(ng.get('total_max_s'))} |")
        w(f"| complete answers / upstream fetches | {pg.get('complete')}/21, {pg.get('upstream_gets')} | "
          f"{ng.get('complete')}/21, {ng.get('upstream_gets')} |")
        w("")

    w("## 5. Memory of all processes (MiB, peak)")
    w("")
    w("pipgate: `pipgate run` and its `pipgate-dns`. nginx: master, workers, cache manager and "
      "loader; the classic recipe also runs dnsmasq, shown apart. RSS counts shared pages once per "
      "process (the issue's measure); PSS splits them between the processes sharing them.")
    w("")
    w("| phase | pipgate RSS | nginx RSS | ratio (nginx / pipgate) | pipgate PSS | nginx PSS | dnsmasq RSS |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    labels = [("idle-fresh", "idle, just started"), ("idle-warm", "idle, caches warm"),
              ("bulk4-pipgate", "during 4 downloads (pipgate)"), ("bulk4-nginx", "during 4 downloads (nginx)"),
              ("bulk32-pipgate", "during 32 downloads (pipgate)"), ("bulk32-nginx", "during 32 downloads (nginx)"),
              ("coalesce-pipgate", "coalescing 21 clients (pipgate)"), ("coalesce-nginx", "coalescing 21 clients (nginx)"),
              ("idle-after", "idle, after all scenarios")]
    for phase, name in labels:
        if phase not in rss:
            continue
        p, n, d = rss[phase].get("pipgate", {}), rss[phase].get("nginx", {}), rss[phase].get("dnsmasq", {})
        # Under load only the loaded peer's figure is meaningful: the other one idles.
        show_p = not phase.endswith("-nginx")
        show_n = not phase.endswith("-pipgate")
        f = lambda x: f"{x / 1024:.1f}" if x else "–"  # noqa: E731
        rt = ratio(n.get("rss_kib"), p.get("rss_kib")) if show_p and show_n else None
        w(f"| {name} | {f(p.get('rss_kib')) if show_p else ''} | {f(n.get('rss_kib')) if show_n else ''} | "
          f"{fr(rt)} | {f(p.get('pss_kib')) if show_p else ''} | {f(n.get('pss_kib')) if show_n else ''} | "
          f"{f(d.get('rss_kib'))} |")
    w("")

    pips = {(r["peer"], r["phase"]): r for r in by["pip"]}
    if pips:
        w("## 6. `pip install` of a data-science stack")
        w("")
        w("Debian's pip, default index (no URL option), through each peer's DNS and proxy, "
          "`--no-cache-dir --target`: `pip install pandas scikit-learn matplotlib seaborn "
          "statsmodels sympy networkx pyarrow h5py numba jinja2 requests tqdm`, 36 wheels built "
          "for the run with sizes like the real ones (numpy 18 MiB, scipy 36 MiB, pyarrow 38 MiB, "
          "llvmlite 42 MiB, ...; ~210 MiB in all), resolved from PEP 691 JSON and PEP 658 metadata. "
          "Cold: one run, nothing cached. Warm: hyperfine.")
        w("")
        w("| | pipgate | nginx | ratio (nginx / pipgate) |")
        w("|---|---:|---:|---:|")
        pc, nc = pips.get(("pipgate", "cold"), {}), pips.get(("nginx", "cold"), {})
        w(f"| cold, s | {fr(pc.get('seconds'))} | {fr(nc.get('seconds'))} | {fr(ratio(nc.get('seconds'), pc.get('seconds')))} |")
        pw, nw = pips.get(("pipgate", "warm"), {}), pips.get(("nginx", "warm"), {})
        w(f"| warm, min, s | {fr(pw.get('min_s'))} | {fr(nw.get('min_s'))} | {fr(ratio(nw.get('min_s'), pw.get('min_s')))} |")
        w(f"| warm, median, s | {fr(pw.get('median_s'))} | {fr(nw.get('median_s'))} | {fr(ratio(nw.get('median_s'), pw.get('median_s')))} |")
        w(f"| packages installed (cold, warm) | {pc.get('installed')}, {pw.get('installed')} | {nc.get('installed')}, {nw.get('installed')} | |")
        w(f"| origin requests during the warm runs | {pw.get('origin_requests')} | {nw.get('origin_requests')} | |")
        w("")

    if by["store"]:
        w("## 7. Store (tests/bench/store/store_bench)")
        w("")
        w("Run with a 256 MiB object; the page-cache-dropped rows are left out (the bench may not "
          "drop the page cache of a shared machine). nginx has no equivalent: its cache index is "
          "rebuilt by the cache loader in the background after a start, in 100-file batches.")
        w("")
        if by["store"][0].get("bin"):
            w(f"store_bench: `{by['store'][0]['bin']}`.")
            w("")
        w("| measure | value | note |")
        w("|---|---|---|")
        for k, (val, note) in by["store"][0]["rows"].items():
            w(f"| {k} | {val} | {note} |")
        w("")

    if by["dns"] and by["dns"][0]["rows"]:
        w("## DNS (tests/bench/dns/run_bench.sh)")
        w("")
        w("dnsperf queries/s, one server thread each, the same answers and the same upstream, "
          "best of 2 rounds.")
        w("")
        w("| queries | pipgate-dns | dnsmasq | unbound | / dnsmasq | / unbound |")
        w("|---|---:|---:|---:|---:|---:|")
        for kind, r in by["dns"][0]["rows"].items():
            w(f"| {kind} | {fint(r['pipgate'])} | {fint(r['dnsmasq'])} | {fint(r['unbound'])} | "
              f"{fr(ratio(r['pipgate'], r['dnsmasq']))} | {fr(ratio(r['pipgate'], r['unbound']))} |")
        w("")

    w("## How the peers were set up")
    w("")
    w("- Topology (`peers/lib.sh`): three network namespaces. Clients (`10.79.1.2`) reach pipgate "
      "(`10.79.1.1`, `pipgate run`: proxy and pipgate-dns) and nginx (`10.79.1.3`) over one veth; "
      "the dnsmasq of the classic recipe (`10.79.1.4`) answers the two names with nginx's "
      "address. Both proxies reach the same fake PyPI over a second veth shaped by `tc tbf`.")
    w("- Same certificates: nginx serves pipgate's own ECDSA P-256 leaves and keys, followed by "
      "pipgate's CA as pipgate sends it. Clients trust only that CA.")
    w("- Same cipher in scenarios 1–4: the clients offer only TLS_AES_128_GCM_SHA256; both servers "
      "otherwise follow the client's preference (pip gets AES-256-GCM from both).")
    w("- nginx 1.22: `peers/nginx_conf.sh` writes the configuration, every directive explained: "
      "`worker_processes auto`, `reuseport`, `http2`, `sendfile`/`tcp_nopush`/`tcp_nodelay`, "
      "`keepalive_timeout 60s`, `open_file_cache`, `output_buffers 2 256k`, `ssl_session_cache` "
      "and tickets, `ssl_buffer_size 16k`, `http2_chunk_size 16k`, `proxy_cache` with "
      "`proxy_cache_lock` (timeout and age raised to 600 s so there is one upstream fetch), "
      "`proxy_cache_revalidate`, `proxy_cache_use_stale`, upstream keep-alive and verified TLS, "
      "gzip from upstream with `gunzip` for identity clients, the PEP 691 variant in the key, "
      "`access_log off`. pipgate: `peers/lib.sh` writes its configuration (`log_level = \"warn\"`, "
      "the rest defaults: one event loop per core with SO_REUSEPORT, 100 h2 streams).")
    w("- Both caches are checked before timing: each object's second answer says `X-Cache: HIT` "
      "(nginx: `$upstream_cache_status`), and both peers serve identical bytes:")
    w("")
    vr = by["verify"][0] if by["verify"] else None
    if vr:
        w(f"  all hits: **{vr['all_hits']}**, identical bytes: **{vr['identical']}**, the wheel's "
          f"sha256 as published: **{vr['big_sha_ok']}**.")
        w("")
        w("  | peer | object | X-Cache | sha256 (16) | bytes | encoding |")
        w("  |---|---|---|---|---:|---|")
        for line in vr["table"]:
            f = line.split()
            f += [""] * (6 - len(f))
            w("  | " + " | ".join(f[:6]) + " |")
        w("")

    w("## What limits pipgate")
    w("")
    analysis = os.path.join(HERE, "..", "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            md.append(f.read().rstrip())
        w("")
    for p in by["profile"]:
        what = {"bulk": "scenario 1, h2, 8 clients (150 MiB wheel)",
                "pages": "scenario 2, h1 keep-alive, 32 clients, small page, gzip"}.get(p["what"], p["what"])
        h = p.get("h2load", {})
        w(f"### perf profile of pipgate: {what}")
        w("")
        w("`perf record -F 499 --call-graph dwarf -p <pipgate>` for one h2load run (under perf: "
          f"{fmib(h.get('bytes_s'))} MiB/s, {fint(h.get('req_s'))} req/s). Self time by shared object, "
          "the top symbols (self), and inclusive time of pipgate's own functions and the libraries' "
          f"entry points (children). Callers of each hot spot: `profile-{p['what']}.txt`.")
        w("")
        w("```")
        md.extend(p.get("dsos", [])[:10])
        w("")
        md.extend(p.get("symbols", [])[:25])
        w("")
        md.extend(p.get("children", [])[:25])
        w("```")
        w("")

    with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    chart(out_dir, b1, b2, aes, cores, facts)


def chart(out_dir, b1, b2, aes, cores, facts):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [3, 2]})
    style = {("pipgate", "h2"): ("tab:blue", "-", "o"), ("pipgate", "h1"): ("tab:blue", "--", "s"),
             ("nginx", "h2"): ("tab:green", "-", "o"), ("nginx", "h1"): ("tab:green", "--", "s")}
    for (peer, proto), (color, ls, mk) in style.items():
        xs, ys = [], []
        for c in (1, 4, 8, 32):
            r = b1.get((proto, c, peer))
            if r and r.get("bytes_s"):
                xs.append(c)
                ys.append(r["bytes_s"] / MiB)
        if xs:
            ax.plot(xs, ys, color=color, linestyle=ls, marker=mk,
                    label=f"{peer} {'HTTP/2' if proto == 'h2' else 'HTTP/1.1'}")
    if aes.get(cores):
        ax.axhline(aes[cores] / MiB, color="grey", linestyle=":", label=f"AES-128-GCM, {cores} cores")
        ax.axhline(0.6 * aes[cores] / MiB, color="tab:red", linestyle=":", linewidth=1,
                   label="target: 60 % of it")
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 4, 8, 32])
    ax.set_xticklabels(["1", "4", "8", "32"])
    ax.set_xlabel("concurrent clients (h2load)")
    ax.set_ylabel("MiB/s")
    ax.set_ylim(bottom=0)
    ax.set_title("Cached 150 MiB wheel: throughput vs concurrency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    labels, pg, ng = [], [], []
    for page in ("small", "large"):
        for enc in ("gzip", "identity"):
            for proto in ("h2", "h1"):
                a = b2.get((page, enc, proto, "pipgate"), {}).get("req_s")
                b = b2.get((page, enc, proto, "nginx"), {}).get("req_s")
                if a is None and b is None:
                    continue
                labels.append(f"{page}\n{enc}\n{proto}")
                pg.append(a or 0)
                ng.append(b or 0)
    if labels:
        import numpy as np
        x = np.arange(len(labels))
        ax2.bar(x - 0.2, pg, 0.4, label="pipgate", color="tab:blue")
        ax2.bar(x + 0.2, ng, 0.4, label="nginx", color="tab:green")
        ax2.set_yscale("log")
        ax2.set_xticks(x)
        ax2.set_xticklabels(labels, fontsize=7)
        ax2.set_ylabel("requests/s (log)")
        ax2.set_title("Cached index pages")
        ax2.legend(fontsize=8)
        ax2.grid(True, axis="y", alpha=0.3)
    note = f"{facts.get('date', '')}, {facts.get('cpu', '')}, {cores} cores shared by client and server"
    if facts.get("scale", 1) != 1:
        note += f", objects scaled by {facts.get('scale')}"
    fig.text(0.01, 0.01, note, fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(os.path.join(out_dir, "throughput.png"), dpi=110)


if __name__ == "__main__":
    main()
