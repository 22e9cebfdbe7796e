#include "common/config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace pipgate {
namespace {

// Private ranges and loopback: an office LAN may use any of them; nothing public is allowed by
// default so the appliance is never an open resolver.
constexpr const char* kDefaultAllow[] = {"10.0.0.0/8",  "172.16.0.0/12", "192.168.0.0/16",
                                         "127.0.0.0/8", "100.64.0.0/10", "::1/128",
                                         "fc00::/7",    "fe80::/10"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string describe(const toml::node& n) {
  if (auto s = n.as_string()) return fmt::format("\"{}\"", s->get());
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) return fmt::format("{}", f->get());
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date/time";
}

// Parses one file's tables into a Config, remembering where each value came from so every error
// reads "file:line: [table] key: got X; expected Y".
class ConfigReader {
 public:
  ConfigReader(std::string source, Config& cfg) : source_(std::move(source)), cfg_(cfg) {}

  Result<> read(const toml::table& root) {
    using TableFn = Result<> (ConfigReader::*)(const toml::table&);
    const std::map<std::string, TableFn> tables = {{"appliance", &ConfigReader::appliance},
                                                   {"dns", &ConfigReader::dns},
                                                   {"proxy", &ConfigReader::proxy},
                                                   {"cache", &ConfigReader::cache},
                                                   {"web", &ConfigReader::web}};
    for (auto&& [key, node] : root) {
      std::string name(key.str());
      auto it = tables.find(name);
      if (it == tables.end())
        return fail(node, "", name,
                    "unknown table; expected one of [appliance], [dns], [proxy], [cache], [web]");
      auto* t = node.as_table();
      if (!t) return fail(node, "", name, "expected a table ([" + name + "])");
      if (auto r = (this->*(it->second))(*t); !r) return r;
    }
    return {};
  }

  std::vector<std::pair<Endpoint, int>> upstream_lines;  // for the loop check after finalizing

 private:
  using KeyFn = std::function<Result<>(const toml::node&)>;

  Result<> fail(const toml::node& n, std::string_view table, std::string_view key,
                std::string_view what) const {
    std::string where = table.empty() ? std::string(key) : fmt::format("[{}] {}", table, key);
    return make_error(Errc::kConfig,
                      fmt::format("{}:{}: {}: {}", source_, n.source().begin.line, where, what));
  }
  Result<> bad_value(const toml::node& n, std::string_view table, std::string_view key,
                     std::string_view expected) const {
    return fail(n, table, key, fmt::format("got {}; expected {}", describe(n), expected));
  }

  Result<> keys(const toml::table& t, std::string_view table,
                const std::vector<std::pair<std::string, KeyFn>>& fns) {
    for (auto&& [key, node] : t) {
      auto name = key.str();
      auto it = std::find_if(fns.begin(), fns.end(), [&](auto& p) { return p.first == name; });
      if (it == fns.end()) {
        std::string allowed;
        for (auto& p : fns) allowed += (allowed.empty() ? "" : ", ") + p.first;
        return fail(node, table, name,
                    "unknown key; [" + std::string(table) + "] allows " + allowed);
      }
      if (auto r = it->second(node); !r) return r;
    }
    return {};
  }

