#!/usr/bin/env bash
# pipgate against its peers, same machine, same run: nginx 1.22 (+ dnsmasq) as the classic
# caching-proxy recipe, dnsmasq and unbound for DNS. Writes, in tests/bench/: RESULTS.md
# (figures, ratios, targets, machine facts, versions, date, and analysis.md, the hand-written
# diagnosis), throughput.png (throughput vs concurrency), results.jsonl (every raw figure;
# peers/report.py RESULTS.jsonl DIR rebuilds the report from it) and profile-{bulk,pages}.txt
# (perf call graphs of pipgate). Not a ctest: timings depend on the machine; read the ratios,
# which come from one run.
#
#   tests/bench/run.sh                 # the full run, < 15 min (hard limit: TIME_LIMIT=870 s)
#   tests/bench/run.sh --quick         # small objects, 2 s runs: checks the harness in ~5 min
#   tests/bench/run.sh --wait-quiet    # first wait (up to 40 min) for a 1-minute load below 0.7
#   OUT=/tmp/b tests/bench/run.sh      # write the report elsewhere
# Knobs (environment): BUILD (build dir with pipgate, pipgate-dns; default build/), DUR (seconds
# per h2load run, 4), ROUNDS (interleaved rounds, best kept, 2), SCALE (object sizes, 1),
# STORE_BENCH (store_bench binary), STORE_OBJECTS (1000000), PIP_RUNS (warm pip runs, 3),
# PROFILE (1: perf record pipgate during scenarios 1 and 2), KEEP_WORK=1, ONLY (a subset of
# scenarios: "s1 s3"), HOLD=SECONDS (keep the world up after warming, for a look by hand).
# Needs root (network namespaces) and deploy/install-deps.sh --with bench.
# Scenario numbers are those of the benchmark issue; the peers' configuration is in
# tests/bench/peers/nginx_conf.sh (every directive explained) and peers/lib.sh.
set -uo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/../.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
OUT="${OUT:-$BENCH}"
QUICK=0
WAIT_QUIET=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --wait-quiet) WAIT_QUIET=1 ;;
    *) echo "usage: $0 [--quick] [--wait-quiet]" >&2; exit 2 ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  SCALE="${SCALE:-0.05}" DUR="${DUR:-2}" ROUNDS="${ROUNDS:-1}" STORE_OBJECTS="${STORE_OBJECTS:-20000}"
  PIP_RUNS="${PIP_RUNS:-2}" DNS_SECONDS="${DNS_SECONDS:-2}"
fi
SCALE="${SCALE:-1}" DUR="${DUR:-4}" ROUNDS="${ROUNDS:-2}" STORE_OBJECTS="${STORE_OBJECTS:-1000000}"
PIP_RUNS="${PIP_RUNS:-3}" DNS_SECONDS="${DNS_SECONDS:-4}" PROFILE="${PROFILE:-1}"
TIME_LIMIT="${TIME_LIMIT:-870}"
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces)" >&2; exit 2; }

PIPGATE="$(realpath "$BUILD/pipgate" 2>/dev/null)"
PIPGATE_DNS="$(realpath "$BUILD/pipgate-dns" 2>/dev/null)"
[ -x "$PIPGATE" ] && [ -x "$PIPGATE_DNS" ] ||
  { echo "run.sh: no $BUILD/pipgate or pipgate-dns: ninja -C $BUILD pipgate pipgate-dns" >&2; exit 2; }
for tool in nginx h2load hyperfine dnsmasq unbound dnsperf curl openssl dig tc cc; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool missing: deploy/install-deps.sh --with bench" >&2; exit 2; }
done
/usr/bin/python3 -c 'import matplotlib, h2, pip' 2>/dev/null ||
  { echo "run.sh: python3-matplotlib / python3-h2 / python3-pip missing: deploy/install-deps.sh --with bench" >&2; exit 2; }

if [ "$WAIT_QUIET" = 1 ]; then  # a machine others build on: wait for a quiet minute
  for _ in $(seq 80); do
    awk '{ exit !($1 < 0.7) }' /proc/loadavg && break
    echo "run.sh: load $(cut -d' ' -f1-3 /proc/loadavg); waiting for < 0.7" >&2
    sleep 30
  done
fi

