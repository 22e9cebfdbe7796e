# shellcheck shell=bash
# The world of tests/bench/run.sh: three network namespaces made here, the real pipgate, the
# peers (nginx + dnsmasq, the classic recipe) beside it, and a fake PyPI behind a 400 Mbit/s link.
#
#   clients  pgb<pid>-cli  10.79.1.2   h2load, curl, pip, the handshake client
#              │ veth (unshaped: the office LAN)
#   servers  pgb<pid>-srv  10.79.1.1   pipgate run: proxy :443 + pipgate-dns :53
#                          10.79.1.3   nginx :443 (same certificates, same upstream)
#                          10.79.1.4   dnsmasq :53 (answers the two names with 10.79.1.3)
#                          10.79.2.1   the servers' "internet" side
#              │ veth (tc tbf on the origins' egress: ORIGIN_RATE, default 400mbit)
#   origins  pgb<pid>-org  10.79.2.2   dnsmasq: pypi.org → .10, files.pythonhosted.org → .11
#                          10.79.2.10  fake pypi.org            (tests/e2e/origin.py --role pypi)
#                          10.79.2.11  fake files.pythonhosted.org (--role files)
# Every process is started here and its pid kept; on any exit (or INT/TERM/HUP) every one is
# ended (TERM, then KILL after 5 s), then whatever is left in the namespaces, then the
# namespaces, /etc/netns/<ns> and the work dir (KEEP_WORK=1 keeps it). Namespaces left by a run
# killed hard are removed by the next run (their pid is gone).
#   source tests/bench/peers/lib.sh     (needs root; sets WORK)
PEERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E="$(cd "$PEERS/../../e2e" && pwd)"
PY=/usr/bin/python3   # Debian's python3: pip, python3-h2, matplotlib (not a pyenv shim)

NS_CLI="pgb$$-cli"
NS_SRV="pgb$$-srv"
NS_ORG="pgb$$-org"
CLI_IP=10.79.1.2
PG_IP=10.79.1.1
NGX_IP=10.79.1.3
DNSMASQ_IP=10.79.1.4
SRV_UP_IP=10.79.2.1
ORG_DNS_IP=10.79.2.2
PYPI_IP=10.79.2.10
FILES_IP=10.79.2.11
ORIGIN_RATE="${ORIGIN_RATE:-400mbit}"
ORIGIN_LATENCY_MS="${ORIGIN_LATENCY_MS:-20}"

WORK="$(mktemp -d "${BENCH_TMP:-/var/tmp}/pipgate-bench.XXXXXX")"
PIDS=()