  // Typed field readers: each returns a KeyFn that validates and stores.
  KeyFn string_field(std::string_view table, std::string key, std::string& out, bool allow_empty) {
    return [this, table, key, &out, allow_empty](const toml::node& n) -> Result<> {
      auto s = n.as_string();
      if (!s || (!allow_empty && s->get().empty()))
        return bad_value(n, table, key, allow_empty ? "a string" : "a non-empty string");
      out = s->get();
      return {};
    };
  }
  template <class Int>
  KeyFn int_field(std::string_view table, std::string key, Int& out, std::int64_t lo,
                  std::int64_t hi) {
    return [this, table, key, &out, lo, hi](const toml::node& n) -> Result<> {
      auto i = n.as_integer();
      if (!i || i->get() < lo || i->get() > hi)
        return bad_value(n, table, key, fmt::format("an integer in {}..{}", lo, hi));
      out = static_cast<Int>(i->get());
      return {};
    };
  }
  KeyFn bool_field(std::string_view table, std::string key, bool& out) {
    return [this, table, key, &out](const toml::node& n) -> Result<> {
      auto b = n.as_boolean();
      if (!b) return bad_value(n, table, key, "true or false");
      out = b->get();
      return {};
    };
  }
  template <class Int>
  KeyFn size_field(std::string_view table, std::string key, Int& out, std::uint64_t lo,
                   std::uint64_t hi) {
    return [this, table, key, &out, lo, hi](const toml::node& n) -> Result<> {
      auto expected = fmt::format("a size like \"64KiB\" or a byte count, between {} and {}",
                                  format_size(lo), format_size(hi));
      std::optional<std::uint64_t> v;
      if (auto i = n.as_integer(); i && i->get() >= 0) v = static_cast<std::uint64_t>(i->get());
      if (auto s = n.as_string())
        if (auto parsed = parse_size(s->get())) v = *parsed;
      if (!v || *v < lo || *v > hi) return bad_value(n, table, key, expected);
      out = static_cast<Int>(*v);
      return {};
    };
  }
  template <class Dur>
  KeyFn duration_field(std::string_view table, std::string key, Dur& out,
                       std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    return [this, table, key, &out, lo, hi](const toml::node& n) -> Result<> {
      std::chrono::milliseconds v{-1};
      if (auto i = n.as_integer()) {
        v = std::chrono::seconds(i->get());
      } else if (auto s = n.as_string()) {
        if (auto d = parse_duration(s->get())) v = *d;
      }
      auto expected = fmt::format(
          "a duration like \"500ms\", \"2s\", \"5m\", \"1h\" or whole "
          "seconds, between {} and {}",
          format_ms(lo), format_ms(hi));
      if (v < lo || v > hi) return bad_value(n, table, key, expected);
      if (v % std::chrono::duration_cast<std::chrono::milliseconds>(Dur(1)) !=
          std::chrono::milliseconds(0))
        return bad_value(n, table, key, "whole " + unit_name<Dur>());
      out = std::chrono::duration_cast<Dur>(v);
      return {};
    };
  }
  template <class Dur>
  static std::string unit_name() {
    return std::is_same_v<Dur, std::chrono::seconds> ? "seconds" : "milliseconds";
  }
  static std::string format_ms(std::chrono::milliseconds ms) {
    if (ms.count() % 1000 == 0) return fmt::format("{}s", ms.count() / 1000);
    return fmt::format("{}ms", ms.count());
  }

  template <class T, class Parse>
  KeyFn list_field(std::string_view table, std::string key, std::vector<T>& out, Parse parse,
                   std::string expected, bool allow_empty,
                   std::vector<std::pair<T, int>>* lines = nullptr) {
    return [=, this, &out](const toml::node& n) -> Result<> {
      auto arr = n.as_array();
      if (!arr) return bad_value(n, table, key, "an array of " + expected);
      if (arr->empty() && !allow_empty) return bad_value(n, table, key, "at least one entry");
      std::vector<T> values;
      for (auto&& item : *arr) {
        auto s = item.as_string();
        if (!s) return bad_value(item, table, key, "an array of " + expected);
        auto v = parse(s->get());
        if (!v) return fail(item, table, key, v.error().detail + "; expected " + expected);
        if (std::find(values.begin(), values.end(), *v) != values.end())
          return fail(item, table, key, "got " + describe(item) + " twice");
        values.push_back(*v);
        if (lines) lines->emplace_back(*v, static_cast<int>(item.source().begin.line));
      }
      out = std::move(values);
      return {};
    };
  }

