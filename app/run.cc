#include "app/run.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "admin/server.h"
#include "app/supervisor.h"
#include "certs/authority.h"
#include "certs/leaf_store.h"
#include "common/heap.h"
#include "common/metric_names.h"
#include "common/metrics.h"
#include "common/privileges.h"
#include "common/random.h"
#include "proxy/access_log.h"
#include "proxy/cache/fill_table.h"
#include "proxy/server.h"
#include "store/store.h"
#include "web/server.h"

namespace pipgate::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {}  // namespace

std::string appliance_label() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "appliance";
  return name;
}

namespace {

std::string sibling_executable(const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return (self.parent_path() / name).string();
}

// Checks the leaves once an hour, or sooner when one is due: renewal must not wait on a restart.
asio::awaitable<void> renew_leaves(certs::LeafStore& leaves, const Clock& clock) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(leaves.next_renewal() -
                                                                      clock.system_now());
    timer.expires_after(std::clamp<std::chrono::milliseconds>(wait, 1s, 1h));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto renewed = leaves.renew_due();
    if (!renewed) {
      spdlog::error("certs: renewing leaves failed: {}; retrying within the hour",
                    to_string(renewed.error()));
      continue;
    }
    for (const auto& name : *renewed) {
      auto leaf = leaves.current(name);
      spdlog::info("certs: renewed leaf for {} (valid until {:%Y-%m-%d})", name,
                   fmt::gmtime(std::chrono::system_clock::to_time_t(leaf->info.not_after)));
    }
  }
}

// A proxy::Server on its own io_context and thread.
struct ProxyLoop {
  asio::io_context io{1};
  std::unique_ptr<proxy::Server> server;
  std::thread thread;
};

// Gives memory back once the proxy has answered nothing for a while: the store's memtables are
// written out (up to ~16 MiB of bodies each), its in-memory caches emptied, and the allocator
// returns the free pages of every thread (the chunk buffers of the last downloads): each proxy
// loop hands its thread's cache of freed blocks back first. Once per idle spell; costs one flush.
asio::awaitable<void> trim_when_idle(store::Store& store,
                                     const std::vector<std::unique_ptr<ProxyLoop>>& loops) {
  constexpr auto kTick = 5s;
  constexpr int kIdleTicks = 2;  // 10–15 s without a request
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::uint64_t seen = proxy::requests_answered();
  std::uint64_t trimmed_at = seen;
  int quiet = 0;
  for (;;) {
    timer.expires_after(kTick);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto now = proxy::requests_answered();
    quiet = now == seen ? quiet + 1 : 0;
    seen = now;
    if (quiet < kIdleTicks || trimmed_at == now) continue;
    trimmed_at = now;
    if (auto r = store.flush(); !r)
      spdlog::warn("cache: flushing the store while idle: {}", r.error().detail);
    auto held = [&store] {
      auto s = store.stats();
      return s.hot_bytes + s.block_cache_bytes;
    };
    std::uint64_t before = held();
    store.release_memory();  // hot objects, unpinned block-cache blocks: refilled on demand
    release_thread_cache();
    release_free_heap();
    // Each loop purges again after its own flush: the blocks it hands back become free pages
    // only when a purge follows, and nothing else runs one on an idle appliance.
    for (const auto& loop : loops) {
      asio::post(loop->io, [] {
        release_thread_cache();
        release_free_heap();
      });
    }
    spdlog::debug(
        "idle: store memtables flushed; in-memory caches held {} bytes, now {}; free heap "
        "returned to the system",
        before, held());
  }
}