in_cli() { ip netns exec "$NS_CLI" "$@"; }
in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_org() { ip netns exec "$NS_ORG" "$@"; }
log() { echo "[$(date +%T)] $*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# wait_until SECONDS command...: polls every 50 ms until the command succeeds or time runs out.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}
port_open() { ip netns exec "$1" bash -c "(exec 3<>/dev/tcp/$2/$3) 2>/dev/null"; }

stop_pid() {  # stop_pid PID: TERM, up to 5 s, KILL
  local pid="$1" deadline=$((SECONDS + 5))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

ns_kill() {  # every process left in namespace $1 (all started by this run)
  local pids deadline=$((SECONDS + 5))
  pids=$(ip netns pids "$1" 2>/dev/null)
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null
  while [ -n "$(ip netns pids "$1" 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  pids=$(ip netns pids "$1" 2>/dev/null)
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  return 0
}

ns_delete() {
  ns_kill "$1"
  ip netns del "$1" 2>/dev/null
  rm -rf "/etc/netns/$1"
}

world_gc() {  # namespaces of earlier runs whose shell is gone
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pgb[0-9]+-(cli|srv|org|dns)$'); do
    pid=${ns#pgb}
    pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || ns_delete "$ns"
  done
}

bench_cleanup() {
  local pid ns
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
  for ns in "$NS_CLI" "$NS_SRV" "$NS_ORG" "pgb$$-dns"; do ns_delete "$ns"; done
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM HUP

world_up() {
  world_gc
  local ns
  for ns in "$NS_CLI" "$NS_SRV" "$NS_ORG"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
  done
  ip -n "$NS_SRV" link add v-cli type veth peer name v-srv netns "$NS_CLI" || return 1
  ip -n "$NS_SRV" link add v-org type veth peer name v-srv netns "$NS_ORG" || return 1
  ip -n "$NS_SRV" addr add "$PG_IP/24" dev v-cli &&
    ip -n "$NS_SRV" addr add "$NGX_IP/24" dev v-cli &&
    ip -n "$NS_SRV" addr add "$DNSMASQ_IP/24" dev v-cli &&
    ip -n "$NS_CLI" addr add "$CLI_IP/24" dev v-srv &&
    ip -n "$NS_SRV" addr add "$SRV_UP_IP/24" dev v-org &&
    ip -n "$NS_ORG" addr add "$ORG_DNS_IP/24" dev v-srv &&
    ip -n "$NS_ORG" addr add "$PYPI_IP/24" dev v-srv &&
    ip -n "$NS_ORG" addr add "$FILES_IP/24" dev v-srv || return 1
  ip -n "$NS_SRV" link set v-cli up && ip -n "$NS_SRV" link set v-org up &&
    ip -n "$NS_CLI" link set v-srv up && ip -n "$NS_ORG" link set v-srv up || return 1
  in_srv sysctl -qw net.ipv4.ip_forward=0 || return 1
  # The WAN: a token bucket on the origins' egress (what PyPI sends the office).
  in_org tc qdisc add dev v-srv root tbf rate "$ORIGIN_RATE" burst 512kb latency 200ms || return 1
  mkdir -p "/etc/netns/$NS_CLI" "/etc/netns/$NS_SRV" "/etc/netns/$NS_ORG"
  echo "nameserver $PG_IP" >"/etc/netns/$NS_CLI/resolv.conf"
  echo "nameserver $ORG_DNS_IP" >"/etc/netns/$NS_SRV/resolv.conf"
  echo "nameserver $ORG_DNS_IP" >"/etc/netns/$NS_ORG/resolv.conf"
  # Per-peer resolvers for the client (run.sh's pip scripts): pipgate-dns, or the peer dnsmasq.
  echo "nameserver $PG_IP" >"$WORK/resolv.pipgate"
  echo "nameserver $DNSMASQ_IP" >"$WORK/resolv.nginx"
}

make_pki() {  # the "public" CA that verifies the origins (both proxies' upstream trust)
  local d="$WORK/pki"
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=pipgate bench public CA" -keyout ca.key -out ca.pem 2>/dev/null &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=pypi.org" \
        -keyout origin.key -out origin.csr 2>/dev/null &&
      printf 'subjectAltName=DNS:pypi.org,DNS:files.pythonhosted.org\nextendedKeyUsage=serverAuth\n' \
        >origin.ext &&
      openssl x509 -req -in origin.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile origin.ext -out origin.pem 2>/dev/null
  )
}

start_org_dns() {
  ip netns exec "$NS_ORG" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
    --bind-interfaces --listen-address="$ORG_DNS_IP" --port=53 --user=root --pid-file= \
    --log-facility=- --host-record="pypi.org,$PYPI_IP,300" \
    --host-record="files.pythonhosted.org,$FILES_IP,300" >>"$WORK/org-dnsmasq.log" 2>&1 &
  PIDS+=($!)
  wait_until 10 bash -c "ip netns exec $NS_SRV dig +short +time=1 +tries=1 @$ORG_DNS_IP pypi.org | grep -qx $PYPI_IP"
}

start_origins() {  # both fake origins (h2 + HTTP/1.1 by ALPN, like PyPI's CDN)
  mkdir -p "$WORK/control"
  echo "$ORIGIN_LATENCY_MS" >"$WORK/control/latency-ms"
  local role ip
  for role in pypi files; do
    if [ "$role" = pypi ]; then ip=$PYPI_IP; else ip=$FILES_IP; fi
    ip netns exec "$NS_ORG" "$PY" "$E2E/origin.py" --role "$role" --address "$ip" \
      --alpn "${ORIGIN_ALPN:-h2,http/1.1}" --cert "$WORK/pki/origin.pem" \
      --key "$WORK/pki/origin.key" --root "$WORK/world/$role" --log "$WORK/origin-$role.jsonl" \
      --control "$WORK/control" >>"$WORK/origin-$role.err" 2>&1 &
    PIDS+=($!)
    wait_until 10 port_open "$NS_ORG" "$ip" 443 || return 1
  done
}

# origin_gets PATH: GETs of PATH the origins answered (both roles' logs).
origin_gets() {
  cat "$WORK"/origin-*.jsonl 2>/dev/null | grep -cF "\"method\":\"GET\",\"path\":\"$1\""
}

# --- pipgate ----------------------------------------------------------------------------------
write_pipgate_config() {
  mkdir -p "$WORK/pipgate-data"
  cat >"$WORK/pipgate.toml" <<TOML
# tests/bench: pipgate as an appliance would run it, tuned equally with nginx:
[appliance]
address = "$PG_IP"
data_dir = "$WORK/pipgate-data"
user = "root"
# The access log line per request is an info line: off, as nginx's access_log is off.
log_level = "warn"
[dns]
listen = ["$PG_IP:53"]
upstream = ["$ORG_DNS_IP:53"]
allow = ["10.79.0.0/16", "127.0.0.0/8"]
# dnsperf is not run against this instance; an office's pip burst stays far below the default.
[proxy]
listen = ["$PG_IP:443"]
upstream_ca_file = "$WORK/pki/ca.pem"
# Defaults otherwise: one event loop per core with SO_REUSEPORT (nginx: worker_processes auto
# + reuseport), h2_max_concurrent_streams = 100 (nginx: http2_max_concurrent_streams 100),
# client_idle_timeout = 60s (nginx: keepalive_timeout 60s), max_connections 4096.
[cache]
max_size = "8GiB"
[web]
listen = []
TOML
}

start_pipgate() {
  write_pipgate_config
  ip netns exec "$NS_SRV" "$PIPGATE" run --config "$WORK/pipgate.toml" \
    --dns-executable "$PIPGATE_DNS" >>"$WORK/pipgate.log" 2>&1 &
  PIPGATE_PID=$!
  PIDS+=("$PIPGATE_PID")
  wait_until 20 port_open "$NS_SRV" "$PG_IP" 443 || return 1
  wait_until 20 bash -c "ip netns exec $NS_CLI dig +short +time=1 +tries=1 @$PG_IP pypi.org | grep -qx $PG_IP" || return 1
  "$PIPGATE" ca export --config "$WORK/pipgate.toml" >"$WORK/pipgate-ca.pem" || return 1
}

# --- nginx + dnsmasq (the classic recipe) ------------------------------------------------------
start_nginx() {
  mkdir -p "$WORK/nginx"
  "$PEERS/nginx_conf.sh" "$WORK/nginx" "$NGX_IP" "$PYPI_IP" "$FILES_IP" "$WORK/certs" \
    "$WORK/pki/ca.pem" >"$WORK/nginx/nginx.conf" || return 1
  in_srv nginx -t -q -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" >>"$WORK/nginx/stderr.log" 2>&1 || return 1
  ip netns exec "$NS_SRV" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" \
    >>"$WORK/nginx/stderr.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_until 20 port_open "$NS_SRV" "$NGX_IP" 443
}

start_peer_dnsmasq() {  # answers the two names with nginx's address, forwards the rest
  ip netns exec "$NS_SRV" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
    --bind-interfaces --listen-address="$DNSMASQ_IP" --port=53 --user=root --pid-file= \
    --log-facility=- --cache-size=10000 --local-ttl=60 \
    --address="/pypi.org/$NGX_IP" --address="/files.pythonhosted.org/$NGX_IP" \
    --server="$ORG_DNS_IP" >>"$WORK/peer-dnsmasq.log" 2>&1 &
  DNSMASQ_PID=$!
  PIDS+=("$DNSMASQ_PID")
  wait_until 10 bash -c "ip netns exec $NS_CLI dig +short +time=1 +tries=1 @$DNSMASQ_IP pypi.org | grep -qx $NGX_IP"
}

peer_ip() { if [ "$1" = pipgate ]; then echo "$PG_IP"; else echo "$NGX_IP"; fi; }