  Result<> appliance(const toml::table& t) {
    constexpr std::string_view T = "appliance";
    auto& a = cfg_.appliance;
    return keys(
        t, T,
        {{"address",
          [&](const toml::node& n) -> Result<> {
            auto s = n.as_string();
            if (!s) return bad_value(n, T, "address", "an IPv4 address string");
            if (s->get().empty()) {
              a.address.reset();
              return {};
            }
            auto ip = parse_ip(s->get());
            if (!ip || !ip->is_v4() || ip->is_unspecified())
              return bad_value(n, T, "address",
                               "an IPv4 address of this machine that clients reach, e.g. "
                               "\"10.0.0.5\" (empty: detect the primary IPv4)");
            a.address = *ip;
            return {};
          }},
         {"address6",
          [&](const toml::node& n) -> Result<> {
            auto s = n.as_string();
            if (!s) return bad_value(n, T, "address6", "an IPv6 address string");
            if (s->get().empty()) {
              a.address6.reset();
              return {};
            }
            auto ip = parse_ip(s->get());
            if (!ip || ip->is_v4() || ip->is_unspecified())
              return bad_value(n, T, "address6",
                               "an IPv6 address, e.g. \"fd00::5\", or \"\" for no AAAA answer");
            a.address6 = *ip;
            return {};
          }},
         {"data_dir", string_field(T, "data_dir", a.data_dir, false)},
         {"user", string_field(T, "user", a.user, false)},
         {"log_level", [&](const toml::node& n) -> Result<> {
            auto s = n.as_string();
            static const std::vector<std::string> levels = {"trace", "debug", "info", "warn",
                                                            "error"};
            if (!s || std::find(levels.begin(), levels.end(), s->get()) == levels.end())
              return bad_value(n, T, "log_level",
                               "one of \"trace\", \"debug\", \"info\", \"warn\", \"error\"");
            a.log_level = s->get();
            return {};
          }}});
  }

