#!/usr/bin/env bash
# curl from the client namespace through pipgate-dns and the proxy, --http2 and --http1.1:
#  - PEP 691 content negotiation on /simple/ both ways (JSON cached first, then HTML asked for;
#    HTML first, then JSON), Vary, 406 for an Accept matching no variant, gzip to clients that
#    take it and identity to those that do not, ETag/If-None-Match, 301s and 404s cached,
#    revalidation (304 → REVALIDATED) and stale answers when pypi.org answers 503 or is gone;
#  - files: ranges (a-b, a-, -n) on a miss and on hits, 416, multi-range → 200, If-Range, HEAD,
#    If-None-Match, PEP 658 .metadata, one upstream GET per file;
#  - protocol negotiation both ways: client HTTP/1.1 → h2-only origin, client h2 → HTTP/1.1-only
#    origin.
# usage: http_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

ACC_JSON="application/vnd.pypi.simple.v1+json"
ACC_V1HTML="application/vnd.pypi.simple.v1+html"
ACC_PIP="$ACC_JSON, $ACC_V1HTML; q=0.1, text/html; q=0.01"   # what pip 23 sends

FILES_ALPN=h2
setup_world --blob h2-h2:4M --blob h1-h2:4M --blob h2-h1:4M --blob h1-h1:4M

