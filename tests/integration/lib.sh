# The harness every integration script sources: assertions ending in "N passed, N failed", a
# temp dir ($WORK; KEEP_WORK=1 keeps it), readiness polling with a deadline (never a fixed
# sleep), and TERM-then-KILL cleanup of every process whose pid is in PIDS.
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
set -uo pipefail
PASSED=0
FAILED=0
PIDS=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/${WORK_PREFIX:-pipgate-test}.XXXXXX")"

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  local deadline=$((SECONDS + 5))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
expect() {  # expect "description" command...
  local what="$1"; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
contains() { grep -q -- "$2" <<<"$1"; }

# wait_until SECONDS command...: polls every 50 ms until the command succeeds or time runs out.
wait_until() {
  local limit="$1"; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pipgate_config FILE DATA_DIR DNS_LISTEN HTTPS_LISTEN WEB_LISTEN [EXTRA_TOML]: the config the app
# tests run `pipgate run` with: answers 192.0.2.10, upstream DNS down (127.0.0.1:9, fast timeout).
pipgate_config() {
  cat >"$1" <<CONF
[appliance]
address = "192.0.2.10"
data_dir = "$2"
log_level = "debug"
${6:-}
[dns]
listen = ["$3"]
upstream = ["127.0.0.1:9"]
upstream_timeout = "200ms"
upstream_attempts = 1
${7:-}
[proxy]
listen = ["$4"]
${8:-}
[web]
listen = ["$5"]
CONF
}

# finish [LOG]: the summary line; on failure, the tail of LOG if given.
finish() {
  echo "$PASSED passed, $FAILED failed"
  if [ "$FAILED" -ne 0 ] && [ -n "${1:-}" ] && [ -f "$1" ]; then
    echo "--- $1 (last 60 lines)"; tail -60 "$1"
  fi
  [ "$FAILED" -eq 0 ]
}