  Result<> dns(const toml::table& t) {
    constexpr std::string_view T = "dns";
    auto& d = cfg_.dns;
    using std::chrono::milliseconds;
    using namespace std::chrono_literals;
    auto ep53 = [](std::string_view s) { return parse_endpoint(s, 53); };
    return keys(
        t, T,
        {{"listen", list_field<Endpoint>(T, "listen", d.listen, ep53,
                                         "addresses like \"0.0.0.0:53\" or \"[::]:53\"", false)},
         {"upstream",
          list_field<Endpoint>(T, "upstream", d.upstream, ep53,
                               "resolver addresses like \"192.0.2.53\" or \"[2001:db8::53]:53\"",
                               true, &upstream_lines)},
         {"intercept", list_field<std::string>(T, "intercept", d.intercept, parse_hostname,
                                               "host names like \"pypi.org\"", false)},
         {"allow", list_field<Cidr>(T, "allow", d.allow, parse_cidr,
                                    "networks like \"10.0.0.0/8\" or \"fd00::/8\"", true)},
         {"ttl", duration_field(T, "ttl", d.ttl, 1s, 86400s)},
         {"cache_entries", int_field(T, "cache_entries", d.cache_entries, 0, 10'000'000)},
         {"cache_min_ttl", duration_field(T, "cache_min_ttl", d.cache_min_ttl, 0s, 86400s)},
         {"cache_max_ttl", duration_field(T, "cache_max_ttl", d.cache_max_ttl, 0s, 7 * 86400s)},
         {"cache_max_negative_ttl",
          duration_field(T, "cache_max_negative_ttl", d.cache_max_negative_ttl, 0s, 86400s)},
         {"rate_limit", int_field(T, "rate_limit", d.rate_limit, 0, 1'000'000)},
         {"rate_limit_burst", int_field(T, "rate_limit_burst", d.rate_limit_burst, 0, 10'000'000)},
         {"upstream_timeout",
          duration_field(T, "upstream_timeout", d.upstream_timeout, milliseconds(100), 60s)},
         {"upstream_attempts", int_field(T, "upstream_attempts", d.upstream_attempts, 1, 10)},
         {"tcp_idle_timeout", duration_field(T, "tcp_idle_timeout", d.tcp_idle_timeout, 1s, 3600s)},
         {"tcp_max_connections",
          int_field(T, "tcp_max_connections", d.tcp_max_connections, 1, 100'000)},
         {"max_udp_size", int_field(T, "max_udp_size", d.max_udp_size, 512, 4096)}});
  }

  Result<> proxy(const toml::table& t) {
    constexpr std::string_view T = "proxy";
    using namespace std::chrono_literals;
    auto& p = cfg_.proxy;
    auto ep443 = [](std::string_view s) { return parse_endpoint(s, 443); };
    return keys(
        t, T,
        {{"listen", list_field<Endpoint>(T, "listen", p.listen, ep443,
                                         "addresses like \"0.0.0.0:443\" or \"[::]:443\"", false)},
         {"upstream_ca_file",
          [&](const toml::node& n) -> Result<> {
            auto s = n.as_string();
            if (!s || s->get().empty())
              return bad_value(n, T, "upstream_ca_file", "a path to a PEM CA bundle");
            std::error_code ec;
            if (!std::filesystem::is_regular_file(s->get(), ec))
              return fail(n, T, "upstream_ca_file",
                          "got " + describe(n) +
                              ", which is not a readable file; expected a PEM CA bundle "
                              "such as \"/etc/ssl/certs/ca-certificates.crt\"");
            p.upstream_ca_file = s->get();
            return {};
          }},
         {"upstream_port", int_field(T, "upstream_port", p.upstream_port, 1, 65535)},
         {"upstream_ipv4_first", bool_field(T, "upstream_ipv4_first", p.upstream_ipv4_first)},
         {"max_connections", int_field(T, "max_connections", p.max_connections, 1, 1'000'000)},
         {"max_connections_per_client",
          int_field(T, "max_connections_per_client", p.max_connections_per_client, 1, 1'000'000)},
         {"tls_handshake_timeout",
          duration_field(T, "tls_handshake_timeout", p.tls_handshake_timeout, 100ms, 300s)},
         {"header_timeout", duration_field(T, "header_timeout", p.header_timeout, 100ms, 300s)},
         {"client_idle_timeout",
          duration_field(T, "client_idle_timeout", p.client_idle_timeout, 1s, 3600s)},
         {"header_limit", size_field(T, "header_limit", p.header_limit_bytes, 4096, 1u << 20)},
         {"h2_max_concurrent_streams",
          int_field(T, "h2_max_concurrent_streams", p.h2_max_concurrent_streams, 1, 10'000)},
         {"upstream_connect_timeout",
          duration_field(T, "upstream_connect_timeout", p.upstream_connect_timeout, 100ms, 300s)},
         {"upstream_first_byte_timeout",
          duration_field(T, "upstream_first_byte_timeout", p.upstream_first_byte_timeout, 100ms,
                         3600s)},
         {"upstream_read_timeout",
          duration_field(T, "upstream_read_timeout", p.upstream_read_timeout, 100ms, 3600s)},
         {"upstream_idle_timeout",
          duration_field(T, "upstream_idle_timeout", p.upstream_idle_timeout, 1s, 3600s)}});
  }

  Result<> cache(const toml::table& t) {
    constexpr std::string_view T = "cache";
    using namespace std::chrono_literals;
    auto& c = cfg_.cache;
    return keys(
        t, T,
        {{"max_size",
          [&](const toml::node& n) -> Result<> {
            constexpr auto expected =
                "a size like \"20GiB\", \"500MB\" or a byte count, at least 64MiB";
            std::uint64_t v = 0;
            if (auto i = n.as_integer()) {
              if (i->get() < 0) return bad_value(n, T, "max_size", expected);
              v = static_cast<std::uint64_t>(i->get());
            } else if (auto s = n.as_string()) {
              auto parsed = parse_size(s->get());
              if (!parsed) return bad_value(n, T, "max_size", expected);
              v = *parsed;
            } else {
              return bad_value(n, T, "max_size", expected);
            }
            if (v < (64ull << 20)) return bad_value(n, T, "max_size", expected);
            c.max_size_bytes = v;
            return {};
          }},
         {"max_stale",
          [&](const toml::node& n) -> Result<> {
            if (auto str = n.as_string(); str && str->get() == "unlimited") {
              c.max_stale.reset();
              return {};
            }
            std::chrono::seconds v{};
            auto f = duration_field(T, "max_stale", v, 0s, 3650 * 86400s);
            if (auto r = f(n); !r)
              return bad_value(n, T, "max_stale",
                               "\"unlimited\" or a duration like \"1h\", \"7d\" "
                               "or whole seconds, at most 3650d");
            c.max_stale = v;
            return {};
          }},
         {"index_ttl", duration_field(T, "index_ttl", c.index_ttl, 0s, 86400s)},
         {"negative_ttl", duration_field(T, "negative_ttl", c.negative_ttl, 0s, 86400s)},
         {"redirect_ttl", duration_field(T, "redirect_ttl", c.redirect_ttl, 0s, 86400s)},
         {"honor_client_revalidate",
          bool_field(T, "honor_client_revalidate", c.honor_client_revalidate)},
         {"fill_without_clients", bool_field(T, "fill_without_clients", c.fill_without_clients)}});
  }

  Result<> web(const toml::table& t) {
    constexpr std::string_view T = "web";
    auto ep80 = [](std::string_view s) { return parse_endpoint(s, 80); };
    return keys(
        t, T,
        {{"listen", list_field<Endpoint>(T, "listen", cfg_.web.listen, ep80,
                                         "addresses like \"0.0.0.0:80\" or \"[::]:80\"", true)}});
  }

  static Result<std::string> parse_hostname(std::string_view text) {
    std::string name = lower(text);
    if (!name.empty() && name.back() == '.') name.pop_back();
    bool ok = !name.empty() && name.size() <= 253 && name.front() != '.' &&
              name.find("..") == std::string::npos && name.find('.') != std::string::npos;
    for (char c : name)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
    if (!ok)
      return make_error(Errc::kInvalidInput, "\"" + std::string(text) + "\" is not a host name");
    return name;
  }

  std::string source_;
  Config& cfg_;
};

Result<Config> finalize(Config cfg, const LoadOptions& opts, const HostFacts& host,
                        const std::vector<std::pair<Endpoint, int>>& upstream_lines) {
  if (!cfg.appliance.address) cfg.appliance.address = host.primary_ipv4;
  if (cfg.appliance.data_dir.empty())
    cfg.appliance.data_dir =
        opts.default_data_dir.empty() ? default_data_dir() : opts.default_data_dir;
  std::error_code ec;
  auto abs = std::filesystem::absolute(cfg.appliance.data_dir, ec);
  if (!ec) cfg.appliance.data_dir = abs.lexically_normal().string();
  while (cfg.appliance.data_dir.size() > 1 && cfg.appliance.data_dir.back() == '/')
    cfg.appliance.data_dir.pop_back();

  if (cfg.dns.upstream.empty() && upstream_lines.empty()) {
    // Default: resolv.conf's resolvers, minus any that are this appliance (that would loop).
    for (const auto& ns : host.resolv_nameservers) {
      Endpoint ep{ns, 53};
      if (!is_own_dns_endpoint(ep, cfg, host)) cfg.dns.upstream.push_back(ep);
    }
  } else {
    for (const auto& [ep, line] : upstream_lines) {
      if (is_own_dns_endpoint(ep, cfg, host))
        return make_error(
            Errc::kConfig,
            fmt::format("{}:{}: [dns] upstream: got \"{}\", which is this appliance's own DNS "
                        "listener (forwarding would loop); expected a real resolver",
                        cfg.source, line, ep.to_string()));
    }
  }
  return cfg;
}

}  // namespace

HostFacts HostFacts::probe() {
  return HostFacts{pipgate::primary_ipv4(), pipgate::local_addresses(),
                   pipgate::resolv_conf_nameservers()};
}

std::string default_data_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.string().rfind("/usr/", 0) == 0) return "/var/lib/pipgate";
  auto cwd = std::filesystem::current_path(ec);
  return ((ec ? std::filesystem::path(".") : cwd) / "var" / "pipgate").string();
}

Result<Config> default_config(const LoadOptions& opts, const HostFacts& host) {
  Config cfg;
  cfg.source = "(embedded defaults)";
  for (const char* net : kDefaultAllow) cfg.dns.allow.push_back(*parse_cidr(net));
  return finalize(std::move(cfg), opts, host, {});
}

Result<Config> load_config_string(std::string_view text, std::string_view source,
                                  const LoadOptions& opts, const HostFacts& host) {
  Config cfg;
  cfg.source = std::string(source);
  for (const char* net : kDefaultAllow) cfg.dns.allow.push_back(*parse_cidr(net));
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::kConfig,
                      fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
  ConfigReader reader(std::string(source), cfg);
  if (auto r = reader.read(root); !r) return std::unexpected(r.error());
  return finalize(std::move(cfg), opts, host, reader.upstream_lines);
}

Result<Config> load_config_file(const std::string& path, const LoadOptions& opts,
                                const HostFacts& host) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Errc::kConfig,
                      fmt::format("{}: cannot read config file: {}", path, std::strerror(errno)));
  std::stringstream buf;
  buf << in.rdbuf();
  return load_config_string(buf.str(), path, opts, host);
}

