// One client connection speaking HTTP/1.1 (Boost.Beast's parser and serializer, driven by hand
// over our TlsStream: no HTTP is parsed or printed here). Each request becomes a proxy::Request,
// goes through the Router and is answered by the Backend; request and response bodies stream
// both ways, chunked when their length is unknown.
//
// Keep-alive between requests (client_idle_timeout), a header deadline once a request's first
// byte arrived (header_timeout: slowloris), a header size limit (431), `Expect: 100-continue`
// answered before the body is read. A response whose body fails midway is cut short (the
// connection closes before the declared length or the last chunk), never completed.
//
//   H1Session session(std::move(tls), info, opts, router, backend, clock);
//   co_await session.run();
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/connection_info.h"
#include "proxy/proxy_options.h"
#include "proxy/router.h"
#include "proxy/tls_stream.h"

namespace pipgate::proxy {

class H1Session {
 public:
  H1Session(std::unique_ptr<TlsStream> tls, ConnectionInfo info, const ProxyOptions& opts,
            const Router& router, Backend& backend, const Clock& clock);
  ~H1Session();
  H1Session(const H1Session&) = delete;
  H1Session& operator=(const H1Session&) = delete;

  // Serves requests until the connection ends. Never throws.
  boost::asio::awaitable<void> run();
  // Finish the response in progress (with Connection: close), then end; ends at once when idle.
  void shutdown();
  // Ends the connection now.
  void close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::proxy