# shellcheck source=peers/lib.sh
source "$BENCH/peers/lib.sh"
# Private copies of the binaries: a rebuild of build/ during the run changes nothing, and perf
# still finds the symbols of the running executable.
mkdir -p "$WORK/bin"
cp -p "$PIPGATE" "$PIPGATE_DNS" "$WORK/bin/" || die "copying the binaries"
PIPGATE="$WORK/bin/pipgate"
PIPGATE_DNS="$WORK/bin/pipgate-dns"
RESULTS="$WORK/results.jsonl"
START=$SECONDS
# The hard bound: whatever happens, the run ends (and cleans up) within TIME_LIMIT.
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$TIME_LIMIT" &
  sp=$!
  wait "$sp" && log "TIME_LIMIT ${TIME_LIMIT}s reached: stopping" && kill -TERM $$
) 2>/dev/null &
WATCHDOG_PID=$!
PIDS+=("$WATCHDOG_PID")
budget_left() { echo $((TIME_LIMIT - 60 - (SECONDS - START))); }  # 60 s kept for the report
record() { echo "$1" >>"$RESULTS"; }  # record JSON
jnum() { [ -n "$1" ] && echo "$1" || echo null; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
PEERS_LIST=(pipgate nginx)

# --- facts --------------------------------------------------------------------------------
facts() {
  local cpu mem
  cpu=$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
  mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
  /usr/bin/python3 - "$cpu" "$mem" >>"$RESULTS" <<EOF
import json, subprocess, sys, os, platform, datetime
def out(cmd):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except Exception as e:
        return "?"
print(json.dumps({"kind": "facts", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
  "cpu": sys.argv[1], "cores": os.cpu_count(), "memory": sys.argv[2], "kernel": platform.release(),
  "os": out("grep PRETTY_NAME /etc/os-release | cut -d= -f2 | tr -d '\"'"),
  "loadavg_before": open("/proc/loadavg").read().split()[:3],
  "quick": $QUICK, "scale": $SCALE, "dur": $DUR, "rounds": $ROUNDS,
  "origin_rate": "$ORIGIN_RATE", "origin_latency_ms": $ORIGIN_LATENCY_MS,
  "ktls": os.path.exists("/proc/net/tls_stat"),
  "binary": out("sha256sum '$PIPGATE' | cut -c1-12") + ", built " + out("date -u -r '$PIPGATE' '+%F %H:%M UTC'"),
  "git": out("git -C '$ROOT' rev-parse --short HEAD") + (" (dirty)" if out("git -C '$ROOT' status --porcelain -- proxy app store certs common dns | head -1") not in ("", "?") else ""),
  "versions": {"pipgate": out("'$PIPGATE' version"), "nginx": out("nginx -v"),
    "openssl": out("openssl version"), "h2load": out("h2load --version"),
    "curl": out("curl --version"), "dnsmasq": out("dnsmasq --version"),
    "unbound": out("unbound -V"), "dnsperf": out("dnsperf -h 2>&1 | grep -i version || dnsperf 2>&1 | head -1"),
    "hyperfine": out("hyperfine --version"), "pip": out("/usr/bin/python3 -m pip --version"),
    "python": out("/usr/bin/python3 --version"), "boringssl": out("dpkg-query -W android-libboringssl"),
    "nghttp2": out("dpkg-query -W libnghttp2-14"), "rocksdb": out("dpkg-query -W 'librocksdb7*'"),
    "perf": out("perf --version")}}))
EOF
}

# AES-128-GCM: the ceiling of any TLS bulk transfer on this machine, 16 KiB records (one per
# TLS record at full size), all cores and one.
aes_limit() {
  local n cores
  cores=$(nproc)
  for n in "$cores" 1; do
    local bps
    bps=$(openssl speed -elapsed -seconds 3 -multi "$n" -bytes 16384 -evp aes-128-gcm 2>/dev/null |
      awk '/^(evp|AES-128-GCM|aes-128-gcm)/ {v = $NF} END { sub(/k$/, "", v); printf "%.0f", v * 1000 }')
    record "{\"kind\":\"aes\",\"cores\":$n,\"bytes_s\":$(jnum "$bps")}"
    log "AES-128-GCM on $n core(s): $(mib "$bps") MiB/s"
  done
}

# --- the world --------------------------------------------------------------------------------
setup() {
  log "world: objects (scale $SCALE), PKI, namespaces, origins ($ORIGIN_RATE), pipgate, nginx, dnsmasq"
  "$PY" "$PEERS/world.py" "$WORK/world" --scale "$SCALE" || die "world.py failed"
  make_pki || die "PKI"
  world_up || die "namespaces"
  start_org_dns || die "origin dnsmasq"
  start_origins || die "origins"
  start_pipgate || { tail -20 "$WORK/pipgate.log" >&2; die "pipgate did not start"; }
  # nginx serves pipgate's own leaves and keys (ECDSA P-256), each followed by pipgate's CA as
  # pipgate sends it: the same two-certificate chain.
  mkdir -p "$WORK/certs"
  local name
  for name in pypi.org files.pythonhosted.org; do
    cat "$WORK/pipgate-data/certs/$name.pem" "$WORK/pipgate-ca.pem" >"$WORK/certs/$name.pem" &&
      cp "$WORK/pipgate-data/certs/$name.key" "$WORK/certs/" || die "certs"
  done
  start_nginx || { cat "$WORK/nginx/stderr.log" "$WORK/nginx/error.log" >&2; die "nginx did not start"; }
  start_peer_dnsmasq || die "peer dnsmasq"
  cc -O2 -o "$WORK/handshakes" "$PEERS/handshakes.c" -lssl -lcrypto || die "handshakes.c"
  # The client trusts pipgate's CA only (nginx serves pipgate's leaves).
  CA="$WORK/pipgate-ca.pem"
  # What the objects are, for the scenarios.
  eval "$("$PY" - "$WORK/world/world.json" <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
for k, o in w["objects"].items():
    v = k.upper().replace("-", "_")
    print(f"OBJ_{v}_URL='https://{o['host']}{o['path']}'")
    print(f"OBJ_{v}_SIZE={o['size']}")
    print(f"OBJ_{v}_SHA256='{o.get('sha256', '')}'")
print("STACK_INSTALL='%s'" % " ".join(w["stack"]["install"]))
print("STACK_WHEELS=%d" % len(w["stack"]["wheels"]))
print("STACK_BYTES=%d" % w["stack"]["bytes"])
EOF
)"
  log "setup done in $((SECONDS - START)) s"
}

