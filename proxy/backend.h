// What the client sessions call to answer a routed request: the seam between transport and
// content. PassThrough (this issue) fetches every request upstream; the cache (issue #6) will be
// another Backend that answers from the store and falls back to the upstream client.
//
//   Response r = co_await backend.respond(route, std::move(req), body);
//   send r.head; then stream r.body (null: no body) until end, or abort the response on error
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "proxy/body_pipe.h"
#include "proxy/request.h"
#include "proxy/router.h"

namespace pipgate::proxy {

struct Response {
  ResponseHead head;
  // The body; null when there is none (HEAD, 204, 304, empty). A pipe that fails means the body is
  // incomplete: the session must not present it as a success (h2 RST_STREAM, h1 close early).
  std::shared_ptr<BodyPipe> body;
  // The protocol of the hop this response came over (for Via).
  HttpVersion from = HttpVersion::kHttp11;
  // For the access log and metrics: the X-Cache value ("HIT" ... "PASS"; empty when the proxy
  // answered by itself), how long upstream took to the response head when it was asked, and the
  // project the path belongs to (empty when unknown).
  std::string cache_status;
  std::optional<std::chrono::milliseconds> upstream_time;
  std::string project;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Answers `req`, which the Router forwards to `route.host`. `body` is the request body (null
  // when there is none); the backend reads it to the end or cancels it. Never fails: upstream
  // trouble becomes a 502/504 response. Runs on the calling connection's executor, and the
  // returned body is read on it.
  virtual boost::asio::awaitable<Response> respond(const Route& route, Request req,
                                                   std::shared_ptr<BodyPipe> body) = 0;
};

// A complete small response: `status`, text/plain `text`, Content-Length, Cache-Control no-store.
Response text_response(boost::asio::any_io_executor ex, int status, std::string text);

}  // namespace pipgate::proxy
