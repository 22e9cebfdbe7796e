# Small helpers for the integration scripts: assertions, a temp dir, readiness polling with a
# deadline (never a fixed sleep), and TERM-then-KILL cleanup of every process started.
set -uo pipefail
PASSED=0
FAILED=0
PIDS=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pipgate-test.XXXXXX")"

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  local deadline=$((SECONDS + 5))
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
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

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
