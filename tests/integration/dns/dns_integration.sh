#!/usr/bin/env bash
# Integration tests of the real pipgate-dns binary on loopback, against a real upstream
# (dnsmasq on 127.0.0.2, started here with known records), queried with dig.
#   dns_integration.sh PIPGATE_DNS_BINARY CASE
# Each CASE is one ctest test. Readiness is polled with a deadline; processes are stopped with
# TERM, then KILL. Needs: dnsmasq (dnsmasq-base), dig (dnsutils), python3.
set -euo pipefail

BIN=${1:?usage: $0 PIPGATE_DNS_BINARY CASE}
CASE=${2:?usage: $0 PIPGATE_DNS_BINARY CASE}
WORK=$(mktemp -d /tmp/pipgate-dns-it.XXXXXX)
PIDS=()

log() { echo "[$CASE] $*" >&2; }
fail() {
  log "FAIL: $*"
  for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done
  exit 1
}

# TERM, then KILL after 5 s; returns the exit status of the process.
stop_process() {
  local pid=$1 deadline=$((SECONDS + 5))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored TERM: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  return $rc
}

cleanup() {
  for pid in "${PIDS[@]}"; do stop_process "$pid" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free port on 127.0.0.1 for both UDP and TCP (asked from the kernel, then released).
free_port() {
  python3 - <<'PY'
import socket
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); u.close(); t.close(); print(port); break
    except OSError:
        t.close(); u.close()
PY
}

UP_PORT=$(free_port)
DNS_PORT=$(free_port)

start_upstream() {
  local -a txt=()
  for i in $(seq 1 10); do
    txt+=("--txt-record=big.other.test,$(printf 'record%02d-%090d' "$i" 0)")
  done
  dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.0.2 \
    -p "$UP_PORT" --pid-file= --user="$(id -un)" --local-ttl=300 \
    --address=/example.test/192.0.2.80 --txt-record=pypi.org,upstream-txt \
    --host-record=www.other.test,192.0.2.81 "${txt[@]}" \
    --log-queries --log-facility="$WORK/dnsmasq.log" >"$WORK/dnsmasq.out.log" 2>&1 &
  PIDS+=($!)
  wait_until 10 "dig @127.0.0.2 -p $UP_PORT +time=1 +tries=1 www.other.test A | grep -q 'status: NOERROR'" ||
    fail "dnsmasq did not start"
}

# wait_until SECONDS COMMAND: polls COMMAND until it succeeds or the deadline passes.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $deadline ]; do
    if bash -c "$*" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# write_config EXTRA_DNS_LINES...: a config listening on 127.0.0.1 and ::1 (when available).
write_config() {
  {
    echo '[appliance]'
    echo 'address = "10.0.0.5"'
    echo 'log_level = "debug"'
    echo '[dns]'
    echo "listen = [\"127.0.0.1:$DNS_PORT\"$IPV6_LISTEN]"
    echo 'upstream_timeout = "500ms"'
    echo 'upstream_attempts = 1'
    for line in "$@"; do echo "$line"; done
  } >"$WORK/pipgate.toml"
}

start_dns() {
  "$BIN" --config "$WORK/pipgate.toml" >"$WORK/pipgate-dns.log" 2>&1 &
  DNS_PID=$!
  PIDS+=($DNS_PID)
  wait_until 10 "dig @127.0.0.1 -p $DNS_PORT +time=1 +tries=1 pypi.org A | grep -q 'status: \(NOERROR\|REFUSED\)'" ||
    fail "pipgate-dns did not become ready"
}

IPV6_LISTEN=""
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
  IPV6_LISTEN=", \"[::1]:$DNS_PORT\""
fi

q() { dig @127.0.0.1 -p "$DNS_PORT" +time=3 +tries=1 "$@"; }
expect() {  # expect DESCRIPTION PATTERN OUTPUT
  grep -qE "$2" <<<"$3" || { echo "$3" >&2; fail "$1: no match for /$2/"; }
}

