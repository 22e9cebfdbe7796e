// The plain-HTTP/1.1 server of the onboarding page and /metrics, on every [web] listen address.
// One coroutine per connection, keep-alive, small limits: an 8 KiB request head, no request
// bodies, a deadline on each request head and each response, and a cap on open connections. The
// routes themselves are web::Site's.
//
//   web::Server web(io, cfg, ca->certificate_pem(), figures);   // figures may be {}
//   if (auto r = web.start(); !r) { spdlog::critical("web: {}", r.error().detail); return 1; }
//   ... on SIGTERM: web.stop();
//
// Runs on one io_context (one thread); start(), stop() and local_endpoints() are called on that
// thread or before it runs. The figures function runs on that thread too.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/config.h"
#include "common/metrics.h"
#include "common/net.h"
#include "common/result.h"
#include "web/live_figures.h"

namespace pipgate::web {

struct ServerLimits {
  // Open connections in total and per client address; past either, new ones are closed at once.
  // Default 256 and 32: a page and a scraper need a handful.
  std::uint32_t max_connections = 256;
  std::uint32_t max_connections_per_client = 32;
  // Bytes of one request head; larger gets 431 and the connection closes. Default 8 KiB.
  std::uint32_t header_limit_bytes = 8 * 1024;
  // A request head must arrive within this of the previous response (or of the connection
  // opening); otherwise the connection closes. Default 15 s.
  std::chrono::milliseconds request_timeout{15'000};
  // A response must be written within this. Default 30 s.
  std::chrono::milliseconds write_timeout{30'000};
};

class Server {
 public:
  // Reads cfg.web.listen, the appliance address and the intercepted names (copied: `cfg` need not
  // outlive the server). `ca_pem` is the CA clients must trust (Authority::certificate_pem()).
  // `figures` gives the page's live figures; empty means figures_from_metrics(registry).
  // `io` and `registry` (default: the process's) must outlive the server. Nothing happens until
  // start().
  Server(boost::asio::io_context& io, const Config& cfg, std::string ca_pem, FiguresFn figures = {},
         ServerLimits limits = {}, const MetricsRegistry& registry = metrics());
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Prepares the CA downloads and binds every listen address. Ok and nothing listening when
  // cfg.web.listen is empty. kCorrupt when `ca_pem` does not parse; kUnavailable naming the
  // address when a bind fails (in use, no permission). Nothing is left listening on error.
  [[nodiscard]] Result<> start();

  // Stops accepting and closes every connection (responses here are small; nothing to drain).
  // Safe to call more than once, and before start().
  void stop();

  // The bound addresses (a port 0 in the config becomes the one the kernel chose).
  std::vector<Endpoint> local_endpoints() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::web
