#!/usr/bin/env bash
# Not an open relay, through the real appliance: HTTPS for another SNI, Host ≠ SNI, absolute-form
# to another host and CONNECT are refused and logged and reach no origin; DNS from an address
# outside [dns] allow is REFUSED (UDP and TCP), never forwarded, and logged; answers do not
# amplify (ANY for an intercepted name is the A record alone, RFC 8482; UDP answers are cut to
# TC=1 at the client's EDNS size, at most [dns] max_udp_size 1232, whatever size the client
# offers; REFUSED is no bigger than the query); a flood from one address is rate-limited
# ([dns] rate_limit 100/s, burst 200 here) and logged while another client is still answered.
# (tests/integration/proxy/refusals_test.sh covers the HTTP refusals in detail on the proxy alone.)
# usage: relay_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

GOOD_IP=10.77.1.3   # another allowed client
OUT_IP=10.77.1.50   # on the LAN, outside [dns] allow
# shellcheck disable=SC2034  # read by write_config (lib.sh)
DNS_ALLOW="\"$CLI_IP/32\", \"$GOOD_IP/32\", \"127.0.0.0/8\""
# A name whose TXT answer (8 x 250 bytes) is far over 1232 bytes: a would-be amplifier.
DNSMASQ_EXTRA=()
for i in 1 2 3 4 5 6 7 8; do
  DNSMASQ_EXTRA+=(--txt-record="big.example.net,$i$(head -c 249 /dev/zero | tr '\0' x)")
done
write_config "" 'rate_limit = 100
rate_limit_burst = 200'
setup_world
expect "client addresses added" bash -c "$(declare -f add_client_ip); NS_CLI=$NS_CLI
  add_client_ip $GOOD_IP && add_client_ip $OUT_IP"
LOG="$WORK/pipgate.log"
attack() { timeout 60 ip netns exec "$NS_CLI" "$PY" "$E2E/attack.py" "$APP_IP" - "$@" 2>&1; }
h1_raw() {  # h1_raw REQUEST_BYTES: the answer's status line, over TLS with SNI pypi.org
  printf "$1" | timeout 10 ip netns exec "$NS_CLI" openssl s_client -quiet -connect "$APP_IP:443" \
    -servername pypi.org -alpn http/1.1 2>/dev/null | head -1 | tr -d '\r'
}
no_origin_saw() { ! grep -qi "$1" "$WORK/origin-pypi.jsonl" "$WORK/origin-files.jsonl" "$WORK/dnsmasq.log"; }

# --- HTTPS: the two names only, each only as itself
s=$(in_cli openssl s_client -connect "$APP_IP:443" -servername example.com </dev/null 2>&1)
expect "TLS with SNI example.com: handshake fails (unrecognized name)" contains "$s" 'unrecognized name'
expect "TLS with SNI example.com: logged" grep -q 'TLS handshake refused: SNI "example.com" is not an intercepted name' "$LOG"
for v in --http1.1 --http2; do
  req https://pypi.org/simple/ $v -H 'Host: example.com'
  expect_code 421 "$v Host example.com on the pypi.org connection"
  req https://pypi.org/simple/ $v -H 'Host: files.pythonhosted.org'
  expect_code 421 "$v Host files.pythonhosted.org on the pypi.org connection"
done
expect "Host ≠ SNI logged (h1 and h2)" bash -c "grep -q 'h1: refused GET example.com/simple/: 421' '$LOG' &&
  grep -q 'h2: refused GET example.com/simple/: 421' '$LOG'"
