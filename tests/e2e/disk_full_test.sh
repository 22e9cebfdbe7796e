#!/usr/bin/env bash
# Disk trouble: the appliance's data dir is a small tmpfs, so the store's free-space reserve
# (256 MiB) is crossed in the middle of a 128 MiB fill. Its clients still get the whole file
# (the rest comes straight from upstream by a range request), nothing partial is stored, the
# appliance keeps serving its hits (also while the disk is full and the fill goes on), a file
# asked for meanwhile is served (MISS or PASS), and a corrupt one is not (the digest is checked
# on the paths past the store too). Then space returns (the tmpfs grows): the
# store is intact (`pipgate cache verify`: every object re-hashed, none corrupt), its hits are
# still served, and new fills are stored again.
# usage: disk_full_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

DATA_DIR="$WORK/small-disk"
mkdir -p "$DATA_DIR"
if ! mount -t tmpfs -o size=340m pipgate-e2e "$DATA_DIR"; then
  echo "skipped: cannot mount a tmpfs (needs root)"
  exit 77
fi
# After the world is gone (its EXIT trap), the mount goes too.
trap 'e2e_cleanup; umount -l "$DATA_DIR" 2>/dev/null' EXIT
export DATA_DIR

setup_world --blob small:2M --blob big:128M --blob other:1M --corrupt bigbad:128M
u_small="https://files.pythonhosted.org$BLOB_SMALL"
u_big="https://files.pythonhosted.org$BLOB_BIG"
u_other="https://files.pythonhosted.org$BLOB_OTHER"

req "$u_small" --http2
expect "a small file fits: 200 and intact" [ "$CODE/$(body_sha)" = "200/$BLOB_SMALL_SHA256" ]
expect "and is stored" wait_until 10 stored "$u_small"

for v in --http2 --http1.1; do
  REQ_TIMEOUT=90 req_start "$u_big" $v
  big_r=$R big_pid=$REQ_PID
  if [ $v = --http2 ]; then  # once: hits while the disk is full and the fill goes on upstream
    expect "the store runs out of space mid-fill" \
      wait_until 60 grep -q "comes straight from upstream" "$WORK/pipgate.log"
    req "$u_small" --http1.1
    expect "meanwhile a hit is served: 200, intact, HIT" \
      [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$BLOB_SMALL_SHA256/HIT" ]
    expect "the big download was still going on then" kill -0 "$big_pid"
  fi
  req_join "$big_r" "$big_pid"
  expect "big file over $v while the disk fills: 200, all of it, intact (rc $RC)" \
    [ "$RC/$CODE/$(body_sha)" = "0/200/$BLOB_BIG_SHA256" ]
  wait_until 15 origin_ended files "$BLOB_BIG" 2
  req "$u_big" -I $v
  expect_xcache "MISS|PASS" "big file $v afterwards: nothing partial was stored"
done
expect "the rest came from upstream by a range request" \
  grep -q "comes straight from upstream" "$WORK/pipgate.log"
expect "the store's trouble is logged" grep -q "the store refuses writes" "$WORK/pipgate.log"

req "$u_small" --http1.1
expect "hits are still served: 200 and intact" [ "$CODE/$(body_sha)" = "200/$BLOB_SMALL_SHA256" ]
expect_xcache HIT "the small file"
req "$u_other" --http2
expect "a new file is still served: 200 and intact" [ "$CODE/$(body_sha)" = "200/$BLOB_OTHER_SHA256" ]
expect_xcache "MISS|PASS" "the new file"
# A corrupt file while the disk is full bypasses the store (PASS, or the rest by a range request
# past the reserve), so the store's digest check cannot stop it: the relay checks it instead.
u_bad="https://files.pythonhosted.org$CORRUPT_BIGBAD"
for v in --http2 --http1.1; do
  REQ_TIMEOUT=90 req "$u_bad" $v
  never_complete "corrupt 128 MiB file over $v while the disk is full" "$CORRUPT_BIGBAD_SIZE"
done
expect "the digest mismatch is logged" grep -q "does not match its BLAKE2b-256" "$WORK/pipgate.log"
expect "pipgate is still running" kill -0 "$PIPGATE_PID"

# --- space returns ------------------------------------------------------------------------------
expect "space returns: the data dir's tmpfs grows to 1 GiB" mount -o remount,size=1g "$DATA_DIR"
expect "the store is intact" cache_verified
req "$u_small" --http2
expect "after space returns, the hit is served: 200, intact, HIT" \
  [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$BLOB_SMALL_SHA256/HIT" ]
req "$u_big" --http2
expect "after space returns, the big file: 200, intact" [ "$CODE/$(body_sha)" = "200/$BLOB_BIG_SHA256" ]
expect "and it is stored now" wait_until 15 stored "$u_big"
req "$u_big" --http1.1
expect "the big file is a HIT, intact" [ "$CODE/$(body_sha)/$(hdr x-cache)" = "200/$BLOB_BIG_SHA256/HIT" ]
expect "the store is still intact" cache_verified
expect "pipgate is still running" kill -0 "$PIPGATE_PID"
e2e_finish
