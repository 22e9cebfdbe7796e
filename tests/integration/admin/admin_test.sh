#!/usr/bin/env bash
# `pipgate status` and `pipgate cache stats|ls|purge|verify` against the real `pipgate run`, whose
# store is filled by real requests through its proxy from a local origin:
#   127.0.78.53:53   dnsmasq: the appliance's [dns] upstream, mapping both PyPI names to the origin
#   127.0.78.3:443   origin_h1.py (tests/integration/proxy) with files in the hashed layout
#   127.0.78.1:443   pipgate's proxy; :8080 its web page; 127.0.78.9:5353 pipgate-dns
# (own addresses, so the proxy tests on 127.0.77.x can run at the same time). Checks the human and
# --json output, exit codes (0 ok, 1 error, 2 usage), that a purge makes the next request a MISS,
# that verify finds nothing corrupt, that status shows the cache and the pipgate-dns child, that
# the socket is 0660 and closed to other users, and the stale-socket and not-running cases.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../proxy/lib.sh"   # the harness, make_pki, start_dns, start_h1_origin, port_open
pipgate="$(realpath "$1")"
pipgate_dns="$(realpath "$2")"
DNS_IP=127.0.78.53
ORIGIN_IP=127.0.78.3
APPLIANCE_IP=127.0.78.1
cd "$WORK"

for tool in dnsmasq setpriv curl python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run deploy/install-deps.sh"; exit 1; }
done

# Two distribution files whose paths carry their BLAKE2b-256, and an index page.
add_file() {  # add_file NAME BYTES: prints the URL path
  local tmp="$WORK/file.tmp"
  head -c "$2" /dev/urandom >"$tmp"
  local h
  h="$("$PY" -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$tmp")"
  local dir="htdocs/packages/${h:0:2}/${h:2:2}/${h:4}"
  mkdir -p "$dir"
  mv "$tmp" "$dir/$1"
  echo "/packages/${h:0:2}/${h:2:2}/${h:4}/$1"
}
mkdir -p htdocs/simple/tinypkg
WHEEL="$(add_file tinypkg-1.0-py3-none-any.whl 300000)"
SDIST="$(add_file otherpkg-2.0.tar.gz 120000)"
echo '<a href="https://files.pythonhosted.org'"$WHEEL"'">tinypkg-1.0-py3-none-any.whl</a>' \
  >htdocs/simple/tinypkg/index.html

make_pki
start_dns "$ORIGIN_IP" "$ORIGIN_IP"
start_h1_origin "$ORIGIN_IP" origin
expect "origin listens" port_open "$ORIGIN_IP" 443

cat >cfg.toml <<CONF
[appliance]
address = "$APPLIANCE_IP"
data_dir = "$WORK/data"
log_level = "debug"
[dns]
listen = ["127.0.78.9:5353"]
upstream = ["$DNS_IP:53"]
[proxy]
listen = ["$APPLIANCE_IP:443"]
upstream_ca_file = "$WORK/pki/ca.pem"
[web]
listen = ["$APPLIANCE_IP:8080"]
CONF