case "$CASE" in
  intercept)
    start_upstream
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]"
    start_dns
    out=$(q PyPI.oRg A)
    expect "A, 0x20 echoed" 'status: NOERROR' "$out"
    expect "A, 0x20 echoed" $'^PyPI\\.oRg\\.\t+60\tIN\tA\t10\\.0\\.0\\.5' "$out"
    expect "A, 0x20 echoed" ';PyPI\.oRg\.' "$out"
    expect "A flags" 'flags: qr aa rd ra' "$out"
    out=$(q files.pythonhosted.org A +tcp)
    expect "A over TCP" $'files\\.pythonhosted\\.org\\.\t+60\tIN\tA\t10\\.0\\.0\\.5' "$out"
    out=$(q pypi.org AAAA)
    expect "AAAA NODATA" 'status: NOERROR.*ANSWER: 0, AUTHORITY: 1' "$(tr '\n' ' ' <<<"$out")"
    expect "AAAA NODATA SOA" $'pypi\\.org\\.\t+60\tIN\tSOA' "$out"
    out=$(q pypi.org TYPE65)
    expect "HTTPS NODATA" 'ANSWER: 0, AUTHORITY: 1' "$out"
    out=$(q pypi.org ANY)
    expect "ANY (RFC 8482)" $'pypi\\.org\\.\t+60\tIN\tA\t10\\.0\\.0\\.5' "$out"
    out=$(q pypi.org TXT)
    expect "TXT forwarded" 'upstream-txt' "$out"
    out=$(q upload.pypi.org A)
    expect "subdomain forwarded (dnsmasq refuses it)" 'status: SERVFAIL' "$out"
    out=$(q pypi.org A +dnssec)
    expect "+dnssec: DO echoed" 'flags: do;' "$out"
    if [ -n "$IPV6_LISTEN" ]; then
      out=$(dig @::1 -p "$DNS_PORT" +time=3 +tries=1 pypi.org A)
      expect "over IPv6 UDP" $'10\\.0\\.0\\.5' "$out"
      out=$(dig @::1 -p "$DNS_PORT" +time=3 +tries=1 +tcp pypi.org A)
      expect "over IPv6 TCP" $'10\\.0\\.0\\.5' "$out"
    fi
    ;;

  forward)
    start_upstream
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]"
    start_dns
    out=$(q WwW.Example.TEST A)
    expect "forwarded A" $'WwW\\.Example\\.TEST\\.\t+300\tIN\tA\t192\\.0\\.2\\.80' "$out"
    out=$(q www.example.test A +tcp)
    expect "forwarded over TCP (cache hit)" $'192\\.0\\.2\\.80' "$out"
    out=$(q www.example.test A +dnssec +bufsize=4096)
    expect "+dnssec: DO echoed" 'flags: do;' "$out"
    expect "+dnssec: our EDNS size" 'udp: 1232' "$out"
    expect "+dnssec answer" $'192\\.0\\.2\\.80' "$out"
    # Answered from the cache: dnsmasq saw the plain question once and the DO one once.
    n=$(grep -c 'query\[A\] [Ww][Ww][Ww]\.[Ee]xample\.[Tt][Ee][Ss][Tt]' "$WORK/dnsmasq.log" || true)
    [ "$n" = 2 ] || fail "expected 2 upstream queries (DO bit in the cache key), got $n"
    out=$(q www.other.test A)
    expect "host record" '192\.0\.2\.81' "$out"
    # Pipelined queries on one TCP connection (RFC 7766 §6.2.1).
    out=$(dig @127.0.0.1 -p "$DNS_PORT" +time=3 +tries=1 +tcp +keepopen \
      pypi.org A www.example.test A www.other.test A)
    [ "$(grep -cE $'\tIN\tA\t' <<<"$out")" = 3 ] || { echo "$out"; fail "keepopen: 3 answers"; }
    ;;

  truncation)
    start_upstream
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]"
    start_dns
    out=$(q big.other.test TXT +noedns +ignore)
    expect "no EDNS, > 512: TC" 'flags: qr.* tc' "$out"
    expect "no EDNS, > 512: no answers" 'ANSWER: 0' "$out"
    out=$(q big.other.test TXT +bufsize=512 +ignore)
    expect "EDNS 512: TC" 'flags: qr.* tc' "$out"
    out=$(q big.other.test TXT +bufsize=1232 +ignore)
    expect "EDNS 1232: fits" 'ANSWER: 10,' "$out"
    out=$(q big.other.test TXT +noedns)
    expect "TCP fallback end to end" 'ANSWER: 10,' "$out"
    out=$(q big.other.test TXT +tcp)
    expect "TCP" 'ANSWER: 10,' "$out"
    ;;

  upstream_down)
    # Nothing listens on the upstream port: every forwarded name fails fast with SERVFAIL;
    # intercepted names keep working.
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]"
    start_dns
    out=$(q pypi.org A)
    expect "intercepted with upstream down" $'10\\.0\\.0\\.5' "$out"
    start=$SECONDS
    out=$(q www.example.test A)
    expect "forwarded with upstream down" 'status: SERVFAIL' "$out"
    [ $((SECONDS - start)) -le 2 ] || fail "SERVFAIL took $((SECONDS - start)) s"
    out=$(q files.pythonhosted.org A +tcp)
    expect "intercepted over TCP with upstream down" $'10\\.0\\.0\\.5' "$out"
    ;;

  upstream_slow)
    # An upstream that reads queries and never answers: SERVFAIL after upstream_timeout
    # (500 ms, 1 attempt), and intercepted names are not held up meanwhile.
    python3 - "$UP_PORT" >"$WORK/blackhole.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", int(sys.argv[1])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.2", int(sys.argv[1])))