# curl_peer PEER CURL_ARGS... URL: one request from the client namespace to PEER.
curl_peer() {
  local peer="$1" ip host
  shift
  ip=$(peer_ip "$peer")
  host=$(sed -E 's#https://([^/]+)/.*#\1#' <<<"${*: -1}")
  in_cli timeout 120 curl -sS --cacert "$CA" --resolve "$host:443:$ip" "$@"
}

# --- scenario 5 helpers: memory ---------------------------------------------------------------
RSS_PID=""
rss_start() {  # rss_start LABEL: sample both peers' process trees until rss_stop
  RSS_LABEL="$1"
  "$PY" "$PEERS/rss.py" "$WORK/rss-$1.json" 300 "pipgate=$PIPGATE_PID" "nginx=$NGINX_PID" \
    "dnsmasq=$DNSMASQ_PID" &
  RSS_PID=$!
  PIDS+=("$RSS_PID")
  sleep 0.2
}
rss_stop() {
  [ -n "$RSS_PID" ] || return 0
  kill -TERM "$RSS_PID" 2>/dev/null
  wait "$RSS_PID" 2>/dev/null
  RSS_PID=""
  [ -s "$WORK/rss-$RSS_LABEL.json" ] &&
    record "{\"kind\":\"rss\",\"phase\":\"$RSS_LABEL\",\"peaks\":$(cat "$WORK/rss-$RSS_LABEL.json")}"
}

# --- scenario 4: cold misses through a 400 Mbit/s origin --------------------------------------
s4_cold() {
  local peer r
  for peer in "${PEERS_LIST[@]}"; do
    log "s4 cold: $(mib "$OBJ_BIG_SIZE") MiB wheel through $peer (nothing cached)"
    r=$(curl_peer "$peer" --http2 --tls13-ciphers TLS_AES_128_GCM_SHA256 -o "$WORK/cold-$peer.body" \
      -w '%{http_code} %{size_download} %{time_starttransfer} %{time_total} %{speed_download}' \
      -D "$WORK/cold-$peer.hdr" "$OBJ_BIG_URL")
    local code size ttfb total speed sha xc
    read -r code size ttfb total speed <<<"$r"
    sha=$(sha256sum <"$WORK/cold-$peer.body" | cut -c1-64)
    xc=$(grep -i '^x-cache:' "$WORK/cold-$peer.hdr" | tr -d '\r' | awk '{print $2}')
    rm -f "$WORK/cold-$peer.body"
    record "{\"kind\":\"cold\",\"peer\":\"$peer\",\"code\":${code:-0},\"size\":${size:-0},\"ttfb_s\":$(jnum "$ttfb"),\"total_s\":$(jnum "$total"),\"bytes_s\":$(jnum "$speed"),\"x_cache\":\"$xc\",\"sha_ok\":$([ "$sha" = "$OBJ_BIG_SHA256" ] && echo true || echo false)}"
    log "  $peer: code $code, X-Cache ${xc:-none}, $(mib "${speed:-0}") MiB/s, ttfb ${ttfb}s"
  done
}