# body_kind: json, html, gzip (undecoded: curl without --compressed sends no Accept-Encoding) or
# other; is_json / is_html say why they failed through the FAIL line's own text.
body_kind() {
  if "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$R.body" 2>/dev/null; then echo json
  elif head -c 15 "$R.body" | grep -q '^<!DOCTYPE html>'; then echo html
  elif [ "$(head -c 2 "$R.body" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then echo gzip
  else echo other; fi
}
is_json() { local k; k=$(body_kind); [ "$k" = json ] || { echo "     (body is $k)"; false; }; }
is_html() { local k; k=$(body_kind); [ "$k" = html ] || { echo "     (body is $k)"; false; }; }
ctype_is() { [[ "$(hdr content-type)" == "$1"* ]]; }
vary_has_accept() { hdr vary | grep -qiw accept; }

# --- content negotiation, both orders, both client protocols --------------------------------
for v in --http2 --http1.1; do
  p=tiny-pkg
  [ $v = --http1.1 ] && p=lib-a
  u="https://pypi.org/simple/$p/"
  # JSON first (what pip asks for) …
  req "$u" $v -H "Accept: $ACC_PIP"
  expect_code 200 "$v JSON first: pip's Accept on /simple/$p/"
  expect "$v JSON first: Content-Type $ACC_JSON ($(hdr content-type))" ctype_is "$ACC_JSON"
  expect "$v JSON first: body is JSON" is_json
  expect "$v JSON first: Vary names Accept ($(hdr vary))" vary_has_accept
  expect_xcache MISS "$v JSON first, first ask"
  req "$u" $v -H "Accept: $ACC_PIP"
  expect "$v JSON again: JSON" is_json
  expect_xcache HIT "$v JSON again"
  expect "$v JSON again: Age present on a hit ($(hdr age))" [ -n "$(hdr age)" ]
  # … then an HTML client must get HTML.
  req "$u" $v -H "Accept: text/html"
  expect "$v then Accept: text/html gets HTML, never the cached JSON ($(hdr content-type))" is_html
  expect "$v then Accept: text/html: Content-Type text/html" ctype_is "text/html"
  expect_xcache MISS "$v text/html is its own variant"
  req "$u" $v -H "Accept:"
  expect "$v no Accept at all → HTML ($(hdr content-type))" ctype_is "text/html"
  expect_xcache HIT "$v no Accept shares the text/html variant"
  req "$u" $v
  expect "$v Accept: */* (curl's default) → HTML ($(hdr content-type))" ctype_is "text/html"
  req "$u" $v -H "Accept: $ACC_V1HTML"
  expect "$v Accept: $ACC_V1HTML → that type ($(hdr content-type))" ctype_is "$ACC_V1HTML"
  expect "$v v1+html body is HTML" is_html
  expect_xcache MISS "$v v1+html is its own variant"
  req "$u" $v -H "Accept: $ACC_JSON"
  expect "$v JSON after the HTML variants: still JSON" is_json
  expect_xcache HIT "$v JSON after the HTML variants"
done
# HTML first, then JSON
u="https://pypi.org/simple/lib-b/"
req "$u" --http2 -H "Accept: text/html"
expect "HTML first: HTML" is_html
expect_xcache MISS "HTML first"
req "$u" --http2 -H "Accept: $ACC_PIP"
expect "HTML cached, then pip's Accept gets JSON ($(hdr content-type))" is_json
expect_xcache MISS "JSON after HTML is its own variant"
req "$u" --http1.1 -H "Accept: text/html, $ACC_JSON;q=0.5"
expect "Accept preferring HTML by q gets HTML" is_html
expect_xcache HIT "HTML by q"
req "$u" --http2 -H "Accept: image/png"
expect_code 406 "Accept matching no variant (image/png)"
req "https://pypi.org/simple/" --http2 -H "Accept: $ACC_JSON"
expect "/simple/ root as JSON" is_json
expect "/simple/ root lists the projects" grep -q '"projects"' "$R.body"

# --- encodings: gzip to clients that take it, identity to those that do not ------------------
u="https://pypi.org/simple/app-pkg/"
req "$u" --http2 -H "Accept: $ACC_JSON" --compressed
expect "gzip-accepting client: Content-Encoding gzip ($(hdr content-encoding))" [ "$(hdr content-encoding)" = gzip ]
expect "gzip-accepting client: decodes to JSON" is_json
for v in --http2 --http1.1; do
  req "$u" $v -H "Accept: $ACC_JSON"
  expect "$v client without Accept-Encoding: identity ($(hdr content-encoding))" [ -z "$(hdr content-encoding)" ]
  expect "$v client without Accept-Encoding: body is plain JSON" is_json
  expect_xcache HIT "$v identity served from the cached page"
done
expect "Vary also names Accept-Encoding ($(hdr vary))" bash -c "grep -qi '^vary:.*accept-encoding' '$R.hdr'"
# exactly what pip 23 sends for an index page: served from the cache all the same
# ([cache] honor_client_revalidate = false), gzip since pip takes it
req "$u" --http1.1 -H "Accept: $ACC_PIP" -H "Accept-Encoding: gzip, deflate" -H "Cache-Control: max-age=0"
expect_xcache HIT "pip's index request (Cache-Control: max-age=0, gzip, deflate)"
expect "pip's index request: gzip ($(hdr content-encoding))" [ "$(hdr content-encoding)" = gzip ]
expect "pip's index request: gunzips to JSON" bash -c "gzip -dc <'$R.body' | $PY -m json.tool >/dev/null"

# --- conditional requests, redirects, 404s, JSON API --------------------------------------
u="https://pypi.org/simple/tiny-pkg/"
req "$u" --http2 -H "Accept: $ACC_JSON"
etag=$(hdr etag)
expect "index answers carry an ETag ($etag)" [ -n "$etag" ]
for v in --http2 --http1.1; do
  req "$u" $v -H "Accept: $ACC_JSON" -H "If-None-Match: $etag"
  expect_code 304 "$v If-None-Match with the page's ETag"
done
req "$u" --http2 -H "Accept: text/html" -H "If-None-Match: $etag"
expect_code 200 "the JSON variant's ETag does not validate the HTML variant"
before=$(origin_count pypi /simple/Tiny_Pkg/)
for v in --http2 --http1.1; do
  req "https://pypi.org/simple/Tiny_Pkg/" $v
  expect_code 301 "$v non-normalized /simple/Tiny_Pkg/"
  expect "$v redirect passed back as it is ($(hdr location))" [ "$(hdr location)" = /simple/tiny-pkg/ ]
done
expect_xcache HIT "second 301"
expect "301 fetched from the origin once ($(origin_count pypi /simple/Tiny_Pkg/) - $before)" [ $(($(origin_count pypi /simple/Tiny_Pkg/) - before)) = 1 ]
req "https://pypi.org/simple/tiny-pkg" --http2
expect_code 301 "/simple/tiny-pkg without the slash"
for v in --http2 --http1.1; do
  req "https://pypi.org/simple/no-such-project/" $v -H "Accept: $ACC_PIP"
  expect_code 404 "$v unknown project"
done
expect_xcache HIT "second 404"
expect "404 fetched from the origin once ($(origin_count pypi /simple/no-such-project/))" [ "$(origin_count pypi /simple/no-such-project/)" = 1 ]
for p in /pypi/tiny-pkg/json /pypi/tiny-pkg/1.0/json; do
  req "https://pypi.org$p" --http2
  expect_code 200 "JSON API $p"
  expect "JSON API $p is JSON" is_json
  req "https://pypi.org$p" --http1.1
  expect_xcache HIT "JSON API $p again"
done

# --- freshness: revalidation, and stale answers when the origin fails -----------------------
set_max_age 1
u="https://pypi.org/simple/app-pkg/"
req "$u" --http2 -H "Accept: $ACC_V1HTML"   # a variant not asked for yet: stored with max-age=1
expect_code 200 "page stored with max-age=1"
expect_xcache MISS "page stored with max-age=1"
sleep 2   # freshness is wall-clock time: let it pass
req "$u" --http2 -H "Accept: $ACC_V1HTML"
expect_code 200 "stale page asked again"
expect_xcache REVALIDATED "stale page, origin answers 304"
expect "revalidation sent If-None-Match upstream and got 304" \
  grep -q '"path":"/simple/app-pkg/","status":304,.*"if-none-match"' "$WORK/origin-pypi.jsonl"
set_origin_status pypi 503
sleep 2
req "$u" --http2 -H "Accept: $ACC_V1HTML"
expect_code 200 "origin answering 503"
expect_xcache STALE "origin answering 503 → stored page"
expect "stale answer is the page ($(hdr content-type))" ctype_is "$ACC_V1HTML"
set_origin_status pypi ""
stop_origin pypi
req "$u" --http1.1 -H "Accept: $ACC_V1HTML"
expect_code 200 "origin gone (connection refused)"
expect_xcache STALE "origin gone → stored page"
expect "stale answer carries Age ($(hdr age))" [ -n "$(hdr age)" ]
expect "fake pypi.org back" start_origin pypi
set_max_age 600

# --- files: ranges and conditionals, h2-only origin now, HTTP/1.1-only later ------------------
# file_suite LABEL CLIENT_FLAG BLOB_VAR ORIGIN_PROTO
file_suite() {
  local label="$1" v="$2" var="$3" oproto="$4" path size sha file etag lm
  path=${!var}
  size=$(eval echo "\$${var}_SIZE")
  sha=$(eval echo "\$${var}_SHA256")
  file="$WORLD/files$path"
  local u="https://files.pythonhosted.org$path"
  slice() { tail -c +$(($1 + 1)) "$file" | head -c "$2"; }

  # a range on a miss is answered (from the fill, once its bytes arrived)
  req "$u" "$v" -r 1000-1999
  expect_code 206 "$label: range 1000-1999 on a miss"
  expect "$label: Content-Range bytes 1000-1999/$size ($(hdr content-range))" [ "$(hdr content-range)" = "bytes 1000-1999/$size" ]
  expect "$label: the range's bytes" cmp -s <(slice 1000 1000) "$R.body"
  expect_xcache MISS "$label: range on a miss"
  expect "$label: client and proxy spoke $v ($HV)" [ "$HV" = "${v#--http}" ]
  # the fill continues to the end though the client only wanted 1000 bytes: the origin sends the
  # whole file, and soon after (its bytes still cross the shaped link) a HEAD finds it stored
  wait_until 10 grep -qF "\"path\":\"$path\",\"sent\":$size,\"complete\":true" \
    "$WORK/origin-files.jsonl"
  expect "$label: the range's fill completes and is stored (a HEAD says X-Cache: HIT)" \
    wait_until 10 stored "$u"
  expect "$label: upstream protocol was $oproto" \
    grep -qF "\"proto\":\"$oproto\",\"method\":\"GET\",\"path\":\"$path\"" "$WORK/origin-files.jsonl"

  req "$u" "$v"
  expect_code 200 "$label: full GET"
  expect "$label: full body intact" [ "$(body_sha)" = "$sha" ]
  expect "$label: Content-Length $size ($(hdr content-length))" [ "$(hdr content-length)" = "$size" ]
  expect "$label: Accept-Ranges: bytes ($(hdr accept-ranges))" [ "$(hdr accept-ranges)" = bytes ]
  etag=$(hdr etag)
  lm=$(hdr last-modified)
  expect "$label: ETag ($etag) and Last-Modified ($lm)" test -n "$etag" -a -n "$lm"
  expect_xcache HIT "$label: full GET after the fill"
  req "$u" "$v" -H "Accept-Encoding: identity" -H "Accept: */*"   # pip's file request
  expect "$label: pip's file request: 200 intact, no Content-Encoding ($(hdr content-encoding))" \
    [ "$CODE/$(body_sha)/$(hdr content-encoding)" = "200/$sha/" ]

  req "$u" "$v" -r -500
  expect_code 206 "$label: suffix range -500"
  expect "$label: suffix Content-Range ($(hdr content-range))" [ "$(hdr content-range)" = "bytes $((size - 500))-$((size - 1))/$size" ]
  expect "$label: suffix bytes" cmp -s <(slice $((size - 500)) 500) "$R.body"
  expect_xcache HIT "$label: suffix range"
  req "$u" "$v" -r "$((size - 4096))-"
  expect_code 206 "$label: open range $((size - 4096))-"
  expect "$label: open range bytes" cmp -s <(slice $((size - 4096)) 4096) "$R.body"
  req "$u" "$v" -r "$((size + 10))-"
  expect_code 416 "$label: range past the end"
  expect "$label: 416 Content-Range bytes */$size ($(hdr content-range))" [ "$(hdr content-range)" = "bytes */$size" ]
  req "$u" "$v" -r 0-1,5-6
  expect_code 200 "$label: multi-range answered with the whole file"
  expect "$label: multi-range body is the file" [ "$(body_sha)" = "$sha" ]
  req "$u" "$v" -r 10-19 -H "If-Range: $etag"
  expect_code 206 "$label: If-Range with the ETag keeps the range"
  expect "$label: If-Range range bytes" cmp -s <(slice 10 10) "$R.body"
  req "$u" "$v" -r 10-19 -H 'If-Range: "not-the-etag"'
  expect_code 200 "$label: If-Range with another ETag → whole file"
  expect "$label: If-Range mismatch body is the file" [ "$(body_sha)" = "$sha" ]
  req "$u" "$v" -I
  expect "$label: HEAD 200 with Content-Length $size ($CODE, $(hdr content-length))" \
    [ "$CODE/$(hdr content-length)" = "200/$size" ]
  expect_xcache HIT "$label: HEAD"
  req "$u" "$v" -H "If-None-Match: $etag"
  expect_code 304 "$label: If-None-Match with the ETag"
  expect "$label: one upstream GET for all of that ($(origin_count files "$path"))" [ "$(origin_count files "$path")" = 1 ]
}

file_suite "client h2, origin h2" --http2 BLOB_H2_H2 h2
file_suite "client h1.1, origin h2" --http1.1 BLOB_H1_H2 h2
# PEP 658 metadata next to a wheel
u="https://files.pythonhosted.org$WHEEL_LIB_B_2_0.metadata"
for v in --http2 --http1.1; do
  req "$u" $v
  expect_code 200 "$v .metadata"
  expect "$v .metadata body" grep -q '^Requires-Dist: lib-a' "$R.body"
done
expect_xcache HIT ".metadata again"
expect "one upstream GET for the .metadata ($(origin_count files "$WHEEL_LIB_B_2_0.metadata"))" [ "$(origin_count files "$WHEEL_LIB_B_2_0.metadata")" = 1 ]

# --- the files host becomes HTTP/1.1-only: pipgate must fall back, clients keep their protocol
stop_origin files
expect "files host restarted HTTP/1.1-only" start_origin files http/1.1
file_suite "client h2, origin h1.1" --http2 BLOB_H2_H1 http/1.1
file_suite "client h1.1, origin h1.1" --http1.1 BLOB_H1_H1 http/1.1

# --- idle: 10-15 s after the last request pipgate empties its in-memory caches (hot pages and
# records, RocksDB's block cache) and returns free heap to the kernel; the next request refills.
idle_trimmed() {
  local line
  line=$(grep -o 'in-memory caches held [0-9]* bytes, now [0-9]*' "$WORK/pipgate.log" | tail -1)
  [ -n "$line" ] || return 1
  set -- $line  # in-memory caches held H bytes, now N
  [ "$4" -gt 0 ] && [ "$7" -lt "$4" ]
}
expect "idle: the caches filled by the requests above are emptied" wait_until 30 idle_trimmed
req "https://files.pythonhosted.org$WHEEL_LIB_B_2_0.metadata" --http2
expect_code 200 ".metadata after the idle trim"
expect ".metadata body after the idle trim" grep -q '^Requires-Dist: lib-a' "$R.body"
expect_xcache HIT ".metadata after the idle trim"
e2e_finish
