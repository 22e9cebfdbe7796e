#!/usr/bin/env bash
# Builds tests/fuzz/dns_responder_fuzz.cc with clang-16 + libFuzzer + ASan/UBSan and runs it.
#   tests/fuzz/dns_responder_fuzz.sh [SECONDS]            # fuzz; new inputs go to a temp dir
#   MERGE=1 tests/fuzz/dns_responder_fuzz.sh [SECONDS]    # then merge them into the corpus
# Needs: deploy/install-deps.sh --with fuzz (clang-16, libfuzzer-16-dev).
# clang-16, not 14: libstdc++ 12's <expected> needs P0848 (clang >= 16), and is gated on
# __cpp_concepts >= 202002L, which clang 16 does not yet announce, hence the -D below.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECONDS_TO_RUN=${1:-60}
OUT=${OUT:-/tmp/pipgate-dns-fuzz}
CORPUS=tests/fuzz/corpus/dns_responder
mkdir -p "$OUT/new"
clang++-16 -std=c++2b -O1 -g -Wno-macro-redefined -D__cpp_concepts=202002L \
  -fsanitize=fuzzer,address,undefined -I. \
  dns/responder.cc dns/answer_cache.cc dns/rate_limiter.cc dns/internal/packet.cc \
  dns/internal/wire.cc common/net.cc common/result.cc tests/fuzz/dns_responder_fuzz.cc \
  -lldns -lspdlog -lfmt -o "$OUT/dns_responder_fuzz"
"$OUT/dns_responder_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=1500 -timeout=5 \
  -artifact_prefix="$OUT/" "$OUT/new" "$CORPUS"
if [ "${MERGE:-0}" = 1 ]; then
  "$OUT/dns_responder_fuzz" -merge=1 "$CORPUS" "$OUT/new"
fi