# 21 clients ask for the same cold object at once (own connections, one curl process so they
# start within a few ms): each one's time to first byte and total, from its own start.
s4_coalesce() {
  local peer ip args=() i
  for i in $(seq 21); do args+=(-o /dev/null "$OBJ_COALESCE_URL"); done
  for peer in "${PEERS_LIST[@]}"; do
    ip=$(peer_ip "$peer")
    log "s4 coalescing: 21 concurrent clients, $(mib "$OBJ_COALESCE_SIZE") MiB cold object, $peer"
    local before
    before=$(origin_gets "${OBJ_COALESCE_URL#https://files.pythonhosted.org}")
    rss_start "coalesce-$peer"
    in_cli timeout 300 curl -sS --cacert "$CA" --resolve "files.pythonhosted.org:443:$ip" --http2 \
      --tls13-ciphers TLS_AES_128_GCM_SHA256 --parallel --parallel-immediate --parallel-max 21 \
      -w '%{http_code} %{size_download} %{time_starttransfer} %{time_total} %{time_pretransfer} %{local_port}\n' "${args[@]}" \
      >"$WORK/coalesce-$peer.txt" 2>"$WORK/coalesce-$peer.err"
    rss_stop
    local upstream
    upstream=$(($(origin_gets "${OBJ_COALESCE_URL#https://files.pythonhosted.org}") - before))
    "$PY" - "$WORK/coalesce-$peer.txt" "$peer" "$OBJ_COALESCE_SIZE" "$upstream" >>"$RESULTS" <<'EOF'
import json, sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = [r for r in rows if r[0] == "200" and int(r[1]) == int(sys.argv[3])]
ttfb = sorted(float(r[2]) for r in ok)
tot = sorted(float(r[3]) for r in ok)
# From the request sent (TLS done) to the first byte: the server's part alone, without the
# client's own handshake queue (one curl process sets up 21 TLS connections).
srv = sorted(float(r[2]) - float(r[4]) for r in ok)
print(json.dumps({"kind": "coalesce", "peer": sys.argv[2], "clients": len(rows), "complete": len(ok),
  "size": int(sys.argv[3]), "upstream_gets": int(sys.argv[4]),
  "ttfb_min_s": ttfb[0] if ttfb else None, "ttfb_median_s": statistics.median(ttfb) if ttfb else None,
  "ttfb_max_s": ttfb[-1] if ttfb else None, "total_min_s": tot[0] if tot else None,
  "req_ttfb_min_s": srv[0] if srv else None, "req_ttfb_median_s": statistics.median(srv) if srv else None,
  "req_ttfb_max_s": srv[-1] if srv else None,
  "total_max_s": tot[-1] if tot else None}))
EOF
    log "  $peer: $(tail -1 "$RESULTS")"
  done
}

# --- warm and verify: identical bytes, served from each cache ---------------------------------
# check_hit PEER NAME URL [CURL_ARGS]: asks twice, the second answer must be a cache hit; keeps
# the body's sha256 to compare the peers.
check_hit() {
  local peer="$1" name="$2" url="$3" xc sha
  shift 3
  curl_peer "$peer" "$@" -o /dev/null "$url" >/dev/null 2>&1
  curl_peer "$peer" "$@" -D "$WORK/chk.hdr" -o "$WORK/chk.body" "$url" 2>/dev/null
  xc=$(grep -i '^x-cache:' "$WORK/chk.hdr" | tr -d '\r' | awk '{print $2}')
  sha=$(sha256sum <"$WORK/chk.body" | cut -c1-16)
  echo "$peer $name ${xc:-none} $sha $(stat -c %s "$WORK/chk.body") $(grep -i '^content-encoding:' "$WORK/chk.hdr" | tr -d '\r' | awk '{print $2}')" >>"$WORK/verify.txt"
  [ "$xc" = HIT ]
}