// Stops every proxy server on its own loop (each finishes in-flight responses within `grace`)
// and completes once all have stopped.
asio::awaitable<void> stop_proxy_loops(std::vector<std::unique_ptr<ProxyLoop>>& loops,
                                       std::chrono::milliseconds grace) {
  auto remaining = std::make_shared<std::atomic<std::size_t>>(loops.size());
  asio::steady_timer done(co_await asio::this_coro::executor,
                          asio::steady_timer::time_point::max());
  for (auto& loop : loops) {
    asio::co_spawn(loop->io, loop->server->stop(grace),
                   [&done, remaining, l = loop.get()](std::exception_ptr) {
                     l->io.stop();
                     if (--*remaining == 0)
                       asio::post(done.get_executor(), [&done] { done.cancel(); });
                   });
  }
  if (!loops.empty()) co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

std::string next_steps(const Config& cfg, const std::string& ca_pem_path) {
  std::string addr = cfg.appliance.address ? cfg.appliance.address->to_string() : "<address>";
  const auto& dns_ep = cfg.dns.listen.front();
  std::string dig_port = dns_ep.port == 53 ? "" : fmt::format(" -p {}", dns_ep.port);
  std::string dig_server = dns_ep.address.is_unspecified() ? addr : dns_ep.address.to_string();
  const auto& https = cfg.proxy.listen.front();
  std::string port = https.port == 443 ? "" : fmt::format(":{}", https.port);
  std::string https_addr = https.address.is_unspecified() ? addr : https.address.to_string();
  std::string first = cfg.dns.intercept.front();
  return fmt::format(
      "Next steps:\n"
      "  1. Trust the CA on each client: {}\n"
      "     (or print it with: pipgate ca export > pipgate-ca.pem)\n"
      "  2. Point the office DNS at {} (or forward only {} to it)\n"
      "  3. Try it:\n"
      "       dig @{}{} {} +short        # expect {}\n"
      "       curl --cacert {} --resolve {}:{}:{} https://{}{}/simple/pip/\n",
      ca_pem_path, addr, fmt::join(cfg.dns.intercept, " and "), dig_server, dig_port, first, addr,
      ca_pem_path, first, https.port, https_addr, first, port);
}

namespace {

// SIGHUP: re-reads the file pipgate started with, applies what changes live (is_reloadable) to
// every proxy loop and, through the same signal, to pipgate-dns, and names the keys that need
// a restart. Always compared with the running (startup) config, so a key that needs a restart
// is reported on every reload until it has one.
void reload_config(const Config& running, std::vector<std::unique_ptr<ProxyLoop>>& loops,
                   Supervisor& supervisor) {
  if (running.source.empty() || running.source.front() == '(') {
    spdlog::info("SIGHUP: running on the embedded defaults; nothing to reload");
    return;
  }
  auto fresh = load_config_file(running.source, LoadOptions{}, HostFacts::probe());
  if (!fresh) {
    spdlog::error("SIGHUP: {}; the running config stays as it is", fresh.error().detail);
    return;
  }
  std::vector<std::string> applied, need_restart;
  for (auto& key : changed_keys(running, *fresh))
    (is_reloadable(key) ? applied : need_restart).push_back(std::move(key));
  for (auto& loop : loops) loop->server->reconfigure(*fresh);
  spdlog::set_level(spdlog::level::from_str(fresh->appliance.log_level));
  supervisor.signal_all(SIGHUP);
  auto list = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", "));
  };
  spdlog::info("SIGHUP: reloaded {}; applied: {}", running.source, list(applied));
  if (!need_restart.empty())
    spdlog::warn("SIGHUP: these keys changed but need a restart of pipgate to apply: {}",
                 list(need_restart));
}

