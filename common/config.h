// The appliance's configuration: one TOML file, every key optional. One struct per TOML table;
// a field's initializer is its only default, and deploy/pipgate.example.toml documents each key
// with that default and why (a test keeps the two in step). Both executables load the same file.
//
//   auto cfg = load_config_file("/etc/pipgate/pipgate.toml", LoadOptions{}, HostFacts::probe());
//   if (!cfg) { fmt::print(stderr, "{}\n", cfg.error().detail); return 1; }
//   // "pipgate.toml:7: [cache] max_size: got \"20XB\"; expected a size like \"20GiB\", ..."
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"
#include "common/result.h"

namespace pipgate {

struct ApplianceConfig {
  // IPv4 answered for intercepted names (A records) and shown to users. Default: the primary
  // IPv4 of this machine (the default route's interface), found at start.
  std::optional<IpAddress> address;
  // IPv6 answered for intercepted names (AAAA). Default: none, so AAAA queries get NODATA and
  // clients use IPv4; never the real PyPI's AAAA, which would route clients around the appliance.
  std::optional<IpAddress> address6;
  // CA, leaf certificates and cache. Default: /var/lib/pipgate when installed, ./var/pipgate
  // when run from a source tree.
  std::string data_dir;
  // Unprivileged user the processes switch to after binding ports. Default: "pipgate" (used
  // when that user exists).
  std::string user = "pipgate";
  // trace, debug, info, warn, error. Default: info (one line per start/stop/failure).
  std::string log_level = "info";
};

struct DnsConfig {
  // UDP and TCP addresses to answer on. Default: every IPv4 address on port 53.
  std::vector<Endpoint> listen = {Endpoint{IpAddress::v4(0), 53}};
  // Resolvers for names we don't intercept, and for the proxy's own lookups of the real PyPI.
  // Default (empty): the nameservers in /etc/resolv.conf at start, minus this appliance. Never
  // this appliance: if the office DNS points here, forwarding would loop.
  std::vector<Endpoint> upstream;
  // Exact names answered with the appliance's address (subdomains are not). Default: the two
  // hosts pip talks to. The CA's name constraints are made from this list.
  std::vector<std::string> intercept = {"pypi.org", "files.pythonhosted.org"};
  // Clients allowed to query; others get REFUSED. Default: private ranges and loopback, so the
  // appliance is never an open resolver.
  std::vector<Cidr> allow;  // filled by default_config(): see kDefaultAllow in config.cc
  // TTL of intercepted answers. Default: 60 s, so that moving or removing the appliance reaches
  // clients within a minute, while pip's burst of lookups still hits client caches.
  std::chrono::seconds ttl{60};
  // Forwarded answers kept in the answer cache. Default: 10000 (a few MB).
  std::uint32_t cache_entries = 10000;
  // Clamps on cached TTLs. Default: 0 s and 1 day; negative answers at most 1 h (RFC 2308 §5).
  std::chrono::seconds cache_min_ttl{0};
  std::chrono::seconds cache_max_ttl{86400};
  std::chrono::seconds cache_max_negative_ttl{3600};
  // Responses per second per client address (token bucket; 0 disables). Default: 500, far above
  // one workstation's needs, low enough that the appliance is a poor amplifier.
  std::uint32_t rate_limit = 500;
  // Burst allowance of the bucket. Default: 2x rate_limit when 0.
  std::uint32_t rate_limit_burst = 0;
  // Time one upstream resolver gets before the next is tried. Default: 2 s.
  std::chrono::milliseconds upstream_timeout{2000};
  // Rounds over the upstream list before answering SERVFAIL. Default: 2.
  std::uint32_t upstream_attempts = 2;
  // TCP: idle time before a client connection is closed, and how many are open at once.
  // Default: 10 s (RFC 7766 §6.2.3 suggests seconds) and 256.
  std::chrono::seconds tcp_idle_timeout{10};
  std::uint32_t tcp_max_connections = 256;
  // Largest UDP answer, also the EDNS size offered upstream. Default 1232, the DNS Flag Day 2020
  // size that avoids IP fragmentation; larger answers get TC and clients retry over TCP.
  std::uint16_t max_udp_size = 1232;
};

struct ProxyConfig {
  // HTTPS addresses to serve pypi.org and files.pythonhosted.org on. Default: every IPv4
  // address on port 443.
  std::vector<Endpoint> listen = {Endpoint{IpAddress::v4(0), 443}};
  // CA bundle that verifies the real PyPI. Default: Debian's system bundle.
  std::string upstream_ca_file = "/etc/ssl/certs/ca-certificates.crt";
  // TCP port of the real hosts. Default 443; tests point it at their own origins.
  std::uint16_t upstream_port = 443;
  // Try the upstream's IPv4 addresses before IPv6. Default true: offices often announce IPv6
  // routes that are broken, and PyPI serves both families.
  bool upstream_ipv4_first = true;
  // Client connections open at once, in total and per client address; past either, new ones are
  // closed at once. Default 4096 and 256: far above an office's pip runs, low enough that one
  // machine cannot take every descriptor. Counted per event loop (one per core).
  std::uint32_t max_connections = 4096;
  std::uint32_t max_connections_per_client = 256;
  // A client's TLS handshake must finish within this. Default 10 s.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // An HTTP/1.1 request head must arrive within this of its first byte (slowloris). Default 10 s.
  std::chrono::milliseconds header_timeout{10'000};
  // Idle client connections (keep-alive, h2 with no stream) are closed after this. Default 60 s.
  std::chrono::milliseconds client_idle_timeout{60'000};
  // Bytes of one request head (h1 line + fields, h2 decoded header list); larger gets 431.
  // Default 64 KiB, far above any pip request.
  std::uint32_t header_limit_bytes = 64 * 1024;
  // SETTINGS_MAX_CONCURRENT_STREAMS for clients. Default 100 (RFC 9113 §6.5.2's floor).
  std::uint32_t h2_max_concurrent_streams = 100;
  // Upstream timeouts: TCP connect per address; request sent to response head (cold PyPI pages
  // take seconds); longest silence inside a body; idle pooled connections. Defaults 5 s, 30 s,
  // 60 s, 60 s.
  std::chrono::milliseconds upstream_connect_timeout{5'000};
  std::chrono::milliseconds upstream_first_byte_timeout{30'000};
  std::chrono::milliseconds upstream_read_timeout{60'000};
  std::chrono::milliseconds upstream_idle_timeout{60'000};
};

struct CacheConfig {
  // Disk bytes for cached objects, written "20GiB"; past it the least recently used are evicted.
  // Default: 20 GiB, an office's wheels on a small VM disk. Restart to change.
  std::uint64_t max_size_bytes = 20ull << 30;
  // How long past its freshness an index page may still be served while upstream is unreachable,
  // times out or answers 5xx ("unlimited", or a duration). Default: unlimited: an office must
  // keep installing through an outage; answers say X-Cache: STALE and carry their Age.
  std::optional<std::chrono::seconds> max_stale;  // nullopt: unlimited
  // Freshness of an index page whose upstream answer sets none (no max-age, no Expires).
  // Default 10 min, what PyPI itself sends for /simple/ pages.
  std::chrono::seconds index_ttl{600};
  // Upper bound on the freshness of stored 404/410 answers, and of redirects (301, 302, 307,
  // 308): a project published a minute after someone asked for it must appear soon. Defaults
  // 1 min and 10 min.
  std::chrono::seconds negative_ttl{60};
  std::chrono::seconds redirect_ttl{600};
  // Whether a client's "Cache-Control: no-cache" or "max-age=0" on an index page makes the cache
  // revalidate upstream. pip sends max-age=0 on every index request; honouring it costs one
  // upstream round trip per project per install. Default false: stored pages are served while
  // fresh by upstream's own Cache-Control, as nginx and Fastly do.
  bool honor_client_revalidate = false;
  // Whether a fill continues when every client reading it has gone, so the next request is a
  // hit. Default true (pip retries after a timeout; the second try then finds the file).
  bool fill_without_clients = true;
};

struct WebConfig {
  // Plain-HTTP addresses of the onboarding page (CA download, setup steps) and /metrics. Empty:
  // no page. Default: every IPv4 address on port 80.
  std::vector<Endpoint> listen = {Endpoint{IpAddress::v4(0), 80}};
};

struct Config {
  std::string source;  // file the config came from, or "(embedded defaults)"
  ApplianceConfig appliance;
  DnsConfig dns;
  ProxyConfig proxy;
  CacheConfig cache;
  WebConfig web;

  std::string ca_dir() const { return appliance.data_dir + "/ca"; }
  std::string certs_dir() const { return appliance.data_dir + "/certs"; }
  std::string cache_dir() const { return appliance.data_dir + "/cache"; }
};

// What the loader needs to know about this machine to fill defaults and catch loops. Injected so
// tests can describe any machine.
struct HostFacts {
  IpAddress primary_ipv4;
  std::vector<IpAddress> local_addresses;
  std::vector<IpAddress> resolv_nameservers;
  static HostFacts probe();  // reads this machine (getifaddrs, /proc/net/route, /etc/resolv.conf)
};

struct LoadOptions {
  // data_dir when the file has none. Empty: decided by default_data_dir().
  std::string default_data_dir;
};

// /var/lib/pipgate if this executable is installed under /usr, else ./var/pipgate (absolute).
std::string default_data_dir();

// The embedded defaults with the machine-dependent ones filled in (address, upstream).
[[nodiscard]] Result<Config> default_config(const LoadOptions& opts, const HostFacts& host);
// Strict: unknown tables or keys, wrong types and bad values are kConfig errors naming the file,
// line, [table] key, the value and what is allowed. Also refuses a [dns] upstream that is this
// appliance (forwarding loop) and an empty intercept list.
[[nodiscard]] Result<Config> load_config_file(const std::string& path, const LoadOptions& opts,
                                              const HostFacts& host);
[[nodiscard]] Result<Config> load_config_string(std::string_view toml, std::string_view source,
                                                const LoadOptions& opts, const HostFacts& host);

// The effective config as TOML that load_config_string accepts again (derived values included).
// The keys whose effective values differ between two configs, as "[table] key", sorted (what
// a reload must apply or report).
std::vector<std::string> changed_keys(const Config& before, const Config& after);

// Whether a running appliance applies `key` ("[table] key") on SIGHUP: [proxy] limits and
// timeouts, [cache] policy, [dns] allow/ttl/answer cache/rate limits/UDP size, the answered
// addresses and the log level. Every other key (listeners, names, resolvers, paths, the store's
// size, the user) needs a restart, and a reload says so.
bool is_reloadable(std::string_view key);

std::string render_config(const Config& cfg);

// "20GiB", "500MB", "1.5GB", "4096" → bytes. kInvalidInput with what is allowed.
[[nodiscard]] Result<std::uint64_t> parse_size(std::string_view text);
// "500ms", "2s", "5m", "1h", "90d" → milliseconds. kInvalidInput with what is allowed.
[[nodiscard]] Result<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_size(std::uint64_t bytes);  // "20GiB" when exact, else bytes

// True when `ep` would reach this appliance's own DNS listener (a forwarding loop).
bool is_own_dns_endpoint(const Endpoint& ep, const Config& cfg, const HostFacts& host);

}  // namespace pipgate
