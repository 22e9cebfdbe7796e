#include "common/config.h"

#include <gtest/gtest.h>

#include <toml++/toml.h>
#include <fstream>
#include <set>
#include <sstream>

namespace pipgate {
namespace {

HostFacts facts() {
  HostFacts h;
  h.primary_ipv4 = *parse_ip("10.0.0.5");
  h.local_addresses = {*parse_ip("127.0.0.1"), *parse_ip("10.0.0.5"), *parse_ip("::1")};
  h.resolv_nameservers = {*parse_ip("10.0.0.5"), *parse_ip("192.0.2.53"), *parse_ip("127.0.0.53")};
  return h;
}

Result<Config> load(std::string_view text) {
  return load_config_string(text, "pipgate.toml", LoadOptions{"/srv/pipgate"}, facts());
}

TEST(Config, EmptyFileGivesDefaults) {
  auto cfg = load("");
  ASSERT_TRUE(cfg) << cfg.error().detail;
  EXPECT_EQ(cfg->appliance.address->to_string(), "10.0.0.5");
  EXPECT_FALSE(cfg->appliance.address6);
  EXPECT_EQ(cfg->appliance.data_dir, "/srv/pipgate");
  EXPECT_EQ(cfg->dns.listen.at(0).to_string(), "0.0.0.0:53");
  EXPECT_EQ(cfg->proxy.listen.at(0).to_string(), "0.0.0.0:443");
  EXPECT_EQ(cfg->dns.intercept, (std::vector<std::string>{"pypi.org", "files.pythonhosted.org"}));
  EXPECT_EQ(cfg->cache.max_size_bytes, 20ull << 30);
  EXPECT_TRUE(cfg->dns.allow.at(0).contains(*parse_ip("10.9.9.9")));
  EXPECT_FALSE(std::any_of(cfg->dns.allow.begin(), cfg->dns.allow.end(),
                           [](const Cidr& c) { return c.contains(*parse_ip("8.8.8.8")); }));
}

TEST(Config, DefaultUpstreamIsResolvConfMinusThisAppliance) {
  // resolv.conf lists 10.0.0.5 (our own address) and 127.0.0.53 (loopback, :53 is ours because
  // we listen on 0.0.0.0:53): forwarding there would loop.
  auto cfg = load("");
  ASSERT_TRUE(cfg) << cfg.error().detail;
  ASSERT_EQ(cfg->dns.upstream.size(), 1u);
  EXPECT_EQ(cfg->dns.upstream[0].to_string(), "192.0.2.53:53");
  // Listening elsewhere, 127.0.0.53:53 is somebody else (e.g. systemd-resolved) and is kept.
  auto other = load("[dns]\nlisten = [\"10.0.0.5:53\"]\n");
  ASSERT_TRUE(other) << other.error().detail;
  EXPECT_EQ(other->dns.upstream.size(), 2u);
}

TEST(Config, FullFileParses) {
  auto cfg = load(R"(
[appliance]
address = "10.1.1.1"
address6 = "fd00::5"
data_dir = "/data/pg/"
user = "nobody"
log_level = "debug"
[dns]
listen = ["127.0.0.1:5353", "[::1]:5353"]
upstream = ["192.0.2.53", "[2001:db8::53]:5300"]
intercept = ["PyPI.org.", "files.pythonhosted.org", "test.pypi.org"]
allow = ["10.0.0.0/8"]
ttl = 30
cache_entries = 5
upstream_timeout = "1500ms"
tcp_idle_timeout = "1m"
[proxy]
listen = ["[::]:8443"]
upstream_ipv4_first = false
header_limit = "16KiB"
upstream_first_byte_timeout = "1500ms"
[cache]
max_size = "1.5GiB"
)");
  ASSERT_TRUE(cfg) << cfg.error().detail;
  EXPECT_EQ(cfg->appliance.address->to_string(), "10.1.1.1");
  EXPECT_EQ(cfg->appliance.address6->to_string(), "fd00::5");
  EXPECT_EQ(cfg->appliance.data_dir, "/data/pg");
  EXPECT_EQ(cfg->dns.listen.at(1).to_string(), "[::1]:5353");
  EXPECT_EQ(cfg->dns.upstream.at(1).to_string(), "[2001:db8::53]:5300");
  EXPECT_EQ(cfg->dns.intercept.at(0), "pypi.org");  // lower-cased, trailing dot dropped
  EXPECT_EQ(cfg->dns.ttl, std::chrono::seconds(30));
  EXPECT_EQ(cfg->dns.upstream_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(cfg->dns.tcp_idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(cfg->cache.max_size_bytes, 3ull << 29);
  EXPECT_FALSE(cfg->proxy.upstream_ipv4_first);
  EXPECT_EQ(cfg->proxy.header_limit_bytes, 16u * 1024);
  EXPECT_EQ(cfg->proxy.upstream_first_byte_timeout, std::chrono::milliseconds(1500));
}

TEST(Config, ErrorsNameFileLineKeyValueAndWhatIsAllowed) {
  struct Case {
    const char* name;
    const char* toml;
    std::vector<const char*> want;  // substrings of the error
  };
  const Case cases[] = {
      {"unknown table", "[cach]\nmax_size = 1\n", {"pipgate.toml:1:", "cach", "[cache]"}},
      {"unknown key",
       "[cache]\n\nmax_sise = \"1GiB\"\n",
       {"pipgate.toml:3:", "[cache] max_sise", "unknown key", "max_size"}},
      {"bad size",
       "[cache]\nmax_size = \"20XB\"\n",
       {"pipgate.toml:2:", "[cache] max_size", "\"20XB\"", "\"20GiB\""}},
      {"tiny size", "[cache]\nmax_size = 1000\n", {"[cache] max_size", "64MiB"}},
      {"wrong type", "[dns]\nlisten = \"0.0.0.0:53\"\n", {"[dns] listen", "an array"}},
      {"bad port",
       "[dns]\nlisten = [\n  \"0.0.0.0:99999\",\n]\n",
       {"pipgate.toml:3:", "[dns] listen", "bad port"}},
      {"bad cidr", "[dns]\nallow = [\"10.0.0.1/8\"]\n", {"[dns] allow", "host bits"}},
      {"bad ip", "[appliance]\naddress = \"fd00::1\"\n", {"[appliance] address", "IPv4"}},
      {"bad address6", "[appliance]\naddress6 = \"10.0.0.1\"\n", {"[appliance] address6", "IPv6"}},
      {"bad hostname", "[dns]\nintercept = [\"pypi org\"]\n", {"[dns] intercept", "host name"}},
      {"empty intercept", "[dns]\nintercept = []\n", {"[dns] intercept", "at least one"}},
      {"duplicate", "[dns]\nintercept = [\"pypi.org\", \"PYPI.org\"]\n", {"twice"}},
      {"bad duration", "[dns]\nttl = \"5 minutes\"\n", {"[dns] ttl", "\"2s\""}},
      {"ttl range", "[dns]\nttl = 0\n", {"[dns] ttl", "between 1s and 86400s"}},
      {"negative int", "[dns]\ncache_entries = -1\n", {"[dns] cache_entries", "0..10000000"}},
      {"log level", "[appliance]\nlog_level = \"loud\"\n", {"[appliance] log_level", "\"warn\""}},
      {"missing ca file",
       "[proxy]\nupstream_ca_file = \"/nonexistent/ca.pem\"\n",
       {"[proxy] upstream_ca_file", "not a readable file"}},
      {"syntax", "[dns\nlisten = []\n", {"pipgate.toml:1:"}},
      {"bool",
       "[proxy]\nupstream_ipv4_first = \"yes\"\n",
       {"[proxy] upstream_ipv4_first", "true or false"}},
      {"size range",
       "[proxy]\nheader_limit = \"2MiB\"\n",
       {"[proxy] header_limit", "\"2MiB\"", "between 4KiB and 1MiB"}},
      {"udp size", "[dns]\nmax_udp_size = 100\n", {"[dns] max_udp_size", "512..4096"}},
      {"upstream loop (own address)",
       "[dns]\nupstream = [\"10.0.0.5\"]\n",
       {"pipgate.toml:2:", "[dns] upstream", "10.0.0.5:53", "loop"}},
      {"upstream loop (loopback)",
       "[dns]\nupstream = [\"192.0.2.53\",\n \"127.0.0.1:53\"]\n",
       {"pipgate.toml:3:", "127.0.0.1:53", "loop"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto cfg = load(c.toml);
    ASSERT_FALSE(cfg) << "accepted:\n" << c.toml;
    EXPECT_EQ(cfg.error().code, Errc::kConfig);
    for (const char* w : c.want)
      EXPECT_NE(cfg.error().detail.find(w), std::string::npos)
          << "missing \"" << w << "\" in: " << cfg.error().detail;
  }
}

TEST(Config, UpstreamOnOtherPortOfLoopbackIsFine) {
  auto cfg = load("[dns]\nupstream = [\"127.0.0.1:5300\"]\n");
  ASSERT_TRUE(cfg) << cfg.error().detail;
}

TEST(Config, RenderRoundTrips) {
  auto cfg = load("[dns]\nupstream = [\"192.0.2.1\"]\nttl = 42\n[cache]\nmax_size = \"3GiB\"\n");
  ASSERT_TRUE(cfg) << cfg.error().detail;
  auto text = render_config(*cfg);
  auto again = load(text);
  ASSERT_TRUE(again) << again.error().detail << "\n" << text;
  EXPECT_EQ(render_config(*again), text);
  EXPECT_NE(text.find("max_size = \"3GiB\""), std::string::npos) << text;
  EXPECT_NE(text.find("ttl = \"42s\""), std::string::npos) << text;
}

TEST(Config, MissingFileIsClearError) {
  auto cfg = load_config_file("/nonexistent/pipgate.toml", LoadOptions{}, facts());
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().detail.find("/nonexistent/pipgate.toml"), std::string::npos);
}

std::set<std::string> keys_of(const toml::table& root) {
  std::set<std::string> out;
  for (auto&& [table, node] : root)
    for (auto&& [key, value] : *node.as_table())
      out.insert(std::string(table.str()) + "." + std::string(key.str()));
  return out;
}

// deploy/pipgate.example.toml documents every key with its default: it must load strictly (no
// misspelt key), hold every key the loader knows, and its values must be the defaults.
TEST(Config, ExampleFileListsEveryKeyWithItsDefault) {
  auto example = load_config_file(PIPGATE_EXAMPLE_CONFIG, LoadOptions{"/srv/pipgate"}, facts());
  ASSERT_TRUE(example) << example.error().detail;
  auto defaults = default_config(LoadOptions{"/var/lib/pipgate"}, facts());
  ASSERT_TRUE(defaults);
  EXPECT_EQ(render_config(*example), render_config(*defaults));

  auto every_key = keys_of(toml::parse(render_config(*defaults)));
  auto documented = keys_of(toml::parse_file(PIPGATE_EXAMPLE_CONFIG));
  EXPECT_EQ(documented, every_key);
}

TEST(Size, ParseTable) {
  struct Case {
    const char* text;
    std::uint64_t want;  // 0: must fail
  };
  const Case cases[] = {{"20GiB", 20ull << 30},
                        {"500MB", 500'000'000},
                        {"4096", 4096},
                        {"1.5GiB", 3ull << 29},
                        {"2 TiB", 2ull << 40},
                        {"64kib", 65536},
                        {"20XB", 0},
                        {"GiB", 0},
                        {"-1", 0},
                        {"1.3B", 0},
                        {"", 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto v = parse_size(c.text);
    if (c.want == 0) {
      EXPECT_FALSE(v);
    } else {
      ASSERT_TRUE(v) << v.error().detail;
      EXPECT_EQ(*v, c.want);
    }
  }
  EXPECT_EQ(format_size(20ull << 30), "20GiB");
  EXPECT_EQ(format_size(1000), "1000");
}

TEST(Duration, ParseTable) {
  using std::chrono::milliseconds;
  EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(*parse_duration("5m"), milliseconds(300000));
  EXPECT_EQ(*parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(*parse_duration("90d"), milliseconds(90ll * 86400000));
  EXPECT_FALSE(parse_duration("2"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("2 s"));
  EXPECT_FALSE(parse_duration("-2s"));
}

}  // namespace
}  // namespace pipgate

namespace pipgate {
namespace {

// A reload names exactly the keys whose effective values changed, and knows which of them a
// running appliance applies.
TEST(Config, ChangedKeysAndWhatReloads) {
  auto a = load("[dns]\nttl = \"60s\"\n[cache]\nmax_stale = \"unlimited\"\n");
  auto b = load(
      "[dns]\nttl = 60\nlisten = [\"127.0.0.1:53\"]\n[cache]\nmax_stale = \"7d\"\n"
      "[proxy]\nheader_timeout = \"3s\"\n");
  ASSERT_TRUE(a && b);
  // "60s" and 60 are the same ttl; the default upstream follows the new listen address (the
  // 127.0.0.53 of resolv.conf would now be this appliance).
  std::vector<std::string> want = {"[cache] max_stale", "[dns] listen", "[dns] upstream",
                                   "[proxy] header_timeout"};
  EXPECT_EQ(changed_keys(*a, *b), want);
  EXPECT_TRUE(changed_keys(*a, *a).empty());
  EXPECT_FALSE(is_reloadable("[dns] listen"));
  EXPECT_TRUE(is_reloadable("[proxy] header_timeout"));
  EXPECT_TRUE(is_reloadable("[cache] max_stale"));
  EXPECT_FALSE(is_reloadable("[cache] max_size"));
  EXPECT_FALSE(is_reloadable("[dns] intercept"));
}

}  // namespace
}  // namespace pipgate
