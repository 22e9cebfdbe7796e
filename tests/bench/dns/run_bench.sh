#!/usr/bin/env bash
# DNS benchmark (not part of ctest): dnsperf QPS for intercepted names and for cached forwarded
# names, pipgate-dns vs dnsmasq vs unbound, configured equivalently, same machine, same run.
# Each server runs one thread and forwards to the same origin (dnsmasq on 127.0.0.2).
#   tests/bench/dns/run_bench.sh build-dns/pipgate-dns [SECONDS_PER_RUN]   (REPEATS=3 CLIENTS=8)
# Needs: deploy/install-deps.sh --with bench (dnsperf, unbound) besides the usual packages.
set -euo pipefail

BIN=$(readlink -f "${1:?usage: $0 PIPGATE_DNS_BINARY [SECONDS]}")
SECONDS_PER_RUN=${2:-10}
CLIENTS=${CLIENTS:-8}
REPEATS=${REPEATS:-3}
WORK=$(mktemp -d /tmp/pipgate-dns-bench.XXXXXX)
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap stop_all EXIT

free_port() {
  python3 -c 'import socket
while True:
    t=socket.socket(); t.bind(("127.0.0.1",0)); p=t.getsockname()[1]
    u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1",p)); print(p); break
    except OSError: pass'
}

wait_until() {
  local deadline=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $deadline ]; do bash -c "$*" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for: $*" >&2
  return 1
}

ORIGIN_PORT=$(free_port)
P_PIPGATE=$(free_port)
P_DNSMASQ=$(free_port)
P_UNBOUND=$(free_port)

# The origin: 100 names with a long TTL, so the servers under test answer them from cache.
hosts=()
for i in $(seq 1 100); do hosts+=("--host-record=www$i.bench.test,192.0.2.$i"); done
dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.2 -p "$ORIGIN_PORT" \
  --pid-file= --user="$(id -un)" --local-ttl=3600 "${hosts[@]}" >"$WORK/origin.log" 2>&1 &
PIDS+=($!)
wait_until 10 "dig @127.0.0.2 -p $ORIGIN_PORT +time=1 +tries=1 www1.bench.test | grep -q NOERROR"

cat >"$WORK/pipgate.toml" <<EOT
[appliance]
address = "10.0.0.5"
log_level = "warn"
[dns]
listen = ["127.0.0.1:$P_PIPGATE"]
upstream = ["127.0.0.2:$ORIGIN_PORT"]
rate_limit = 0
EOT
"$BIN" --config "$WORK/pipgate.toml" >"$WORK/pipgate.log" 2>&1 &
PIDS+=($!)

dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.1 -p "$P_DNSMASQ" \
  --pid-file= --user="$(id -un)" --cache-size=10000 --local-ttl=60 \
  --address=/pypi.org/10.0.0.5 --address=/files.pythonhosted.org/10.0.0.5 \
  --server="127.0.0.2#$ORIGIN_PORT" >"$WORK/dnsmasq.log" 2>&1 &
PIDS+=($!)

cat >"$WORK/unbound.conf" <<EOT
server:
  interface: 127.0.0.1@$P_UNBOUND
  port: $P_UNBOUND
  do-daemonize: no
  username: ""
  chroot: ""
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  so-reuseport: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  msg-cache-size: 16m
  rrset-cache-size: 32m
  local-zone: "pypi.org." redirect
  local-data: "pypi.org. 60 IN A 10.0.0.5"
  local-zone: "files.pythonhosted.org." redirect
  local-data: "files.pythonhosted.org. 60 IN A 10.0.0.5"
  local-zone: "test." nodefault
  domain-insecure: "test."
forward-zone:
  name: "."
  forward-addr: 127.0.0.2@$ORIGIN_PORT
EOT
unbound -d -c "$WORK/unbound.conf" >"$WORK/unbound.log" 2>&1 &
PIDS+=($!)

for p in $P_PIPGATE $P_DNSMASQ $P_UNBOUND; do
  wait_until 10 "dig @127.0.0.1 -p $p +time=1 +tries=1 pypi.org | grep -q 10.0.0.5"
done

for i in $(seq 1 1000); do echo "pypi.org A"; echo "files.pythonhosted.org A"; done >"$WORK/intercepted.txt"
for i in $(seq 1 20); do for j in $(seq 1 100); do echo "www$j.bench.test A"; done; done >"$WORK/cached.txt"

qps() {  # qps PORT QUERYFILE
  dnsperf -s 127.0.0.1 -p "$1" -d "$2" -l "$SECONDS_PER_RUN" -c "$CLIENTS" -q 200 -t 2 2>&1 |
    awk '/Queries per second/ {print int($4)}'
}

declare -A R
for kind in intercepted cached; do
  for p in $P_PIPGATE $P_DNSMASQ $P_UNBOUND; do
    dnsperf -s 127.0.0.1 -p "$p" -d "$WORK/$kind.txt" -l 1 -c 2 >/dev/null 2>&1  # warm caches
  done
  # Interleaved rounds, best of each: other load on the machine only ever lowers a number.
  for _ in $(seq 1 "$REPEATS"); do
    for server in pipgate:$P_PIPGATE dnsmasq:$P_DNSMASQ unbound:$P_UNBOUND; do
      v=$(qps "${server#*:}" "$WORK/$kind.txt")
      [ "${v:-0}" -gt "${R[$kind,${server%%:*}]:-0}" ] && R[$kind,${server%%:*}]=$v
    done
  done
done

echo
echo "dnsperf, best of $REPEATS runs of $SECONDS_PER_RUN s, $CLIENTS clients, $(nproc) CPUs, one server thread each"
printf '%-12s %12s %12s %12s %10s %10s\n' "queries" "pipgate-dns" "dnsmasq" "unbound" "/dnsmasq" "/unbound"
for kind in intercepted cached; do
  p=${R[$kind,pipgate]:-0} d=${R[$kind,dnsmasq]:-0} u=${R[$kind,unbound]:-0}
  printf '%-12s %12s %12s %12s %10s %10s\n' "$kind" "$p" "$d" "$u" \
    "$(python3 -c "print(f'{$p/max($d,1):.2f}')")" "$(python3 -c "print(f'{$p/max($u,1):.2f}')")"
done
