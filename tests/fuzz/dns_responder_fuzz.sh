#!/usr/bin/env bash
# Compatibility wrapper: the DNS target is one of tests/fuzz/run.sh's targets now.
#   tests/fuzz/dns_responder_fuzz.sh [SECONDS]          == tests/fuzz/run.sh --seconds S dns_responder
#   MERGE=1 tests/fuzz/dns_responder_fuzz.sh [SECONDS]  == ... --merge
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
args=(--seconds "${1:-60}")
if [ "${MERGE:-0}" = 1 ]; then args+=(--merge); fi
exec "$here/run.sh" "${args[@]}" dns_responder
