// One HTTP/1.1 connection to an upstream host, one request at a time (Beast's parser and
// serializer over our TlsStream). The response body is read only as fast as the consumer takes
// it (BodyPipe backpressure), so TCP flow control slows the origin. When a response ends cleanly
// with keep-alive, the connection is handed back through `on_idle` for reuse.
//
//   auto conn = std::make_shared<H1Connection>(std::move(tls), "pypi.org", opts, clock);
//   auto resp = co_await conn->fetch(req, body, retryable, [&](auto c) { pool.push_back(c); });
//
// Not thread-safe: one executor.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/proxy_options.h"
#include "proxy/tls_stream.h"

namespace pipgate::proxy::upstream {

class H1Connection : public std::enable_shared_from_this<H1Connection> {
 public:
  H1Connection(std::unique_ptr<TlsStream> tls, std::string host, const ProxyOptions& opts,
               const Clock& clock);
  ~H1Connection();

  // Sends `req` (cleaned headers; Host is this connection's host) with `body` (null: none) and
  // returns at the final response head; the body then streams into the returned pipe. kUnavailable
  // on failure, and `retryable` true when no response byte came. `on_idle` is called (at most
  // once, later) when the exchange ended cleanly and the connection may carry another request.
  [[nodiscard]] boost::asio::awaitable<Result<Response>> fetch(
      const Request& req, std::shared_ptr<BodyPipe> body, bool& retryable,
      std::function<void(std::shared_ptr<H1Connection>)> on_idle);

  bool is_open() const;
  void close();
  MonotonicTime idle_since() const { return idle_since_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  MonotonicTime idle_since_{};
};

}  // namespace pipgate::proxy::upstream
