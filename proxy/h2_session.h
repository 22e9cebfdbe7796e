// One client connection speaking HTTP/2 (nghttp2 1.52, driven through mem_recv/mem_send over our
// TlsStream). Each request stream becomes a proxy::Request, goes through the Router, and is
// answered by the Backend in its own coroutine; the response body is sent as the client's flow
// control allows, and no faster is it read from the backend (backpressure reaches upstream).
// Request bodies flow the other way, with WINDOW_UPDATE sent only as the backend takes the bytes.
//
// Limits (ProxyOptions): SETTINGS_MAX_CONCURRENT_STREAMS, a header list limit (431 beyond it),
// CONTINUATION frames per header block, and a token bucket on stream resets (rapid reset): a
// flood ends the connection with GOAWAY ENHANCE_YOUR_CALM. Idle connections (no stream for
// client_idle_timeout) get GOAWAY and are closed. shutdown() sends a graceful GOAWAY: streams in
// progress finish, new ones are refused.
//
//   H2Session session(std::move(tls), info, opts, router, backend, clock);
//   co_await session.run();   // returns when the connection is over
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/connection_info.h"
#include "proxy/proxy_options.h"
#include "proxy/router.h"
#include "proxy/tls_stream.h"

namespace pipgate::proxy {

class H2Session {
 public:
  H2Session(std::unique_ptr<TlsStream> tls, ConnectionInfo info, const ProxyOptions& opts,
            const Router& router, Backend& backend, const Clock& clock);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Serves the connection until it ends. Never throws.
  boost::asio::awaitable<void> run();
  // Graceful GOAWAY: no new streams; run() returns once open streams finish.
  void shutdown();
  // Ends the connection now (streams in progress are cut).
  void close();

 private:
  friend class H2SessionFeed;
  struct State;
  std::shared_ptr<State> state_;
};

// The same server session without a socket (sans-IO), for tests/fuzz/h2_server_fuzz.cc: the same
// nghttp2 options, SETTINGS and callbacks, Router and Backend as H2Session; the caller moves the
// bytes (H2Io's part). Streams are served by coroutines on `ex`: poll it between calls. No idle
// timer. Destroying it ends the connection as a closed socket does.
class H2SessionFeed {
 public:
  H2SessionFeed(boost::asio::any_io_executor ex, ConnectionInfo info, const ProxyOptions& opts,
                const Router& router, Backend& backend, const Clock& clock);
  ~H2SessionFeed();
  H2SessionFeed(const H2SessionFeed&) = delete;
  H2SessionFeed& operator=(const H2SessionFeed&) = delete;

  // nghttp2_session_mem_recv's result: the bytes taken, or a negative nghttp2 error code, after
  // which the session is terminated (GOAWAY queued) as H2Io does.
  long receive(std::span<const std::uint8_t> bytes);
  // Everything nghttp2_session_mem_send has to send now.
  std::string send();
  // nghttp2_session_want_read || want_write: false once the connection is over.
  bool wants_io() const;

 private:
  std::shared_ptr<H2Session::State> state_;
  bool started_ = false;
};

}  // namespace pipgate::proxy