std::string format_size(std::uint64_t bytes) {
  static const char* units[] = {"TiB", "GiB", "MiB", "KiB"};
  for (int i = 0; i < 4; ++i) {
    std::uint64_t unit = 1ull << (10 * (4 - i));
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + units[i];
  }
  return std::to_string(bytes);
}

Result<std::uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return make_error(Errc::kInvalidInput,
                      "\"" + std::string(text) +
                          "\" is not a size; expected e.g. \"20GiB\", \"500MB\" or a byte count");
  };
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return bad();
  double number = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc{} || p != text.data() + i) return bad();
  std::string unit = lower(text.substr(i));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::map<std::string, double> units = {{"", 1},
                                                      {"b", 1},
                                                      {"kb", 1e3},
                                                      {"mb", 1e6},
                                                      {"gb", 1e9},
                                                      {"tb", 1e12},
                                                      {"kib", 1024.0},
                                                      {"mib", 1048576.0},
                                                      {"gib", 1073741824.0},
                                                      {"tib", 1099511627776.0}};
  auto it = units.find(unit);
  if (it == units.end()) return bad();
  double bytes = number * it->second;
  if (!std::isfinite(bytes) || bytes > 1.8e19 || bytes != std::floor(bytes)) return bad();
  return static_cast<std::uint64_t>(bytes);
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto bad = [&] {
    return make_error(Errc::kInvalidInput, "\"" + std::string(text) +
                                               "\" is not a duration; expected e.g. \"500ms\", "
                                               "\"2s\", \"5m\", \"1h\", \"90d\"");
  };
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return bad();
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + i, n);
  auto unit = text.substr(i);
  using namespace std::chrono;
  if (unit == "ms") return milliseconds(n);
  if (unit == "s") return duration_cast<milliseconds>(seconds(n));
  if (unit == "m") return duration_cast<milliseconds>(minutes(n));
  if (unit == "h") return duration_cast<milliseconds>(hours(n));
  if (unit == "d") return duration_cast<milliseconds>(hours(24 * n));
  return bad();
}

