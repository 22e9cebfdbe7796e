// Fuzz target for the DNS responder core (dns::Responder): arbitrary bytes as a client's query,
// and, when the query is forwarded, the same bytes as the upstream's reply. Invariants: nothing
// crashes; every packet we would send parses, is a response (QR=1) carrying the client's ID and
// fits its transport.
//
// Input layout: byte 0 picks the client (bit 0: TCP, bit 1: outside the allow list, bit 2:
// advance the clock 61 s to expire cached answers, bit 3: an upstream reply follows). Without
// bit 3 the rest is the query, and the upstream's reply is the query with QR set. With bit 3,
// two bytes give the query's length, then the query, then the reply.
//
//   libFuzzer build: dns_responder_fuzz in build-asan (tests/fuzz/run.sh,
//   tests/fuzz/CMakeLists.txt) replay:          dns_responder_fuzz_replay (replay_main.cc) in every
//   build, over the corpus.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "common/clock.h"
#include "common/net.h"
#include "dns/responder.h"

namespace {

using namespace pipgate;
using namespace std::chrono_literals;

dns::ResponderOptions fuzz_options() {
  dns::ResponderOptions o;
  o.address = *parse_ip("10.0.0.5");
  o.address6 = *parse_ip("fd00::5");
  o.allow = {*parse_cidr("10.0.0.0/8")};
  o.rate_limit.rate_per_second = 0;
  o.cache.max_entries = 64;
  return o;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void check_reply(const dns::Bytes& packet, std::span<const std::uint8_t> query,
                 dns::Transport transport) {
  check(packet.size() >= 12, "reply has a header");
  check(transport == dns::Transport::kTcp ? packet.size() <= 65535 : packet.size() <= 1232,
        "reply fits the transport");
  check((packet[2] & 0x80) != 0, "reply has QR=1");
  check(packet[0] == query[0] && packet[1] == query[1], "reply carries the client's ID");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static dns::Responder responder{fuzz_options()};
  static ManualClock clock;
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::span<const std::uint8_t> query(data + 1, size - 1);
  dns::Bytes reply;
  if (mode & 8) {
    if (size < 3) return 0;
    const std::size_t n = std::min<std::size_t>(std::size_t{data[1]} << 8 | data[2], size - 3);
    query = std::span(data + 3, n);
    reply.assign(data + 3 + n, data + size);
  } else {
    reply.assign(query.begin(), query.end());
    if (reply.size() > 2) reply[2] |= 0x80;
  }
  if (mode & 4) clock.advance(61s);
  const dns::Client client{*parse_ip((mode & 2) ? "192.0.2.7" : "10.1.2.3"),
                           (mode & 1) ? dns::Transport::kTcp : dns::Transport::kUdp};
  dns::Outcome o = responder.handle(query, client, clock.monotonic_now());
  if (auto* a = std::get_if<dns::Answer>(&o)) check_reply(a->packet, query, client.transport);
  if (auto* r = std::get_if<dns::Refuse>(&o)) check_reply(r->packet, query, client.transport);
  if (auto* f = std::get_if<dns::Forward>(&o)) {
    check(f->upstream_query.size() >= 12, "upstream query has a header");
    dns::Outcome done = responder.complete(*f, reply, clock.monotonic_now());
    auto* a = std::get_if<dns::Answer>(&done);
    check(a != nullptr, "complete() answers");
    check_reply(a->packet, query, client.transport);
  }
  return 0;
}
