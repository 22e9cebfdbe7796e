// Everything the proxy reads from configuration, in one value passed to each object's
// constructor (no global config lookups). It is the [proxy] table itself (ProxyConfig in
// common/config.h, whose initializers are the defaults) plus what the proxy derives from the rest
// of the config, plus tuning that has no config key yet and carries its default here.
//
//   auto opts = proxy_options_from(cfg, local_addresses());
//   if (!opts) return std::unexpected(opts.error());   // kConfig: refuse to start
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/net.h"
#include "common/result.h"

namespace pipgate::proxy {

struct ProxyOptions : ProxyConfig {
  // From [dns] intercept, lower case: the only names served (SNI and :authority/Host).
  std::vector<std::string> intercept;
  // From [dns] upstream: the only resolvers the upstream client asks (never the system resolver,
  // which may be this appliance).
  std::vector<Endpoint> dns_upstream;
  // Addresses that are this appliance: [appliance] address/address6, the listen addresses, and
  // every local address when a listen address is unspecified. The upstream client never connects
  // to one (a DNS answer pointing back here would make the proxy call itself forever).
  std::vector<IpAddress> own_addresses;
  // [cache]: what the cache backend keeps and for how long (when the proxy has a store).
  CacheConfig cache;

  // No config key yet:
  // h2_stream_window: HTTP/2 receive window per stream, both directions. It bounds what a
  // stream buffers before flow control stops the peer. Default 256 KiB.
  std::uint32_t h2_stream_window_bytes = 256 * 1024;
  // h2_reset_rate / h2_reset_burst: stream resets (RST_STREAM received or streams we had
  // to refuse) allowed per connection, as a token bucket; past it the connection gets GOAWAY
  // ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). Default 100/s with a burst of 1000.
  std::uint32_t h2_reset_rate = 100;
  std::uint32_t h2_reset_burst = 1000;
  // h2_max_continuations: CONTINUATION frames allowed in one header block; past it the
  // connection is closed (CONTINUATION flood, CVE-2024-27316 class). Default 8 (header_limit
  // fits in 4 frames of the 16 KiB default frame size).
  std::uint32_t h2_max_continuations = 8;
  // TLS handshake with an upstream address, after its TCP connect. Default 10 s.
  std::chrono::milliseconds upstream_handshake_timeout{10'000};
  // upstream_h1_pool_size: idle HTTP/1.1 connections kept per upstream host. Default 16.
  std::uint32_t upstream_h1_pool_size = 16;
  // dns_timeout: per c-ares attempt; dns_min_ttl/dns_max_ttl clamp the cached TTL of
  // upstream addresses. Defaults 2 s, 30 s, 1 h.
  std::chrono::milliseconds dns_timeout{2'000};
  std::chrono::seconds dns_min_ttl{30};
  std::chrono::seconds dns_max_ttl{3600};
  // body_buffer: bytes of one body buffered between a producer and a consumer (per
  // transfer, each direction). A fast origin and a slow client never buffer more than this plus
  // the flow-control windows. Default 256 KiB.
  std::size_t body_buffer_bytes = 256 * 1024;
};

// Builds the options from `cfg`. `local_addresses` are this machine's addresses (net.h
// local_addresses()), injected for tests. kConfig when there is no upstream resolver, no
// intercepted name, or no listen address.
[[nodiscard]] Result<ProxyOptions> proxy_options_from(
    const Config& cfg, const std::vector<IpAddress>& local_addresses);

}  // namespace pipgate::proxy
