// Everything the proxy reads from configuration, in one value passed to each object's
// constructor (no global config lookups). Fields named "[proxy] key" come from that key of
// ProxyConfig (common/config.h, whose initializers are the defaults; a test checks that the
// ones here agree); the others have no config key yet and carry their default here.
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

struct ProxyOptions {
  // From [proxy] listen: HTTPS addresses to serve on.
  std::vector<Endpoint> listen;
  // From [dns] intercept, lower case: the only names served (SNI and :authority/Host).
  std::vector<std::string> intercept;
  // From [proxy] upstream_ca_file: PEM bundle verifying the real hosts.
  std::string upstream_ca_file;
  // From [dns] upstream: the only resolvers the upstream client asks (never the system resolver,
  // which may be this appliance).
  std::vector<Endpoint> dns_upstream;
  // Addresses that are this appliance: [appliance] address/address6, the listen addresses, and
  // every local address when a listen address is unspecified. The upstream client never connects
  // to one (a DNS answer pointing back here would make the proxy call itself forever).
  std::vector<IpAddress> own_addresses;

  // [proxy] upstream_port: TCP port of the real hosts. Default 443; tests point it elsewhere.
  std::uint16_t upstream_port = 443;
  // [proxy] upstream_ipv4_first: try A answers before AAAA. Default true: offices often have
  // IPv6 routes that are announced but broken, and PyPI serves both families.
  bool upstream_ipv4_first = true;

  // [proxy] max_connections / max_connections_per_client: client connections open at once, in
  // total and per client address; past either, new connections are closed at once. Default
  // 4096 and 256: far above an office's pip runs (pip opens a handful per host), low enough that
  // one machine cannot take every descriptor.
  std::uint32_t max_connections = 4096;
  std::uint32_t max_connections_per_client = 256;

  // [proxy] tls_handshake_timeout: a client's TLS handshake must finish within it. Default 10 s.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // [proxy] header_timeout: an HTTP/1.1 request head must arrive within it once its first byte
  // did (slowloris). Default 10 s.
  std::chrono::milliseconds header_timeout{10'000};
  // [proxy] client_idle_timeout: an idle client connection (h1 keep-alive between requests, h2
  // with no open stream) is closed after it. Default 60 s.
  std::chrono::milliseconds client_idle_timeout{60'000};
  // [proxy] header_limit: bytes of one request head (h1 request line + fields; h2 header list
  // after HPACK decoding). Default 64 KiB, far above any pip request, as nginx's large buffers.
  std::uint32_t header_limit_bytes = 64 * 1024;

  // [proxy] h2_max_concurrent_streams: SETTINGS_MAX_CONCURRENT_STREAMS sent to clients.
  // Default 100 (RFC 9113 §6.5.2 recommends no less; pip and uv stay well below).
  std::uint32_t h2_max_concurrent_streams = 100;
  // [proxy] h2_stream_window: HTTP/2 receive window per stream, both directions. It bounds what a
  // stream buffers before flow control stops the peer. Default 256 KiB.
  std::uint32_t h2_stream_window_bytes = 256 * 1024;
  // [proxy] h2_reset_rate / h2_reset_burst: stream resets (RST_STREAM received or streams we had
  // to refuse) allowed per connection, as a token bucket; past it the connection gets GOAWAY
  // ENHANCE_YOUR_CALM (rapid reset, CVE-2023-44487). Default 100/s with a burst of 1000.
  std::uint32_t h2_reset_rate = 100;
  std::uint32_t h2_reset_burst = 1000;
  // [proxy] h2_max_continuations: CONTINUATION frames allowed in one header block; past it the
  // connection is closed (CONTINUATION flood, CVE-2024-27316 class). Default 8 (header_limit
  // fits in 4 frames of the 16 KiB default frame size).
  std::uint32_t h2_max_continuations = 8;

  // [proxy] upstream_connect_timeout, upstream_handshake_timeout: per address tried. 5 s, 10 s.
  std::chrono::milliseconds upstream_connect_timeout{5'000};
  std::chrono::milliseconds upstream_handshake_timeout{10'000};
  // [proxy] upstream_first_byte_timeout: from sending a request to its response head. 30 s:
  // PyPI's slowest simple pages take a few seconds when cold.
  std::chrono::milliseconds upstream_first_byte_timeout{30'000};
  // [proxy] upstream_read_timeout: longest silence inside a response body (also applies while the
  // client is too slow to take data). Default 60 s.
  std::chrono::milliseconds upstream_read_timeout{60'000};
  // [proxy] upstream_idle_timeout: pooled upstream connections unused this long are closed.
  // Default 60 s (Fastly closes idle connections after a few minutes).
  std::chrono::milliseconds upstream_idle_timeout{60'000};
  // [proxy] upstream_h1_pool_size: idle HTTP/1.1 connections kept per upstream host. Default 16.
  std::uint32_t upstream_h1_pool_size = 16;
  // [proxy] dns_timeout: per c-ares attempt; dns_min_ttl/dns_max_ttl clamp the cached TTL of
  // upstream addresses. Defaults 2 s, 30 s, 1 h.
  std::chrono::milliseconds dns_timeout{2'000};
  std::chrono::seconds dns_min_ttl{30};
  std::chrono::seconds dns_max_ttl{3600};

  // [proxy] body_buffer: bytes of one body buffered between a producer and a consumer (per
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
