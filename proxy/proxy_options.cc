#include "proxy/proxy_options.h"

#include <algorithm>
#include <cctype>

namespace pipgate::proxy {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void add_unique(std::vector<IpAddress>& out, const IpAddress& a) {
  if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
}

}  // namespace

Result<ProxyOptions> proxy_options_from(const Config& cfg,
                                        const std::vector<IpAddress>& local_addresses) {
  ProxyOptions o;
  static_cast<ProxyConfig&>(o) = cfg.proxy;
  o.dns_upstream = cfg.dns.upstream;
  // The proxy's own lookups (c-ares, two tries: T then 2T) follow [dns] upstream_timeout too,
  // so a miss while the upstream DNS is down fails within 3 × upstream_timeout (6 s by default)
  // and an office that shortens it gets its 502s sooner.
  o.dns_timeout = cfg.dns.upstream_timeout;
  o.cache = cfg.cache;
  for (const auto& name : cfg.dns.intercept) o.intercept.push_back(lower(name));
  if (o.listen.empty()) return make_error(Errc::kConfig, "[proxy] listen: no address to serve on");
  if (o.intercept.empty()) return make_error(Errc::kConfig, "[dns] intercept: no name to serve");
  if (o.dns_upstream.empty())
    return make_error(Errc::kConfig,
                      "[dns] upstream: the proxy needs a resolver other than this appliance to "
                      "reach the real hosts; set e.g. upstream = [\"192.0.2.53:53\"]");
  if (cfg.appliance.address) add_unique(o.own_addresses, *cfg.appliance.address);
  if (cfg.appliance.address6) add_unique(o.own_addresses, *cfg.appliance.address6);
  bool any_unspecified = false;
  for (const auto& ep : o.listen) {
    if (ep.address.is_unspecified())
      any_unspecified = true;
    else
      add_unique(o.own_addresses, ep.address);
  }
  if (any_unspecified)
    for (const auto& a : local_addresses) add_unique(o.own_addresses, a);
  return o;
}

}  // namespace pipgate::proxy
