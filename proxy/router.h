// Decides what to do with a request: forward it to one intercepted host, or refuse it. Pure: the
// request and the names/ports it was built with in, a Route out. Validation that is a protocol
// rule of this proxy (not of HTTP syntax, which Beast and nghttp2 enforce) lives here, once.
//
// Refusals (not an open proxy in any form):
//   400  no authority (h1 without Host), userinfo in it, a path that is not origin-form, a scheme
//        other than https, h2 extended CONNECT (:protocol)
//   405  CONNECT
//   421  authority not equal to the TLS SNI, or not an intercepted name, or a port this proxy
//        does not serve (RFC 9110 §15.5.20: the client may retry on a connection for that name);
//        absolute-form targets for other hosts land here too
//
//   Router router({"pypi.org", "files.pythonhosted.org"}, {443});
//   Route r = router.route(req);   // r.action == RouteAction::kForward → r.host == "pypi.org"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/request.h"

namespace pipgate::proxy {

enum class RouteAction { kForward, kRefuse };

struct Route {
  RouteAction action = RouteAction::kRefuse;
  std::string host;    // kForward: the upstream host, lower case, no port, no trailing dot
  int status = 0;      // kRefuse: the status to answer with
  std::string reason;  // kRefuse: one line for the log and the response body
};

class Router {
 public:
  // `intercept`: the names served (any case). `ports`: ports a client may name in the authority
  // besides none at all (the listen ports; 443 is always allowed).
  Router(std::vector<std::string> intercept, std::vector<std::uint16_t> ports);

  Route route(const Request& req) const;

 private:
  std::vector<std::string> intercept_;
  std::vector<std::uint16_t> ports_;
};

// Lower case, trailing dot removed: the form names are compared in.
std::string canonical_host(std::string_view name);

}  // namespace pipgate::proxy