warm_and_verify() {
  local peer ok=true
  : >"$WORK/verify.txt"
  for peer in "${PEERS_LIST[@]}"; do
    check_hit "$peer" big "$OBJ_BIG_URL" || ok=false
    check_hit "$peer" small-gzip "$OBJ_SMALL_PAGE_URL" -H 'accept: application/vnd.pypi.simple.v1+json' -H 'accept-encoding: gzip' || ok=false
    check_hit "$peer" small-identity "$OBJ_SMALL_PAGE_URL" -H 'accept: application/vnd.pypi.simple.v1+json' -H 'accept-encoding: identity' || ok=false
    check_hit "$peer" large-gzip "$OBJ_LARGE_PAGE_URL" -H 'accept: application/vnd.pypi.simple.v1+json' -H 'accept-encoding: gzip' || ok=false
    check_hit "$peer" large-identity "$OBJ_LARGE_PAGE_URL" -H 'accept: application/vnd.pypi.simple.v1+json' -H 'accept-encoding: identity' || ok=false
  done
  # Same bytes from both (sha, size, encoding per object), and the wheel as published.
  local same
  same=$(awk '{k = $2; v = $4 " " $5 " " $6; if (k in seen && seen[k] != v) bad = 1; seen[k] = v} END { print bad ? "false" : "true" }' "$WORK/verify.txt")
  local big_sha
  big_sha=$(curl_peer nginx -o - "$OBJ_BIG_URL" 2>/dev/null | sha256sum | cut -c1-64)
  record "{\"kind\":\"verify\",\"all_hits\":$ok,\"identical\":$same,\"big_sha_ok\":$([ "$big_sha" = "$OBJ_BIG_SHA256" ] && echo true || echo false),\"table\":$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().splitlines()))' "$WORK/verify.txt")}"
  log "verify: all hits $ok, identical bytes $same"
  cat "$WORK/verify.txt" >&2
  if [ "$ok" != true ] || [ "$same" != true ]; then log "WARNING: a peer does not serve from cache or bytes differ"; fi
}

# --- h2load -------------------------------------------------------------------------------------
# h2load_run TAG PEER URL H2LOAD_ARGS...: one measured run (DUR s after 1 s of warm-up) from the
# client namespace, connecting to PEER's address with the URL's name as SNI and :authority.
# Callers count H2N up first (this runs in a subshell); h2load's output stays in h2load/H2N.out.
H2N=0
h2load_run() {
  local tag="$1" peer="$2" url="$3" ip
  shift 3
  ip=$(peer_ip "$peer")
  local f="$WORK/h2load/$H2N"
  mkdir -p "$WORK/h2load"
  in_cli timeout $((DUR + 60)) h2load --connect-to="$ip:443" --tls13-ciphers=TLS_AES_128_GCM_SHA256 \
    -D "$DUR" --warm-up-time=1 --log-file="$f.log" "$@" "$url" >"$f.out" 2>&1
  "$PY" "$PEERS/h2load_json.py" "$f.out" "$f.log" "$tag" "peer=$peer" "run=$H2N" "main_s=$DUR"
  rm -f "$f.log"
}

# Scenario 1: the cached 150 MiB wheel, bytes/s by concurrency, h2 and HTTP/1.1.
s1_bulk() {
  local round peer c proto args r
  for round in $(seq "$ROUNDS"); do
    for c in 1 4 8 32; do
      for proto in h2 h1; do
        [ "$proto" = h1 ] && [ "$c" = 4 ] && continue  # 4 clients: h2 only (memory, scenario 5)
        for peer in "${PEERS_LIST[@]}"; do
          args=(-c "$c" -m 1)
          [ "$proto" = h1 ] && args+=(--h1)
          # Memory during 4 and during 32 downloads (scenario 5), first round only.
          [ "$round" = 1 ] && [ "$proto" = h2 ] && { [ "$c" = 4 ] || [ "$c" = 32 ]; } && rss_start "bulk$c-$peer"
          H2N=$((H2N + 1))
          r=$(h2load_run "scenario=bulk" "$peer" "$OBJ_BIG_URL" "${args[@]}")
          [ -n "$RSS_PID" ] && rss_stop
          r=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(kind="h2load", proto=sys.argv[2], clients=int(sys.argv[3]), round=int(sys.argv[4])); print(json.dumps(d))' "$r" "$proto" "$c" "$round")
          record "$r"
          log "s1 $proto c=$c $peer: $("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f MiB/s, %s done, ok=%s, %s" % (d.get("bytes_s",0)/1048576, d.get("req_done"), d.get("ok"), d.get("cipher")))' "$r")"
        done
      done
    done
  done
}

# Scenario 2: cached index pages, small (~2 KiB) and large (~2 MiB), gzip and identity,
# h2 (4 connections x 32 streams; x 4 for the large page) and HTTP/1.1 keep-alive (32
# connections): requests/s, p50/p99.
s2_pages() {
  local round peer page enc proto url args r
  for round in $(seq "$ROUNDS"); do
    for page in small large; do
      if [ $page = small ]; then url=$OBJ_SMALL_PAGE_URL; else url=$OBJ_LARGE_PAGE_URL; fi
      for enc in gzip identity; do
        for proto in h2 h1; do
          for peer in "${PEERS_LIST[@]}"; do
            # Small pages: 128 streams in flight; large: 16 (128 x 2 MiB in flight would only
            # measure how a server shares its bandwidth among them within the run).
            if [ $proto = h1 ]; then args=(--h1 -c 32 -m 1)
            elif [ $page = small ]; then args=(-c 4 -m 32)
            else args=(-c 4 -m 4); fi
            H2N=$((H2N + 1))
          r=$(h2load_run "scenario=pages" "$peer" "$url" "${args[@]}" \
              -H 'accept: application/vnd.pypi.simple.v1+json' -H "accept-encoding: $enc")
            r=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(kind="h2load", proto=sys.argv[2], page=sys.argv[3], enc=sys.argv[4], round=int(sys.argv[5])); print(json.dumps(d))' "$r" "$proto" "$page" "$enc" "$round")
            record "$r"
            log "s2 $page $enc $proto $peer: $("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f req/s p50 %s p99 %s ms, ok=%s" % (d.get("req_s",0), d.get("p50_ms"), d.get("p99_ms"), d.get("ok")))' "$r")"
          done
        done
      done
    done
  done
}

