#!/usr/bin/env bash
# One command: install dependencies, build, and run the appliance in the foreground.
# Without arguments it uses the embedded defaults (DNS on :53, HTTPS on :443, the primary IPv4,
# data in ./var/pipgate); any arguments are passed to `pipgate run`, e.g. --config FILE.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh"
cd "$root"
exec "$root/build/pipgate" run "$@"
