#include "app/run.h"

#include <gtest/gtest.h>

namespace pipgate::app {
namespace {

Config config(std::string_view toml) {
  HostFacts host{*parse_ip("10.0.0.5"), {*parse_ip("10.0.0.5")}, {*parse_ip("192.0.2.53")}};
  auto cfg = load_config_string(toml, "t.toml", LoadOptions{"/srv/pg"}, host);
  EXPECT_TRUE(cfg) << cfg.error().detail;
  return *cfg;
}

TEST(NextSteps, DefaultsPointAtTheApplianceAddress) {
  auto text = next_steps(config(""), "/srv/pg/ca/ca.pem");
  EXPECT_NE(text.find("Trust the CA on each client: /srv/pg/ca/ca.pem"), std::string::npos) << text;
  EXPECT_NE(text.find("dig @10.0.0.5 pypi.org +short"), std::string::npos) << text;
  EXPECT_NE(text.find("curl --cacert /srv/pg/ca/ca.pem --resolve pypi.org:443:10.0.0.5 "
                      "https://pypi.org/simple/pip/"),
            std::string::npos)
      << text;
}

TEST(NextSteps, NonDefaultPortsAndListenAddressesShowUp) {
  auto text = next_steps(config("[dns]\nlisten = [\"127.0.0.1:5353\"]\n[proxy]\nlisten = "
                                "[\"127.0.0.1:8443\"]\n"),
                         "/ca.pem");
  EXPECT_NE(text.find("dig @127.0.0.1 -p 5353 pypi.org"), std::string::npos) << text;
  EXPECT_NE(text.find("--resolve pypi.org:8443:127.0.0.1 https://pypi.org:8443/simple/pip/"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace pipgate::app