# Scenario 3: new TLS connections per second, full handshakes and resumed, 2 client processes.
s3_handshakes() {
  local round peer mode r path
  path="${OBJ_SMALL_PAGE_URL#https://pypi.org}"
  for round in $(seq "$ROUNDS"); do
    for mode in full resume; do
      for peer in "${PEERS_LIST[@]}"; do
        r=$(in_cli timeout $((DUR + 30)) "$WORK/handshakes" "$(peer_ip "$peer")" 443 pypi.org "$CA" \
          "$path" "$DUR" "$mode" 2)
        [ -n "$r" ] || r='{}'
        r=$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(kind="handshakes", peer=sys.argv[2], mode=sys.argv[3], round=int(sys.argv[4])); print(json.dumps(d))' "$r" "$peer" "$mode" "$round")
        record "$r"
        log "s3 $mode $peer: $r"
      done
    done
  done
}

# Where pipgate spends its CPU: perf record on the pipgate process (all its threads) during a
# bulk h2 run (8 clients) and a small-page h1 run (32 keep-alive clients), with DWARF call
# graphs (Debian's build has no frame pointers). Not timed: perf slows the process down.
# Writes OUT/profile-<what>.txt (the callers of every function above 2 % self time).
profile() {
  [ "$PROFILE" = 1 ] && command -v perf >/dev/null || return 0
  local what url args
  for what in bulk pages; do
    if [ $what = bulk ]; then url=$OBJ_BIG_URL args=(-c 8 -m 1)
    else url=$OBJ_SMALL_PAGE_URL args=(--h1 -c 32 -H 'accept: application/vnd.pypi.simple.v1+json' -H 'accept-encoding: gzip'); fi
    perf record -F 499 --call-graph dwarf,8192 -p "$PIPGATE_PID" -o "$WORK/perf-$what.data" \
      -- sleep "$DUR" >"$WORK/perf-$what.log" 2>&1 &
    local perf_pid=$!
    PIDS+=("$perf_pid")
    H2N=$((H2N + 1))
    h2load_run "scenario=profile" pipgate "$url" "${args[@]}" >"$WORK/profile-$what-h2load.json"
    wait "$perf_pid" 2>/dev/null
    local pr=(timeout 120 perf report -i "$WORK/perf-$what.data" --stdio)
    local trim=(sed -E 's/[[:space:]]+$//; s/[[:space:]]+-[[:space:]]+-$//')
    "${pr[@]}" --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9.]+%' | "${trim[@]}" |
      head -10 >"$WORK/profile-$what-dso.txt"
    "${pr[@]}" --no-children --sort dso,symbol -g none --percent-limit 0.8 2>/dev/null |
      grep -E '^ +[0-9.]+%' | "${trim[@]}" | cut -c1-140 | head -25 >"$WORK/profile-$what.txt"
    "${pr[@]}" --children --sort symbol -g none --percent-limit 2 2>/dev/null |
      grep -E '^ +[0-9.]+%' | grep -E 'pipgate::|rocksdb::|SSL_write|SSL_read|EVP_AEAD|nghttp2_|inflate|malloc|free' |
      "${trim[@]}" | cut -c1-140 | head -25 >"$WORK/profile-$what-children.txt"
    { echo "# perf report --no-children -g caller (pipgate, $what; tests/bench/run.sh $(date -u +%F))"
      "${pr[@]}" --no-children --percent-limit 2 -g caller,0.5,callee,function,percent \
        --max-stack 14 2>/dev/null | grep -v '^#' | grep -v '^$' | "${trim[@]}" | cut -c1-160
    } >"$OUT/profile-$what.txt"
    record "{\"kind\":\"profile\",\"what\":\"$what\",\"h2load\":$(cat "$WORK/profile-$what-h2load.json"),\"symbols\":$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().splitlines()))' "$WORK/profile-$what.txt"),\"dsos\":$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().splitlines()))' "$WORK/profile-$what-dso.txt"),\"children\":$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read().splitlines()))' "$WORK/profile-$what-children.txt")}"
    log "profile $what: top symbols (callers in $OUT/profile-$what.txt)"
    head -8 "$WORK/profile-$what.txt" >&2
    rm -f "$WORK/perf-$what.data"
  done
}