bool is_own_dns_endpoint(const Endpoint& ep, const Config& cfg, const HostFacts& host) {
  auto is_local = [&](const IpAddress& a) {
    if (a.is_loopback()) return true;
    if (cfg.appliance.address && a == *cfg.appliance.address) return true;
    if (cfg.appliance.address6 && a == *cfg.appliance.address6) return true;
    return std::find(host.local_addresses.begin(), host.local_addresses.end(), a) !=
           host.local_addresses.end();
  };
  for (const auto& l : cfg.dns.listen) {
    if (l.port != ep.port) continue;
    if (l.address == ep.address) return true;
    // A wildcard listener answers on every local address of its family ([::] also takes IPv4
    // unless v6only, so treat it as covering both).
    bool covers =
        l.address.is_unspecified() && (l.address.family == ep.address.family || !l.address.is_v4());
    if (covers && is_local(ep.address)) return true;
  }
  return false;
}

std::string render_config(const Config& cfg) {
  auto endpoints = [](const std::vector<Endpoint>& v) {
    toml::array a;
    for (const auto& e : v) a.push_back(e.to_string());
    return a;
  };
  auto strings = [](const std::vector<std::string>& v) {
    toml::array a;
    for (const auto& s : v) a.push_back(s);
    return a;
  };
  auto secs = [](std::chrono::seconds s) { return std::to_string(s.count()) + "s"; };
  toml::array allow;
  for (const auto& c : cfg.dns.allow) allow.push_back(c.to_string());
  const auto& a = cfg.appliance;
  const auto& d = cfg.dns;
  const auto& p = cfg.proxy;
  // Whole seconds as "60s", anything finer as "1500ms".
  auto ms = [](std::chrono::milliseconds v) {
    return v.count() % 1000 == 0 ? std::to_string(v.count() / 1000) + "s"
                                 : std::to_string(v.count()) + "ms";
  };
  toml::table root{
      {"appliance", toml::table{{"address", a.address ? a.address->to_string() : ""},
                                {"address6", a.address6 ? a.address6->to_string() : ""},
                                {"data_dir", a.data_dir},
                                {"user", a.user},
                                {"log_level", a.log_level}}},
      {"dns", toml::table{{"listen", endpoints(d.listen)},
                          {"upstream", endpoints(d.upstream)},
                          {"intercept", strings(d.intercept)},
                          {"allow", allow},
                          {"ttl", secs(d.ttl)},
                          {"cache_entries", static_cast<std::int64_t>(d.cache_entries)},
                          {"cache_min_ttl", secs(d.cache_min_ttl)},
                          {"cache_max_ttl", secs(d.cache_max_ttl)},
                          {"cache_max_negative_ttl", secs(d.cache_max_negative_ttl)},
                          {"rate_limit", static_cast<std::int64_t>(d.rate_limit)},
                          {"rate_limit_burst", static_cast<std::int64_t>(d.rate_limit_burst)},
                          {"upstream_timeout", ms(d.upstream_timeout)},
                          {"upstream_attempts", static_cast<std::int64_t>(d.upstream_attempts)},
                          {"tcp_idle_timeout", secs(d.tcp_idle_timeout)},
                          {"tcp_max_connections", static_cast<std::int64_t>(d.tcp_max_connections)},
                          {"max_udp_size", static_cast<std::int64_t>(d.max_udp_size)}}},
      {"proxy",
       toml::table{
           {"listen", endpoints(p.listen)},
           {"upstream_ca_file", p.upstream_ca_file},
           {"upstream_port", static_cast<std::int64_t>(p.upstream_port)},
           {"upstream_ipv4_first", p.upstream_ipv4_first},
           {"max_connections", static_cast<std::int64_t>(p.max_connections)},
           {"max_connections_per_client", static_cast<std::int64_t>(p.max_connections_per_client)},
           {"tls_handshake_timeout", ms(p.tls_handshake_timeout)},
           {"header_timeout", ms(p.header_timeout)},
           {"client_idle_timeout", ms(p.client_idle_timeout)},
           {"header_limit", format_size(p.header_limit_bytes)},
           {"h2_max_concurrent_streams", static_cast<std::int64_t>(p.h2_max_concurrent_streams)},
           {"upstream_connect_timeout", ms(p.upstream_connect_timeout)},
           {"upstream_first_byte_timeout", ms(p.upstream_first_byte_timeout)},
           {"upstream_read_timeout", ms(p.upstream_read_timeout)},
           {"upstream_idle_timeout", ms(p.upstream_idle_timeout)}}},
      {"cache",
       toml::table{{"max_size", format_size(cfg.cache.max_size_bytes)},
                   {"max_stale", cfg.cache.max_stale ? secs(*cfg.cache.max_stale) : "unlimited"},
                   {"index_ttl", secs(cfg.cache.index_ttl)},
                   {"negative_ttl", secs(cfg.cache.negative_ttl)},
                   {"redirect_ttl", secs(cfg.cache.redirect_ttl)},
                   {"honor_client_revalidate", cfg.cache.honor_client_revalidate},
                   {"fill_without_clients", cfg.cache.fill_without_clients}}},
      {"web", toml::table{{"listen", endpoints(cfg.web.listen)}}},
  };
  std::ostringstream out;
  // Double-quoted strings and no indentation: the file a person would write by hand.
  out << toml::toml_formatter(root, toml::toml_formatter::default_flags &
                                        ~toml::format_flags::indentation &
                                        ~toml::format_flags::allow_literal_strings);
  return out.str() + "\n";
}

