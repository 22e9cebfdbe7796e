# The end-to-end world every tests/e2e script sources: three network namespaces made here, the
# real binaries, Debian's real pip and curl, fake origins serving wheels built in the test.
#
#   client  pgt<pid>-cli   10.77.1.2   resolv.conf → 10.77.1.1; no route to 10.77.2.0/24
#              │ veth
#   appliance pgt<pid>-app 10.77.1.1   pipgate run: proxy :443 + pipgate-dns :53
#                          10.77.2.1   (dns upstream 10.77.2.2); no ip_forward
#              │ veth (tc tbf on the origins' egress: ORIGIN_RATE)
#   origins pgt<pid>-org   10.77.2.2   dnsmasq: pypi.org, files.pythonhosted.org → .10, .11
#                          10.77.2.10  fake pypi.org (origin.py --role pypi)
#                          10.77.2.11  fake files.pythonhosted.org (--role files; h2 and/or h1.1)
#   Each origin answer waits ORIGIN_LATENCY_MS first (the WAN; this kernel has no netem).
# Every link lives inside the namespaces (each veth is made in one namespace with its peer in
# another), so parallel runs share nothing but the namespace names, which carry this shell's pid.
# Namespaces, their processes and /etc/netns/<ns> are removed on every exit; a run killed hard
# (ctest timeout) leaves them behind, and the next run removes those whose pid is gone.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"      (arguments: PIPGATE PIPGATE_DNS)
if [ "$(id -u)" != 0 ]; then
  echo "skipped: the end-to-end tests need root (network namespaces)"
  exit 77
fi
E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK_PREFIX=pipgate-e2e
# shellcheck source=../integration/lib.sh
source "$E2E/../integration/lib.sh"
PY=/usr/bin/python3   # Debian's python3 (pip, python3-h2): not a pyenv shim
PIPGATE="$(realpath "${1:?usage: $0 PIPGATE PIPGATE_DNS}")"
PIPGATE_DNS="$(realpath "${2:?usage: $0 PIPGATE PIPGATE_DNS}")"

NS_CLI="pgt$$-cli"
NS_APP="pgt$$-app"
NS_ORG="pgt$$-org"
CLI_IP=10.77.1.2
APP_IP=10.77.1.1      # [appliance] address: what pipgate-dns answers for the two names
APP_UP_IP=10.77.2.1   # the appliance's "internet" side
ORG_DNS_IP=10.77.2.2  # dnsmasq: the appliance's upstream resolver ("the internet's DNS")
PYPI_IP=10.77.2.10
FILES_IP=10.77.2.11
ORIGIN_RATE="${ORIGIN_RATE:-400mbit}"  # the origins' uplink, so a 128 MiB file takes seconds
ORIGIN_LATENCY_MS="${ORIGIN_LATENCY_MS:-50}"  # before each origin response head (the WAN)

CA="$WORK/pipgate-ca.pem"   # exported by `pipgate ca export`: what clients trust
WORLD="$WORK/world"         # what the origins serve (make_world.py)
CONTROL="$WORK/control"     # origin knobs: max-age, <role>-status, latency-ms
mkdir -p "$WORK/req" "$CONTROL" "$WORK/home"
echo "$ORIGIN_LATENCY_MS" >"$CONTROL/latency-ms"