// pipgate-dns's counters (its <data_dir>/dns-stats file) into this process's /metrics, as
// counters that only grow: a restarted pipgate-dns starts from zero, which counts as new.
asio::awaitable<void> import_dns_stats(std::string path) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  static constexpr std::pair<std::string_view, const char*> kResults[] = {
      {"intercepted", kDnsIntercepted},
      {"forwarded", kDnsForwarded},
      {"cached", kDnsCached},
      {"refused", kDnsRefused},
      {"rate_limited", kDnsRateLimited},
      {"servfail", kDnsServfail},
      {"malformed", "malformed"}};
  std::map<std::string, std::uint64_t, std::less<>> last;
  for (;;) {
    if (std::FILE* f = std::fopen(path.c_str(), "r")) {
      char name[64];
      unsigned long long value = 0;
      while (std::fscanf(f, "%63s %llu", name, &value) == 2) {
        for (const auto& [key, label] : kResults) {
          if (key != name) continue;
          auto& seen = last[std::string(key)];
          auto delta = value >= seen ? value - seen : value;
          if (delta > 0)
            metrics()
                .counter(kDnsQueriesTotal, kDnsQueriesHelp, {{kLabelResult, label}})
                .inc(delta);
          seen = value;
        }
      }
      std::fclose(f);
    }
    timer.expires_after(5s);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace

int run_appliance(const Config& cfg, const RunOptions& opts) {
  RealClock clock;
  SystemRandom random;
  spdlog::info("starting pipgate (config: {}, data dir: {}, allocator: {})", cfg.source,
               cfg.appliance.data_dir, heap_allocator());

  auto ca = certs::Authority::load_or_create(cfg.ca_dir(), cfg.dns.intercept, appliance_label(),
                                             clock, random);
  if (!ca) {
    spdlog::critical("certs: {}", ca.error().detail);
    return 1;
  }
  auto ca_info = ca->info();
  spdlog::info("certs: CA \"{}\" sha256 {} permits {}", ca_info.subject, ca_info.sha256_fingerprint,
               fmt::join(ca_info.dns_names, ", "));
  certs::LeafStore leaves(*ca, cfg.certs_dir(), clock, random);
  if (auto r = leaves.ensure_all(); !r) {
    spdlog::critical("certs: {}", r.error().detail);
    return 1;
  }
  for (const auto& leaf : leaves.all())
    spdlog::info("certs: leaf for {} valid until {:%Y-%m-%d}", leaf->name,
                 fmt::gmtime(std::chrono::system_clock::to_time_t(leaf->info.not_after)));

  // The cache store, shared by every proxy loop. A store that cannot open is fatal: running
  // uncached would hide a broken disk until the office notices its installs are slow.
  auto store = store::Store::open(store::StoreOptions::from(cfg.cache, cfg.cache_dir()), clock);
  if (!store) {
    spdlog::critical("cache: {} (data in {})", store.error().detail, cfg.cache_dir());
    return 1;
  }
  auto stats = store->stats();
  spdlog::info("cache: {} objects, {} of {} used", stats.objects, format_size(stats.charged_bytes),
               format_size(cfg.cache.max_size_bytes));
  proxy::cache::FillTable fills;
  // Store figures for /metrics and the page, read at scrape time; unregistered before the store
  // goes away.
  auto& registry = metrics();
  registry.gauge_fn(kStoreBytes, kStoreBytesHelp,
                    [&] { return static_cast<double>(store->stats().charged_bytes); });
  registry.gauge_fn(kStoreObjects, kStoreObjectsHelp,
                    [&] { return static_cast<double>(store->stats().objects); });
  registry.gauge_fn(kStoreBudgetBytes, kStoreBudgetBytesHelp,
                    [&] { return static_cast<double>(cfg.cache.max_size_bytes); });
  registry.gauge_fn(kStoreEvictionsTotal, kStoreEvictionsHelp,
                    [&] { return static_cast<double>(store->stats().evicted_objects); });
  struct Unregister {
    MetricsRegistry& r;
    ~Unregister() {
      for (auto name : {kStoreBytes, kStoreObjects, kStoreBudgetBytes, kStoreEvictionsTotal})
        r.remove_gauge_fn(name);
    }
  } unregister{registry};

  // One event loop per core for the proxy (listeners share the ports with SO_REUSEPORT, so the
  // kernel spreads connections); the main loop keeps signals, the supervisor and renewals.
  std::vector<std::unique_ptr<ProxyLoop>> proxy_loops;
  for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i) {
    auto loop = std::make_unique<ProxyLoop>();
    loop->server = std::make_unique<proxy::Server>(loop->io, cfg, leaves, clock,
                                                   proxy::SharedCache{&*store, &fills});
    if (auto r = loop->server->start(); !r) {
      spdlog::critical("proxy: {}", r.error().detail);
      return 1;
    }
    proxy_loops.push_back(std::move(loop));
  }
  for (auto& loop : proxy_loops) loop->thread = std::thread([l = loop.get()] { l->io.run(); });
  // Joins the proxy threads on every way out of this function.
  struct JoinLoops {
    std::vector<std::unique_ptr<ProxyLoop>>& loops;
    ~JoinLoops() {
      for (auto& l : loops) {
        l->io.stop();
        if (l->thread.joinable()) l->thread.join();
      }
    }
  } join_loops{proxy_loops};

  asio::io_context io(1);
  // The onboarding page and /metrics, on the main loop (small answers, few clients).
  web::Server web(io, cfg, ca->certificate_pem(), [&] {
    auto f = web::figures_from_metrics(registry);
    auto health = proxy::upstream_health();
    switch (health.state()) {
      case proxy::UpstreamHealth::State::kReachable:
        f.upstream = web::UpstreamState::kReachable;
        break;
      case proxy::UpstreamHealth::State::kUnreachable:
        f.upstream = web::UpstreamState::kUnreachable;
        f.upstream_detail = health.last_failure_detail;
        break;
      case proxy::UpstreamHealth::State::kUnknown:
        break;
    }
    for (const auto& p : proxy::project_stats().top(10))
      f.top_projects.push_back({p.project, p.hits + p.misses});
    return f;
  });
  if (auto r = web.start(); !r) {
    spdlog::critical("web: {}", r.error().detail);
    return 1;
  }
  Supervisor supervisor(io, clock);
  // The admin socket of `pipgate status` and `pipgate cache ...`; bound before privileges drop.
  auto children = [&] {
    admin::AdminFigures f;
    for (const auto& c : supervisor.status())
      f.children.push_back({c.name, c.pid, c.running, c.restarts, c.last_exit});
    return f;
  };
  admin::Server admin(io, cfg, {*store, clock, clock.monotonic_now(), children});
  if (auto r = admin.start(); !r) {
    spdlog::critical("admin: {}", r.error().detail);
    return 1;
  }
  std::string dns_exe =
      opts.dns_executable.empty() ? sibling_executable("pipgate-dns") : opts.dns_executable;
  if (dns_exe != "none") {
    ChildSpec dns{"pipgate-dns", {dns_exe}};
    if (!opts.config_path.empty()) {
      dns.argv.push_back("--config");
      dns.argv.push_back(opts.config_path);
    }
    supervisor.add(std::move(dns));
  }
  // Every port is bound: from here on the appliance runs as [appliance] user, keeping only the
  // right to bind ports (a SIGHUP may add a listener; pipgate-dns, restarted by the supervisor,
  // binds :53 again). Its data, created as root on a first start, becomes its own first.
  std::string stay_root_because;
  if (::geteuid() == 0) {
    if (auto ids = lookup_user(cfg.appliance.user); ids && ids->uid != 0) {
      if (auto blocked = blocked_ancestor(cfg.appliance.data_dir, *ids)) {
        stay_root_because = fmt::format(
            "user {} cannot reach the data dir {} ({} is closed to it); move [appliance] "
            "data_dir, e.g. to /var/lib/pipgate",
            cfg.appliance.user, cfg.appliance.data_dir, *blocked);
      } else if (auto r = chown_tree(cfg.appliance.data_dir, *ids); !r) {
        spdlog::critical("{}", r.error().detail);
        return 1;
      }
    }
  }
  auto dropped = stay_root_because.empty()
                     ? drop_privileges(cfg.appliance.user, {.keep_bind_capability = true})
                     : Result<PrivilegeDrop>(PrivilegeDrop::kNotRoot);
  if (!stay_root_because.empty()) spdlog::warn("running as root: {}", stay_root_because);
  if (!dropped) {
    spdlog::critical("cannot drop root: {}", dropped.error().detail);
    return 1;
  }
  switch (*dropped) {
    case PrivilegeDrop::kDropped:
      spdlog::info("running as user {} (CAP_NET_BIND_SERVICE kept)", cfg.appliance.user);
      break;
    case PrivilegeDrop::kNoSuchUser:
      if (auto ids = lookup_user(cfg.appliance.user); ids && ids->uid == 0) {
        spdlog::info("running as root, as [appliance] user says");
        break;
      }
      spdlog::warn(
          "running as root: [appliance] user \"{}\" does not exist (create it, e.g. "
          "adduser --system --group {})",
          cfg.appliance.user, cfg.appliance.user.empty() ? "pipgate" : cfg.appliance.user);
      break;
    case PrivilegeDrop::kNotRoot:
      break;
  }
  supervisor.start();

  asio::co_spawn(io, renew_leaves(leaves, clock), asio::detached);
  asio::co_spawn(io, import_dns_stats(cfg.appliance.data_dir + "/dns-stats"), asio::detached);
  asio::co_spawn(io, trim_when_idle(*store, proxy_loops), asio::detached);

  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload_config(cfg, proxy_loops, supervisor);
        wait_signal();
        return;
      }
      spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            // In-flight downloads first (GOAWAY, finish within the grace time), then DNS.
            co_await stop_proxy_loops(proxy_loops, 5s);
            co_await supervisor.stop(5s);
            web.stop();
            admin.stop();
            io.stop();
          },
          asio::detached);
    });
  };
  wait_signal();

  fmt::print(stderr, "{}", next_steps(cfg, cfg.ca_dir() + "/ca.pem"));
  spdlog::info("pipgate is running; SIGTERM or Ctrl-C stops it");
  io.run();
  spdlog::info("pipgate stopped");
  return 0;
}

}  // namespace pipgate::app
