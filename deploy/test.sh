#!/usr/bin/env bash
# One command: install dependencies, build, and run every test (unit, integration, end to end),
# then the sanitizer stage.
# Extra arguments go to ctest, e.g. deploy/test.sh -L unit   or   deploy/test.sh -R config
# (with extra arguments, or PIPGATE_SKIP_SANITIZE=1, the sanitizer stage is skipped: CI runs
# deploy/test.sh without arguments and so runs it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 300 "$@"

# Sanitizer stage (issue #9): build-asan is clang-16 with ASan + UBSan and libFuzzer
# instrumentation (deploy/build-asan.sh builds only the unit tests and the fuzz targets). There:
# every unit test, then each fuzz target for 30 s from its committed corpus (tests/fuzz/).
# UBSan findings and leaks fail the tests.
if [ $# -gt 0 ] || [ "${PIPGATE_SKIP_SANITIZE:-0}" = 1 ]; then
  echo "test.sh: sanitizer stage skipped" >&2
  exit 0
fi
"$root/deploy/install-deps.sh" --with fuzz
"$root/deploy/build-asan.sh" unit-tests fuzz-targets
cd "$root/build-asan"
export ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --output-on-failure -j2 --timeout 300 -L unit
ctest --output-on-failure -j2 -L fuzz -E '_replay$'
