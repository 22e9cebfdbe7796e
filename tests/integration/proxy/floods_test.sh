#!/usr/bin/env bash
# Abuse that must not cost the proxy more than the limits allow: HTTP/2 rapid reset and
# CONTINUATION floods end the connection with GOAWAY ENHANCE_YOUR_CALM; an HTTP/1.1 head trickled
# byte by byte is cut at header_timeout (10 s); connections beyond the per-client limit (256)
# are closed at once. The proxy keeps serving others throughout.
# usage: floods_test.sh PROXY_TEST_SERVER
source "$(dirname "$0")/lib.sh"
PROXY_BIN="$1"

make_pki
make_htdocs
expect "dnsmasq up" start_dns "$H2_IP" "$H1_IP"
expect "h2 origin up" start_h2_origin
expect "proxy up" start_proxy
CA="$WORK/data/ca/ca.pem"
probe() { timeout 30 "$PY" "$HERE/h2_probe.py" "$PROXY_IP" "$CA" "$@" 2>&1; }

r=$(probe rapid-reset 5000)
expect "rapid reset (5000 streams opened and reset) → GOAWAY ENHANCE_YOUR_CALM ($r)" [ "$r" = "goaway 11" ]
expect "log: rapid reset named" grep -q 'rapid reset' "$WORK/proxy.log"
r=$(probe continuation 200)
expect "CONTINUATION flood → GOAWAY ENHANCE_YOUR_CALM ($r)" [ "$r" = "goaway 11" ]
expect "log: CONTINUATION flood named" grep -q 'protocol violation: HTTP/2: Too many CONTINUATION frames' "$WORK/proxy.log"
code=$(pcurl --http2 -o /dev/null -w '%{http_code}' https://pypi.org/simple/)
expect "still serving after the floods ($code)" [ "$code" = 200 ]

# Slowloris: one byte of the head every 500 ms; the header deadline does not move.
r=$(timeout 40 "$PY" - "$PROXY_IP" "$CA" <<'PYEOF'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], 443)), server_hostname="pypi.org")
head = b"GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\nX-Slow: " + b"a" * 200
t0 = time.monotonic()
try:
    for b in head:
        s.send(bytes([b]))
        time.sleep(0.5)
    print("not closed")
except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
    print("closed after %d s" % round(time.monotonic() - t0))
PYEOF
)
expect "slowloris head cut at header_timeout ($r)" bash -c "[[ '$r' == 'closed after 1'[0-2]' s' ]] || [[ '$r' == 'closed after 9 s' ]]"

# Per-client connection limit (256): the 257th connection is closed at once.
r=$(timeout 40 "$PY" - "$PROXY_IP" <<'PYEOF'
import socket, sys, time
held = [socket.create_connection((sys.argv[1], 443)) for _ in range(256)]
time.sleep(0)  # all accepted by the kernel; the proxy counts them as it accepts
extra = socket.create_connection((sys.argv[1], 443))
extra.settimeout(5)
t0 = time.monotonic()
try:
    data = extra.recv(1)
    print("closed" if data == b"" else "data")
except socket.timeout:
    print("open")
except ConnectionResetError:
    print("closed")
for s in held:
    s.close()
PYEOF
)
expect "257th connection from one client closed at once ($r)" [ "$r" = closed ]
expect "log: limit named" grep -q 'too many from this client' "$WORK/proxy.log"
ok_after=0
for i in $(seq 50); do
  code=$(pcurl --http1.1 -o /dev/null -w '%{http_code}' https://pypi.org/simple/ 2>/dev/null)
  [ "$code" = 200 ] && { ok_after=1; break; }
done
expect "connections accepted again once the client closed its others" [ $ok_after = 1 ]
proxy_finish
