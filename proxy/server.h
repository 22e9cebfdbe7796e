// The proxy's entry point: listens on every [proxy] listen address, terminates TLS, and serves
// each connection with H2Session or H1Session (by ALPN) through the Router and a backend: the
// cache (cache::CacheBackend) when given a store, else PassThrough to the upstream client. Enforces
// the connection limits (in total and per client address) and stops gracefully (GOAWAY / close
// after the current response) within a grace time.
//
//   proxy::Server server(io, cfg, leaves, clock);
//   if (auto r = server.start(); !r) { spdlog::critical("proxy: {}", r.error().detail); return 1; }
//   ... on SIGTERM: co_await server.stop(5s); io.stop();
//
// Runs on one io_context (one thread). Listening sockets set SO_REUSEPORT, so one Server per core,
// each on its own io_context, can share the addresses (limits then count per Server).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "common/net.h"
#include "common/result.h"
#include "proxy/proxy_options.h"

namespace pipgate::certs {
class LeafStore;
}
namespace pipgate::store {
class Store;
}

namespace pipgate::proxy {

namespace cache {
class FillTable;
}

// The cache the servers of one process share. Without a store every request passes through.
struct SharedCache {
  store::Store* store = nullptr;
  cache::FillTable* fills = nullptr;
};

class Server {
 public:
  // `leaves`, `clock` and `io` must outlive the server. Nothing happens until start().
  // `cache` (both pointers, or neither) must outlive the server too.
  Server(boost::asio::io_context& io, const Config& cfg, const certs::LeafStore& leaves,
         const Clock& clock, SharedCache cache = {});
  // As above with options already built (tests, or several Servers sharing them).
  Server(boost::asio::io_context& io, ProxyOptions opts, const certs::LeafStore& leaves,
         const Clock& clock, SharedCache cache = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Builds TLS contexts and the resolver, binds every listen address and starts accepting.
  // kConfig for unusable options (no upstream resolver, unreadable upstream_ca_file); kUnavailable
  // naming the address when a bind fails (in use, no permission). Nothing is left listening on
  // error.
  [[nodiscard]] Result<> start();

  // Stops accepting, asks every connection to finish (h2 GOAWAY, h1 close after the response in
  // progress), waits up to `grace`, then closes what is left. Safe to call once, after start().
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

  // Applies the keys of `cfg` that change on a live server (SIGHUP): [proxy] limits and
  // timeouts and [cache] policy, for new connections and requests; connections in flight keep
  // going. Thread-safe: the change is posted to the server's io_context. Keys that need a
  // restart are the caller's to report (is_reloadable() in common/config.h).
  void reconfigure(const Config& cfg);

  // The bound addresses (a port 0 in the config becomes the one the kernel chose).
  std::vector<Endpoint> local_endpoints() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::proxy
