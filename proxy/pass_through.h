// The Backend of this issue: every routed request goes to the upstream host as it is (after
// header hygiene), and the response comes back streaming. Upstream failures become 502 (or 504
// when they timed out), logged once here with the connection id and the reason.
//
//   PassThrough backend(client);
//   H2Session session(..., router, backend, ...);
#pragma once

#include "proxy/backend.h"
#include "proxy/upstream/client.h"

namespace pipgate::proxy {

class PassThrough final : public Backend {
 public:
  explicit PassThrough(upstream::Client& client) : client_(client) {}
  boost::asio::awaitable<Response> respond(const Route& route, Request req,
                                           std::shared_ptr<BodyPipe> body) override;

 private:
  upstream::Client& client_;
};

}  // namespace pipgate::proxy