# (A background job must call `ip netns exec` itself, not these: `f &` forks a subshell, and $!
# would be that subshell's pid rather than the process's.)
in_cli() { ip netns exec "$NS_CLI" "$@"; }
in_app() { ip netns exec "$NS_APP" "$@"; }
in_org() { ip netns exec "$NS_ORG" "$@"; }
ns_port_open() { ip netns exec "$1" bash -c "(exec 3<>/dev/tcp/$2/$3) 2>/dev/null"; }
ns_port_closed() { ! ns_port_open "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
figure() { echo "FIGURE $*"; }

# --- the namespaces ---------------------------------------------------------------------------

# ns_kill NS: TERM then KILL every process in NS.
ns_kill() {
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

# Namespaces left by runs that were killed before their EXIT trap ran.
world_gc() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pgt[0-9]+-(cli|app|org)$'); do
    pid=${ns#pgt}
    pid=${pid%%-*}
    kill -0 "$pid" 2>/dev/null || ns_delete "$ns"
  done
}

world_down() {
  local ns
  for ns in "$NS_CLI" "$NS_APP" "$NS_ORG"; do ns_delete "$ns"; done
}

world_up() {
  world_gc
  local ns
  for ns in "$NS_CLI" "$NS_APP" "$NS_ORG"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
  done
  ip -n "$NS_APP" link add v-cli type veth peer name v-app netns "$NS_CLI" || return 1
  ip -n "$NS_APP" link add v-org type veth peer name v-app netns "$NS_ORG" || return 1
  ip -n "$NS_APP" addr add "$APP_IP/24" dev v-cli &&
    ip -n "$NS_CLI" addr add "$CLI_IP/24" dev v-app &&
    ip -n "$NS_APP" addr add "$APP_UP_IP/24" dev v-org &&
    ip -n "$NS_ORG" addr add "$ORG_DNS_IP/24" dev v-app &&
    ip -n "$NS_ORG" addr add "$PYPI_IP/24" dev v-app &&
    ip -n "$NS_ORG" addr add "$FILES_IP/24" dev v-app || return 1
  ip -n "$NS_APP" link set v-cli up && ip -n "$NS_APP" link set v-org up &&
    ip -n "$NS_CLI" link set v-app up && ip -n "$NS_ORG" link set v-app up || return 1
  in_app sysctl -qw net.ipv4.ip_forward=0 || return 1
  # The origins' uplink: a token bucket on their egress, so big downloads take seconds.
  in_org tc qdisc add dev v-app root tbf rate "$ORIGIN_RATE" burst 512kb latency 200ms || return 1
  # `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf.
  mkdir -p "/etc/netns/$NS_CLI" "/etc/netns/$NS_APP" "/etc/netns/$NS_ORG"
  echo "nameserver $APP_IP" >"/etc/netns/$NS_CLI/resolv.conf"
  echo "nameserver $ORG_DNS_IP" >"/etc/netns/$NS_APP/resolv.conf"
  echo "nameserver $ORG_DNS_IP" >"/etc/netns/$NS_ORG/resolv.conf"
}

e2e_cleanup() {
  world_down
  cleanup
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- test PKI, world content, dnsmasq, origins --------------------------------------------------

# make_pki: a test "public" CA (pipgate's upstream_ca_file) and the origins' certificate.
make_pki() {
  local d="$WORK/pki"
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=pipgate e2e public CA" -keyout ca.key -out ca.pem 2>/dev/null &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=pypi.org" \
        -keyout origin.key -out origin.csr 2>/dev/null &&
      printf 'subjectAltName=DNS:pypi.org,DNS:files.pythonhosted.org\nextendedKeyUsage=serverAuth\n' \
        >origin.ext &&
      openssl x509 -req -in origin.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile origin.ext -out origin.pem 2>/dev/null
  )
}

# make_world [--blob NAME:SIZE]... [--corrupt NAME:SIZE]...: wheels, index pages, blobs; then
# sources world.env (WHEEL_*, BLOB_*, CORRUPT_* paths, sizes and digests).
make_world() {
  "$PY" "$E2E/make_world.py" "$WORLD" "$@" || return 1
  # shellcheck source=/dev/null
  source "$WORLD/world.env"
}

start_dnsmasq() {
  ip netns exec "$NS_ORG" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
    --bind-interfaces --listen-address="$ORG_DNS_IP" --port=53 --user=root --pid-file= --log-facility=- \
    --log-queries --host-record="pypi.org,$PYPI_IP,30" \
    --host-record="files.pythonhosted.org,$FILES_IP,30" ${DNSMASQ_EXTRA[@]+"${DNSMASQ_EXTRA[@]}"} \
    >>"$WORK/dnsmasq.log" 2>&1 &
  DNSMASQ_PID=$!
  PIDS+=("$DNSMASQ_PID")
  wait_until 10 bash -c "ip netns exec $NS_APP dig +short +time=1 +tries=1 @$ORG_DNS_IP pypi.org \
    2>/dev/null | grep -qx $PYPI_IP"
}

stop_dnsmasq() { stop_pid "${DNSMASQ_PID:-0}"; }

# start_dns_blackhole: in place of dnsmasq, something on the origins' DNS address that takes
# queries (UDP and TCP) and never answers: an upstream resolver that is down but not refusing.
start_dns_blackhole() {
  ip netns exec "$NS_ORG" "$PY" -c '
import socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((sys.argv[1], 53))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[1], 53)); t.listen(64)
print("black hole up", flush=True)
time.sleep(3600)' "$ORG_DNS_IP" >>"$WORK/blackhole.log" 2>&1 &
  BLACKHOLE_PID=$!
  PIDS+=("$BLACKHOLE_PID")
  wait_until 10 grep -q "black hole up" "$WORK/blackhole.log"
}

