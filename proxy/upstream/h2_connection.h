// One HTTP/2 connection to an upstream host, multiplexing the requests the Client gives it
// (nghttp2 client session over our TlsStream). Response bodies are granted flow-control window
// only as the consumer takes them, so a slow client slows the origin instead of filling memory.
// Closes itself after upstream_idle_timeout without streams, and on GOAWAY once its streams end.
//
//   auto conn = H2Connection::start(std::move(tls), "pypi.org", opts, clock);
//   bool retryable = false;
//   auto resp = co_await conn->fetch(req, body, retryable);
//
// Not thread-safe: one executor (the TlsStream's).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/proxy_options.h"
#include "proxy/tls_stream.h"

namespace pipgate::proxy::upstream {

class H2Connection {
 public:
  // Starts the connection's I/O coroutine on `tls` (which negotiated h2).
  static std::shared_ptr<H2Connection> start(std::unique_ptr<TlsStream> tls, std::string host,
                                             const ProxyOptions& opts, const Clock& clock);
  ~H2Connection();

  // True while a new stream may be opened here (open, no GOAWAY, below the peer's stream limit).
  bool can_open_stream() const;
  bool is_closed() const;

  // Sends `req` (path, method and already-cleaned headers; the authority is this connection's
  // host) with `body` (null: none), and returns at the response head; the body then streams into
  // the returned pipe. kUnavailable on failure; `retryable` is true when no response byte came.
  [[nodiscard]] boost::asio::awaitable<Result<Response>> fetch(const Request& req,
                                                               std::shared_ptr<BodyPipe> body,
                                                               bool& retryable);
  // GOAWAY and close; streams in progress fail.
  void close();

 private:
  struct State;
  explicit H2Connection(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::proxy::upstream