bool is_reloadable(std::string_view key) {
  static constexpr std::string_view kKeys[] = {
      "[appliance] address",
      "[appliance] address6",
      "[appliance] log_level",
      "[dns] allow",
      "[dns] ttl",
      "[dns] cache_entries",
      "[dns] cache_min_ttl",
      "[dns] cache_max_ttl",
      "[dns] cache_max_negative_ttl",
      "[dns] rate_limit",
      "[dns] rate_limit_burst",
      "[dns] max_udp_size",
      "[proxy] max_connections",
      "[proxy] max_connections_per_client",
      "[proxy] tls_handshake_timeout",
      "[proxy] header_timeout",
      "[proxy] client_idle_timeout",
      "[proxy] header_limit",
      "[proxy] h2_max_concurrent_streams",
      "[proxy] upstream_connect_timeout",
      "[proxy] upstream_first_byte_timeout",
      "[proxy] upstream_read_timeout",
      "[proxy] upstream_idle_timeout",
      "[cache] max_stale",
      "[cache] index_ttl",
      "[cache] negative_ttl",
      "[cache] redirect_ttl",
      "[cache] honor_client_revalidate",
      "[cache] fill_without_clients",
  };
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

std::vector<std::string> changed_keys(const Config& before, const Config& after) {
  // Compared in their rendered form: one definition of every key's effective value.
  auto a = toml::parse(render_config(before));
  auto b = toml::parse(render_config(after));
  std::vector<std::string> changed;
  for (auto&& [table, node] : a) {
    const auto* ta = node.as_table();
    const auto* tb = b[table].as_table();
    if (!ta || !tb) continue;
    for (auto&& [key, value] : *ta) {
      const auto* other = tb->get(key);
      std::ostringstream x, y;
      if (other) {
        x << toml::toml_formatter(toml::table{{"v", value}});
        y << toml::toml_formatter(toml::table{{"v", *other}});
      }
      if (!other || x.str() != y.str())
        changed.push_back(fmt::format("[{}] {}", table.str(), key.str()));
    }
  }
  return changed;
}

}  // namespace pipgate