start_pipgate() {  # start_pipgate LOG [args]
  local log="$1"; shift
  "$pipgate" run --config cfg.toml "$@" >"$log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  wait_until 30 grep -q "pipgate is running" "$log"
}
# fetch PATH HOST: the X-Cache of a GET through the appliance ("" on failure).
fetch() {
  curl -sS --max-time 30 --cacert data/ca/ca.pem --resolve "$2:443:$APPLIANCE_IP" \
    -H 'Accept: text/html' -o /dev/null -D - "https://$2$1" 2>>curl.err |
    tr -d '\r' | awk 'tolower($1) == "x-cache:" {print $2}'
}
pg() { "$pipgate" "$@" --config cfg.toml; }
json_get() {  # json_get EXPR: evaluates EXPR on the JSON object read from stdin, as `j`
  "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# 1. Before the appliance runs: a clear error, exit 1 (and {"error": ...} with --json).
err="$(pg status 2>&1 >/dev/null)"
expect "status without pipgate exits 1" test $? -eq 1
expect "status without pipgate says so" contains "$err" \
  "is pipgate running? no admin socket at $WORK/data/admin.sock"
out="$(pg status --json 2>/dev/null)"
expect "status --json without pipgate prints an error object" \
  test "$(json_get 'j["error"][:18]' <<<"$out")" = "is pipgate running"

start_pipgate run1.log --dns-executable "$pipgate_dns"
expect "pipgate run starts" test $? -eq 0
expect "the admin socket exists" test -S data/admin.sock
expect "the admin socket is mode 0660" test "$(stat -c %a data/admin.sock)" = 660
expect "the log names the admin socket" grep -q "admin: socket $WORK/data/admin.sock" run1.log

# 2. Fill the store: the wheel twice (MISS, HIT), the sdist and the index page once.
expect "first wheel download is a MISS" test "$(fetch "$WHEEL" files.pythonhosted.org)" = MISS
expect "second wheel download is a HIT" test "$(fetch "$WHEEL" files.pythonhosted.org)" = HIT
expect "sdist download is a MISS" test "$(fetch "$SDIST" files.pythonhosted.org)" = MISS
expect "index page is a MISS" test "$(fetch /simple/tinypkg/ pypi.org)" = MISS

# 3. status: uptime, cache size, hit ratio, upstream, the pipgate-dns child.
wait_until 10 bash -c "'$pipgate' status --config cfg.toml | grep -q 'pipgate-dns .*running'"
out="$(pg status)"
expect "status exits 0" test $? -eq 0
expect "status shows the version and uptime" contains "$out" "^pipgate [0-9.]*, pid $PID, up "
expect "status shows the cache size and budget" contains "$out" "^cache: .* of 20.0 GiB (.*), 3 objects"
expect "status shows the hit ratio" contains "$out" "^hit ratio:  25.0% of 4 cacheable requests"
expect "status shows upstream reachable" contains "$out" "^upstream:   reachable"
expect "status shows pipgate-dns running" contains "$out" "pipgate-dns  *[0-9][0-9]*  running"
json="$(pg status --json)"
expect "status --json exits 0" test $? -eq 0
expect "status --json: 3 objects" test "$(json_get 'j["cache"]["objects"]' <<<"$json")" = 3
expect "status --json: cache bytes cover both files" \
  test "$(json_get 'j["cache"]["bytes"] >= 420000' <<<"$json")" = True
expect "status --json: budget" test "$(json_get 'j["cache"]["budget_bytes"]' <<<"$json")" = $((20 << 30))
expect "status --json: hit ratio" test "$(json_get 'j["traffic"]["hit_ratio"]' <<<"$json")" = 0.25
expect "status --json: the pipgate-dns child" \
  test "$(json_get '[(c["name"], c["running"], c["pid"] > 0) for c in j["children"]]' <<<"$json")" \
       = "[('pipgate-dns', True, True)]"
expect "status --json: upstream reachable" test "$(json_get 'j["upstream"]["state"]' <<<"$json")" = reachable

# 4. cache stats: per project, most requested first.
out="$(pg cache stats)"
expect "cache stats exits 0" test $? -eq 0
expect "cache stats has a header" contains "$out" "^PROJECT  *REQUESTS  *HITS  *MISSES"
expect "cache stats: tinypkg 3 requests, 1 hit, 2 misses" contains "$out" "^tinypkg  *3  *1  *2 "
expect "cache stats: otherpkg 1 request" contains "$out" "^otherpkg  *1  *0  *1 "
json="$(pg cache stats --top 1 --json)"
expect "cache stats --top 1 --json: one row, tinypkg" \
  test "$(json_get '[(p["project"], p["hits"], p["misses"], p["bytes_saved"]) for p in j["projects"]]' <<<"$json")" \
       = "[('tinypkg', 1, 2, 300000)]"

# 5. cache ls PATTERN.
out="$(pg cache ls '*tinypkg*')"
expect "cache ls exits 0" test $? -eq 0
expect "cache ls has a header" contains "$out" "^ *SIZE  *STATUS  *CREATED  *LAST ACCESS  *KEY"
expect "cache ls lists the wheel" contains "$out" "293 KiB  *200 .*files.pythonhosted.org$WHEEL\$"
expect "cache ls lists the index page" contains "$out" "pypi.org/simple/tinypkg/#"
expect "cache ls does not list the sdist" bash -c "! grep -q otherpkg <<<'$out'"
expect "cache ls sums up" contains "$out" "^2 objects, "
json="$(pg cache ls '*.tar.gz' --json)"
expect "cache ls --json: the sdist only" \
  test "$(json_get '[(o["key"], o["size"]) for o in j["objects"]]' <<<"$json")" \
       = "[('files.pythonhosted.org$SDIST', 120000)]"
out="$(pg cache ls '*scipy*')"
expect "cache ls with no match exits 0 and says so" contains "$out" "no object matches \*scipy\*"

# 6. cache verify: everything re-hashed, nothing corrupt; progress on stderr (not a TTY here).
out="$(pg cache verify 2>verify.err)"
expect "cache verify exits 0" test $? -eq 0
expect "cache verify reports 0 corrupt" contains "$out" "^checked 3 objects (.*): 0 corrupt"
expect "cache verify shows progress on stderr" grep -q "^verify: .* objects" verify.err
json="$(pg cache verify --json 2>/dev/null)"
expect "cache verify --json: 3 checked, none corrupt" \
  test "$(json_get '(j["checked"], j["corrupt"], j["complete"])' <<<"$json")" = "(3, [], True)"

# 7. cache purge PATTERN: counts and bytes; the next request is a MISS, then a HIT again.
out="$(pg cache purge '*tinypkg-1.0-*')"
expect "cache purge exits 0" test $? -eq 0
expect "cache purge reports count and bytes" contains "$out" \
  "^removed 1 of 1 matching object (\*tinypkg-1.0-\*), 293 KiB freed"
expect "after purge the wheel is a MISS" test "$(fetch "$WHEEL" files.pythonhosted.org)" = MISS
expect "then a HIT again" test "$(fetch "$WHEEL" files.pythonhosted.org)" = HIT
json="$(pg cache purge '*.tar.gz' --json)"
expect "cache purge --json: removed the sdist" \
  test "$(json_get '(j["matched"], j["removed"], j["bytes_freed"], j["all"])' <<<"$json")" \
       = "(1, 1, 120000, False)"
expect "after purge the sdist is a MISS" test "$(fetch "$SDIST" files.pythonhosted.org)" = MISS

# 8. Usage errors exit 2; a server-side refusal exits 1.
pg cache purge >/dev/null 2>&1
expect "cache purge without PATTERN or --all exits 2" test $? -eq 2
pg cache purge '*' --all >/dev/null 2>&1
expect "cache purge with PATTERN and --all exits 2" test $? -eq 2
pg cache ls >/dev/null 2>&1
expect "cache ls without PATTERN exits 2" test $? -eq 2
pg cache stats --top 0 >/dev/null 2>&1
expect "cache stats --top 0 exits 2" test $? -eq 2
"$pipgate" cache >/dev/null 2>&1
expect "cache without a subcommand exits 2" test $? -eq 2
out="$("$pipgate" cache purge --help)"
expect "cache purge --help documents glob examples" contains "$out" "'\*numpy\*'"

# 9. cache purge --all.
json="$(pg cache purge --all --json)"
expect "cache purge --all --json exits 0" test $? -eq 0
expect "cache purge --all removed every object" \
  test "$(json_get 'j["removed"] == j["matched"] == 3 and j["all"]' <<<"$json")" = True
expect "the store is empty" test "$(pg status --json | json_get 'j["cache"]["objects"]')" = 0
expect "cache ls '*' finds nothing" contains "$(pg cache ls '*')" "no object matches"

# 10. Other users cannot connect: the data dir is closed to them, and so is the socket itself.
chmod 755 "$WORK"
chmod 644 cfg.toml
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$pipgate" "$@" --config "$WORK/cfg.toml"; }
mode="$(stat -c %a data)"
err="$(as_nobody status 2>&1 >/dev/null)"
expect "nobody: status exits 1" test $? -eq 1
expect "nobody: permission denied" contains "$err" "permission denied on the admin socket"
chmod 755 data
err="$(as_nobody cache ls '*' 2>&1 >/dev/null)"
expect "nobody, data dir open: still exits 1 (socket 0660)" test $? -eq 1
expect "nobody, data dir open: permission denied" contains "$err" "permission denied"
chmod "$mode" data

# 11. A pipgate killed hard leaves its socket: the CLI says nothing answers; a restart replaces it.
kill -KILL "$PID"
wait "$PID" 2>/dev/null
expect "the socket file is left behind" test -S data/admin.sock
err="$(pg status 2>&1 >/dev/null)"
expect "stale socket: status exits 1" test $? -eq 1
expect "stale socket: nothing answers" contains "$err" "is pipgate running? nothing answers"
wait_until 10 bash -c "! pgrep -f 'pipgate-dns --config $WORK/cfg.toml' >/dev/null"
start_pipgate run2.log --dns-executable none
expect "restart after kill -9 runs" test $? -eq 0
expect "restart removed the stale socket" grep -q "removed a stale socket" run2.log
out="$(pg status)"
expect "status works after the restart" test $? -eq 0
expect "without pipgate-dns: no children" contains "$out" "^children:   none"

# 12. SIGTERM removes the socket.
kill -TERM "$PID"
wait_until 15 bash -c "! kill -0 $PID 2>/dev/null"
wait "$PID"
expect "SIGTERM stops pipgate with status 0" test $? -eq 0
expect "the socket is gone" test ! -e data/admin.sock

finish "$WORK/run1.log"
