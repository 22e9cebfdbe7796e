#!/usr/bin/env bash
# Time is injected (STYLE.md §4): only RealClock reads the system clocks, so every rule about time
# can be tested with a ManualClock. Tests and benchmarks may read real time.
set -uo pipefail
root="$1"
cd "$root"
hits="$(grep -rnE '(system_clock|steady_clock|high_resolution_clock)::now\(|\btime\(nullptr\)|\btime\(NULL\)|clock_gettime\(|gettimeofday\(' \
  --include='*.cc' --include='*.h' common certs dns proxy store web admin app 2>/dev/null \
  | grep -v '^common/clock\.cc:' || true)"
if [ -n "$hits" ]; then
  echo "Clock read outside RealClock (inject a Clock& or take \`now\` as a parameter):"
  echo "$hits"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
