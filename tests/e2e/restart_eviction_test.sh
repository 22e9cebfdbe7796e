#!/usr/bin/env bash
# The cache outlives the process, and stays within its budget.
#  Restart: pages (both variants), the JSON API, a wheel, its .metadata, a blob and a pip install
#  fill the cache; pipgate stops (SIGTERM), both origins stop and the appliance's uplink goes
#  down; pipgate starts again on the same data_dir and serves all of it (files HIT, pages HIT or
#  STALE), and pip installs from it.
#  Eviction: a fresh data_dir with [cache] max_size = "64MiB"; four 24 MiB files fetched in turn;
#  the first is then a MISS fetched from the origin again, the last still a HIT.
# usage: restart_eviction_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

ACC_JSON="application/vnd.pypi.simple.v1+json"
setup_world --blob keep:2M --blob ev1:24M --blob ev2:24M --blob ev3:24M --blob ev4:24M

# --- fill ---------------------------------------------------------------------------------
declare -A WANT   # url → "accept|sha256 of the body"
page_json="https://pypi.org/simple/tiny-pkg/"
page_html="https://pypi.org/simple/lib-a/"
api="https://pypi.org/pypi/tiny-pkg/json"
wheel="https://files.pythonhosted.org$WHEEL_TINY_PKG_1_0"
meta="https://files.pythonhosted.org$WHEEL_TINY_PKG_1_0.metadata"
blob="https://files.pythonhosted.org$BLOB_KEEP"
fill() {  # fill URL ACCEPT
  req "$1" --http2 -H "Accept: $2"
  expect_code 200 "fill: $1 ($2)"
  WANT[$1]="$2|$(body_sha)"
}
fill "$page_json" "$ACC_JSON"
fill "$page_html" "text/html"
fill "$api" "*/*"
fill "$wheel" "*/*"
fill "$meta" "*/*"
fill "$blob" "*/*"
expect "the blob came intact" [ "${WANT[$blob]#*|}" = "$BLOB_KEEP_SHA256" ]
pip_install "$NS_CLI" "$CA" "$WORK/site-cold" "$WORK/pip-cold.log" app-pkg
expect "cold pip install fills the cache" installed_ok "$WORK/site-cold"
# everything is stored before pipgate stops (this is a test of restart, not of an aborted fill)
for u in "${!WANT[@]}"; do
  expect "stored before the restart: $u" wait_until 10 stored "$u" -H "Accept: ${WANT[$u]%%|*}"
done

# --- restart, with no way to the origins ------------------------------------------------------
t0=$(now)
kill -TERM "$PIPGATE_PID"
expect "pipgate exits on SIGTERM" wait_until 14 bash -c "! kill -0 $PIPGATE_PID 2>/dev/null"
echo "     (stopped in $(since "$t0") s)"
stop_pipgate
expect "pipgate-dns stopped with it (no process left in the appliance namespace)" \
  wait_until 10 bash -c "[ -z \"\$(ip netns pids $NS_APP)\" ]"
stop_origin pypi
stop_origin files
in_app ip link set v-org down
expect "appliance uplink down: origins unreachable" \
  bash -c "! ip netns exec $NS_APP curl -s --max-time 2 -k https://$FILES_IP/ >/dev/null 2>&1"
expect "pipgate started again on the same data_dir" start_pipgate

for u in "$page_json" "$page_html" "$api" "$wheel" "$meta" "$blob"; do
  accept=${WANT[$u]%%|*}
  req "$u" --http2 -H "Accept: $accept"
  expect_code 200 "after restart: $u"
  expect "after restart: same body as before" [ "$(body_sha)" = "${WANT[$u]#*|}" ]
  case "$u" in
    https://pypi.org/*) expect_xcache "HIT|STALE" "after restart: page" ;;
    *) expect_xcache HIT "after restart: file" ;;
  esac
done
req "$page_json" --http1.1 -H "Accept: text/html"
expect "after restart: a variant never fetched, origin unreachable: a gateway error ($CODE)" \
  matches "$CODE" "502|504"
t0=$(now)
pip_install "$NS_CLI" "$CA" "$WORK/site-restart" "$WORK/pip-restart.log" app-pkg
rc=$?
warm=$(since "$t0")
expect "pip install after the restart, origins unreachable (${warm} s)" [ $rc = 0 ]
expect "after restart: app-pkg and its dependencies import" installed_ok "$WORK/site-restart"
figure "pip install app-pkg after a restart, uplink down: ${warm} s$([ $rc = 0 ] || echo ' (FAILED)')"

# --- eviction -----------------------------------------------------------------------------
stop_pipgate
in_app ip link set v-org up
expect "origins back" start_origin pypi
expect "files origin back" start_origin files
DATA_DIR="$WORK/data-evict" write_config '[cache]
max_size = "64MiB"'
rm -f "$CA"
expect "pipgate with max_size 64MiB on a fresh data_dir" start_pipgate
for b in EV1 EV2 EV3 EV4; do
  path=$(eval echo "\$BLOB_$b")
  req "https://files.pythonhosted.org$path" --http2
  expect "fetch $b (24 MiB): 200 intact" [ "$CODE/$(body_sha)" = "200/$(eval echo "\$BLOB_${b}_SHA256")" ]
  expect_xcache MISS "fetch $b"
done
# Eviction may run just after a commit; nothing outside can be polled without touching the LRU.
sleep 1
req "https://files.pythonhosted.org$BLOB_EV4" --http2
expect "the newest file is still cached" [ "$CODE/$(body_sha)" = "200/$BLOB_EV4_SHA256" ]
expect_xcache HIT "the newest file"
req "https://files.pythonhosted.org$BLOB_EV1" --http2
expect "the oldest file: 200 intact" [ "$CODE/$(body_sha)" = "200/$BLOB_EV1_SHA256" ]
expect_xcache MISS "the oldest file was evicted (96 MiB fetched into 64 MiB)"
expect "the oldest file was fetched from the origin again ($(origin_count files "$BLOB_EV1"))" \
  [ "$(origin_count files "$BLOB_EV1")" = 2 ]
expect "the newest file was not ($(origin_count files "$BLOB_EV4"))" [ "$(origin_count files "$BLOB_EV4")" = 1 ]
du_mib=$(du -sm "$WORK/data-evict" | cut -f1)
figure "eviction: data_dir after 120 MiB of fetches under max_size 64MiB: ${du_mib} MiB on disk"
e2e_finish
