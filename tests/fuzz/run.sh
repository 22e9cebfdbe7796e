#!/usr/bin/env bash
# Longer libFuzzer runs of the targets in tests/fuzz/ (ctest runs each for 30 s; see
# tests/fuzz/CMakeLists.txt). Builds them in build-asan (clang-16, ASan+UBSan, configured here
# when missing), runs each for N minutes at nice 19, and prints executions, exec/s, coverage,
# new inputs and findings per target.
#
#   tests/fuzz/run.sh --minutes 10                      # every target, one after the other
#   tests/fuzz/run.sh --minutes 30 --jobs 2 h2_server h1_request
#   tests/fuzz/run.sh --minutes 5 --merge              # then merge new inputs into the corpus
#   tests/fuzz/run.sh --seconds 0 --merge-from DIR     # only merge DIR/<target>/ seeds in
#
# --merge rewrites tests/fuzz/corpus/<target>/ as a minimal set (libFuzzer -set_cover_merge=1
# -use_counters=0: every edge, not every hit count, keeps corpora at a few hundred files)
# covering the committed corpus plus this run's new inputs (and --merge-from seeds): commit it.
# Findings (crash-*, leak-*, timeout-*, oom-*) and logs land in $OUT/<target>/ (default
# /tmp/pipgate-fuzz); reproduce one with build-asan/tests/fuzz/<target>_fuzz FILE. Needs
# deploy/install-deps.sh --with fuzz.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${PIPGATE_ASAN_BUILD:-$root/build-asan}"
out="${OUT:-/tmp/pipgate-fuzz}"
seconds=60 jobs=1 merge=0 merge_from="" targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) seconds=$(( ${2:?} * 60 )); shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --merge) merge=1; shift ;;
    --merge-from) merge=1; merge_from=$(cd "${2:?}" && pwd); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/*_fuzz.cc; do t=$(basename "$f" _fuzz.cc); targets+=("$t"); done
fi

PIPGATE_ASAN_BUILD="$build" PIPGATE_BUILD_JOBS="${PIPGATE_BUILD_JOBS:-2}" \
  "$root/deploy/build-asan.sh" "${targets[@]/%/_fuzz}" >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

run_one() {
  local t=$1 dir="$out/$1" bin="$build/tests/fuzz/$1_fuzz"
  mkdir -p "$dir/new"
  local args; args=$(cat "$build/tests/fuzz/$t.args")
  if [ "$seconds" -gt 0 ]; then
    # shellcheck disable=SC2086
    nice -n 19 "$bin" $args -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$dir/" "$dir/new" "$root/tests/fuzz/corpus/$t" >"$dir/log" 2>&1 || true
  fi
  if [ "$merge" = 1 ]; then
    local merged="$dir/merged" extra=()
    rm -rf "$merged" && mkdir -p "$merged"
    [ -n "$merge_from" ] && [ -d "$merge_from/$t" ] && extra+=("$merge_from/$t")
    # shellcheck disable=SC2086
    nice -n 19 "$bin" $args -use_counters=0 -set_cover_merge=1 "$merged" "$root/tests/fuzz/corpus/$t" "$dir/new" \
      "${extra[@]}" >"$dir/merge.log" 2>&1
    rm -rf "$root/tests/fuzz/corpus/$t" && mkdir -p "$root/tests/fuzz/corpus/$t"
    cp "$merged"/* "$root/tests/fuzz/corpus/$t/" 2>/dev/null || true
  fi
}

summary() {
  local t=$1 dir="$out/$1" log="$out/$1/log"
  local execs="-" rate="-" cov="-" new="-" corpus findings
  if [ -f "$log" ] && [ "$seconds" -gt 0 ]; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    local start; start=$(grep -o 'INITED cov: [0-9]*' "$log" | head -1 | cut -d' ' -f3)
    [ -n "$start" ] && [ -n "$cov" ] && cov="$start→$cov"
  fi
  corpus=$(find "$root/tests/fuzz/corpus/$t" -type f | wc -l)
  findings=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | wc -l)
  printf '%-14s %12s %9s %14s %9s %8s %9s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" \
    "${new:--}" "$corpus" "$findings"
}

echo "fuzzing ${targets[*]} for ${seconds}s each, $jobs at a time; logs in $out/<target>/" >&2
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait
printf '%-14s %12s %9s %14s %9s %8s %9s\n' target executions exec/s "cov (edges)" "new" corpus findings
status=0
for t in "${targets[@]}"; do
  summary "$t"
  if find "$out/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | grep -q .; then status=1; fi
done
exit $status