t.listen(16)
print("ready", flush=True)
while True: s.recvfrom(4096)
PY
    PIDS+=($!)
    wait_until 10 "grep -q ready $WORK/blackhole.log" || fail "blackhole did not start"
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]"
    start_dns
    q slow.example.test A >"$WORK/slow.out" &
    slow=$!
    out=$(q pypi.org A)
    expect "intercepted while an upstream query hangs" $'10\\.0\\.0\\.5' "$out"
    wait $slow || true
    expect "slow upstream: SERVFAIL" 'status: SERVFAIL' "$(cat "$WORK/slow.out")"
    ;;

  acl)
    start_upstream
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]" 'allow = ["10.0.0.0/8", "fd00::/8"]'
    start_dns
    for name in pypi.org www.example.test; do
      out=$(q "$name" A)
      expect "REFUSED for $name" 'status: REFUSED' "$out"
      expect "REFUSED: no answer" 'ANSWER: 0' "$out"
      out=$(q "$name" A +tcp)
      expect "REFUSED over TCP for $name" 'status: REFUSED' "$out"
    done
    n=$(grep -c 'query\[' "$WORK/dnsmasq.log" || true)
    [ "$n" = 1 ] || fail "a refused client reached the upstream ($n queries, 1 was the probe)"
    ;;

  rate_limit)
    write_config 'upstream = []' 'rate_limit = 1' 'rate_limit_burst = 2'
    start_dns
    # 20 queries at once from one client: at most the burst (2) plus a refill are answered.
    answered=$(python3 - "$DNS_PORT" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
q = lambda i: struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + b"\x04pypi\x03org\x00\x00\x01\x00\x01"
for i in range(20):
    s.sendto(q(i), ("127.0.0.1", port))
s.settimeout(0.2)
n, end = 0, time.time() + 1.0
while time.time() < end:
    try:
        s.recvfrom(4096); n += 1
    except socket.timeout:
        pass
print(n)
PY
)
    [ "$answered" -ge 1 ] && [ "$answered" -le 4 ] || fail "rate limit: $answered of 20 answered"
    out=$(q pypi.org A +tcp)
    expect "TCP is not rate limited" $'10\\.0\\.0\\.5' "$out"
    wait_until 10 "dig @127.0.0.1 -p $DNS_PORT +time=1 +tries=1 pypi.org A | grep -q 10.0.0.5" ||
      fail "the bucket did not refill"
    ;;

  lifecycle)
    out=$("$BIN" --version)
    expect "--version" '^pipgate-dns [0-9]' "$out"
    "$BIN" --help | grep -q -- '--config' || fail "--help"
    echo '[dns]' >"$WORK/bad.toml"
    echo 'listen = ["not an address"]' >>"$WORK/bad.toml"
    rc=0
    err=$("$BIN" --config "$WORK/bad.toml" 2>&1) || rc=$?
    [ $rc = 1 ] || fail "bad config: exit $rc, want 1"
    expect "bad config names the key" 'listen' "$err"
    rc=0
    "$BIN" --config "$WORK/missing.toml" >/dev/null 2>&1 || rc=$?
    [ $rc = 1 ] || fail "missing config: exit $rc, want 1"
    write_config 'upstream = []'
    start_dns
    # A port already in use: refuse to start.
    cp "$WORK/pipgate.toml" "$WORK/second.toml"
    rc=0
    "$BIN" --config "$WORK/second.toml" >"$WORK/second.log" 2>&1 || rc=$?
    [ $rc = 1 ] || fail "second instance on the same port: exit $rc, want 1"
    # Garbage does not hurt it.
    python3 - "$DNS_PORT" <<'PY'
