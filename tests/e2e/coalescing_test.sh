#!/usr/bin/env bash
# One upstream fetch per object: 20 clients (h2 and HTTP/1.1 alternately) download one uncached
# 128 MiB file, the origins' uplink shaped to ORIGIN_RATE so the download takes seconds.
#  staggered: the leader starts first; the 19 followers start once it has its first 4 MiB, i.e.
#             they join a fill in progress;
#  together:  all 20 start at once on another file (concurrent misses before any upstream byte).
# Each time exactly one GET reaches the origin, all 20 bodies are intact, and no follower's first
# byte waits for the download. Prints every time to first byte.
# usage: coalescing_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"
CLIENTS=20
BIG_MIB=${BIG_MIB:-128}

setup_world --blob "big-a:${BIG_MIB}M" --blob "big-b:${BIG_MIB}M"
mkdir -p "$WORK/co"

# fetch_big DIR I PROTO URL FILE: one background download; DIR/I.w gets "ttfb total status size
# http_version", DIR/I.same "yes" when the body equals FILE (the origin's bytes), DIR/I.rc curl's
# exit code. Client 0 also writes its body to disk, so its progress can be watched. Bodies are
# compared with cmp as they arrive (hashing 20 × 128 MiB costs more CPU than serving them). With
# coalescing a run takes seconds; 90 s bounds a proxy that fetches 20 times.
fetch_big() {
  # shellcheck disable=SC2016 # the inner script's own arguments
  ip netns exec "$NS_CLI" bash -c 'set -o pipefail
    curl -sS --max-time 90 --cacert "$1" "$2" -o - -D "$3.hdr" -w "%{stderr}W %{time_starttransfer} %{time_total} %{http_code} %{size_download} %{http_version}\n" \
      "$4" 2>"$3.err" | if [ "$6" = 0 ]; then tee "$3.body"; else cat; fi | cmp -s - "$5"
    st=("${PIPESTATUS[@]}")
    echo "${st[0]}" >"$3.rc"
    [ "${st[2]}" = 0 ] && echo yes >"$3.same"
    rm -f "$3.body"
    grep "^W " "$3.err" | cut -c3- >"$3.w"' _ "$CA" "$3" "$1/$2" "$4" "$5" "$2" &
  PIDS+=($!)
  CO_PIDS+=($!)
}
proto_of() { if [ $(($1 % 2)) = 0 ]; then echo --http2; else echo --http1.1; fi; }
grown() { [ "$(stat -c %s "$1/0.body" 2>/dev/null || echo 0)" -ge $((4 << 20)) ]; }

# upstream_seconds PATH: the origin's first to last byte for PATH.
upstream_seconds() {
  "$PY" - "$WORK/origin-files.jsonl" "$1" <<'PYEOF'
import json, sys
start = end = None
for line in open(sys.argv[1]):
    rec = json.loads(line)
    if rec.get("path") == sys.argv[2]:
        if rec["event"] == "request" and start is None:
            start = rec["t"]
        elif rec["event"] == "end" and end is None:
            end = rec["t"]
print(f"{end - start:.2f} s" if start and end else "unknown")
PYEOF
}

# herd MODE BLOB_VAR: CLIENTS downloads of one file, staggered or together; checks and figures.
herd() {
  local mode="$1" var="$2" path dir t0 joined="" elapsed intact=0 i n slow=0 l_total
  local ttfb total code size hv rc same
  path=${!var}
  dir="$WORK/co/$mode"
  mkdir -p "$dir"
  local url="https://files.pythonhosted.org$path" file="$WORLD/files$path"
  CO_PIDS=()
  t0=$(now)
  if [ "$mode" = staggered ]; then
    fetch_big "$dir" 0 --http2 "$url" "$file"
    expect "$mode: the leader's request reached the origin" wait_until 20 origin_asked files "$path" 1
    expect "$mode: the leader has its first 4 MiB" wait_until 20 grown "$dir"
    joined=$(since "$t0")
    for i in $(seq 1 $((CLIENTS - 1))); do fetch_big "$dir" "$i" "$(proto_of "$i")" "$url" "$file"; done
  else
    for i in $(seq 0 $((CLIENTS - 1))); do fetch_big "$dir" "$i" "$(proto_of "$i")" "$url" "$file"; done
  fi
  for pid in "${CO_PIDS[@]}"; do wait "$pid"; done
  elapsed=$(since "$t0")

  for i in $(seq 0 $((CLIENTS - 1))); do
    read -r ttfb total code size hv <"$dir/$i.w"
    rc=$(cat "$dir/$i.rc")
    same=$(cat "$dir/$i.same" 2>/dev/null)
    if [ "$rc/$code/$size/$same" = "0/200/$((BIG_MIB << 20))/yes" ]; then
      intact=$((intact + 1))
    else
      echo "     client $i: curl rc $rc, status $code, $size bytes, http/$hv, same bytes: ${same:-no}:" \
        "$(grep -v '^W ' "$dir/$i.err" | head -c 200)"
    fi
  done
  expect "$mode: all $CLIENTS downloads complete and intact ($intact)" [ "$intact" = "$CLIENTS" ]
  n=$(origin_count files "$path")
  expect "$mode: exactly one upstream GET for the file ($n)" [ "$n" = 1 ]

  figure "coalescing $mode: ${BIG_MIB} MiB, $CLIENTS clients, uplink $ORIGIN_RATE, origin latency" \
    "${ORIGIN_LATENCY_MS} ms; all done in ${elapsed} s; upstream transfer $(upstream_seconds "$path")"
  read -r ttfb total _ _ hv <"$dir/0.w"
  l_total=$total
  if [ "$mode" = staggered ]; then
    figure "coalescing $mode: leader      (http/$hv) TTFB $(printf %.3f "$ttfb") s," \
      "total $(printf %.2f "$total") s; followers started at +${joined} s"
  fi
  for i in $(seq 0 $((CLIENTS - 1))); do
    [ "$mode" = staggered ] && [ "$i" = 0 ] && continue
    read -r ttfb total _ _ hv <"$dir/$i.w"
    figure "coalescing $mode: client $(printf %2d "$i") (http/$hv) TTFB $(printf %.3f "$ttfb") s," \
      "total $(printf %.2f "$total") s"
    # a client streams the fill as it arrives: its first byte does not wait for the download
    awk -v t="$ttfb" -v l="$l_total" 'BEGIN { exit !(t > 1.0 && t > l / 4) }' && slow=$((slow + 1))
  done
  awk -v f="$(for i in $(seq 0 $((CLIENTS - 1))); do
      [ "$mode" = staggered ] && [ "$i" = 0 ] && continue
      cut -d' ' -f1 "$dir/$i.w"
    done | sort -n | tr '\n' ' ')" -v m="$mode" 'BEGIN { n = split(f, a, " ")
      printf "FIGURE coalescing %s: %s TTFB min %.3f s, median %.3f s, max %.3f s\n", m,
        m == "staggered" ? "followers" : "clients", a[1], a[int((n + 1) / 2)], a[n] }'
  expect "$mode: no client waited for the whole download before its first byte ($slow slow)" \
    [ "$slow" = 0 ]
}

herd staggered BLOB_BIG_A
herd together BLOB_BIG_B
e2e_finish