# start_origin pypi|files [ALPN]: ALPN "h2,http/1.1" (default), "h2" or "http/1.1".
start_origin() {
  local role="$1" alpn="${2:-h2,http/1.1}" ip pid
  if [ "$role" = pypi ]; then ip=$PYPI_IP; else ip=$FILES_IP; fi
  ip netns exec "$NS_ORG" "$PY" "$E2E/origin.py" --role "$role" --address "$ip" --alpn "$alpn" \
    --cert "$WORK/pki/origin.pem" --key "$WORK/pki/origin.key" --root "$WORLD/$role" \
    --log "$WORK/origin-$role.jsonl" --control "$CONTROL" >>"$WORK/origin-$role.err" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  if [ "$role" = pypi ]; then PYPI_PID=$pid; else FILES_PID=$pid; fi
  wait_until 10 ns_port_open "$NS_ORG" "$ip" 443
}

stop_pid() {
  kill -TERM "$1" 2>/dev/null
  wait_until 15 bash -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

# stop_origin pypi|files: the origin process goes away (connections are refused).
stop_origin() {
  if [ "$1" = pypi ]; then
    stop_pid "${PYPI_PID:-0}"
    wait_until 5 ns_port_closed "$NS_ORG" "$PYPI_IP" 443
  else
    stop_pid "${FILES_PID:-0}"
    wait_until 5 ns_port_closed "$NS_ORG" "$FILES_IP" 443
  fi
}

# origin_count ROLE PATH [METHOD]: requests for PATH the origin answered (default GET).
origin_count() {
  local n
  n=$(grep -cF "\"method\":\"${3:-GET}\",\"path\":\"$2\"" "$WORK/origin-$1.jsonl" 2>/dev/null)
  echo "${n:-0}"
}

# origin_asked ROLE PATH N: at least N GETs for PATH reached the origin.
origin_asked() { [ "$(origin_count "$1" "$2")" -ge "$3" ]; }
# origin_events ROLE EVENT PATH: how many EVENT lines ("end", "fault") the origin logged for PATH.
origin_events() {
  local n
  n=$(grep -cF "\"event\":\"$2\",\"path\":\"$3\"" "$WORK/origin-$1.jsonl" 2>/dev/null)
  echo "${n:-0}"
}
# origin_ended ROLE PATH N: at least N of the origin's answers for PATH have ended (whole or not).
origin_ended() { [ "$(origin_events "$1" end "$2")" -ge "$3" ]; }

# origin_faulted ROLE PATH N: the origin reached the fault point of PATH at least N times.
origin_faulted() { [ "$(origin_events "$1" fault "$2")" -ge "$3" ]; }
# set_fault FILE MODE [AT]: the origins break their answers for FILE (a path's last segment) in
# MODE (origin.py: reset kill stall short long corrupt); clear_fault FILE: answers are whole again.
set_fault() { echo "$2 ${3:-}" >"$CONTROL/fault-$1"; }
clear_fault() { rm -f "$CONTROL/fault-$1"; }

set_max_age() { echo "$1" >"$CONTROL/max-age"; }
set_origin_status() { if [ -n "$2" ]; then echo "$2" >"$CONTROL/$1-status"; else rm -f "$CONTROL/$1-status"; fi; }

# --- pipgate ----------------------------------------------------------------------------------

# write_config [EXTRA_TOML] [DNS_TOML]: the appliance's configuration ($WORK/pipgate.toml);
# EXTRA_TOML goes in [proxy] (it may open further tables), DNS_TOML in [dns]; DNS_ALLOW replaces
# the items of [dns] allow (default: the client, loopback); DNSMASQ_EXTRA (an array) adds
# arguments to the origins' dnsmasq; data_dir is
# $DATA_DIR (default $WORK/data).
write_config() {
  mkdir -p "${DATA_DIR:-$WORK/data}"
  local allow="${DNS_ALLOW:-\"$CLI_IP/32\", \"127.0.0.0/8\"}"
  cat >"$WORK/pipgate.toml" <<TOML
[appliance]
address = "$APP_IP"
data_dir = "${DATA_DIR:-$WORK/data}"
user = "root"
log_level = "debug"
[dns]
listen = ["$APP_IP:53"]
upstream = ["$ORG_DNS_IP:53"]
allow = [$allow]
${2:-}
[proxy]
listen = ["$APP_IP:443"]
upstream_ca_file = "$WORK/pki/ca.pem"
${1:-}
[web]
listen = []
TOML
}

client_resolves() { in_cli dig +short +time=1 +tries=1 "$1" 2>/dev/null | grep -qx "$APP_IP"; }

# start_pipgate: `pipgate run` in the appliance namespace (it starts pipgate-dns); ready when
# the client resolves both names to the appliance and port 443 answers. Exports the CA once.
start_pipgate() {
  [ -f "$WORK/pipgate.toml" ] || write_config ""
  echo "--- pipgate run ($(date +%T))" >>"$WORK/pipgate.log"
  ip netns exec "$NS_APP" "$PIPGATE" run --config "$WORK/pipgate.toml" --dns-executable "$PIPGATE_DNS" \
    >>"$WORK/pipgate.log" 2>&1 &
  PIPGATE_PID=$!
  PIDS+=("$PIPGATE_PID")
  wait_until 20 ns_port_open "$NS_APP" "$APP_IP" 443 || return 1
  wait_until 20 client_resolves pypi.org || return 1
  wait_until 5 client_resolves files.pythonhosted.org || return 1
  if [ ! -s "$CA" ]; then "$PIPGATE" ca export --config "$WORK/pipgate.toml" >"$CA" || return 1; fi
}

stop_pipgate() {
  stop_pid "$PIPGATE_PID"
  wait_until 5 ns_port_closed "$NS_APP" "$APP_IP" 443
}

# setup_world [make_world args...]: PKI, content, namespaces, dnsmasq, both origins, pipgate.
setup_world() {
  expect "test PKI made" make_pki
  expect "world built (wheels, index pages, blobs)" make_world "$@"
  expect "namespaces and links up" world_up
  expect "origin namespace dnsmasq answers pypi.org" start_dnsmasq
  expect "fake pypi.org up" start_origin pypi
  expect "fake files.pythonhosted.org up" start_origin files "${FILES_ALPN:-h2,http/1.1}"
  expect "pipgate run: client resolves both names to $APP_IP, :443 open" start_pipgate
  if [ "$FAILED" -ne 0 ]; then
    echo "--- setup failed; pipgate.log:"
    tail -40 "$WORK/pipgate.log" 2>/dev/null
    finish
    exit 1
  fi
}

# --- client requests --------------------------------------------------------------------------

# req URL [CURL_ARGS...]: one curl from the client namespace, trusting only the exported CA and
# resolving through pipgate-dns. Sets R (file prefix: $R.body, $R.hdr, $R.err), CODE, HV, RC.
# req_start URL [CURL_ARGS...]: the same in the background (R and REQ_PID name it); later
# req_join R PID sets R, CODE, HV and RC as req does.
REQ_N=0
req_launch() {
  REQ_N=$((REQ_N + 1))
  R="$WORK/req/$REQ_N"
  local url="$1"
  shift
  echo "$url $*" >"$R.what"
  # shellcheck disable=SC2016 # the inner script's own arguments
  ip netns exec "$NS_CLI" bash -c 'p="$1"; shift; curl "$@" >"$p.w" 2>"$p.err"; echo $? >"$p.rc"' _ \
    "$R" -sS --max-time "${REQ_TIMEOUT:-30}" --cacert "$CA" -o "$R.body" -D "$R.hdr" \
    -w '%{http_code} %{http_version}\n' "$@" "$url" &
  REQ_PID=$!
}
req_join() {
  R="$1"
  wait "$2"
  RC=$(cat "$R.rc" 2>/dev/null || echo 255)
  CODE=000
  HV=
  read -r CODE HV <"$R.w" 2>/dev/null
  echo "$(cat "$R.what") → rc=$RC code=$CODE http/$HV" >>"$WORK/requests.log"
  return 0
}
req() {
  req_launch "$@"
  req_join "$R" "$REQ_PID"
}
req_start() {
  req_launch "$@"
  PIDS+=("$REQ_PID")
}

# hdr FIELD: the value of FIELD in the last answer's header block ("" when absent).
hdr() { grep -i "^$1:" "$R.hdr" 2>/dev/null | tail -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
body_sha() { sha256sum <"$R.body" | cut -c1-64; }

# expect_xcache REGEX WHAT: the last answer's X-Cache matches ^(REGEX)$.
expect_xcache() {
  local got
  got=$(hdr x-cache)
  expect "$2: X-Cache $1 (got ${got:-none})" matches "$got" "$1"
}
matches() { [[ "$1" =~ ^($2)$ ]]; }

# expect_code WANT WHAT
expect_code() { expect "$2: $1 (got $CODE, curl rc $RC)" [ "$CODE" = "$1" ]; }

# stored URL [CURL_ARGS...]: a HEAD from the client finds URL in the cache (X-Cache: HIT).
stored() {
  local url="$1"
  shift
  in_cli curl -sS -I --max-time 5 --cacert "$CA" "$@" "$url" 2>/dev/null | grep -qi '^x-cache: HIT'
}

# never_complete LABEL SIZE [SHA256]: the last answer is not a whole successful download (curl
# failed, or no 2xx, or fewer than SIZE bytes) and, given SHA256, what arrived is not that file.
never_complete() {
  local got sha
  got=$(stat -c %s "$R.body" 2>/dev/null || echo 0)
  expect "$1: not a complete 200 (curl rc $RC, status $CODE, $got of $2 bytes)" \
    bash -c "! { [ '$RC' = 0 ] && [[ '$CODE' == 2?? ]] && [ '$got' = '$2' ]; }"
  if [ -n "${3:-}" ]; then
    sha=$(body_sha)
    expect "$1: what arrived is not the whole file (sha256 ${sha:0:12}…)" [ "$sha" != "$3" ]
  fi
}

# pipgate_status EXPR: EXPR (Python, over d = `pipgate status --json`) printed, e.g.
# 'd["cache"]["bytes"]'; "error" when the status cannot be had.
pipgate_status() {
  "$PIPGATE" status --json --config "$WORK/pipgate.toml" 2>/dev/null |
    "$PY" -c "import json, sys; d = json.load(sys.stdin); print($1)" 2>/dev/null || echo error
}

# cache_verified: `pipgate cache verify` re-hashed every stored object and found none corrupt
# (prints what it checked).
cache_verified() {
  "$PIPGATE" cache verify --json --config "$WORK/pipgate.toml" 2>/dev/null | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
checked, total, corrupt = d["checked"], d["total"], d["corrupt"]
print(f"     cache verify: {checked} of {total} objects re-hashed, corrupt: {corrupt}")
sys.exit(0 if d["complete"] and d["checked"] == d["total"] and not d["corrupt"] else 1)'
}

# cache_count GLOB: how many stored objects `pipgate cache ls GLOB` (the admin socket) lists;
# "error" when it cannot tell.
cache_count() {
  "$PIPGATE" cache ls --json --config "$WORK/pipgate.toml" "$1" 2>/dev/null |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["matched"])' 2>/dev/null || echo error
}

# --- pip --------------------------------------------------------------------------------------

# requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override --cert; PIP_* could add an index.
CLEAN_ENV=(-u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR -u PIP_CERT
  -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONFIG_FILE -u PIP_NO_INDEX
  -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy
  -u PYTHONPATH -u PYTHONHOME)

# pip_install NS CERT TARGET LOG PKG...: Debian's pip, default index (no URL option), into TARGET.
pip_install() {
  local ns="$1" cert="$2" target="$3" log="$4"
  shift 4
  timeout 150 ip netns exec "$ns" env "${CLEAN_ENV[@]}" HOME="$WORK/home" "$PY" -m pip install \
    --isolated --no-cache-dir --disable-pip-version-check --no-input --retries 1 --timeout 20 \
    --cert "$cert" --target "$target" "$@" >"$log" 2>&1
}

# installed_ok TARGET: the four packages import from TARGET with the right versions.
installed_ok() {
  local got
  got=$(PYTHONPATH="$1" "$PY" -c 'import app_pkg, lib_a, lib_b, tiny_pkg
print(app_pkg.VERSION, lib_a.VERSION, lib_b.VERSION, tiny_pkg.VERSION)' 2>&1)
  [ "$got" = "1.0 1.0 2.0 1.0" ]
}

# e2e_finish: the summary line, with pipgate's log on failure.
e2e_finish() { finish "$WORK/pipgate.log"; }

# --- under attack: pipgate's memory and a well-behaved client, sampled while something runs ------

# add_client_ip ADDR: one more address in the client namespace (another machine on the LAN).
add_client_ip() { ip -n "$NS_CLI" addr add "$1/24" dev v-app; }

# pipgate_rss_kib: resident KiB of pipgate and its children (pipgate-dns), summed.
pipgate_rss_kib() {
  local pid total=0 kib
  for pid in "$PIPGATE_PID" $(pgrep -P "$PIPGATE_PID" 2>/dev/null); do
    kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}

# watch_begin URL FROM_IP: in the background until watch_end, samples pipgate's RSS every 100 ms
# ($WORK/watch.rss) and fetches URL (HTTP/2 and HTTP/1.1 in turn, a new connection each time)
# from FROM_IP every 250 ms ($WORK/watch.good: "code seconds" per request). URL dns:NAME asks
# pipgate-dns for NAME's A record instead ("200" when the answer is the appliance).
watch_begin() {
  rm -f "$WORK/watch.stop" "$WORK/watch.rss" "$WORK/watch.good"
  (
    while [ ! -e "$WORK/watch.stop" ]; do
      pipgate_rss_kib >>"$WORK/watch.rss"
      sleep 0.1
    done
  ) &
  WATCH_RSS_PID=$!
  (
    v=--http2
    while [ ! -e "$WORK/watch.stop" ]; do
      if [[ $1 == dns:* ]]; then
        t0=$(now)
        a=$(ip netns exec "$NS_CLI" dig +short +time=2 +tries=1 -b "$2" "@$APP_IP" "${1#dns:}" 2>/dev/null)
        echo "$([ "$a" = "$APP_IP" ] && echo 200 || echo 000) $(since "$t0")" >>"$WORK/watch.good"
      else
        ip netns exec "$NS_CLI" curl -s -o /dev/null --max-time 5 --cacert "$CA" --interface "$2" \
          "$v" -w '%{http_code} %{time_total}\n' "$1" >>"$WORK/watch.good" 2>/dev/null
      fi
      if [ $v = --http2 ]; then v=--http1.1; else v=--http2; fi
      sleep 0.25
    done
  ) &
  WATCH_GOOD_PID=$!
}

# watch_end LABEL RSS_CAP_MIB: stops the sampling; FIGURE lines for the peak RSS and the good
# client's slowest answer; expects RSS under the cap, and every good request (at least 2) a 200
# within a second.
watch_end() {
  # An attack that ends at once leaves the good client one sample: let it take a second (≤ 5 s).
  local i
  for i in $(seq 20); do
    [ "$(wc -l <"$WORK/watch.good" 2>/dev/null || echo 0)" -ge 2 ] && break
    sleep 0.25
  done
  touch "$WORK/watch.stop"
  wait "$WATCH_RSS_PID" "$WATCH_GOOD_PID" 2>/dev/null
  local peak n bad slowest
  peak=$(sort -n "$WORK/watch.rss" | tail -1)
  n=$(wc -l <"$WORK/watch.good")
  bad=$(awk '$1 != 200 || $2 >= 1.0' "$WORK/watch.good" | wc -l)
  slowest=$(sort -k2 -n "$WORK/watch.good" | tail -1)
  figure "$1: peak RSS $((peak / 1024)) MiB (cap $2 MiB); good client: $n requests, slowest '$slowest', $bad not 200 within 1 s"
  expect "$1: pipgate's RSS stays under $2 MiB (peak $((peak / 1024)) MiB)" [ "$peak" -lt $(($2 * 1024)) ]
  expect "$1: a well-behaved client is served within 1 s throughout ($n requests, $bad failed or slow; slowest '$slowest')" \
    [ "$n" -ge 2 -a "$bad" = 0 ]
  [ "$bad" = 0 ] || sed 's/^/     /' "$WORK/watch.good" | awk '$1 != 200 || $2 >= 1.0' | head -5
}
