#include "proxy/pass_through.h"

#include <spdlog/spdlog.h>

#include <boost/asio/this_coro.hpp>

#include "proxy/header_hygiene.h"

namespace pipgate::proxy {

namespace asio = boost::asio;

asio::awaitable<Response> PassThrough::respond(const Route& route, Request req,
                                               std::shared_ptr<BodyPipe> body) {
  auto ex = co_await asio::this_coro::executor;
  Request up = req;
  up.headers = upstream_request_headers(req);
  up.authority = route.host;
  auto r = co_await client_.fetch(route.host, up, body);
  if (!r) {
    if (body) body->cancel();
    bool timed_out = r.error().detail.find("timed out") != std::string::npos;
    int status = timed_out ? 504 : 502;
    spdlog::warn("conn {} {}: {} https://{}{} → {}: {}", req.connection_id,
                 req.client_address.to_string(), req.method, route.host, req.path, status,
                 r.error().detail);
    co_return text_response(ex, status,
                            std::string(timed_out ? "upstream timed out" : "upstream failed") +
                                ": " + r.error().detail + "\n");
  }
  spdlog::debug("conn {} {}: {} https://{}{} → {}", req.connection_id,
                req.client_address.to_string(), req.method, route.host, req.path, r->head.status);
  r->head.headers = client_response_headers(r->head.headers, r->from);
  co_return std::move(*r);
}

}  // namespace pipgate::proxy
