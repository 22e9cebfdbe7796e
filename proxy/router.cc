#include "proxy/router.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace pipgate::proxy {

namespace {

Route refuse(int status, std::string reason) {
  return Route{RouteAction::kRefuse, {}, status, std::move(reason)};
}

}  // namespace

std::string canonical_host(std::string_view name) {
  std::string out(name);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

Router::Router(std::vector<std::string> intercept, std::vector<std::uint16_t> ports)
    : ports_(std::move(ports)) {
  for (const auto& n : intercept) intercept_.push_back(canonical_host(n));
  if (std::find(ports_.begin(), ports_.end(), 443) == ports_.end()) ports_.push_back(443);
}

Route Router::route(const Request& req) const {
  if (req.method == "CONNECT")
    return refuse(405, "CONNECT is not served: this is not a forward proxy");
  if (!req.protocol.empty())
    return refuse(400, "extended CONNECT (:protocol " + req.protocol + ") is not served");
  if (req.authority.empty()) return refuse(400, "request has no Host / :authority");
  std::string_view authority = req.authority;
  if (authority.find('@') != std::string_view::npos)
    return refuse(400, "userinfo in the authority is not allowed");
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[')
    return refuse(421, "an IP literal is not a name served here");
  if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    auto port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      return refuse(400, "malformed port in authority \"" + req.authority + "\"");
    if (std::find(ports_.begin(), ports_.end(), static_cast<std::uint16_t>(port)) == ports_.end())
      return refuse(421, "port " + std::string(port_text) + " is not served");
  }
  auto name = canonical_host(host);
  if (name.empty()) return refuse(400, "empty host in authority");
  if (std::find(intercept_.begin(), intercept_.end(), name) == intercept_.end())
    return refuse(421, "\"" + name + "\" is not served here");
  if (name != canonical_host(req.sni))
    return refuse(421, "\"" + name + "\" does not match the TLS server name \"" + req.sni + "\"");
  if (req.scheme != "https") return refuse(400, "scheme \"" + req.scheme + "\" is not served");
  if (req.path.empty() || req.path.front() != '/')
    return refuse(400, "request target \"" + req.path + "\" is not in origin-form");
  return Route{RouteAction::kForward, name, 0, {}};
}

}  // namespace pipgate::proxy
