#include "common/net.h"

#include <gtest/gtest.h>

namespace pipgate {
namespace {

TEST(ParseEndpoint, Table) {
  struct Case {
    const char* text;
    bool ok;
    const char* want;  // Endpoint::to_string(), or a substring of the error
  };
  const Case cases[] = {
      {"0.0.0.0:53", true, "0.0.0.0:53"},
      {"10.0.0.5", true, "10.0.0.5:53"},
      {"[::]:5353", true, "[::]:5353"},
      {"[::1]", true, "[::1]:53"},
      {"::1", true, "[::1]:53"},
      {"10.0.0.5:0", false, "bad port"},
      {"10.0.0.5:65536", false, "bad port"},
      {"10.0.0.5:x", false, "bad port"},
      {"[10.0.0.5]:53", false, "IPv6 addresses only"},
      {"[::1", false, "closing ']'"},
      {"pypi.org:53", false, "not an address"},
      {"", false, "not an address"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto ep = parse_endpoint(c.text, 53);
    ASSERT_EQ(ep.has_value(), c.ok) << (ep ? ep->to_string() : ep.error().detail);
    if (c.ok)
      EXPECT_EQ(ep->to_string(), c.want);
    else
      EXPECT_NE(ep.error().detail.find(c.want), std::string::npos) << ep.error().detail;
  }
}

TEST(ParseCidr, Table) {
  struct Case {
    const char* net;
    const char* addr;
    bool parses;
    bool contains;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.1.2.3", true, true},
      {"10.0.0.0/8", "11.0.0.1", true, false},
      {"172.16.0.0/12", "172.31.255.255", true, true},
      {"172.16.0.0/12", "172.32.0.0", true, false},
      {"192.168.1.7", "192.168.1.7", true, true},  // bare address is /32
      {"0.0.0.0/0", "8.8.8.8", true, true},
      {"0.0.0.0/0", "::1", true, false},  // never across families
      {"fc00::/7", "fd12::1", true, true},
      {"fc00::/7", "fe80::1", true, false},
      {"10.0.0.1/8", "10.0.0.1", false, false},  // host bits set
      {"10.0.0.0/33", "10.0.0.1", false, false},
      {"10.0.0.0/", "10.0.0.1", false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.net) + " " + c.addr);
    auto net = parse_cidr(c.net);
    ASSERT_EQ(net.has_value(), c.parses);
    if (!c.parses) continue;
    EXPECT_EQ(net->contains(*parse_ip(c.addr)), c.contains);
  }
}

TEST(ParseCidr, HostBitsErrorSuggestsNetwork) {
  auto net = parse_cidr("10.0.0.1/8");
  ASSERT_FALSE(net);
  EXPECT_NE(net.error().detail.find("did you mean \"10.0.0.0/8\""), std::string::npos)
      << net.error().detail;
}

TEST(IpAddress, Classify) {
  EXPECT_TRUE(parse_ip("127.0.0.53")->is_loopback());
  EXPECT_TRUE(parse_ip("::1")->is_loopback());
  EXPECT_FALSE(parse_ip("10.0.0.1")->is_loopback());
  EXPECT_TRUE(parse_ip("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(parse_ip("::")->is_unspecified());
}

TEST(ResolvConf, ReadsNameserverLines) {
  auto path = testing::TempDir() + "/resolv.conf";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_TRUE(f);
  std::fputs(
      "# comment\nsearch example.test\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
      "nameserver 2001:db8::53\noptions edns0\n",
      f);
  std::fclose(f);
  auto ns = resolv_conf_nameservers(path);
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].to_string(), "192.0.2.53");
  EXPECT_EQ(ns[1].to_string(), "2001:db8::53");
  EXPECT_TRUE(resolv_conf_nameservers(path + ".missing").empty());
}

}  // namespace
}  // namespace pipgate
