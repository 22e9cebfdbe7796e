#!/usr/bin/env bash
# The origin breaks in the middle of a body (origin.py's faults): its connection reset, its
# process killed, a stall (pipgate's upstream_read_timeout ends it), fewer bytes than its
# Content-Length, more bytes than its Content-Length, one corrupt byte (a digest mismatch that
# goes away, unlike integrity_test's file that is corrupt for good). Each fault, once with an h2
# origin and once with an HTTP/1.1 one, on a file of its own:
#  - a leader (h2 client) and a follower (HTTP/1.1 client) that joins the fill while the origin
#    holds at the fault point both get an error, never a complete success, never the file;
#  - one fill upstream for the two (the follower joined the failing fill);
#  - nothing was stored: `pipgate cache ls` lists nothing, the next request (HTTP/1.1, the fault
#    still there) is a MISS that goes to the origin again and fails the same way;
#  - the fault cleared, the next request refetches (MISS) and gets the whole file, then a HIT.
# Index pages (no digest to check: only the framing tells) get reset, stall and short too.
# usage: origin_faults_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

READ_TIMEOUT_S=2
write_config "upstream_first_byte_timeout = \"5s\"
upstream_read_timeout = \"${READ_TIMEOUT_S}s\""
MODES=(reset kill stall short long corrupt)
blobs=()
for m in "${MODES[@]}"; do blobs+=(--blob "$m-h2:4M" --blob "$m-h1:4M"); done
setup_world "${blobs[@]}"

# fault_case MODE UPSTREAM(h2|h1): the steps above for the blob MODE-UPSTREAM.
fault_case() {
  local mode="$1" up="$2" var path size sha file u t0 lead lead_pid follow follow_pid what n
  var="BLOB_$(echo "${mode}_$up" | tr '[:lower:]' '[:upper:]')"
  path=${!var}
  size=$(eval echo "\$${var}_SIZE")
  sha=$(eval echo "\$${var}_SHA256")
  file=${path##*/}
  u="https://files.pythonhosted.org$path"
  what="$mode ($up origin)"

  set_fault "$file" "$mode"
  touch "$CONTROL/hold"
  t0=$(now)
  req_start "$u" --http2
  lead=$R lead_pid=$REQ_PID
  expect "$what: the origin reached the fault (and holds there)" \
    wait_until 15 origin_faulted files "$path" 1
  # pipgate's read timeout runs meanwhile: the follower must join well within it
  req_start "$u" --http1.1
  follow=$R follow_pid=$REQ_PID
  expect "$what: a follower joined the fill (its response head arrived)" \
    wait_until 5 grep -q '^HTTP/' "$follow.hdr"
  rm -f "$CONTROL/hold"
  req_join "$lead" "$lead_pid"
  never_complete "$what: leader (h2)" "$size" "$sha"
  req_join "$follow" "$follow_pid"
  never_complete "$what: follower (h1.1)" "$size" "$sha"
  figure "$what: both clients had their error $(since "$t0") s after the first request"
  # One fill for the two: the origin reached the fault once. (Its GET count may be 2: a GET sent
  # on a pooled connection that "long" left bytes on is retried on a new one.)
  n=$(origin_events files fault "$path")
  expect "$what: one fill for leader and follower (the origin's fault reached $n time(s))" [ "$n" = 1 ]
  if [ "$mode" = kill ]; then
    wait "$FILES_PID" 2>/dev/null
    expect "$what: the files origin started again" start_origin files "$ORIGIN_ALPN"
  fi
  n=$(cache_count "*/$file")
  expect "$what: nothing stored (pipgate cache ls: $n)" [ "$n" = 0 ]

  # (counts below: a GET retried on a new connection reaches the origin twice, see long/h1)
  n=$(origin_count files "$path")
  req "$u" --http1.1
  never_complete "$what: asked again (h1.1), fault still there" "$size" "$sha"
  [ "$CODE" != 000 ] && expect_xcache MISS "$what: asked again"
  expect "$what: asked again: the origin was asked again ($n, then $(origin_count files "$path"))" \
    [ "$(origin_count files "$path")" -gt "$n" ]
  if [ "$mode" = kill ]; then
    wait "$FILES_PID" 2>/dev/null
    expect "$what: the files origin started again" start_origin files "$ORIGIN_ALPN"
  fi

  clear_fault "$file"
  n=$(origin_count files "$path")
  req "$u" --http2
  expect "$what: fault cleared: 200, whole and intact (rc $RC)" [ "$RC/$CODE/$(body_sha)" = "0/200/$sha" ]
  expect_xcache MISS "$what: fault cleared"
  expect "$what: fault cleared: refetched ($n, then $(origin_count files "$path"))" \
    [ "$(origin_count files "$path")" -gt "$n" ]
  req "$u" --http1.1
  expect "$what: then a HIT, intact" [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$sha/HIT" ]
  expect "$what: and pipgate cache ls lists it" [ "$(cache_count "*/$file")" = 1 ]
}

ORIGIN_ALPN="h2,http/1.1"
for m in "${MODES[@]}"; do fault_case "$m" h2; done
expect "the h2 round's GETs reached the origin over h2" \
  bash -c "! grep '\"event\":\"request\"' '$WORK/origin-files.jsonl' | grep -v '\"proto\":\"h2\"' | grep -q ."
lines=$(wc -l <"$WORK/origin-files.jsonl")

stop_origin files
ORIGIN_ALPN="http/1.1"
expect "files origin again, HTTP/1.1 only" start_origin files "$ORIGIN_ALPN"
for m in "${MODES[@]}"; do fault_case "$m" h1; done
expect "the h1 round's GETs reached the origin over HTTP/1.1" \
  bash -c "! tail -n +$((lines + 1)) '$WORK/origin-files.jsonl' | grep '\"event\":\"request\"' | \
    grep -v '\"proto\":\"http/1.1\"' | grep -q ."

# Index pages: reset, stall and short on the pypi origin (h2).
for case in reset:lib-a stall:lib-b short:app-pkg; do
  m=${case%%:*} p=${case#*:}
  u="https://pypi.org/simple/$p/"
  want=$(sha256sum <"$WORLD/pypi/simple/$p/index.html" | cut -c1-64)
  set_fault "$p" "$m"
  for v in --http2 --http1.1; do
    req "$u" $v -H "Accept: text/html"
    never_complete "page $p, $m, $v" "$(stat -c %s "$WORLD/pypi/simple/$p/index.html")" "$want"
  done
  expect "page $p, $m: each ask went to the origin ($(origin_count pypi "/simple/$p/"))" \
    [ "$(origin_count pypi "/simple/$p/")" = 2 ]
  clear_fault "$p"
  req "$u" --http1.1 -H "Accept: text/html"
  expect "page $p after $m cleared: 200, whole" [ "$RC/$CODE/$(body_sha)" = "0/200/$want" ]
done
expect "pipgate is still running" kill -0 "$PIPGATE_PID"
e2e_finish
