// The DNS responder's sans-IO core: one query's bytes, who sent it and when go in; what to do
// comes out. It reads no socket or clock and logs nothing; UdpServer and TcpServer carry the
// Outcome out and Forwarder sends Forward::upstream_query to the upstream resolvers.
//
//   Responder responder{ResponderOptions::from(cfg)};
//   Outcome o = responder.handle(bytes, Client{addr, Transport::kUdp}, clock.monotonic_now());
//   if (auto* f = std::get_if<Forward>(&o))          // later, with the upstream's reply or error:
//     o = responder.complete(*f, reply, clock.monotonic_now());
//
// Rules, in the order they apply (first match wins):
//   shorter than a header, or QR=1 (a response)        → Drop (never answer an answer: loops)
//   UDP and the client's token bucket is empty         → Drop (RateLimiter)
//   client not in `allow`                              → Refuse (REFUSED, for every name)
//   opcode ≠ QUERY → NOTIMP · QDCOUNT ≠ 1 → FORMERR · body ldns cannot parse → FORMERR
//   EDNS version > 0                                   → BADVERS (RFC 6891 §6.1.3)
//   class IN and an intercepted name (exact, case-insensitive):
//       A → `address` · AAAA → `address6`, else NODATA + SOA · HTTPS, SVCB → NODATA + SOA
//       ANY → the A RRset (RFC 8482 §4.2) · other types → forwarded like any name
//   a fresh answer in the AnswerCache                  → Answer from cache (TTLs aged)
//   otherwise                                          → Forward
// Every answer echoes the question exactly as sent (0x20 case), the ID, RD and CD; it carries
// an OPT RR when the query did (DO echoed, RFC 3225); over UDP it is truncated (TC=1, sections
// emptied) past the client's EDNS size (512 without EDNS), capped at `max_udp_size`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/net.h"
#include "common/result.h"
#include "dns/answer_cache.h"
#include "dns/bytes.h"
#include "dns/client.h"
#include "dns/rate_limiter.h"

namespace pipgate::dns {

struct ResponderOptions {
  // Names answered with this appliance's address (any case; a trailing dot is optional).
  std::vector<std::string> intercept = {"pypi.org", "files.pythonhosted.org"};
  // A answer for intercepted names; none: NODATA.
  std::optional<IpAddress> address;
  // AAAA answer for intercepted names; none: NODATA (never the real PyPI's AAAA).
  std::optional<IpAddress> address6;
  // TTL of intercepted answers (and of the SOA in their NODATA answers).
  std::chrono::seconds ttl{60};
  // Clients that get answers; everyone else gets REFUSED.
  std::vector<Cidr> allow;
  RateLimiterOptions rate_limit;
  AnswerCacheOptions cache;
  // Largest UDP answer we send whatever the client's EDNS size says, and the size we advertise.
  // Default: 1232, the DNS Flag Day 2020 value that avoids IP fragmentation.
  // From [dns] max_udp_size.
  std::uint16_t max_udp_size = 1232;
  // EDNS size advertised to the upstream resolvers. Default: 1232, as above.
  std::uint16_t upstream_udp_size = 1232;

  // The slices of the config the responder needs.
  static ResponderOptions from(const Config& cfg);
};

// Send `packet` to the client.
struct Answer {
  Bytes packet;
};
// Send `upstream_query` to the upstream resolvers (any ID: the forwarder sets its own), then
// call Responder::complete with this Forward and the outcome.
struct Forward {
  Bytes upstream_query;
  Bytes client_query;  // the client's query as received (ID, case, EDNS), for complete()
  Transport transport = Transport::kUdp;
};
// Send `packet` (REFUSED) to the client: it is not allowed to use this resolver.
struct Refuse {
  Bytes packet;
};
// Send nothing: no usable header, QR set, or rate-limited.
struct Drop {
  bool rate_limited = false;  // the client's token bucket was empty (the servers log it)
};

using Outcome = std::variant<Answer, Forward, Refuse, Drop>;

// Monotonic counters, for the periodic info log line.
struct ResponderStats {
  std::uint64_t queries = 0;
  std::uint64_t intercepted = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t forwarded = 0;
  std::uint64_t upstream_failures = 0;  // answered SERVFAIL
  std::uint64_t refused = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t malformed = 0;  // FORMERR, NOTIMP, BADVERS
  std::uint64_t dropped = 0;    // too short or QR=1
};

class Responder {
 public:
  explicit Responder(ResponderOptions options);

  // Decides what to do with `query` (one DNS message, without the TCP length prefix) from
  // `from`, received at `now`. Never fails: every input maps to an Outcome. Not thread-safe
  // (one Responder per event loop). `query` is only read during the call.
  Outcome handle(std::span<const std::uint8_t> query, const Client& from, MonotonicTime now);

  // Turns the upstream's `reply` to `forward` (or the forwarder's error: timeouts, every
  // upstream failed) into the client's Answer: SERVFAIL on an error or an unusable reply,
  // otherwise the upstream's sections under the client's ID, question and EDNS, truncated like
  // any answer. A usable reply is stored in the AnswerCache. Always returns an Answer.
  Outcome complete(const Forward& forward, const Result<Bytes>& reply, MonotonicTime now);

  // New options from a reloaded config (SIGHUP): the answer templates and the rate limiter are
  // rebuilt; the answer cache is emptied (its TTL clamps may have changed); counters stay.
  void reconfigure(ResponderOptions options);

  const ResponderStats& stats() const { return stats_; }
  AnswerCache& cache() { return cache_; }
  const AnswerCache& cache() const { return cache_; }

 private:
  ResponderOptions options_;
  struct Template {
    std::string name;  // lowered wire form
    std::uint16_t type;
    CachedAnswer answer;
  };
  std::vector<std::string> intercept_wire_;  // lowered wire-form names
  std::vector<Template> templates_;          // the intercepted answers, built once
  RateLimiter limiter_;
  AnswerCache cache_;
  ResponderStats stats_;
};

}  // namespace pipgate::dns
