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
  o.listen = cfg.proxy.listen;
  o.upstream_ca_file = cfg.proxy.upstream_ca_file;
  o.dns_upstream = cfg.dns.upstream;
  for (const auto& name : cfg.dns.intercept) o.intercept.push_back(lower(name));
  const auto& p = cfg.proxy;
  o.upstream_port = p.upstream_port;
  o.upstream_ipv4_first = p.upstream_ipv4_first;
  o.max_connections = p.max_connections;
  o.max_connections_per_client = p.max_connections_per_client;
  o.tls_handshake_timeout = p.tls_handshake_timeout;
  o.header_timeout = p.header_timeout;
  o.client_idle_timeout = p.client_idle_timeout;
  o.header_limit_bytes = p.header_limit_bytes;
  o.h2_max_concurrent_streams = p.h2_max_concurrent_streams;
  o.upstream_connect_timeout = p.upstream_connect_timeout;
  o.upstream_first_byte_timeout = p.upstream_first_byte_timeout;
  o.upstream_read_timeout = p.upstream_read_timeout;
  o.upstream_idle_timeout = p.upstream_idle_timeout;
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
