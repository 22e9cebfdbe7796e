// Fuzz target for the HTTP/1.1 request path short of the socket: Beast's request parser set up
// as H1Session sets it up (header limit, streamed body), our head → proxy::Request conversion
// (internal::h1_request), the Router's refusals, and the fields that would go upstream
// (upstream_request_headers). Keep-alive requests follow one another in the same bytes, as a
// pipelining client sends them.
//
// Input layout: byte 0 bit 0 picks the SNI (pypi.org or files.pythonhosted.org); bits 1-3 pick
// how the bytes arrive (all at once, or in pieces of 1, 2, 7, 64, 1000... bytes); the rest is
// what the client sends.
//
// Invariants: a forwarded request names an intercepted host equal to the SNI, uses https, has an
// origin-form path and no userinfo, and is not CONNECT; the fields sent upstream are lower case,
// carry no CR/LF/NUL, no hop-by-hop field or field named by Connection, no Host, Expect,
// Forwarded, X-Forwarded-For or X-Real-IP, and exactly one Via; a refusal is a 4xx with a reason;
// the parser never goes past the header limit.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "proxy/header_hygiene.h"
#include "proxy/internal/h1_request.h"
#include "proxy/proxy_options.h"
#include "proxy/router.h"

namespace {

using namespace pipgate;
using namespace pipgate::proxy;
namespace http = boost::beast::http;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool clean(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool lower(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
}

std::vector<std::string> connection_tokens(const Headers& headers) {
  std::vector<std::string> out;
  for (const auto& h : headers) {
    if (h.name != "connection") continue;
    std::string token;
    for (char c : h.value + ",") {
      if (c == ',') {
        if (!token.empty()) out.push_back(token);
        token.clear();
      } else if (c != ' ' && c != '\t') {
        token += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
    }
  }
  return out;
}

void check_forwarded(const Request& req, const Route& route, const Router&) {
  check(route.host == "pypi.org" || route.host == "files.pythonhosted.org",
        "forwarded only to an intercepted host");
  check(route.host == canonical_host(req.sni), "forwarded host is the SNI");
  check(req.method != "CONNECT" && req.protocol.empty(), "CONNECT is never forwarded");
  check(req.scheme == "https", "forwarded requests are https");
  check(!req.path.empty() && req.path.front() == '/', "origin-form path");
  check(clean(req.path) && req.path.find(' ') == std::string::npos, "path has no CR/LF/NUL/SP");
  check(req.authority.find('@') == std::string::npos, "no userinfo");
  Headers up = upstream_request_headers(req);
  auto named = connection_tokens(req.headers);
  int via = 0;
  for (const auto& h : up) {
    check(!h.name.empty() && lower(h.name), "upstream field names are lower case");
    check(clean(h.name) && clean(h.value), "upstream fields carry no CR/LF/NUL");
    check(!is_hop_by_hop(h.name), "no hop-by-hop field upstream");
    bool connection_named = std::find(named.begin(), named.end(), h.name) != named.end();
    if (h.name == "via")  // ours is added after filtering; the client's is dropped when named
      check(!connection_named || h.value == "1.1 pipgate", "a Via named by Connection is dropped");
    else
      check(!connection_named, "no field named by Connection upstream");
    for (std::string_view n : {"host", "expect", "forwarded", "x-forwarded-for", "x-real-ip"})
      check(h.name != n, "client-identifying and proxy-answered fields are not forwarded");
    via += h.name == "via";
  }
  check(via == 1, "exactly one Via upstream");
}

constexpr std::size_t kPieces[8] = {0, 1, 2, 7, 64, 1000, 3, 16384};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ProxyOptions opts;
  static const Router router({"pypi.org", "files.pythonhosted.org"}, {443, 8443});
  if (size < 1) return 0;
  ConnectionInfo info;
  info.id = 1;
  info.sni = (data[0] & 1) ? "files.pythonhosted.org" : "pypi.org";
  const std::size_t piece = kPieces[(data[0] >> 1) & 7];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  boost::beast::flat_buffer in;
  std::size_t fed = 0;
  auto feed_more = [&]() -> bool {  // as H1Session::fill: false at EOF
    if (fed == input.size()) return false;
    std::size_t n = piece == 0 ? input.size() - fed : std::min(piece, input.size() - fed);
    auto space = in.prepare(n);
    std::memcpy(space.data(), input.data() + fed, n);
    in.commit(n);
    fed += n;
    return true;
  };

  for (int requests = 0; requests < 16; ++requests) {
    internal::H1Parser p;
    p.header_limit(opts.header_limit_bytes);
    p.body_limit(boost::none);
    boost::beast::error_code ec;
    while (!p.is_header_done()) {  // H1Session::serve_one's header phase
      if (in.size() > 0) {
        auto used = p.put(in.data(), ec);
        in.consume(used);
        if (p.is_header_done()) break;
        if (ec == http::error::header_limit) return 0;                   // 431
        if (ec && ec != http::error::need_more) return 0;                // 400
        if (in.size() >= opts.header_limit_bytes + 16 * 1024) return 0;  // 431
      }
      if (!feed_more()) return 0;
    }
    auto req = internal::h1_request(p, info);
    if (!req) return 0;  // 400, connection ends
    check(req->version == HttpVersion::kHttp11 && req->sni == info.sni, "connection facts");
    for (const auto& h : req->headers) check(lower(h.name) && h.name != "host", "names folded");
    Route route = router.route(*req);
    if (route.action == RouteAction::kRefuse) {
      check(route.status >= 400 && route.status < 500 && !route.reason.empty(),
            "a refusal is a 4xx with a reason");
      return 0;  // the connection ends after the answer
    }
    check_forwarded(*req, route, router);
    if (!p.get().keep_alive()) return 0;
    // The body (H1Session::pump_request_body), then the next request on the connection.
    std::vector<char> buf(64 * 1024);
    while (!p.is_done()) {
      // At least 5 bytes per put(): Beast 1.81 asserts n >= 5 when it re-enters a final chunk
      // ("0\r\n" then fewer than 5 bytes), a false alarm fixed in boostorg/beast#2861 (Boost
      // 1.86). Release builds compile the assert out and return need_more, as H1Session expects.
      if (in.size() >= 5) {
        p.get().body().data = buf.data();
        p.get().body().size = buf.size();
        auto used = p.put(in.data(), ec);
        in.consume(used);
        if (ec == http::error::need_buffer) continue;
        if (ec && ec != http::error::need_more) return 0;
        if (p.is_done()) break;
        if (ec != http::error::need_more && used > 0) continue;
      }
      if (!feed_more()) return 0;
    }
  }
  return 0;
}
