#!/usr/bin/env bash
# kill -9, the processes' worst end.
#  pipgate: two files committed, then three clients (h2, HTTP/1.1, h2) start three 32 MiB fills
#  from an origin shaped to ORIGIN_RATE; while all three are mid-fill, pipgate gets SIGKILL.
#  The clients get an error, never the whole file; pipgate-dns goes with its supervisor. Started
#  again on the same data_dir: no partial object is listed or served (the three are MISSes,
#  fetched from the origin again, whole), the store's accounting and the data dir's size come
#  back to the committed objects, which are still HITs with the right sha256.
#  pipgate-dns: SIGKILL; the supervisor starts it again and the intercepted names answer within a
#  second (dig in a bounded loop), while the proxy keeps serving.
# usage: crash_restart_test.sh PIPGATE PIPGATE_DNS
ORIGIN_RATE=${ORIGIN_RATE:-80mbit}  # three 32 MiB fills take seconds: long enough to be killed in
source "$(dirname "$0")/lib.sh"

setup_world --blob keep-a:8M --blob keep-b:2M --blob fill-1:32M --blob fill-2:32M --blob fill-3:32M
u_of() { echo "https://files.pythonhosted.org$(eval echo "\$BLOB_$1")"; }
sha_of() { eval echo "\$BLOB_$1_SHA256"; }
size_of() { eval echo "\$BLOB_$1_SIZE"; }
data_mib() { du -sm "$WORK/data" | cut -f1; }

# --- committed objects -------------------------------------------------------------------------
for b in KEEP_A KEEP_B; do
  req "$(u_of $b)" --http2
  expect "$b fetched: 200 intact" [ "$CODE/$(body_sha)" = "200/$(sha_of $b)" ]
  expect "$b stored" wait_until 10 stored "$(u_of $b)"
done
committed_bytes=$(pipgate_status 'd["cache"]["bytes"]')
committed_mib=$(data_mib)
figure "committed: $committed_bytes bytes in the store, data dir ${committed_mib} MiB"

# --- kill -9 during three fills ------------------------------------------------------------------
declare -A FILL_R FILL_PID
v=--http2
for b in FILL_1 FILL_2 FILL_3; do
  REQ_TIMEOUT=60 req_start "$(u_of $b)" "$v"
  FILL_R[$b]=$R FILL_PID[$b]=$REQ_PID
  if [ $v = --http2 ]; then v=--http1.1; else v=--http2; fi
done
mid_fill() {
  local b
  for b in FILL_1 FILL_2 FILL_3; do
    [ "$(stat -c %s "${FILL_R[$b]}.body" 2>/dev/null || echo 0)" -ge $((4 << 20)) ] || return 1
  done
}
expect "three fills under way (each client has 4 MiB)" wait_until 30 mid_fill
mid_mib=$(data_mib)
old_pid=$PIPGATE_PID
kill -KILL "$PIPGATE_PID"
wait "$PIPGATE_PID" 2>/dev/null
figure "kill -9 with three fills in flight: data dir ${mid_mib} MiB"
for b in FILL_1 FILL_2 FILL_3; do
  req_join "${FILL_R[$b]}" "${FILL_PID[$b]}"
  never_complete "$b: its client when pipgate died" "$(size_of $b)" "$(sha_of $b)"
done
expect "pipgate-dns went with its supervisor (nothing left in the appliance namespace)" \
  wait_until 10 bash -c "[ -z \"\$(ip netns pids $NS_APP)\" ]"

# --- restart ----------------------------------------------------------------------------------
expect "pipgate started again on the same data_dir" start_pipgate
expect "a new pipgate ($PIPGATE_PID, was $old_pid)" [ "$PIPGATE_PID" != "$old_pid" ]
for b in FILL_1 FILL_2 FILL_3; do
  n=$(cache_count "*$(basename "$(u_of $b)")")
  expect "$b: nothing of it is stored (pipgate cache ls: $n)" [ "$n" = 0 ]
done
after_bytes=$(pipgate_status 'd["cache"]["bytes"]')
expect "store accounting back to the committed objects ($after_bytes, was $committed_bytes)" \
  [ "$after_bytes" = "$committed_bytes" ]
expect "the store is intact after the crash" cache_verified
# The committed objects plus 8 MiB (RocksDB's own files); before the crash their bytes may be in
# the WAL and in blob files both, so the data dir held more then (committed_mib).
limit_mib=$((committed_bytes / 1048576 + 8))
reclaimed() { [ "$(data_mib)" -le "$limit_mib" ]; }
t0=$(now)
expect "data dir back to about the committed objects (at most $limit_mib MiB)" wait_until 10 reclaimed
figure "data dir after the restart: $(data_mib) MiB (${mid_mib} MiB at the kill, ${committed_mib} MiB before it; $(since "$t0") s after the restart)"
for b in KEEP_A KEEP_B; do
  for v in --http2 --http1.1; do
    req "$(u_of $b)" $v
    expect "$b after the crash ($v): 200, intact, HIT" \
      [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$(sha_of $b)/HIT" ]
  done
done
for b in FILL_1 FILL_2; do
  REQ_TIMEOUT=60 req "$(u_of $b)" --http1.1
  expect "$b after the crash: a MISS, whole and intact (rc $RC, $(hdr x-cache))" \
    [ "$RC/$CODE/$(body_sha)/$(hdr x-cache)" = "0/200/$(sha_of $b)/MISS" ]
  expect "$b: fetched from the origin again ($(origin_count files "$(eval echo "\$BLOB_$b")"))" \
    [ "$(origin_count files "$(eval echo "\$BLOB_$b")")" = 2 ]
done

# --- kill -9 of pipgate-dns ------------------------------------------------------------------------
dns_pid=$(pipgate_status '[c["pid"] for c in d["children"] if c["name"] == "pipgate-dns"][0]')
expect "pipgate-dns runs (pid $dns_pid)" kill -0 "$dns_pid"
kill -KILL "$dns_pid"
t0=$(now)
answered() { client_resolves pypi.org && client_resolves files.pythonhosted.org; }
wait_until 5 answered
back=$(since "$t0")
figure "pipgate-dns killed: intercepted names answer again after ${back} s"
expect "intercepted names answer again within a second (${back} s)" \
  awk -v t="$back" 'BEGIN { exit !(t < 1.0) }'
new_dns=$(pipgate_status '[c["pid"] for c in d["children"] if c["name"] == "pipgate-dns"][0]')
expect "a new pipgate-dns (pid $new_dns, was $dns_pid)" [ "$new_dns" != "$dns_pid" ]
expect "its restart is counted ($(pipgate_status '[c["restarts"] for c in d["children"]][0]'))" \
  [ "$(pipgate_status '[c["restarts"] for c in d["children"] if c["name"] == "pipgate-dns"][0]')" = 1 ]
req "$(u_of KEEP_B)" --http2
expect "the proxy served on meanwhile: HIT, intact" [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$(sha_of KEEP_B)/HIT" ]
expect "pipgate is still running" kill -0 "$PIPGATE_PID"
e2e_finish
