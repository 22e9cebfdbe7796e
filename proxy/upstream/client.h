// The upstream client: fetches a request from one real host (pypi.org, files.pythonhosted.org).
// Resolves with upstream::Resolver (never the system resolver), refuses addresses that are this
// appliance (loop guard), connects with verified TLS (upstream_ca_file + host name), prefers h2
// by ALPN and remembers per host when it got HTTP/1.1 instead. h2 connections are multiplexed;
// h1.1 connections are kept alive in a per-host pool. A GET or HEAD without a body that failed
// before any response byte arrived (stale pooled connection, refused stream, bytes on a reused
// connection that start no response) is retried once on a new connection; one whose resolving
// or connecting failed is not (every address was tried).
//
//   upstream::Client client(ex, opts, resolver, tls_ctx, clock);
//   auto resp = co_await client.fetch("pypi.org", req, body);   // kUnavailable → 502/504
//
// Not thread-safe: one executor; `opts`, `resolver` and `clock` must outlive it.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/proxy_options.h"
#include "proxy/tls_stream.h"
#include "proxy/upstream/resolver.h"

namespace pipgate::proxy::upstream {

class Client {
 public:
  Client(boost::asio::any_io_executor ex, const ProxyOptions& opts, Resolver& resolver,
         SslContextPtr tls_context, const Clock& clock);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `req` to `host` (its method, path and already-cleaned headers) with `body` (null:
  // none); returns at the response head, the body streaming into the returned pipe. kUnavailable
  // with a detail naming the host and the step that failed (resolve, loop guard, connect, TLS
  // verification, response). The detail contains "timed out" for timeouts.
  [[nodiscard]] boost::asio::awaitable<Result<Response>> fetch(const std::string& host,
                                                               const Request& req,
                                                               std::shared_ptr<BodyPipe> body);

  // Closes every pooled connection (at shutdown).
  void close_all();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::shared_ptr<boost::asio::steady_timer> sweep_timer_;
};

}  // namespace pipgate::proxy::upstream
