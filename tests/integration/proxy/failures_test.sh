#!/usr/bin/env bash
# Upstream failures: untrusted or wrong-name certificates → 502 with a clear log line; an origin
# dying mid-body (h1: short Content-Length or no last chunk; h2: process killed) → the client
# sees an error, never a truncated success; connection refused → 502; a DNS answer pointing back
# at the appliance → 502 (loop guard), no connection attempted.
# usage: failures_test.sh PROXY_TEST_SERVER
source "$(dirname "$0")/lib.sh"
PROXY_BIN="$1"
BIG_MIB=256

make_pki
make_htdocs
restart_proxy() {
  [ -n "${PROXY_PID:-}" ] && stop_pid "$PROXY_PID"
  start_proxy
}

# --- run 1: bad upstream certificates
expect "dnsmasq up (pypi.org → untrusted CA, files → wrong name)" start_dns "$UNTRUSTED_IP" "$WRONG_NAME_IP"
expect "untrusted-CA origin up" start_h1_origin "$UNTRUSTED_IP" evil
expect "wrong-name origin up" start_h1_origin "$WRONG_NAME_IP" wrongname
expect "proxy up" start_proxy
for v in --http1.1 --http2; do
  code=$(pcurl $v -o "$WORK/body" -w '%{http_code}' https://pypi.org/simple/)
  expect "untrusted upstream CA → 502 with $v ($code)" [ "$code" = 502 ]
  code=$(pcurl $v -o /dev/null -w '%{http_code}' https://files.pythonhosted.org/packages/one-mib.bin)
  expect "upstream certificate for another name → 502 with $v ($code)" [ "$code" = 502 ]
done
expect "502 body says why" grep -q 'certificate verify failed' "$WORK/body"
expect "log: untrusted CA named" grep -q 'pypi.org: certificate verify failed: unable to get local issuer certificate' "$WORK/proxy.log"
expect "log: wrong name named" grep -qi 'files.pythonhosted.org: certificate verify failed: .*hostname mismatch' "$WORK/proxy.log"
expect "log: 502 line with the request" grep -q 'GET https://pypi.org/simple/ → 502' "$WORK/proxy.log"
expect "no request reached the untrusted origin" bash -c "! grep -q 'GET /' '$WORK/origin-$UNTRUSTED_IP.log'"

# --- run 2: origins dying mid-body
expect "dnsmasq up (pypi.org → h1 origin, files → h2 origin)" start_dns "$H1_IP" "$H2_IP"
expect "h1 origin up" start_h1_origin "$H1_IP" origin
H1_PID=$LAST_PID
expect "h2 origin up" start_h2_origin
restart_proxy

# A pooled keep-alive connection the origin dropped: the GET is retried once on a new connection.
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "GET via a fresh h1 upstream connection ($code)" [ "$code" = 200 ]
stop_pid "$H1_PID"
expect "h1 origin restarted" start_h1_origin "$H1_IP" origin
code=$(pcurl --http2 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "GET on a dead pooled connection succeeds after one retry ($code)" [ "$code" = 200 ]
expect "log: the retry named" grep -q 'failed before any response byte.*retrying once on a new connection' "$WORK/proxy.log"
for path in die-mid-body die-mid-chunked; do
  for v in --http1.1 --http2; do
    pcurl $v -o "$WORK/part" "https://pypi.org/$path" 2>/dev/null
    rc=$?
    size=$(stat -c %s "$WORK/part" 2>/dev/null || echo 0)
    expect "h1 origin $path: $v client gets an error (curl $rc, $size bytes)" [ "$rc" != 0 ]
  done
done
expect "log: aborted bodies named" grep -q 'response body aborted' "$WORK/proxy.log"

kill_h2_mid_body() {  # kill_h2_mid_body CURL_VERSION_FLAG
  local rc size out="$WORK/big-$1"
  pcurl "$1" --limit-rate 20M -o "$out" https://files.pythonhosted.org/packages/big.bin 2>/dev/null &
  local cpid=$!
  wait_until 20 bash -c "[ \$(stat -c %s '$out' 2>/dev/null || echo 0) -gt 4000000 ]"
  kill -KILL "$H2_PID"
  wait "$H2_PID" 2>/dev/null
  wait "$cpid"
  rc=$?
  size=$(stat -c %s "$out" 2>/dev/null || echo 0)
  expect "h2 origin killed mid-body: $1 client gets an error (curl $rc, $size of $((BIG_MIB << 20)) bytes)" \
    [ "$rc" != 0 -a "$size" -lt $((BIG_MIB << 20)) ]
}
kill_h2_mid_body --http2
expect "h2 origin up again" start_h2_origin
kill_h2_mid_body --http1.1
code=$(pcurl --http2 -o /dev/null -w '%{http_code}' https://files.pythonhosted.org/packages/one-mib.bin)
expect "origin down (connection refused) → 502 ($code)" [ "$code" = 502 ]
expect "log: connection refused named" grep -q 'files.pythonhosted.org at 127.0.77.2:443: Connection refused' "$WORK/proxy.log"
code=$(pcurl --http2 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "the other host is unaffected ($code)" [ "$code" = 200 ]

# --- run 3: the upstream resolver answers with the appliance's own address
expect "dnsmasq up (pypi.org → the proxy itself)" start_dns "$PROXY_IP" "$H1_IP"
restart_proxy
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "loop guard: own address → 502 ($code)" [ "$code" = 502 ]
expect "log: loop guard named" grep -q "refusing to connect to $PROXY_IP for pypi.org: it is this appliance" "$WORK/proxy.log"
expect "the proxy never connected to itself (one client handshake for pypi.org in run 3)" \
  [ "$(awk '/proxy: listening/ {n=0} /TLS pypi.org/ {n++} END {print n}' "$WORK/proxy.log")" = 1 ]
proxy_finish
