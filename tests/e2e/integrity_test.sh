#!/usr/bin/env bash
# Files are self-verifying: the origin serves bytes whose BLAKE2b-256 does not match their
# /packages/ path (a flipped byte in the middle; a 3 MiB and a 16 KiB file). A client must never
# see a complete 200 for them: h2 clients get the stream reset, HTTP/1.1 clients the connection
# closed before Content-Length, or (a small file, fetched and checked before its head went out)
# a 502 that says why. Nothing is cached: each request is a MISS and refetches. Good
# files on the same origin keep working, before and after.
# usage: integrity_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

setup_world --corrupt bad:3M --corrupt tiny-bad:16K --blob good:3M

u_good="https://files.pythonhosted.org$BLOB_GOOD"
req "$u_good" --http2
expect "a good file first: 200 and intact" [ "$CODE/$(body_sha)" = "200/$BLOB_GOOD_SHA256" ]

for name in BAD TINY_BAD; do
  path=$(eval echo "\$CORRUPT_$name")
  size=$(eval echo "\$CORRUPT_${name}_SIZE")
  u="https://files.pythonhosted.org$path"
  n=0
  for v in --http2 --http1.1 --http2; do
    n=$((n + 1))
    req "$u" $v
    never_complete "$name $v (ask $n)" "$size"
    case "$RC/$v" in
      92/--http2) ok "$name $v: curl rc 92 (HTTP/2 stream reset)" ;;
      18/--http1.1) ok "$name $v: curl rc 18 (transfer closed with bytes outstanding)" ;;
      # A small file can be fetched and found corrupt before its head went out: a 502 saying so.
      0/*) if [ "$CODE" = 502 ] && grep -q 'BLAKE2b' "$R.body"; then
          ok "$name $v: 502 before any byte, the body names the digest mismatch"
        else
          not_ok "$name $v: curl rc 0 with status $CODE: $(head -c 200 "$R.body")"
        fi ;;
      *) not_ok "$name $v: expected curl rc 92 (h2) / 18 (h1.1), got $RC: $(head -c 200 "$R.err")" ;;
    esac
    [ $n -gt 1 ] && expect_xcache MISS "$name $v asked again: never cached"
    # the next ask must find nothing stored: wait until this upstream transfer has ended
    wait_until 10 origin_ended files "$path" $n
  done
  c=$(origin_count files "$path")
  expect "$name: every ask went to the origin again ($c of 3)" [ "$c" = 3 ]
done

req "$u_good" --http1.1
expect "good file after the corrupt ones (h1.1): 200 and intact" [ "$CODE/$(body_sha)" = "200/$BLOB_GOOD_SHA256" ]
expect_xcache HIT "good file after the corrupt ones"
req "https://files.pythonhosted.org$WHEEL_TINY_PKG_1_0" --http2
expect "a wheel after the corrupt ones (h2): 200 and intact" [ "$CODE/$(body_sha)" = "200/$WHEEL_TINY_PKG_1_0_SHA256" ]
e2e_finish
