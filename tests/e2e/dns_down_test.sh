#!/usr/bin/env bash
# The appliance's upstream DNS goes away ("the internet's DNS" is dnsmasq in the origins'
# namespace), and pipgate restarts meanwhile, so it has no address of PyPI's hosts cached:
#  refused:    dnsmasq stopped (queries get ICMP port unreachable);
#  black hole: something takes the queries and never answers (the slow case).
# Each time the intercepted names are still answered by pipgate-dns, hits are served, index pages
# past their max-age are served STALE (stale-if-error), and a miss gets a 502/504 within the
# proxy's resolver bound (2 s + 4 s: c-ares, two tries; not retried) plus a margin, never a hang
# (FIGURE lines give each time to the 502); a forwarded name gets SERVFAIL within [dns]
# upstream_timeout × upstream_attempts plus a margin. When DNS is back, the miss is fetched.
# usage: dns_down_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

RESOLVER_BOUND_S=6  # proxy/upstream/resolver.cc: dns_timeout 2 s, tries 2 (the second 4 s)
write_config 'upstream_connect_timeout = "2s"
upstream_first_byte_timeout = "5s"' 'upstream_timeout = "500ms"
upstream_attempts = 2'
setup_world --blob hit:2M --blob miss:2M
set_max_age 1
page="https://pypi.org/simple/lib-a/"
page_new="https://pypi.org/simple/lib-b/"
wheel="https://files.pythonhosted.org$WHEEL_TINY_PKG_1_0"
u_hit="https://files.pythonhosted.org$BLOB_HIT"
u_miss="https://files.pythonhosted.org$BLOB_MISS"

req "$page" --http2 -H "Accept: text/html"
expect_code 200 "page fetched"
page_sha=$(body_sha)
req "$wheel" --http2
expect "wheel fetched: 200 intact" [ "$CODE/$(body_sha)" = "200/$WHEEL_TINY_PKG_1_0_SHA256" ]
req "$u_hit" --http1.1
expect "blob fetched: 200 intact" [ "$CODE/$(body_sha)" = "200/$BLOB_HIT_SHA256" ]
for u in "$wheel" "$u_hit"; do expect "stored: $u" wait_until 10 stored "$u"; done
expect "page stored" wait_until 10 stored "$page" -H "Accept: text/html"

# down_checks LABEL: what must hold while the upstream DNS is down.
down_checks() {
  local what="$1" t0 took v
  sleep 2  # the page's max-age is 1 s and ages count whole seconds: make sure it is past it
  expect "$what: pypi.org still answered by pipgate-dns" client_resolves pypi.org
  expect "$what: files.pythonhosted.org still answered" client_resolves files.pythonhosted.org
  t0=$(now)
  in_cli dig +time=5 +tries=1 example.org >"$WORK/dig-forwarded.out" 2>&1
  took=$(since "$t0")
  figure "$what: a forwarded name's answer took ${took} s"
  expect "$what: a forwarded name: SERVFAIL within 2 × 500 ms + 1.5 s (${took} s)" \
    bash -c "grep -q 'status: SERVFAIL' '$WORK/dig-forwarded.out' && awk -v t=$took 'BEGIN { exit !(t < 2.5) }'"
  for v in --http2 --http1.1; do
    req "$wheel" $v
    expect "$what: wheel ($v): 200, intact, HIT" [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$WHEEL_TINY_PKG_1_0_SHA256/HIT" ]
    req "$u_hit" $v
    expect "$what: blob ($v): 200, intact, HIT" [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$BLOB_HIT_SHA256/HIT" ]
    t0=$(now)
    req "$page" $v -H "Accept: text/html"
    took=$(since "$t0")
    expect "$what: page past its max-age ($v): 200 STALE, same body (${took} s; got $CODE $(hdr x-cache))" \
      [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$page_sha/STALE" ]
    for u in "$u_miss" "$page_new"; do
      t0=$(now)
      req "$u" $v -H "Accept: text/html"
      took=$(since "$t0")
      figure "$what: miss $u ($v): $CODE after ${took} s"
      expect "$what: miss ${u#https://} ($v): 502/504 ($CODE, curl rc $RC)" matches "$CODE" "502|504"
      expect "$what: miss ($v): within ${RESOLVER_BOUND_S} s + 3 s (${took} s)" \
        awk -v t="$took" -v b=$((RESOLVER_BOUND_S + 3)) 'BEGIN { exit !(t < b) }'
    done
  done
  expect "$what: the 502 says what failed" grep -qi "resolv" "$R.body"
  expect "$what: pipgate status: upstream unreachable ($(pipgate_status 'd["upstream"]["state"]'))" \
    [ "$(pipgate_status 'd["upstream"]["state"]')" = unreachable ]
}

# --- refused -----------------------------------------------------------------------------------
stop_pipgate
stop_dnsmasq
expect "dnsmasq stopped: the appliance's resolver does not answer" \
  bash -c "! ip netns exec $NS_APP dig +short +time=1 +tries=1 @$ORG_DNS_IP pypi.org | grep -qx $PYPI_IP"
expect "pipgate started with its upstream DNS down" start_pipgate
down_checks "DNS refused"

# --- black hole ---------------------------------------------------------------------------------
stop_pipgate
expect "a resolver that never answers in dnsmasq's place" start_dns_blackhole
expect "pipgate started with its upstream DNS a black hole" start_pipgate
down_checks "DNS black hole"

# --- back -------------------------------------------------------------------------------------
stop_pid "$BLACKHOLE_PID"
expect "dnsmasq back" start_dnsmasq
req "$u_miss" --http2
expect "DNS back: the miss is fetched, intact" [ "$CODE/$(body_sha)" = "200/$BLOB_MISS_SHA256" ]
req "$page" --http2 -H "Accept: text/html"
expect "DNS back: the page is checked upstream again, not STALE ($(hdr x-cache))" \
  matches "$CODE/$(hdr x-cache)" "200/(MISS|REVALIDATED)"
expect "pipgate is still running" kill -0 "$PIPGATE_PID"
e2e_finish
