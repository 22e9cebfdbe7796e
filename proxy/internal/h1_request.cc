#include "proxy/internal/h1_request.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace pipgate::proxy::internal {

namespace http = boost::beast::http;

Result<Request> h1_request(const H1Parser& p, const ConnectionInfo& info) {
  const auto& msg = p.get();
  Request req;
  req.version = HttpVersion::kHttp11;
  req.method = std::string(msg.method_string());
  req.sni = info.sni;
  req.client_address = info.client_address;
  req.connection_id = info.id;
  std::string_view target = msg.target();
  int hosts = 0;
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == "host") {
      ++hosts;
      req.authority = std::string(f.value());
      continue;
    }
    req.headers.push_back({std::move(name), std::string(f.value())});
  }
  if (hosts != 1)
    return make_error(Errc::kInvalidInput, "an HTTP/1.1 request needs exactly one Host field");
  for (std::string_view scheme : {"https://", "http://"}) {
    if (target.size() >= scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), target.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      // absolute-form (RFC 9112 §3.2.2): its authority replaces Host.
      req.is_absolute_form = true;
      req.scheme = std::string(scheme.substr(0, scheme.size() - 3));
      auto rest = target.substr(scheme.size());
      auto slash = rest.find_first_of("/?");
      req.authority = std::string(rest.substr(0, slash));
      req.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
      if (!req.path.empty() && req.path.front() == '?') req.path = "/" + req.path;
      break;
    }
  }
  if (!req.is_absolute_form) req.path = std::string(target);
  if (msg.method() == http::verb::connect) req.path = std::string(target);
  req.has_body = p.chunked() || (p.content_length() && *p.content_length() > 0);
  if (p.content_length()) req.content_length = *p.content_length();
  return req;
}

}  // namespace pipgate::proxy::internal