req https://pypi.org/ --http1.1 --request-target 'https://example.com/'
expect_code 421 "absolute-form https://example.com/"
req https://pypi.org/ --http1.1 --request-target 'http://example.com:80/'
expect_code 421 "absolute-form http://example.com:80/"
expect "absolute-form logged" grep -q 'refused GET example.com:80/: 421' "$LOG"
line=$(h1_raw 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
expect "h1 CONNECT example.com:443 → 405 ($line)" contains "$line" '^HTTP/1.1 405'
r=$(timeout 30 ip netns exec "$NS_CLI" "$PY" "$E2E/../integration/proxy/h2_probe.py" "$APP_IP" "$CA" connect 2>&1)
expect "h2 CONNECT refused ($r)" bash -c "[ '$r' = 'status 405' ] || [[ '$r' == reset* ]]"
expect "CONNECT logged" grep -q 'refused CONNECT example.com:443' "$LOG"
expect "no refused request reached an origin or the upstream DNS" no_origin_saw example.com

# --- DNS from outside [dns] allow: REFUSED, not forwarded, logged
for t in "" +tcp; do
  out=$(in_cli dig $t +time=2 +tries=1 -b "$OUT_IP" "@$APP_IP" outsider-${t:-udp}.example.org A 2>&1)
  expect "DNS ${t:-udp} from $OUT_IP: REFUSED" contains "$out" 'status: REFUSED'
  expect "DNS ${t:-udp} from $OUT_IP: no recursion offered (no ra flag)" \
    bash -c "grep -E '^;; flags:' <<<'$out' | grep -vq ' ra'"
  out=$(in_cli dig $t +time=2 +tries=1 -b "$OUT_IP" "@$APP_IP" pypi.org A 2>&1)
  expect "DNS ${t:-udp} from $OUT_IP: intercepted name REFUSED too" contains "$out" 'status: REFUSED'
done
expect "refused names never forwarded upstream" no_origin_saw outsider-
expect "DNS refusal logged (UDP)" grep -q "udp: refused $OUT_IP (not in \[dns\] allow)" "$LOG"
expect "DNS refusal logged (TCP)" grep -q "tcp: refused $OUT_IP (not in \[dns\] allow)" "$LOG"
r=$(attack dns-size "$OUT_IP" example.org ANY 4096)
read -r _ q _ a _ <<<"$r"
figure "DNS REFUSED: query $q bytes, answer ${a:-none} bytes"
expect "REFUSED answer no bigger than the query ($r)" [ "${a:-999}" -le "$q" ]

# --- amplification: answer sizes against query sizes
r=$(attack dns-size "$CLI_IP" pypi.org ANY 4096)
figure "ANY pypi.org (EDNS 4096): $r"
expect "ANY for an intercepted name: one record, NOERROR ($r)" contains "$r" 'rcode 0 ancount 1$'
read -r _ q _ a _ <<<"$r"
expect "ANY for an intercepted name: answer ≤ 2 × query ($a vs $q bytes)" [ "${a:-999}" -le $((2 * q)) ]
for b in 65000 4096 1232; do
  r=$(attack dns-size "$CLI_IP" big.example.net TXT $b)
  figure "TXT big.example.net (EDNS $b): $r"
  read -r _ q _ a _ tc _ <<<"$r"
  expect "EDNS $b: UDP answer ≤ max_udp_size 1232 with TC=1 ($r)" [ "${a:-9999}" -le 1232 -a "${tc:-0}" = 1 ]
  expect "EDNS $b: answer within 3 × the query: truncation empties the sections ($a vs $q bytes)" \
    [ "${a:-9999}" -le $((3 * q)) ]
done
r=$(attack dns-size "$CLI_IP" big.example.net ANY 65000)
figure "ANY big.example.net (EDNS 65000): $r"
read -r _ q _ a _ tc _ <<<"$r"
expect "ANY for a forwarded name, EDNS 65000: UDP answer ≤ 1232 ($r)" [ "${a:-9999}" -le 1232 ]
r=$(attack dns-size "$CLI_IP" big.example.net TXT 0)
read -r _ q _ a _ tc _ <<<"$r"
expect "no EDNS: UDP answer ≤ 512 with TC=1 ($r)" [ "${a:-9999}" -le 512 -a "${tc:-0}" = 1 ]
n=$(in_cli dig +tcp +short +time=2 -b "$CLI_IP" "@$APP_IP" big.example.net TXT | wc -l)
expect "the whole TXT answer over TCP (the retry TC=1 asks for): 8 records ($n)" [ "$n" = 8 ]

# --- a flood from one address: rate-limited and logged; another client still answered
watch_begin dns:pypi.org "$GOOD_IP"
r=$(attack dns-flood "$CLI_IP" 20000 pypi.org)
watch_end "DNS flood (20000 queries from one address)" 400
read -r _ sent _ answered _ secs _ <<<"$r"
limit=$(awk -v s="${secs:-0}" 'BEGIN { printf "%d", 200 + 100 * (s + 1) + 50 }')
figure "DNS flood: $r (bucket allows ≤ $limit)"
expect "flood rate-limited: answers ≤ burst + rate × time ($answered ≤ $limit of $sent)" \
  [ "${answered:-99999}" -le "$limit" ]
expect "flood: the burst was answered ($answered ≥ 200)" [ "${answered:-0}" -ge 200 ]
expect "rate limiting logged" grep -q "udp: rate-limiting $CLI_IP (over \[dns\] rate_limit)" "$LOG"
expect "rate limiting logged once, not per query ($(grep -c 'udp: rate-limiting' "$LOG") lines)" \
  [ "$(grep -c 'udp: rate-limiting' "$LOG")" -le 3 ]
e2e_finish
