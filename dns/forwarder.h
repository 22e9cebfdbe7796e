// Sends forwarded queries to the upstream resolvers through c-ares, on the caller's io_context
// (no thread of its own: c-ares names the sockets to watch, readiness calls ares_process_fd,
// one timer follows ares_timeout, as nghttpx's shrpx_dns_resolver.cc does with libev).
// Each query gets its own random ID towards the upstream, unique among those in flight (c-ares
// 1.18's ares_send sends the ID it is given; only ares_query makes one up). c-ares tries the
// resolvers in order, each for `timeout` (doubling per round), `attempts` rounds, retries over
// TCP when a UDP answer is truncated, and moves on from a resolver that answers SERVFAIL,
// REFUSED or NOTIMP. If a resolver answers FORMERR without OPT (no EDNS), c-ares strips the
// query's trailing OPT RR and asks again without EDNS from then on.
//
//   auto fwd = Forwarder::create(io, {.upstream = cfg.dns.upstream}, random);
//   (*fwd)->send(forward.upstream_query, [](Result<Bytes> reply) { ... });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/config.h"
#include "common/net.h"
#include "common/random.h"
#include "common/result.h"
#include "dns/bytes.h"

namespace pipgate::dns {

struct ForwarderOptions {
  // Resolvers, tried in this order. Empty: every query fails at once (kUnavailable).
  std::vector<Endpoint> upstream;
  // First-round time per resolver ([dns] upstream_timeout) and rounds ([dns] upstream_attempts).
  std::chrono::milliseconds timeout{2000};
  std::uint32_t attempts = 2;
  // The EDNS size our upstream queries advertise (ResponderOptions::upstream_udp_size): UDP
  // answers up to it are taken as they are, larger ones are fetched again over TCP.
  std::uint16_t edns_udp_size = 1232;

  static ForwarderOptions from(const Config& cfg);
};

class Forwarder {
 public:
  // The upstream's reply (any RCODE but SERVFAIL, REFUSED, NOTIMP; its ID is c-ares', not the
  // client's), or kUnavailable when every resolver failed or timed out. Called exactly once,
  // on the io_context's thread, possibly before send() returns; never after the Forwarder is
  // destroyed (pending queries are then dropped silently).
  using Callback = std::function<void(Result<Bytes>)>;

  // kInternal when c-ares cannot start (out of memory, bad server list).
  // `random` (query IDs) must outlive the Forwarder.
  [[nodiscard]] static Result<std::unique_ptr<Forwarder>> create(boost::asio::io_context& io,
                                                                 const ForwarderOptions& options,
                                                                 Random& random);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Sends one DNS query message (`query` is copied, its ID replaced; a trailing OPT RR, as ldns
  // writes it, is what EDNS fallback removes). Call on the io_context's thread.
  void send(std::span<const std::uint8_t> query, Callback done);

  // Queries sent and not yet answered.
  std::size_t pending() const;

 private:
  struct State;
  explicit Forwarder(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::dns
