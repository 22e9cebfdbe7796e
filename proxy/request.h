// The one request type both client protocols fill, and the response head every producer of
// responses returns. Plain values: no sockets, no library types.
//
// Field sources (RFC 9113 §8.3.1 for h2, RFC 9112 §3 for HTTP/1.1):
//   method     h2 :method           h1 request-line method
//   scheme     h2 :scheme           h1 "https" (the connection is TLS), or the absolute-form scheme
//   authority  h2 :authority, else  h1 the absolute-form authority, else Host
//              the Host field
//   path       h2 :path             h1 request-target in origin-form ("/simple/x/") or "*"
//   protocol   h2 :protocol         h1 always empty (an Upgrade header is dropped as hop-by-hop)
//
//   Request req{.method = "GET", .authority = "pypi.org", .path = "/simple/pip/"};
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"

namespace pipgate::proxy {

// One header field. `name` is lower case (h2 requires it; h1 names are folded on parse).
struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

enum class HttpVersion { kHttp11, kHttp2 };

// What the client asked for, plus the facts of the connection it came on.
struct Request {
  std::string method;
  std::string scheme = "https";
  std::string authority;
  std::string path;
  std::string protocol;
  bool is_absolute_form = false;  // h1 request-target was "scheme://authority/path"
  Headers headers;                // regular fields only: no pseudo-headers, no Host
  // A body follows the head (h1: Content-Length > 0 or chunked; h2: HEADERS without END_STREAM).
  bool has_body = false;
  std::optional<std::uint64_t> content_length{};
  HttpVersion version = HttpVersion::kHttp11;

  // Connection facts, set by the session from the TLS handshake and the socket.
  std::string sni;           // lower case, as the handshake accepted it
  IpAddress client_address;  // for logs and limits only; never sent upstream
  std::uint64_t connection_id = 0;
};

// Status and fields of a response, without its body.
struct ResponseHead {
  int status = 200;
  Headers headers;  // regular fields, names lower case, no hop-by-hop fields
  std::optional<std::uint64_t> content_length{};
};

// First value of header `name` (lower case), or nullopt.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

}  // namespace pipgate::proxy
