#!/usr/bin/env bash
# Configures (once) and builds the sanitizer tree ./build-asan: clang-16, ASan + UBSan, libFuzzer
# instrumentation (PIPGATE_FUZZ=ON), -O1. Builds only the ninja targets named, by default the
# unit tests and the fuzz targets (`unit-tests fuzz-targets`), not the executables.
#   deploy/build-asan.sh                      # then: cd build-asan && ctest -L unit; ctest -L fuzz
#   deploy/build-asan.sh h2_server_fuzz
# clang-16, not clang-14: libstdc++ 12's <expected> needs P0848 (see CMakeLists.txt). Needs
# deploy/install-deps.sh --with fuzz.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${PIPGATE_ASAN_BUILD:-$root/build-asan}"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-16 CXX=clang++-16 cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DPIPGATE_SANITIZE=address,undefined -DPIPGATE_FUZZ=ON >/dev/null
fi
if [ $# -eq 0 ]; then set -- unit-tests fuzz-targets; fi
cmake --build "$build" -j"${PIPGATE_BUILD_JOBS:-$(nproc)}" --target "$@"
