#include "web/site.h"

#include <gtest/gtest.h>

#include <string>

#include "web_test_support.h"

namespace pipgate::web {
namespace {

class SiteTest : public ::testing::Test {
 protected:
  SiteTest() {
    auto ca = make_ca_downloads(authority_.certificate_pem(), "gw");
    EXPECT_TRUE(ca) << ca.error().detail;
    Config cfg;
    cfg.appliance.address = *parse_ip("10.0.0.5");
    auto facts = page_facts(cfg, *ca, "gw");
    registry_.counter("pipgate_test_total", "Test.").inc(7);
    site_ = std::make_unique<Site>(
        std::move(facts), std::move(*ca),
        [this] {
          ++figure_calls_;
          LiveFigures f;
          f.top_projects = {{"numpy", 42}};
          return f;
        },
        registry_);
  }

  static std::string header(const Reply& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return {};
  }

  testing::TempDir dir_;
  certs::Authority authority_ = testing::make_ca(dir_);
  MetricsRegistry registry_;
  int figure_calls_ = 0;
  std::unique_ptr<Site> site_;
};

TEST_F(SiteTest, Routes) {
  struct Case {
    const char* method;
    const char* target;
    bool has_body;
    unsigned status;
    const char* content_type;
  };
  const Case cases[] = {
      {"GET", "/", false, 200, "text/html; charset=utf-8"},
      {"GET", "/?utm=x", false, 200, "text/html; charset=utf-8"},
      {"GET", "http://10.0.0.5/", false, 200, "text/html; charset=utf-8"},
      {"HEAD", "/", false, 200, "text/html; charset=utf-8"},
      {"GET", "/ca.pem", false, 200, "application/x-pem-file"},
      {"GET", "/ca.der", false, 200, "application/x-x509-ca-cert"},
      {"GET", "/ca.crt", false, 200, "application/x-x509-ca-cert"},
      {"GET", "/ca.mobileconfig", false, 200, "application/x-apple-aspen-config"},
      {"GET", "/metrics", false, 200, "text/plain; version=0.0.4; charset=utf-8"},
      {"GET", "/healthz", false, 200, "text/plain; charset=utf-8"},
      {"GET", "/nope", false, 404, "text/plain; charset=utf-8"},
      {"GET", "/ca.pem/..", false, 404, "text/plain; charset=utf-8"},
      {"GET", "*", false, 400, "text/plain; charset=utf-8"},
      {"POST", "/", false, 405, "text/plain; charset=utf-8"},
      {"PUT", "/ca.pem", true, 405, "text/plain; charset=utf-8"},
      {"DELETE", "/", false, 405, "text/plain; charset=utf-8"},
      {"GET", "/", true, 413, "text/plain; charset=utf-8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    auto r = site_->handle(c.method, c.target, c.has_body);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.content_type, c.content_type);
    EXPECT_EQ(header(r, "Allow"), c.status == 405 ? "GET, HEAD" : "");
  }
}

TEST_F(SiteTest, Bodies) {
  auto page = site_->handle("GET", "/", false);
  EXPECT_NE(page.body.find(authority_.info().sha256_fingerprint), std::string::npos);
  EXPECT_NE(page.body.find("<td>numpy</td>"), std::string::npos);
  EXPECT_EQ(figure_calls_, 1);
  EXPECT_NE(header(page, "Content-Security-Policy").find("default-src 'none'"), std::string::npos);

  EXPECT_EQ(site_->handle("GET", "/ca.pem", false).body, authority_.certificate_pem());
  auto der = authority_.certificate_der();
  EXPECT_EQ(site_->handle("GET", "/ca.der", false).body, std::string(der.begin(), der.end()));
  EXPECT_NE(site_->handle("GET", "/ca.mobileconfig", false).body.find("com.apple.security.root"),
            std::string::npos);
  EXPECT_EQ(site_->handle("GET", "/metrics", false).body,
            "# HELP pipgate_test_total Test.\n# TYPE pipgate_test_total counter\n"
            "pipgate_test_total 7\n");
  EXPECT_EQ(site_->handle("GET", "/healthz", false).body, "ok");
}

TEST_F(SiteTest, WithoutAFiguresFunctionReadsTheRegistry) {
  auto ca = make_ca_downloads(authority_.certificate_pem(), "gw");
  ASSERT_TRUE(ca);
  MetricsRegistry r;
  r.gauge("pipgate_store_objects", "Objects.").set(31337);
  Site site(page_facts(Config{}, *ca, "gw"), std::move(*ca), {}, r);
  EXPECT_NE(site.handle("GET", "/", false).body.find("31337 objects"), std::string::npos);
}

}  // namespace
}  // namespace pipgate::web
