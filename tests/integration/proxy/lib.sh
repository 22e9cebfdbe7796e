# Shared by the proxy integration scripts: assertions, readiness polling with a deadline (never a
# fixed sleep), TERM-then-KILL cleanup, and a fixture of real processes on loopback:
#   127.0.77.53:53   dnsmasq: the proxy's [dns] upstream, mapping the real names to the origins
#   127.0.77.1:443   the proxy under test (pipgate-proxy-test-server)
#   127.0.77.2:443   h2-only TLS origin (nghttpd; drops HTTP/1.1)
#   127.0.77.3:443   HTTP/1.1-only TLS origin (origin_h1.py: files, echo, failures)
#   127.0.77.4:443   HTTP/1.1 origin whose certificate names another host (wrong name)
#   127.0.77.5:443   HTTP/1.1 origin whose certificate comes from an untrusted CA
# Origin certificates come from a test "public" CA made here with openssl; the proxy gets it as
# upstream_ca_file. Clients reach the proxy via curl --resolve, or in a private mount namespace
# whose /etc/hosts maps the names to the proxy (nghttp, pip), so the machine is left untouched.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK_PREFIX=pipgate-proxy-test
source "$HERE/../lib.sh"
PY=/usr/bin/python3   # Debian's python3 (python3-h2, pip): not a pyenv shim
PROXY_IP=127.0.77.1
H2_IP=127.0.77.2
H1_IP=127.0.77.3
WRONG_NAME_IP=127.0.77.4
UNTRUSTED_IP=127.0.77.5
DNS_IP=127.0.77.53

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
port_closed() { ! port_open "$@"; }

# stop_pid PID: TERM, then KILL after 5 s.
stop_pid() {
  kill -TERM "$1" 2>/dev/null
  wait_until 5 bash -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  return 0
}

# The summary line, with the proxy's log when something failed.
proxy_finish() { finish "$WORK/proxy.log"; }

# make_pki: the test public CA, origin certificates, and an untrusted CA.
make_pki() {
  local d="$WORK/pki"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=pipgate test public CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=untrusted CA" -keyout evil-ca.key -out evil-ca.pem 2>/dev/null
    issue() {  # issue NAME CA SAN
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null
      printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    }
    issue origin ca "DNS:pypi.org,DNS:files.pythonhosted.org"
    issue wrongname ca "DNS:example.com"
    issue evil evil-ca "DNS:pypi.org,DNS:files.pythonhosted.org"
  )
}

# start_dns PYPI_IP FILES_IP: dnsmasq answering the two names (A only; AAAA gets no data).
start_dns() {
  [ -n "${DNS_PID:-}" ] && stop_pid "$DNS_PID"
  dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address="$DNS_IP" --port=53 --user=root --pid-file= --log-facility=- \
    --host-record="pypi.org,$1,30" --host-record="files.pythonhosted.org,$2,30" \
    >"$WORK/dnsmasq.log" 2>&1 &
  DNS_PID=$!
  PIDS+=("$DNS_PID")
  wait_until 10 bash -c "dig +short +time=1 +tries=1 @$DNS_IP pypi.org 2>/dev/null | grep -q ." \
    || wait_until 10 port_open "$DNS_IP" 53
}

# start_h2_origin: nghttpd on H2_IP:443 serving $WORK/htdocs, echoing POST/PUT bodies.
start_h2_origin() {
  nghttpd --address="$H2_IP" --htdocs="$WORK/htdocs" --echo-upload 443 \
    "$WORK/pki/origin.key" "$WORK/pki/origin.pem" >"$WORK/nghttpd.log" 2>&1 &
  H2_PID=$!
  PIDS+=("$H2_PID")
  wait_until 10 port_open "$H2_IP" 443
}

# start_h1_origin IP CERT_NAME: origin_h1.py serving $WORK/htdocs plus test paths.
start_h1_origin() {
  "$PY" "$HERE/origin_h1.py" "$1" 443 "$WORK/pki/$2.pem" "$WORK/pki/$2.key" "$WORK/htdocs" \
    >"$WORK/origin-$1.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  LAST_PID=$pid
  wait_until 10 port_open "$1" 443
}

# start_proxy [EXTRA_TOML]: the proxy with upstream DNS = dnsmasq, upstream CA = test public CA.
# PROXY_LISTEN_EXTRA adds listen addresses, e.g. ', "[::1]:18443"'.
start_proxy() {
  mkdir -p "$WORK/data"
  cat >"$WORK/pipgate.toml" <<TOML
[appliance]
address = "$PROXY_IP"
data_dir = "$WORK/data"
log_level = "debug"
[dns]
listen = ["127.0.77.9:5353"]
upstream = ["$DNS_IP:53"]
[proxy]
listen = ["$PROXY_IP:443"${PROXY_LISTEN_EXTRA:-}]
upstream_ca_file = "$WORK/pki/ca.pem"
${1:-}
TOML
  "$PROXY_BIN" --config "$WORK/pipgate.toml" >>"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_until 20 port_open "$PROXY_IP" 443
}

# Content the origins serve: a small simple page, a 1 MiB and a big file (sparse: no disk use).
make_htdocs() {
  mkdir -p "$WORK/htdocs/simple/tinypkg" "$WORK/htdocs/packages"
  echo '<a href="/simple/tinypkg/">tinypkg</a>' >"$WORK/htdocs/simple/index.html"
  head -c 1048576 /dev/urandom >"$WORK/htdocs/packages/one-mib.bin"
  head -c 8388608 /dev/urandom >"$WORK/htdocs/packages/eight-mib.bin"
  truncate -s "${BIG_MIB:-128}M" "$WORK/htdocs/packages/big.bin"
}

CURL_BASE=(curl -sS --max-time 60 --cacert "$WORK/data/ca/ca.pem"
  --resolve "pypi.org:443:$PROXY_IP" --resolve "files.pythonhosted.org:443:$PROXY_IP"
  --resolve "example.com:443:$PROXY_IP")
pcurl() { "${CURL_BASE[@]}" "$@"; }

# in_names CMD...: runs CMD in a private mount namespace whose /etc/hosts sends the intercepted
# names to the proxy (what pipgate-dns does for real clients).
in_names() {
  printf '%s pypi.org files.pythonhosted.org\n127.0.0.1 localhost\n' "$PROXY_IP" >"$WORK/hosts"
  unshare --mount bash -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$WORK/hosts" "$@"
}

proxy_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$PROXY_PID/status"; }
