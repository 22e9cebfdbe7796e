#!/usr/bin/env bash
# One command: install dependencies, build, and run every test (unit, integration, end to end).
# Extra arguments go to ctest, e.g. deploy/test.sh -L unit   or   deploy/test.sh -R config
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 300 "$@"
