// Which header fields cross the proxy, in each direction. Pure functions of values.
//
// RFC 9110 §7.6.1: a proxy removes the hop-by-hop fields (Connection, every field Connection
// names, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade, Proxy-Authorization,
// Proxy-Authenticate) and HTTP2-Settings; §7.6.3: it adds Via. The client's address is never sent
// upstream: Forwarded, X-Forwarded-For and X-Real-IP from the client are dropped too, so a LAN
// address cannot leak even when a client sets them itself. Expect is answered by the proxy
// (100 Continue) and not forwarded. Host is carried as the request's authority, not as a field.
//
//   auto up = upstream_request_headers(req);            // send with :authority = route.host
//   auto down = client_response_headers(resp.headers, HttpVersion::kHttp2);
#pragma once

#include <string_view>

#include "proxy/request.h"

namespace pipgate::proxy {

// The pseudonym this proxy uses in Via ("1.1 pipgate").
inline constexpr std::string_view kViaPseudonym = "pipgate";

// True for names that are hop-by-hop in every message, whatever Connection says. `name` lower case.
bool is_hop_by_hop(std::string_view name);

// The fields of `req` to send upstream, in order, with one Via appended (or extended) naming the
// protocol the client used. Content-Length is kept (the body is forwarded as it is).
Headers upstream_request_headers(const Request& req);

// The fields of an upstream response to send to the client: hop-by-hop removed, Via added with
// the protocol of the upstream hop (`from`). Content-Length is kept.
Headers client_response_headers(const Headers& upstream, HttpVersion from);

}  // namespace pipgate::proxy