import os, socket, sys
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in [0, 1, 11, 12, 13, 100, 512, 4000]:
    u.sendto(os.urandom(n), ("127.0.0.1", port))
t = socket.create_connection(("127.0.0.1", port))
t.sendall(b"\x00\x05abcde" + b"\xff\xff" + os.urandom(100))
t.close()
PY
    out=$(q pypi.org A)
    expect "alive after garbage" $'10\\.0\\.0\\.5' "$out"
    rc=0
    stop_process "$DNS_PID" || rc=$?
    PIDS=()
    [ $rc = 0 ] || fail "SIGTERM: exit $rc, want 0"
    grep -q 'stopping on signal' "$WORK/pipgate-dns.log" || fail "no stop line in the log"
    ;;

  tcp)
    # RFC 7766: idle connections are closed, and past tcp_max_connections new ones are too.
    write_config 'upstream = []' 'tcp_idle_timeout = 1' 'tcp_max_connections = 2'
    start_dns
    python3 - "$DNS_PORT" <<'PY' || fail "tcp limits"
import socket, struct, sys, time
port = int(sys.argv[1])
q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x04pypi\x03org\x00\x00\x01\x00\x01"
def closed_within(sock, seconds):
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except (socket.timeout, ConnectionResetError):
        return False
a = socket.create_connection(("127.0.0.1", port))
b = socket.create_connection(("127.0.0.1", port))
# Two queries on one connection, sent together: both answered.
a.sendall(struct.pack(">H", len(q)) + q + struct.pack(">H", len(q)) + q)
a.settimeout(5)
data = b""
while len(data) < 4 or len(data) < 2 + struct.unpack(">H", data[:2])[0] + 2:
    data += a.recv(4096)
n1 = struct.unpack(">H", data[:2])[0]
assert len(data) >= 2 + n1 + 2, "second answer"
b.sendall(struct.pack(">H", len(q)) + q)  # an answer on b: both connections are registered
b.settimeout(5)
assert len(b.recv(4096)) > 2, "answer on the second connection"
c = socket.create_connection(("127.0.0.1", port))
assert closed_within(c, 3), "third connection past tcp_max_connections was not closed"
start = time.time()
assert closed_within(a, 5), "idle connection not closed"
idle = time.time() - start
assert idle < 4, f"idle close took {idle:.1f}s"
print("ok")
PY
    ;;

  privileges)
    # Bound as root, then serving as [appliance] user, forwarding included.
    [ "$(id -u)" = 0 ] || { log "skipped: needs root"; exit 0; }
    start_upstream
    write_config "upstream = [\"127.0.0.2:$UP_PORT\"]"
    sed -i 's/^\[appliance\]$/[appliance]\nuser = "nobody"/' "$WORK/pipgate.toml"
    start_dns
    uid=$(awk '/^Uid:/ {print $3}' "/proc/$DNS_PID/status")
    [ "$uid" = "$(id -u nobody)" ] || fail "effective uid $uid, want nobody's"
    out=$(q www.other.test A)
    expect "forwarding after the drop" '192\.0\.2\.81' "$out"
    grep -q 'running as user nobody' "$WORK/pipgate-dns.log" || fail "no log line for the drop"
    ;;

  linkage)
    # The two-process rule: pipgate-dns links ldns and c-ares, never BoringSSL.
    libs=$(ldd "$BIN")
    expect "links ldns" 'libldns' "$libs"
    expect "links c-ares" 'libcares' "$libs"
    if grep -qE 'android|boringssl' <<<"$libs"; then echo "$libs" >&2; fail "links BoringSSL"; fi
    ;;

  *)
    fail "unknown case $CASE"
    ;;
esac
log "ok"
