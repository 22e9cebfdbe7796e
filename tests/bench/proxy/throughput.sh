#!/usr/bin/env bash
# Throughput of one streamed 100 MiB body: directly from each test origin vs through the proxy
# (uncached), for h2 and HTTP/1.1 clients. Not a ctest: timings depend on the machine; read the
# ratios. Uses the integration fixture (loopback origins, dnsmasq, test CA).
# usage: throughput.sh PROXY_TEST_SERVER [RUNS]
source "$(dirname "$0")/../../integration/proxy/lib.sh"
PROXY_BIN="$1"
RUNS="${2:-3}"
BIG_MIB=100

make_pki
make_htdocs
start_dns "$H2_IP" "$H1_IP" && start_h2_origin && start_h1_origin "$H1_IP" origin && start_proxy ||
  { echo "fixture failed"; exit 1; }

best() {  # best CURL_ARGS...: highest MiB/s over RUNS downloads (size checked)
  local b=0 s size
  for _ in $(seq "$RUNS"); do
    read -r size s < <(curl -sS --max-time 120 -o /dev/null -w '%{size_download} %{speed_download}\n' "$@")
    [ "$size" = $((BIG_MIB << 20)) ] || { echo "short download: $size" >&2; return 1; }
    b=$(awk -v a="$b" -v c="$s" 'BEGIN { print (c > a) ? c : a }')
  done
  awk -v v="$b" 'BEGIN { printf "%.0f", v / 1048576 }'
}
proxy_cpu_ticks() { awk '{print $14 + $15}' "/proc/$PROXY_PID/stat"; }
direct() { best --cacert "$WORK/pki/ca.pem" --resolve "$1:443:$2" "${@:3}"; }
# proxied HOST CURL_ARGS...: prints "MiB/s cpu-ms-per-body" (proxy CPU time per 100 MiB body).
proxied() {
  local t0 t1 mibs
  t0=$(proxy_cpu_ticks)
  mibs=$(best --cacert "$WORK/data/ca/ca.pem" --resolve "$1:443:$PROXY_IP" "${@:2}") || return 1
  t1=$(proxy_cpu_ticks)
  echo "$mibs $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) / RUNS ))"
}

printf '%-46s %11s %11s %6s %14s\n' "100 MiB body" "direct" "proxy" "ratio" "proxy CPU/body"
row() {  # row LABEL DIRECT_MIBS "PROXY_MIBS CPU_MS"
  set -- "$1" "$2" $3
  printf '%-46s %5s MiB/s %5s MiB/s %6s %11s ms\n' "$1" "$2" "$3" \
    "$(awk -v d="$2" -v p="$3" 'BEGIN { printf "%.2f", p / d }')" "$4"
}
d=$(direct pypi.org "$H2_IP" --http2 https://pypi.org/packages/big.bin)
row "h2 origin (nghttpd), curl --http2" "$d" "$(proxied pypi.org --http2 https://pypi.org/packages/big.bin)"
row "h2 origin (nghttpd), curl --http1.1 via proxy" "$d" "$(proxied pypi.org --http1.1 https://pypi.org/packages/big.bin)"
d=$(direct files.pythonhosted.org "$H1_IP" --http1.1 https://files.pythonhosted.org/packages/big.bin)
row "h1 origin (python), curl --http1.1" "$d" "$(proxied files.pythonhosted.org --http1.1 https://files.pythonhosted.org/packages/big.bin)"
row "h1 origin (python), curl --http2 via proxy" "$d" "$(proxied files.pythonhosted.org --http2 https://files.pythonhosted.org/packages/big.bin)"
echo "proxy peak RSS: $(proxy_rss_kib) KiB"
