#!/usr/bin/env bash
# Not an open proxy in any form: unknown SNI or no SNI fails the handshake (unrecognized_name),
# Host/:authority must equal the SNI (421), absolute-form to another host (421), CONNECT (405),
# extended CONNECT refused, oversized heads (431), idle slowloris heads closed.
# usage: refusals_test.sh PROXY_TEST_SERVER
source "$(dirname "$0")/lib.sh"
PROXY_BIN="$1"

make_pki
make_htdocs
expect "dnsmasq up" start_dns "$H2_IP" "$H1_IP"
expect "h2 origin up" start_h2_origin
expect "h1 origin up" start_h1_origin "$H1_IP" origin
expect "proxy up" start_proxy
CA="$WORK/data/ca/ca.pem"
probe() { "$PY" "$HERE/h2_probe.py" "$PROXY_IP" "$CA" "$@" 2>&1; }
raw_h1() {  # raw_h1 REQUEST_BYTES: the status line of the answer, over TLS with SNI pypi.org
  printf "$1" | timeout 10 openssl s_client -quiet -connect "$PROXY_IP:443" -servername pypi.org \
    -alpn http/1.1 2>/dev/null | head -1 | tr -d '\r'
}

# --- TLS: only intercepted names
s=$(openssl s_client -connect "$PROXY_IP:443" -servername example.com </dev/null 2>&1)
expect "unknown SNI: handshake fails with unrecognized_name" contains "$s" 'unrecognized name'
s=$(openssl s_client -connect "$PROXY_IP:443" -noservername </dev/null 2>&1)
expect "no SNI: handshake fails with unrecognized_name" contains "$s" 'unrecognized name'
expect "no SNI: no certificate shown" contains "$s" 'no peer certificate available'
pcurl https://example.com/ -o /dev/null 2>/dev/null
expect "curl to a non-intercepted name fails in TLS (curl 35)" [ $? = 35 ]
expect "unknown SNI logged" grep -q 'SNI "example.com" is not an intercepted name' "$WORK/proxy.log"
expect "missing SNI logged" grep -q 'TLS handshake refused: no SNI' "$WORK/proxy.log"

# --- Host / :authority must equal SNI
for v in --http1.1 --http2; do
  code=$(pcurl $v -o /dev/null -w '%{http_code}' -H 'Host: files.pythonhosted.org' https://pypi.org/simple/)
  expect "Host != SNI → 421 with $v ($code)" [ "$code" = 421 ]
  code=$(pcurl $v -o /dev/null -w '%{http_code}' -H 'Host: example.com' https://pypi.org/simple/)
  expect "Host not intercepted → 421 with $v ($code)" [ "$code" = 421 ]
  code=$(pcurl $v -o /dev/null -w '%{http_code}' -H 'Host: pypi.org:8080' https://pypi.org/simple/)
  expect "Host with another port → 421 with $v ($code)" [ "$code" = 421 ]
done
expect "h2 :authority != SNI → 421" [ "$(probe authority files.pythonhosted.org)" = "status 421" ]
expect "h2 :authority = SNI → 200" [ "$(probe authority pypi.org)" = "status 200" ]
expect "421 refusals are logged" grep -q 'refused GET files.pythonhosted.org/simple/: 421' "$WORK/proxy.log"

# Refused requests with bodies: answered at once; on h2 the unread body is dropped and its flow
# control window credited, so 20 x 8 MiB (more than the connection window) pass on one connection.
for v in --http1.1 --http2; do
  code=$(pcurl $v -o /dev/null -w '%{http_code}' -H 'Host: files.pythonhosted.org' \
    --data-binary @"$WORK/htdocs/packages/eight-mib.bin" https://pypi.org/upload)
  expect "refused 8 MiB POST with $v → 421 ($code)" [ "$code" = 421 ]
done
for i in $(seq 20); do
  printf 'url = "https://pypi.org/upload"\ndata-binary = "@%s"\nheader = "Host: files.pythonhosted.org"\noutput = /dev/null\nwrite-out = "%%{http_code} "\n' \
    "$WORK/htdocs/packages/eight-mib.bin"
done >"$WORK/many.cfg"
codes=$(pcurl --http2 -K "$WORK/many.cfg")
expect "20 refused 8 MiB POSTs on one h2 connection all get 421" [ "$(grep -o 421 <<<"$codes" | wc -l)" = 20 ]

# --- absolute-form, CONNECT, extended CONNECT
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' --request-target 'https://example.com/' https://pypi.org/)
expect "absolute-form to another host → 421 ($code)" [ "$code" = 421 ]
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' --request-target 'http://files.pythonhosted.org/x' https://pypi.org/)
expect "absolute-form to another intercepted host → 421 ($code)" [ "$code" = 421 ]
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' --request-target 'https://pypi.org/simple/' https://pypi.org/)
expect "absolute-form to the SNI host is served ($code)" [ "$code" = 200 ]
line=$(raw_h1 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
expect "h1 CONNECT → 405 ($line)" contains "$line" '^HTTP/1.1 405'
r=$(probe connect)
expect "h2 CONNECT refused ($r)" bash -c "[ '$r' = 'status 405' ] || [[ '$r' == reset* ]]"
r=$(probe protocol)
expect "h2 extended CONNECT (:protocol) refused ($r)" bash -c "[[ '$r' == 'status 4'* ]] || [[ '$r' == reset* ]]"
expect "no refused request reached an origin" bash -c "! grep -q 'example.com' '$WORK/nghttpd.log' '$WORK/origin-$H1_IP.log'"

# --- oversized heads
big=$(head -c 70000 /dev/zero | tr '\0' a)
code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' -H "X-Big: $big" https://pypi.org/simple/)
expect "h1 head over 64 KiB → 431 ($code)" [ "$code" = 431 ]
r=$(probe big-headers)
expect "h2 header list over 64 KiB refused ($r)" bash -c "[ '$r' = 'status 431' ] || [[ '$r' == reset* ]]"
line=$(raw_h1 'GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\nHost: pypi.org\r\n\r\n')
expect "h1 with two Host fields → 400 ($line)" contains "$line" '^HTTP/1.1 400'
line=$(raw_h1 'GET /simple/ HTTP/1.1\r\n\r\n')
expect "h1 without Host → 400 ($line)" contains "$line" '^HTTP/1.1 400'
line=$(raw_h1 'GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
expect "h1 with Content-Length and chunked → 400 ($line)" contains "$line" '^HTTP/1.1 400'

code=$(pcurl --http2 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "proxy still serves after all that ($code)" [ "$code" = 200 ]
proxy_finish
