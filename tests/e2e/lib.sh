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
    --host-record="files.pythonhosted.org,$FILES_IP,30" >>"$WORK/dnsmasq.log" 2>&1 &
  DNSMASQ_PID=$!
  PIDS+=("$DNSMASQ_PID")
  wait_until 10 bash -c "ip netns exec $NS_APP dig +short +time=1 +tries=1 @$ORG_DNS_IP pypi.org \
    2>/dev/null | grep -qx $PYPI_IP"
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
# origin_ended ROLE PATH N: at least N of the origin's answers for PATH have ended (whole or not).
origin_ended() {
  local n
  n=$(grep -cF "\"event\":\"end\",\"path\":\"$2\"" "$WORK/origin-$1.jsonl" 2>/dev/null)
  [ "${n:-0}" -ge "$3" ]
}

set_max_age() { echo "$1" >"$CONTROL/max-age"; }
set_origin_status() { if [ -n "$2" ]; then echo "$2" >"$CONTROL/$1-status"; else rm -f "$CONTROL/$1-status"; fi; }

# --- pipgate ----------------------------------------------------------------------------------

# write_config [EXTRA_TOML]: the appliance's configuration ($WORK/pipgate.toml); data_dir is
# $DATA_DIR (default $WORK/data).
write_config() {
  mkdir -p "${DATA_DIR:-$WORK/data}"
  cat >"$WORK/pipgate.toml" <<TOML
[appliance]
address = "$APP_IP"
data_dir = "${DATA_DIR:-$WORK/data}"
user = "root"
log_level = "debug"
[dns]
listen = ["$APP_IP:53"]
upstream = ["$ORG_DNS_IP:53"]
allow = ["$CLI_IP/32", "127.0.0.0/8"]
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
REQ_N=0
req() {
  REQ_N=$((REQ_N + 1))
  R="$WORK/req/$REQ_N"
  local url="$1"
  shift
  in_cli curl -sS --max-time "${REQ_TIMEOUT:-30}" --cacert "$CA" -o "$R.body" -D "$R.hdr" \
    -w '%{http_code} %{http_version}\n' "$@" "$url" >"$R.w" 2>"$R.err"
  RC=$?
  CODE=000
  HV=
  read -r CODE HV <"$R.w" 2>/dev/null
  echo "$url $* → rc=$RC code=$CODE http/$HV" >>"$WORK/requests.log"
  return 0
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
