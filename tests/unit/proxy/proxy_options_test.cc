#include "proxy/proxy_options.h"

#include <gtest/gtest.h>

namespace pipgate::proxy {
namespace {

IpAddress ip(const char* s) { return *parse_ip(s); }

Config base() {
  Config cfg;
  cfg.dns.upstream = {Endpoint{ip("192.0.2.53"), 53}};
  cfg.appliance.address = ip("10.0.0.5");
  return cfg;
}

TEST(ProxyOptionsTest, CopiesConfigAndLowercasesNames) {
  auto cfg = base();
  cfg.dns.intercept = {"PyPI.org.", "files.pythonhosted.org"};
  cfg.proxy.upstream_ca_file = "/tmp/ca.pem";
  auto o = proxy_options_from(cfg, {});
  ASSERT_TRUE(o) << o.error().detail;
  EXPECT_EQ(o->intercept, (std::vector<std::string>{"pypi.org", "files.pythonhosted.org"}));
  EXPECT_EQ(o->upstream_ca_file, "/tmp/ca.pem");
  EXPECT_EQ(o->dns_upstream, cfg.dns.upstream);
  EXPECT_EQ(o->upstream_port, 443);
}

// Every [proxy] key reaches the options.
TEST(ProxyOptionsTest, ConfiguredKeysAreCopied) {
  auto cfg = base();
  cfg.proxy.upstream_port = 8443;
  cfg.proxy.upstream_ipv4_first = false;
  cfg.proxy.max_connections_per_client = 7;
  cfg.proxy.header_limit_bytes = 8192;
  cfg.proxy.upstream_first_byte_timeout = std::chrono::milliseconds(1234);
  auto o = proxy_options_from(cfg, {});
  ASSERT_TRUE(o) << o.error().detail;
  EXPECT_EQ(o->upstream_port, 8443);
  EXPECT_FALSE(o->upstream_ipv4_first);
  EXPECT_EQ(o->max_connections_per_client, 7u);
  EXPECT_EQ(o->header_limit_bytes, 8192u);
  EXPECT_EQ(o->upstream_first_byte_timeout, std::chrono::milliseconds(1234));
}

TEST(ProxyOptionsTest, OwnAddressesTable) {
  struct Case {
    const char* name;
    std::vector<Endpoint> listen;
    std::vector<IpAddress> local;
    std::vector<IpAddress> want;
  };
  const Case cases[] = {
      {"unspecified listen: every local address",
       {Endpoint{IpAddress::v4(0), 443}},
       {ip("127.0.0.1"), ip("10.0.0.5"), ip("fd00::5")},
       {ip("10.0.0.5"), ip("127.0.0.1"), ip("fd00::5")}},
      {"specific listen: that address",
       {Endpoint{ip("127.0.0.1"), 443}},
       {ip("192.168.1.9")},
       {ip("10.0.0.5"), ip("127.0.0.1")}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = base();
    cfg.proxy.listen = c.listen;
    auto o = proxy_options_from(cfg, c.local);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->own_addresses, c.want);
  }
}

TEST(ProxyOptionsTest, ErrorsTable) {
  auto no_upstream = base();
  no_upstream.dns.upstream.clear();
  auto no_names = base();
  no_names.dns.intercept.clear();
  auto no_listen = base();
  no_listen.proxy.listen.clear();
  for (const auto* cfg : {&no_upstream, &no_names, &no_listen}) {
    auto o = proxy_options_from(*cfg, {});
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, Errc::kConfig);
  }
}

}  // namespace
}  // namespace pipgate::proxy
