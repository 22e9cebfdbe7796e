#!/usr/bin/env bash
# Configures and builds pipgate (Release, Ninja) into ./build. Extra arguments go to cmake's
# configure step, e.g. deploy/build.sh -DPIPGATE_SANITIZE=address,undefined
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$root/build" -j"$(nproc)"