# Scenario 6: Debian's pip installs the stack through each peer (its DNS, its proxy), cold once
# (nothing of the stack is cached yet), then warm PIP_RUNS times with hyperfine.
s6_pip() {
  local peer
  for peer in "${PEERS_LIST[@]}"; do
    cat >"$WORK/pip-$peer.sh" <<EOF
#!/usr/bin/env bash
# One pip install of the stack through $peer, as an office machine whose DNS is $peer's.
rm -rf "$WORK/pip-target-$peer"
exec ip netns exec "$NS_CLI" unshare --mount bash -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' \\
  "$WORK/resolv.$peer" env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR \\
  -u PIP_CERT -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONFIG_FILE -u PIP_FIND_LINKS \\
  -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u PYTHONPATH HOME="$WORK/home" \\
  timeout 300 /usr/bin/python3 -m pip install --isolated --no-cache-dir --disable-pip-version-check \\
  --no-input --retries 0 --timeout 30 --cert "$CA" --target "$WORK/pip-target-$peer" $STACK_INSTALL
EOF
    chmod +x "$WORK/pip-$peer.sh"
  done
  mkdir -p "$WORK/home"
  for peer in "${PEERS_LIST[@]}"; do
    local before t0 t1 rc
    before=$(cat "$WORK"/origin-files.jsonl | grep -c '"event":"request"')
    t0=$(date +%s.%N)
    "$WORK/pip-$peer.sh" >"$WORK/pip-cold-$peer.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local n
    n=$(find "$WORK/pip-target-$peer" -maxdepth 1 -name '*.dist-info' 2>/dev/null | wc -l)
    record "{\"kind\":\"pip\",\"peer\":\"$peer\",\"phase\":\"cold\",\"rc\":$rc,\"seconds\":$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'),\"installed\":$n,\"origin_file_gets\":$(($(grep -c '"event":"request"' "$WORK/origin-files.jsonl") - before))}"
    log "s6 pip cold $peer: rc $rc, $n packages, $(tail -1 "$RESULTS")"
    [ $rc = 0 ] || tail -5 "$WORK/pip-cold-$peer.log" >&2
  done
  for peer in "${PEERS_LIST[@]}"; do
    local before after
    before=$(cat "$WORK"/origin-*.jsonl | wc -l)
    hyperfine --runs "$PIP_RUNS" --export-json "$WORK/pip-warm-$peer.json" --style basic \
      -n "$peer" "$WORK/pip-$peer.sh" >"$WORK/pip-warm-$peer.log" 2>&1
    after=$(cat "$WORK"/origin-*.jsonl | wc -l)
    local n
    n=$(find "$WORK/pip-target-$peer" -maxdepth 1 -name '*.dist-info' 2>/dev/null | wc -l)
    record "$("$PY" -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))["results"][0]
    t = sorted(r["times"])
    print(json.dumps({"kind": "pip", "peer": sys.argv[2], "phase": "warm", "rc": 0, "runs": len(t),
        "min_s": t[0], "median_s": r["median"], "max_s": t[-1], "installed": int(sys.argv[3]),
        "origin_requests": int(sys.argv[4])}))
except Exception as e:
    print(json.dumps({"kind": "pip", "peer": sys.argv[2], "phase": "warm", "rc": 1, "error": str(e)}))
' "$WORK/pip-warm-$peer.json" "$peer" "$n" "$((after - before))")"
    log "s6 pip warm $peer: $(tail -1 "$RESULTS")"
  done
}

