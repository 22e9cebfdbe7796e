#!/usr/bin/env bash
# Happy paths through the proxy: pypi.org → h2-only origin (nghttpd), files.pythonhosted.org →
# HTTP/1.1-only origin; clients curl --http1.1, curl --http2 and nghttp. Bodies both ways, Via,
# hop-by-hop hygiene, redirects unchanged, chunked, keep-alive, concurrent streams, TLS versions
# and resumption, and a 128 MiB body (also to a slow client) with the proxy's peak RSS bounded.
# usage: transport_test.sh PROXY_TEST_SERVER
source "$(dirname "$0")/lib.sh"
PROXY_BIN="$1"

make_pki
make_htdocs
expect "dnsmasq up" start_dns "$H2_IP" "$H1_IP"
expect "h2 origin up" start_h2_origin
expect "h1 origin up" start_h1_origin "$H1_IP" origin
PROXY_LISTEN_EXTRA=', "[::1]:18443"'
expect "proxy up" start_proxy

# --- GET through both protocols to both origins
want=$(cat "$WORK/htdocs/simple/index.html")
for v in --http1.1 --http2; do
  out=$(pcurl $v -D "$WORK/h" https://pypi.org/simple/)
  expect "GET pypi.org (h2 origin) with $v" [ "$out" = "$want" ]
  expect "Via names the upstream hop ($v, h2 origin)" grep -qi '^via: 2 pipgate' "$WORK/h"
  got=$(pcurl $v https://files.pythonhosted.org/packages/one-mib.bin | sha256sum)
  expect "GET 1 MiB from h1 origin with $v" [ "$got" = "$(sha256sum <"$WORK/htdocs/packages/one-mib.bin")" ]
  got=$(pcurl $v https://pypi.org/packages/one-mib.bin | sha256sum)
  expect "GET 1 MiB from h2 origin with $v" [ "$got" = "$(sha256sum <"$WORK/htdocs/packages/one-mib.bin")" ]
done
code=$(pcurl --http2 --resolve 'pypi.org:18443:[::1]' -o /dev/null -w '%{http_code}' https://pypi.org:18443/simple/)
expect "IPv6 listen address [::1]:18443 serves too ($code)" [ "$code" = 200 ]
code=$(pcurl --http2 -o /dev/null -w '%{http_version} %{http_code}' https://pypi.org/simple/)
expect "ALPN h2 selected for curl --http2 ($code)" [ "$code" = "2 200" ]
code=$(pcurl --http1.1 -o /dev/null -w '%{http_version} %{http_code}' https://pypi.org/simple/)
expect "http/1.1 for curl --http1.1 ($code)" [ "$code" = "1.1 200" ]
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' https://pypi.org/no/such/file)
expect "404 from origin passed back ($code)" [ "$code" = 404 ]
code=$(pcurl --http2 -I -o /dev/null -w '%{http_code} %{size_download}' https://files.pythonhosted.org/packages/one-mib.bin)
expect "HEAD through h2 → h1 origin ($code)" [ "$code" = "200 0" ]

n=$(grep -c 'upstream files.pythonhosted.org: no h2 by ALPN; using HTTP/1.1 from now on' "$WORK/proxy.log")
expect "h1-only origin: fallback to HTTP/1.1 found once and remembered ($n log line)" [ "$n" = 1 ]
expect "h2 origin: no fallback" bash -c "! grep -q 'upstream pypi.org: no h2 by ALPN' '$WORK/proxy.log'"

# --- request hygiene as the origin saw it
hdrs=$(pcurl --http1.1 -H 'X-Forwarded-For: 10.9.9.9' -H 'Forwarded: for=10.9.9.9' \
  -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: secret' -H 'X-Kept: yes' \
  https://files.pythonhosted.org/echo-headers)
expect "origin sees Host = files.pythonhosted.org" contains "$hdrs" '"host": "files.pythonhosted.org"'
expect "origin sees Via 1.1 pipgate" contains "$hdrs" '"via": "1.1 pipgate"'
expect "client X-Forwarded-For not sent upstream" bash -c "! grep -q 'forwarded' <<<'$hdrs'"
expect "fields named by Connection not sent upstream" bash -c "! grep -q 'x-hop' <<<'$hdrs'"
expect "client address not sent upstream" bash -c "! grep -q '127.0.77' <<<'$hdrs'"
expect "ordinary fields forwarded" contains "$hdrs" '"x-kept": "yes"'
hdrs=$(pcurl --http2 https://files.pythonhosted.org/echo-headers)
expect "h2 client: origin sees Via 2 pipgate" contains "$hdrs" '"via": "2 pipgate"'

# --- redirects unchanged, chunked responses
loc=$(pcurl --http2 -o /dev/null -w '%{http_code} %{redirect_url}' https://files.pythonhosted.org/redirect)
expect "301 passed back unchanged ($loc)" [ "$loc" = "301 https://pypi.org/simple/tinypkg/" ]
for v in --http1.1 --http2; do
  out=$(pcurl $v https://files.pythonhosted.org/chunked)
  expect "chunked upstream response with $v" [ "$out" = "one,two,three" ]
done

# --- POST bodies both ways (h1 origin echoes; nghttpd --echo-upload echoes)
head -c 3145728 /dev/urandom >"$WORK/upload.bin"
want=$(sha256sum <"$WORK/upload.bin")
for host in files.pythonhosted.org pypi.org; do
  for v in --http1.1 --http2; do
    got=$(pcurl $v --data-binary @"$WORK/upload.bin" -H 'Content-Type: application/octet-stream' \
      "https://$host/upload" | sha256sum)
    expect "POST 3 MiB to $host with $v echoed intact" [ "$got" = "$want" ]
  done
  got=$(pcurl --http1.1 -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/upload.bin" \
    "https://$host/upload" | sha256sum)
  expect "chunked POST to $host echoed intact" [ "$got" = "$want" ]
done
# The proxy answers "Expect: 100-continue" itself; curl would otherwise wait 60 s and send anyway,
# so the interim response in curl's trace is what proves it (no timing assertion).
v=$(pcurl --http1.1 -v --expect100-timeout 60 -H 'Expect: 100-continue' \
  --data-binary @"$WORK/upload.bin" -o /dev/null -w '%{http_code}' \
  https://files.pythonhosted.org/upload 2>&1)
expect "Expect: 100-continue gets 100 Continue, then 200" \
  bash -c 'grep -q "< HTTP/1.1 100 Continue" <<<"$1" && [ "${1: -3}" = 200 ]' _ "$v"

# --- keep-alive and concurrent streams
v=$(pcurl --http1.1 -v -o /dev/null -o /dev/null https://pypi.org/simple/ https://pypi.org/simple/ 2>&1)
expect "HTTP/1.1 keep-alive reuses the connection" contains "$v" 'Re-using existing connection'
out=$(in_names nghttp -v -n -m 20 https://pypi.org/packages/one-mib.bin 2>&1)
n=$(grep -c ':status: 200' <<<"$out")
expect "nghttp: 20 concurrent streams to the h2 origin ($n x 200)" [ "$n" = 20 ]
out=$(in_names nghttp -v -n -m 20 https://files.pythonhosted.org/packages/one-mib.bin 2>&1)
n=$(grep -c ':status: 200' <<<"$out")
expect "nghttp: 20 concurrent streams to the h1 origin ($n x 200)" [ "$n" = 20 ]
jobs_=()
for i in $(seq 8); do
  pcurl --http1.1 -o /dev/null https://files.pythonhosted.org/packages/one-mib.bin &
  jobs_+=($!)
done
for j in "${jobs_[@]}"; do wait "$j"; done
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' https://files.pythonhosted.org/packages/one-mib.bin)
expect "8 parallel h1 clients, then one more ($code)" [ "$code" = 200 ]

# --- TLS: versions, ALPN, resumption, ECDSA leaf for the SNI
expect "TLS 1.1 refused" bash -c "! openssl s_client -connect $PROXY_IP:443 -servername pypi.org -tls1_1 </dev/null >/dev/null 2>&1"
code=$(pcurl --http1.1 --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "TLS 1.2 works ($code)" [ "$code" = 200 ]
s=$(printf 'GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\nConnection: close\r\n\r\n' |
  openssl s_client -connect "$PROXY_IP:443" -servername pypi.org -sess_out "$WORK/sess" \
    -CAfile "$WORK/data/ca/ca.pem" 2>&1)
expect "leaf verifies against the pipgate CA" contains "$s" 'Verify return code: 0'
expect "leaf is ECDSA" contains "$s" 'ECDSA\|id-ecPublicKey\|Peer signature type: ECDSA'
# resumed VERSION: a session ticket from one connection resumes the next (Python's ssl reads the
# TLS 1.3 ticket with the response, so no timing is involved).
resumed() {
  local r
  r=$("$PY" - "$PROXY_IP" "$WORK/data/ca/ca.pem" "$1" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, sys.argv[3])
def get(session=None):
    s = ctx.wrap_socket(socket.create_connection((sys.argv[1], 443)), server_hostname="pypi.org",
                        session=session)
    s.sendall(b"GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\nConnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    result = (s.session_reused, s.session)
    s.close()
    return result
_, session = get()
print("reused" if get(session)[0] else "new")
PYEOF
  )
  [ "$r" = reused ]
}
expect "TLS 1.2 session resumed with a ticket" resumed TLSv1_2
expect "TLS 1.3 session resumed with a ticket" resumed TLSv1_3
s=$(openssl s_client -connect "$PROXY_IP:443" -servername files.pythonhosted.org </dev/null 2>&1)
expect "SNI files.pythonhosted.org gets its own leaf" contains "$s" 'CN *= *files.pythonhosted.org'

# --- big bodies, a slow client, bounded memory
want_size=$(stat -c %s "$WORK/htdocs/packages/big.bin")
for v in --http2 --http1.1; do
  for host in pypi.org files.pythonhosted.org; do
    got=$(pcurl $v -o /dev/null -w '%{http_code} %{size_download}' "https://$host/packages/big.bin")
    expect "128 MiB from $host with $v ($got)" [ "$got" = "200 $want_size" ]
  done
done
pcurl --http2 --limit-rate 8M --max-time 4 -o /dev/null https://pypi.org/packages/big.bin
expect "slow h2 client cut by its own timeout (curl 28)" [ $? = 28 ]
pcurl --http1.1 --limit-rate 8M --max-time 4 -o /dev/null https://files.pythonhosted.org/packages/big.bin
expect "slow h1 client cut by its own timeout (curl 28)" [ $? = 28 ]
code=$(pcurl --http2 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "proxy still serves after aborted transfers ($code)" [ "$code" = 200 ]
rss=$(proxy_rss_kib)
expect "proxy peak RSS bounded: ${rss} KiB < 64 MiB after 4x128 MiB + slow clients" [ "$rss" -lt 65536 ]

# --- graceful stop: transfers in progress finish (h2 GOAWAY, h1 close after the response)
want=$(sha256sum <"$WORK/htdocs/packages/eight-mib.bin")
pcurl --http2 --limit-rate 3M -o "$WORK/g2" https://pypi.org/packages/eight-mib.bin &
c2=$!
pcurl --http1.1 --limit-rate 3M -o "$WORK/g1" https://files.pythonhosted.org/packages/eight-mib.bin &
c1=$!
wait_until 10 bash -c "[ -s '$WORK/g2' ] && [ -s '$WORK/g1' ]"
kill -TERM "$PROXY_PID"
wait "$c2"
rc2=$?
wait "$c1"
rc1=$?
expect "h2 transfer in progress completes across SIGTERM (curl $rc2)" [ "$rc2" = 0 -a "$(sha256sum <"$WORK/g2")" = "$want" ]
expect "h1 transfer in progress completes across SIGTERM (curl $rc1)" [ "$rc1" = 0 -a "$(sha256sum <"$WORK/g1")" = "$want" ]
stop_pid "$PROXY_PID"
expect "proxy logs its graceful stop" grep -q 'proxy test server stopped' "$WORK/proxy.log"
expect "no new connections after stop" port_closed "$PROXY_IP" 443
proxy_finish
