#!/usr/bin/env bash
# `pipgate run` for real: creates the CA and leaves, supervises pipgate-dns, renews nothing it
# need not, refuses a broken CA without touching it, and stops cleanly on SIGTERM.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
pipgate="$1"
pipgate_dns="$2"
cd "$WORK"

dns_port="$(free_port)"
https_port="$(free_port)"
web_port="$(free_port)"
pipgate_config cfg.toml "$WORK/data" "127.0.0.1:$dns_port" "127.0.0.1:$https_port" \
  "127.0.0.1:$web_port"
start() {  # start LOG [extra args]: pipgate run in the background
  local log="$1"; shift
  "$pipgate" run --config cfg.toml "$@" >"$log" 2>&1 &
  PIDS+=($!)
  PID=$!
}
stop_and_wait() {  # TERM, then the exit status within 10 s
  kill -TERM "$PID"
  local deadline=$((SECONDS + 10))
  while kill -0 "$PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if kill -0 "$PID" 2>/dev/null; then return 99; fi
  wait "$PID"
}
running() { grep -q "pipgate is running" "$1"; }
dns_answers() {
  [ "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$dns_port" pypi.org A 2>/dev/null)" = "192.0.2.10" ]
}

# 1. First start: CA and one leaf per intercepted name, then pipgate-dns answers.
start run1.log --dns-executable "$pipgate_dns"
expect "pipgate run reports running" wait_until 20 running run1.log
# The appliance runs on the allocator it was linked with (jemalloc unless -DPIPGATE_JEMALLOC=OFF),
# and says so: the idle trim purges jemalloc's arenas only if it is found at run time.
# (ldd's whole output first: `ldd | grep -q` fails under pipefail when grep quits early.)
if [[ "$(ldd "$pipgate")" == *libjemalloc* ]]; then allocator=jemalloc; else allocator=glibc; fi
expect "start line names the allocator ($allocator)" grep -q "allocator: $allocator" run1.log
for name in pypi.org files.pythonhosted.org; do
  expect "leaf for $name exists" test -f "data/certs/$name.pem"
  expect "openssl verifies the $name leaf against the CA" \
    openssl verify -CAfile data/ca/ca.pem -verify_hostname "$name" -purpose sslserver \
    "data/certs/$name.pem"
done
expect "startup prints the CA file to trust" grep -q "Trust the CA on each client: $WORK/data/ca/ca.pem" run1.log
expect "startup prints a dig line" grep -q "dig @" run1.log
expect "startup prints a curl line" grep -q "curl --cacert" run1.log
expect "pipgate-dns answers pypi.org with the appliance address" wait_until 20 dns_answers

# The proxy presents the leaf that a client trusting only our CA accepts, over h2 and HTTP/1.1.
# Upstream DNS (127.0.0.1:9) is down, so the answer is a gateway error, not a hang.
for proto in --http2 --http1.1; do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$proto" --cacert data/ca/ca.pem \
    --resolve "pypi.org:$https_port:127.0.0.1" "https://pypi.org:$https_port/simple/")"
  expect "curl $proto verifies the leaf and gets a gateway error ($code)" \
    bash -c "[ '$code' = 502 ] || [ '$code' = 504 ]"
done
curl -s -o /dev/null --max-time 10 --cacert data/ca/ca.pem \
  --resolve "example.org:$https_port:127.0.0.1" "https://example.org:$https_port/"
expect "a name that is not intercepted fails the TLS handshake" test $? -ne 0

# TLS resumption across the proxy's event loops (one per core, SO_REUSEPORT spreads the
# connections): every later connection resumes the first one's session, whichever loop takes it.
resumes_everywhere() {
  python3 - "$https_port" data/ca/ca.pem <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # the ticket arrives with the handshake
def connect(session=None):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                        server_hostname="pypi.org", session=session)
    result = (s.session_reused, s.session)
    s.close()
    return result
_, session = connect()
sys.exit(0 if all(connect(session)[0] for _ in range(12)) else 1)
PYEOF
}
expect "12 connections all resume the first one's TLS session" resumes_everywhere

# The onboarding page and /metrics, on [web] listen: the CA served is the CA on disk, and the
# requests above are counted by cache result.
curl -s --max-time 10 -o served-ca.pem "http://127.0.0.1:$web_port/ca.pem"
expect "the web page serves the CA file pipgate uses" cmp -s served-ca.pem data/ca/ca.pem
expect "the page shows the CA fingerprint" bash -c "curl -s --max-time 10 http://127.0.0.1:$web_port/ \
  | grep -qi \"$(openssl x509 -in data/ca/ca.pem -noout -fingerprint -sha256 | cut -d= -f2)\""
metrics="$(curl -s --max-time 10 "http://127.0.0.1:$web_port/metrics")"
expect "/metrics counts the gateway errors as cache misses" \
  contains "$metrics" 'pipgate_http_requests_total{cache="miss",host="pypi.org",status="50'
expect "/metrics reports the store" contains "$metrics" "pipgate_store_budget_bytes"
dns_counted() {
  curl -s --max-time 5 "http://127.0.0.1:$web_port/metrics" \
    | grep -Eq '^pipgate_dns_queries_total\{result="intercepted"\} [1-9]'
}
expect "/metrics counts pipgate-dns's intercepted answers" wait_until 20 dns_counted

# The supervisor restarts pipgate-dns when it dies.
child="$(pgrep -P "$PID" -f pipgate-dns | head -1)"
expect "pipgate-dns runs as a child of pipgate" test -n "$child"
expect "pipgate-dns holds none of the proxy's listening sockets" \
  bash -c "! ss -ltnpH 'sport = :$https_port' | grep -q pipgate-dns"
if [ -n "$child" ]; then
  kill -KILL "$child"
  expect "supervisor notices the death" wait_until 10 grep -q "pipgate-dns: killed by signal 9" run1.log
  expect "pipgate-dns answers again after a restart" wait_until 10 dns_answers
fi

stop_and_wait
expect "SIGTERM stops pipgate with status 0" test $? -eq 0
expect "no pipgate-dns is left behind" test -z "$(pgrep -f "pipgate-dns --config $WORK/cfg.toml")"
serial1="$(openssl x509 -in data/certs/pypi.org.pem -noout -serial)"

# 2. A restart reuses the CA and the leaves.
start run2.log --dns-executable none
expect "second start runs" wait_until 20 running run2.log
expect "leaf reused across restarts" test "$(openssl x509 -in data/certs/pypi.org.pem -noout -serial)" = "$serial1"
kill -INT "$PID"
wait_until 10 bash -c "! kill -0 $PID 2>/dev/null"
wait "$PID"
expect "SIGINT stops pipgate with status 0" test $? -eq 0

# 3. A damaged CA is an error, never silently replaced (clients already trust it).
cp data/ca/ca.pem ca.backup
head -c 200 ca.backup >data/ca/ca.pem
cp data/ca/ca.pem damaged.pem
start run3.log --dns-executable none
wait_until 10 bash -c "! kill -0 $PID 2>/dev/null"
wait "$PID"
expect "damaged CA: pipgate run exits 1" test $? -eq 1
expect "damaged CA: the error names the file" grep -q "ca.pem" run3.log
expect "damaged CA: the file is left as it was" cmp -s data/ca/ca.pem damaged.pem
cp ca.backup data/ca/ca.pem

finish