# Scenario 7: the store's open time with STORE_OBJECTS objects (tests/bench/store/store_bench).
# Run in a private mount namespace where /proc/sys/vm/drop_caches is read-only: the bench must
# not drop the page cache of a machine others use (its "page cache dropped" rows are skipped).
s7_store() {
  local bin="${STORE_BENCH:-$BUILD/tests/bench/store/store_bench}"
  if [ ! -x "$bin" ]; then
    log "s7: building store_bench (ninja -C $BUILD store_bench)"
    ninja -C "$BUILD" store_bench >"$WORK/store-build.log" 2>&1 || { log "s7: store_bench does not build; skipped"; return 0; }
  fi
  touch "$WORK/ro-drop-caches"
  log "s7: store_bench, 256 MiB object, $STORE_OBJECTS small objects"
  timeout 400 unshare --mount bash -c 'mount --bind "$0" /proc/sys/vm/drop_caches &&
    mount -o remount,bind,ro /proc/sys/vm/drop_caches && exec "$@"' "$WORK/ro-drop-caches" \
    "$bin" "$WORK/store" 256 "$STORE_OBJECTS" >"$WORK/store.txt" 2>&1
  "$PY" - "$WORK/store.txt" "$bin, built $(date -u -r "$bin" '+%F %H:%M UTC')" >>"$RESULTS" <<'EOF'
import json, re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\| (.+?) \| (.+?) \| (.*?) \|$", line.strip())
    if m and m.group(1) != "measure" and not m.group(1).startswith("---"):
        rows[m.group(1)] = [m.group(2), m.group(3)]
print(json.dumps({"kind": "store", "bin": sys.argv[2], "rows": rows}))
EOF
  log "s7: $(grep -i 'open with' "$WORK/store.txt" | head -1)"
}

# DNS (from tests/bench/dns/run_bench.sh): QPS vs dnsmasq and unbound, in a namespace of its own.
dns_bench() {
  local ns="pgb$$-dns"
  ip netns add "$ns" && ip -n "$ns" link set lo up || return 0
  log "dns: tests/bench/dns/run_bench.sh, ${DNS_SECONDS}s x 2 rounds"
  REPEATS=2 timeout 300 ip netns exec "$ns" "$BENCH/dns/run_bench.sh" "$PIPGATE_DNS" "$DNS_SECONDS" \
    >"$WORK/dns.txt" 2>&1
  ns_delete "$ns"
  "$PY" - "$WORK/dns.txt" >>"$RESULTS" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 6 and f[0] in ("intercepted", "cached"):
        rows[f[0]] = {"pipgate": int(f[1]), "dnsmasq": int(f[2]), "unbound": int(f[3])}
print(json.dumps({"kind": "dns", "rows": rows}))
EOF
  tail -4 "$WORK/dns.txt" >&2
}

idle_rss() {  # idle_rss LABEL [SETTLE]: 2 s of samples with no traffic, after SETTLE s of none
  # (pipgate gives memory back after 10–15 s without a request; nginx has no such step)
  sleep "${2:-0}"
  rss_start "$1"
  sleep 2
  rss_stop
}

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }  # ONLY="s1 s3": a subset (development)

# --- the run ------------------------------------------------------------------------------------
mkdir -p "$OUT"
log "pipgate bench: work dir $WORK, limit ${TIME_LIMIT}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
facts
want aes && aes_limit
setup
want s5 && idle_rss idle-fresh
want s4 && s4_cold
want s4 && s4_coalesce
warm_and_verify
want s5 && idle_rss idle-warm 20
if [ "${HOLD:-0}" -gt 0 ]; then  # development: keep the world up (in_cli etc. in $WORK/env.sh)
  declare -p NS_CLI NS_SRV NS_ORG PG_IP NGX_IP CA WORK PIPGATE_PID NGINX_PID >"$WORK/env.sh"
  log "HOLD: world up for ${HOLD}s; source $WORK/env.sh; touch $WORK/release to go on"
  for _ in $(seq $((HOLD * 2))); do [ -e "$WORK/release" ] && break; sleep 0.5; done
fi
want s1 && s1_bulk
want s2 && s2_pages
want s3 && s3_handshakes
want profile && profile
if want s6; then [ "$(budget_left)" -gt 120 ] && s6_pip || log "s6 skipped: time budget"; fi
want s5 && idle_rss idle-after 20
record "{\"kind\":\"origin\",\"requests\":$(cat "$WORK"/origin-*.jsonl | grep -c '"event":"request"')}"
# The proxies are done: stop them before the store and DNS benchmarks.
for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
  [ "${PIDS[$i]}" != "$WATCHDOG_PID" ] && stop_pid "${PIDS[$i]}"
done
if want s7; then [ "$(budget_left)" -gt 200 ] && s7_store || log "s7 skipped: time budget"; fi
if want dns; then [ "$(budget_left)" -gt 60 ] && dns_bench || log "dns skipped: time budget"; fi
record "{\"kind\":\"end\",\"loadavg_after\":$("$PY" -c 'import json; print(json.dumps(open("/proc/loadavg").read().split()[:3]))'),\"elapsed_s\":$((SECONDS - START))}"
cp "$RESULTS" "$OUT/results.jsonl"
"$PY" "$PEERS/report.py" "$RESULTS" "$OUT" "$WORK" || die "report.py failed"
log "done in $((SECONDS - START)) s: $OUT/RESULTS.md, $OUT/throughput.png"
