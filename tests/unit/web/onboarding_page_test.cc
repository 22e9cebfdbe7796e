#include "web/onboarding_page.h"

#include <gtest/gtest.h>

#include <string>

#include "common/metric_names.h"
#include "web/live_figures.h"

namespace pipgate::web {
namespace {

using namespace std::chrono_literals;

const std::string kFingerprint =
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:"
    "89";

PageFacts facts() {
  PageFacts p;
  p.appliance_name = "office-gw";
  p.base_url = "http://10.0.0.5";
  p.address = "10.0.0.5";
  p.intercept = {"pypi.org", "files.pythonhosted.org"};
  p.ca_name = "pipgate CA office-gw 2025-01-02";
  p.ca_fingerprint = kFingerprint;
  p.ca_not_after = SystemTime{} + std::chrono::hours(24 * 365 * 66);
  p.ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  return p;
}

bool has(const std::string& html, std::string_view needle) {
  return html.find(needle) != std::string::npos;
}

TEST(OnboardingPage, HasTheCaFingerprintAndDownloads) {
  auto html = render_onboarding_page(facts(), {});
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(has(html, "<meta name=\"viewport\""));
  EXPECT_TRUE(
      has(html, "<code class=\"fingerprint\" id=\"fingerprint\">" + kFingerprint + "</code>"));
  EXPECT_TRUE(has(html, "href=\"/ca.pem\""));
  EXPECT_TRUE(has(html, "href=\"/ca.der\""));
  EXPECT_TRUE(has(html, "href=\"/ca.mobileconfig\""));
  EXPECT_TRUE(has(html, "href=\"/metrics\""));
  EXPECT_TRUE(has(html, "pipgate CA office-gw 2025-01-02</strong>, valid until 2035-"));
  // Self-contained: nothing loaded from elsewhere.
  EXPECT_FALSE(has(html, "src=\"http"));
  EXPECT_FALSE(has(html, "<link"));
}

TEST(OnboardingPage, HasEveryPlatformAndToolWithItsCommand) {
  auto html = render_onboarding_page(facts(), {});
  const std::pair<std::string_view, std::string_view> sections[] = {
      {"id=\"debian\"", "sudo update-ca-certificates"},
      {"id=\"debian\"",
       "sudo curl -fsSL -o /usr/local/share/ca-certificates/pipgate-ca.crt http://10.0.0.5/ca.pem"},
      {"id=\"rhel\"", "sudo update-ca-trust extract"},
      {"id=\"rhel\"", "/etc/pki/ca-trust/source/anchors/pipgate-ca.pem http://10.0.0.5/ca.pem"},
      {"id=\"macos\"",
       "sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain"},
      {"id=\"windows\"", "certutil -addstore Root pipgate-ca.der"},
      {"id=\"windows\"", "curl.exe -fsSL -o pipgate-ca.der http://10.0.0.5/ca.der"},
      {"id=\"ios\"", "Certificate Trust Settings"},
      {"id=\"pip\"", "export PIP_CERT="},
      {"id=\"pip\"", "pip config set global.cert"},
      {"id=\"pip\"", "truststore"},
      {"id=\"uv\"", "UV_SYSTEM_CERTS=true"},
      {"id=\"uv\"", "--system-certs"},
      {"id=\"uv\"", "export SSL_CERT_FILE="},
      {"id=\"conda\"", "conda env config vars set PIP_CERT="},
      {"id=\"docker\"", "COPY pipgate-ca.crt /usr/local/share/ca-certificates/pipgate-ca.crt"},
      {"id=\"ci\"", "GitLab Runner"},
      {"id=\"dns-resolver\"", "DHCP"},
      {"id=\"dns-forwarders\"",
       "server=/pypi.org/10.0.0.5\nserver=/files.pythonhosted.org/10.0.0.5"},
      {"id=\"dns-forwarders\"",
       "forward-zone:\n    name: &quot;pypi.org&quot;\n    forward-addr: 10.0.0.5"},
      {"id=\"dns-forwarders\"",
       "zone &quot;files.pythonhosted.org&quot; { type forward; forward only; forwarders { "
       "10.0.0.5; }; };"},
      {"id=\"dns-forwarders\"",
       "Add-DnsServerConditionalForwarderZone -Name &quot;pypi.org&quot; -MasterServers 10.0.0.5"},
      {"id=\"check\"", "dig +short pypi.org"},
  };
  for (const auto& [id, text] : sections) {
    SCOPED_TRACE(std::string(id) + " / " + std::string(text));
    auto at = html.find(id);
    ASSERT_NE(at, std::string::npos);
    EXPECT_NE(html.find(text, at), std::string::npos);
  }
}

TEST(OnboardingPage, NonStandardDnsPortAppearsInForwarders) {
  auto p = facts();
  p.dns_port = 5353;
  auto html = render_onboarding_page(p, {});
  EXPECT_TRUE(has(html, "server=/pypi.org/10.0.0.5#5353"));
  EXPECT_TRUE(has(html, "forward-addr: 10.0.0.5@5353"));
  EXPECT_TRUE(has(html, "forwarders { 10.0.0.5 port 5353; };"));
  EXPECT_TRUE(has(html, "dig +short pypi.org @10.0.0.5 -p 5353"));
}

TEST(OnboardingPage, EscapesEverythingDynamic) {
  auto p = facts();
  p.appliance_name = "<script>alert(1)</script>";
  p.ca_name = "CA \"quoted\" & <b>";
  p.base_url = "http://x/'<i>";
  LiveFigures f;
  f.top_projects = {{"<img src=x onerror=alert(2)>", 3}};
  f.upstream = UpstreamState::kUnreachable;
  f.upstream_detail = "</div><script>";  // shown as "...; serving what the cache holds"
  auto html = render_onboarding_page(p, f);
  EXPECT_FALSE(has(html, "<script>alert"));
  EXPECT_FALSE(has(html, "<img"));
  EXPECT_FALSE(has(html, "</div><script>"));
  EXPECT_FALSE(has(html, "<b>"));
  EXPECT_FALSE(has(html, "'<i>"));
  EXPECT_TRUE(has(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(has(html, "CA &quot;quoted&quot; &amp; &lt;b&gt;"));
  EXPECT_TRUE(has(html, "&lt;img src=x onerror=alert(2)&gt;"));
  EXPECT_TRUE(has(html, "http://x/&#39;&lt;i&gt;/ca.pem"));
  // The only script element is the page's own.
  auto first = html.find("<script>");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(html.find("<script>", first + 1), std::string::npos);
}

TEST(OnboardingPage, LiveFigures) {
  LiveFigures f;
  auto empty = render_onboarding_page(facts(), f);
  EXPECT_TRUE(has(empty, "<div class=\"value\">—</div>"));  // no hit ratio without lookups
  EXPECT_TRUE(has(empty, "Nothing requested yet."));
  EXPECT_TRUE(has(empty, "not known yet"));

  f.cache_bytes = 3ull << 30;
  f.cache_budget_bytes = 20ull << 30;
  f.objects = 1234;
  f.cache_lookups = 4;
  f.hit_ratio = 0.75;
  f.bytes_saved = 1536;
  f.bytes_from_upstream = 512;
  f.upstream = UpstreamState::kReachable;
  f.upstream_detail = "last answer 3 s ago";
  for (int i = 0; i < 12; ++i) f.top_projects.push_back({"proj" + std::to_string(i), 100u - i});
  auto html = render_onboarding_page(facts(), f);
  EXPECT_TRUE(has(html, "<div class=\"value\">3.0 GiB</div>"));
  EXPECT_TRUE(has(html, "1234 objects · 15% of 20.0 GiB"));
  EXPECT_TRUE(has(html, "width:15.0%"));
  EXPECT_TRUE(has(html, "<div class=\"value\">75.0%</div><div class=\"sub\">of 4 cacheable"));
  EXPECT_TRUE(has(html, "<div class=\"value\">1.5 KiB</div>"));
  EXPECT_TRUE(has(html, "512 B fetched upstream"));
  EXPECT_TRUE(has(html,
                  "<div class=\"value good\">reachable</div><div class=\"sub\">last answer 3 s "
                  "ago</div>"));
  EXPECT_TRUE(has(html, "<td>proj0</td><td class=\"n\">100</td>"));
  EXPECT_TRUE(has(html, "<td>proj9</td>"));
  EXPECT_FALSE(has(html, "<td>proj10</td>"));  // ten at most
}

TEST(FormatBytes, BinaryUnits) {
  const std::pair<std::uint64_t, std::string_view> cases[] = {
      {0, "0 B"},         {1023, "1023 B"},          {1024, "1.0 KiB"},
      {1536, "1.5 KiB"},  {20ull << 30, "20.0 GiB"}, {(5ull << 40) + (1ull << 39), "5.5 TiB"},
      {~0ull, "16.0 EiB"}};
  for (const auto& [n, want] : cases) {
    SCOPED_TRACE(n);
    EXPECT_EQ(format_bytes(n), want);
  }
}

TEST(PageFacts, BaseUrlFromWebListenAndApplianceAddress) {
  CaDownloads ca;
  ca.info.subject = "O=pipgate appliance,CN=pipgate CA gw 2025-01-01";
  ca.info.sha256_fingerprint = kFingerprint;
  struct Case {
    const char* name;
    std::vector<Endpoint> listen;
    std::optional<IpAddress> address;
    const char* want;
  };
  auto ip = [](const char* s) { return *parse_ip(s); };
  const Case cases[] = {
      {"any:80 → appliance address", {{IpAddress::v4(0), 80}}, ip("10.0.0.5"), "http://10.0.0.5"},
      {"any:8080", {{IpAddress::v4(0), 8080}}, ip("10.0.0.5"), "http://10.0.0.5:8080"},
      {"specific address", {{ip("192.168.1.2"), 80}}, ip("10.0.0.5"), "http://192.168.1.2"},
      {"IPv6 listener", {{ip("fd00::5"), 8000}}, ip("10.0.0.5"), "http://[fd00::5]:8000"},
      {"no address known", {{IpAddress::v4(0), 80}}, std::nullopt, "http://APPLIANCE-ADDRESS"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Config cfg;
    cfg.web.listen = c.listen;
    cfg.appliance.address = c.address;
    auto p = page_facts(cfg, ca, "gw");
    EXPECT_EQ(p.base_url, c.want);
    EXPECT_EQ(p.ca_name, "pipgate CA gw 2025-01-01");
    EXPECT_EQ(p.intercept, cfg.dns.intercept);
  }
}

TEST(FiguresFromMetrics, HitRatioAndBytes) {
  MetricsRegistry r;
  auto req = [&](const char* cache, std::uint64_t n) {
    r.counter(kHttpRequestsTotal, kHttpRequestsHelp,
              {{kLabelHost, "pypi.org"}, {kLabelStatus, "200"}, {kLabelCache, cache}})
        .inc(n);
  };
  req(kCacheHit, 6);
  req(kCacheRevalidated, 1);
  req(kCacheStale, 1);
  req(kCacheMiss, 2);
  req(kCachePass, 100);  // not in the ratio
  r.counter(kBytesServedTotal, kBytesServedHelp, {{kLabelSource, kSourceCache}}).inc(1000);
  r.counter(kBytesServedTotal, kBytesServedHelp, {{kLabelSource, kSourceUpstream}}).inc(10);
  r.gauge_fn(kStoreBytes, kStoreBytesHelp, [] { return 4096.0; });
  r.gauge(kStoreObjects, kStoreObjectsHelp).set(3);
  r.gauge(kStoreBudgetBytes, kStoreBudgetBytesHelp).set(1 << 20);
  auto f = figures_from_metrics(r);
  EXPECT_EQ(f.cache_lookups, 10u);
  EXPECT_DOUBLE_EQ(f.hit_ratio, 0.8);
  EXPECT_EQ(f.bytes_saved, 1000u);
  EXPECT_EQ(f.bytes_from_upstream, 10u);
  EXPECT_EQ(f.cache_bytes, 4096u);
  EXPECT_EQ(f.objects, 3u);
  EXPECT_EQ(f.cache_budget_bytes, 1u << 20);
  EXPECT_EQ(f.upstream, UpstreamState::kUnknown);

  auto none = figures_from_metrics(MetricsRegistry{});
  EXPECT_EQ(none.cache_lookups, 0u);
  EXPECT_EQ(none.hit_ratio, 0.0);
}

}  // namespace
}  // namespace pipgate::web
