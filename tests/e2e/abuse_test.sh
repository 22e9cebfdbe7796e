#!/usr/bin/env bash
# Abuse through the real appliance (`pipgate run`, both processes, the cache): slowloris, thousands
# of idle connections from several addresses, HTTP/1.1 heads far over the limit, HTTP/2 rapid
# reset, CONTINUATION, SETTINGS and PING floods, an HPACK bomb, and 10 000 streams on one
# connection past SETTINGS_MAX_CONCURRENT_STREAMS. During each, pipgate's RSS (both processes) is
# sampled and must stay under RSS_CAP_MIB, and another client address fetches a cached index page
# every 250 ms and must get it within a second; afterwards the attacker must have been cut off
# (or refused) and the log must name what happened.
# (tests/integration/proxy/floods_test.sh and refusals_test.sh test the same rules on the proxy
# alone; this is the appliance, with its limits as configured here.)
# usage: abuse_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

# Generous: pipgate with its RocksDB store idles around 60 MiB here. A leak per connection or
# per stream (thousands of either below) would go far past this; the limits keep it well under.
RSS_CAP_MIB=400
GOOD_IP=10.77.1.3                                    # the well-behaved client
IDLE_IPS=10.77.1.20,10.77.1.21,10.77.1.22,10.77.1.23,10.77.1.24,10.77.1.25
# max_connections is per proxy loop (one per core): lowered so the idle flood reaches it.
write_config 'max_connections = 1000
tls_handshake_timeout = "5s"
header_timeout = "3s"'
setup_world
expect "client addresses added" bash -c "$(declare -f add_client_ip); NS_CLI=$NS_CLI
  for a in $GOOD_IP ${IDLE_IPS//,/ }; do add_client_ip \$a || exit 1; done"

GOOD_URL=https://pypi.org/simple/tiny-pkg/
req "$GOOD_URL" --interface "$GOOD_IP"
expect_code 200 "good client: the page it will fetch during the attacks"
req "$GOOD_URL" --interface "$GOOD_IP"
expect_xcache HIT "good client: the page is cached"

attack() { timeout "${ATTACK_TIMEOUT:-60}" ip netns exec "$NS_CLI" "$PY" "$E2E/attack.py" "$APP_IP" "$CA" "$@" 2>&1; }
probe() { timeout 60 ip netns exec "$NS_CLI" "$PY" "$E2E/../integration/proxy/h2_probe.py" "$APP_IP" "$CA" "$@" 2>&1; }
# repeat_for SECONDS CMD...: CMD again and again for SECONDS (an attack that ends in a moment
# lasts long enough for the good client's requests to land during it); its distinct outputs.
repeat_for() {
  local end=$((SECONDS + $1)) out=""
  shift
  while [ $SECONDS -lt $end ]; do out+="$("$@")"$'\n'; done
  sort -u <<<"$out" | sed '/^$/d'
}
LOG="$WORK/pipgate.log"
log_mark() { MARK=$(wc -l <"$LOG"); }
# logged_since REGEX: a line after the mark matches (within 5 s: the log is written buffered).
logged_since() { wait_until 5 bash -c "tail -n +$((MARK + 1)) '$LOG' | grep -qE '$1'"; }

# --- slowloris: 200 HTTP/1.1 heads trickled byte by byte, cut at header_timeout (3 s)
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(attack slowloris 200 15)
watch_end "slowloris (200 connections)" "$RSS_CAP_MIB"
expect "slowloris: all 200 trickling connections cut ($r)" contains "$r" '^closed 200/200'
s=${r##* }
expect "slowloris: cut within header_timeout and a little ($s s ≤ 6 s)" [ "${s:-99}" -le 6 ]
expect "slowloris: logged" logged_since '10.77.1.2 h1: request head not complete within header_timeout \(3000 ms\)'

# --- thousands of idle connections from six addresses (250 each: under the per-client limit)
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(attack idle "$IDLE_IPS" 250 4)
watch_end "1500 idle connections" "$RSS_CAP_MIB"
expect "idle: 1500 opened ($r)" contains "$r" '^opened 1500 '
# ... past the per-client limit: 700 from one address (256 per proxy loop, one loop per core)
r=$(attack idle 10.77.1.20 700 2)
expect "idle: connections past the per-client limit are closed at once ($r)" \
  bash -c "[[ '$r' =~ closed_by_peer\ ([0-9]+) ]] && [ \${BASH_REMATCH[1]} -ge $((700 - 256 * $(nproc))) ]"
expect "idle: per-client limit logged" logged_since 'refusing connection from 10.77.1.20: too many from this client'
# ... past max_connections (1000 per loop): the heaviest clients' connections give way to others
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(attack idle "$IDLE_IPS" $((1100 * $(nproc) / 6)) 5)
watch_end "idle connections past max_connections" "$RSS_CAP_MIB"
expect "idle: past max_connections, attackers' connections closed ($r)" \
  bash -c "[[ '$r' =~ closed_by_peer\ ([0-9]+) ]] && [ \${BASH_REMATCH[1]} -ge 1 ]"
expect "idle: max_connections logged" logged_since 'at max_connections \(1000\): closing one of'

# --- HTTP/1.1 heads of 1 MiB on 100 connections: 431 at the 64 KiB limit, never buffered whole
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(attack h1-huge 100 1048576)
watch_end "h1 1 MiB heads x100" "$RSS_CAP_MIB"
expect "h1 huge heads: each answered 431 ($r)" [ "$r" = "431 100/100" ]
expect "h1 huge heads: logged" logged_since '10.77.1.2 h1: request head over header_limit \(65536 bytes\): 431'

# --- HTTP/2 rapid reset (CVE-2023-44487): 20 000 streams opened and reset
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
before=$(grep -c 'upstream pypi.org' "$LOG")
r=$(repeat_for 3 probe rapid-reset 5000)
watch_end "h2 rapid resets (5000 streams, repeated for 3 s)" "$RSS_CAP_MIB"
n=$(($(grep -c 'upstream pypi.org' "$LOG") - before))
conns=$(tail -n +"$((MARK + 1))" "$LOG" | grep -c 'too many stream resets (rapid reset)')
figure "rapid reset: $n upstream requests started for the reset streams of $conns connections"
# (Before the fix, each connection's 1000 allowed resets each started an upstream request.)
expect "rapid reset: reset streams start (almost) no upstream requests ($n for $conns connections)" \
  [ "$n" -le $((5 * conns)) ]
expect "rapid reset → GOAWAY ENHANCE_YOUR_CALM (or closed while still sending) ($r)" \
  bash -c "grep -qx 'goaway 11' <<<'$r' && ! grep -vqxE 'goaway 11|closed' <<<'$r'"
expect "rapid reset: logged" logged_since 'too many stream resets \(rapid reset\)'

# --- CONTINUATION flood (CVE-2024-27316 and kin)
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(repeat_for 3 probe continuation 10000)
watch_end "h2 CONTINUATION floods (10000 frames, repeated for 3 s)" "$RSS_CAP_MIB"
expect "CONTINUATION flood → GOAWAY ENHANCE_YOUR_CALM or closed ($r)" \
  bash -c "[ '$r' = 'goaway 11' ] || [[ '$r' == closed* ]]"
expect "CONTINUATION flood: logged" logged_since 'Too many CONTINUATION frames'

# --- SETTINGS and PING floods, the attacker never reading the ACKs
for f in settings ping; do
  log_mark
  watch_begin "$GOOD_URL" "$GOOD_IP"
  r=$(repeat_for 3 attack $f-flood 1000000)
  watch_end "h2 ${f^^} floods (1000000 frames, repeated for 3 s)" "$RSS_CAP_MIB"
  expect "${f^^} flood → GOAWAY ENHANCE_YOUR_CALM or closed ($r)" \
    bash -c "[ '$r' = 'goaway 11' ] || [[ '$r' == closed* ]]"
  expect "${f^^} flood: logged" logged_since 'Flooding was detected|flood'
done

# --- HPACK bomb: 16 KB on the wire per stream that decodes to 16 MB of header fields
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(repeat_for 3 attack hpack-bomb 50)
watch_end "h2 HPACK bombs (50 streams x 16 MB decoded, repeated for 3 s)" "$RSS_CAP_MIB"
expect "HPACK bomb: every bombed stream refused (431), only the first served ($r)" \
  [ "$r" = "status 200:1,431:49 reset none open" ]
expect "HPACK bomb: logged" logged_since 'header list over header_limit \(65536 bytes\): 431'

# --- 10 000 streams on one connection, never reset, past SETTINGS_MAX_CONCURRENT_STREAMS (100)
log_mark
watch_begin "$GOOD_URL" "$GOOD_IP"
r=$(attack streams 10000)
watch_end "h2 10000 concurrent streams" "$RSS_CAP_MIB"
expect "10000 streams: refused past the limit, then GOAWAY ENHANCE_YOUR_CALM ($r)" \
  bash -c "[[ '$r' == *' goaway 11' ]]"
expect "10000 streams: refusals logged" logged_since 'refusing streams past SETTINGS_MAX_CONCURRENT_STREAMS \(100\)'
expect "10000 streams: GOAWAY logged" \
  logged_since 'too many streams past SETTINGS_MAX_CONCURRENT_STREAMS; closing with ENHANCE_YOUR_CALM|Flooding was detected'

# Afterwards: still serving, and memory given back (not a cap: what is left after the attacks).
req "$GOOD_URL" --interface "$GOOD_IP"
expect_code 200 "after every attack: the good client is served"
figure "RSS after the attacks: $(($(pipgate_rss_kib) / 1024)) MiB"
e2e_finish
