// pipgate-dns: the appliance's DNS responder (DESIGN.md: its own process, ldns + c-ares, never
// BoringSSL). Binds [dns] listen over UDP and TCP, drops root, then serves on one thread until
// SIGTERM or SIGINT.
//
//   pipgate-dns --config /etc/pipgate/pipgate.toml     # without --config: embedded defaults
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/privileges.h"
#include "common/random.h"
#include "dns/forwarder.h"
#include "dns/responder.h"
#include "dns/tcp_server.h"
#include "dns/udp_server.h"

namespace {

namespace asio = boost::asio;
using namespace pipgate;

// Period of the info line with the counters. TODO(#3): [dns] stats_interval config key.
constexpr std::chrono::seconds kStatsInterval{60};

std::string join_endpoints(const std::vector<Endpoint>& eps) {
  std::vector<std::string> parts;
  for (const auto& ep : eps) parts.push_back(ep.to_string());
  return parts.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(parts, ", "));
}

asio::awaitable<void> report_stats(const dns::Responder& responder) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  dns::ResponderStats last{};
  for (;;) {
    timer.expires_after(kStatsInterval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    const dns::ResponderStats& s = responder.stats();
    if (s.queries == last.queries) continue;
    spdlog::info(
        "queries {} intercepted {} cache_hits {} forwarded {} servfail {} refused {} "
        "rate_limited {} malformed {} dropped {} cached_answers {}",
        s.queries, s.intercepted, s.cache_hits, s.forwarded, s.upstream_failures, s.refused,
        s.rate_limited, s.malformed, s.dropped, responder.cache().size());
    last = s;
  }
}

void reload(const Config& running, dns::Responder& responder) {
  if (running.source.empty() || running.source.front() == '(') {
    spdlog::info("SIGHUP: running on the embedded defaults; nothing to reload");
    return;
  }
  auto fresh = load_config_file(running.source, LoadOptions{}, HostFacts::probe());
  if (!fresh) {
    spdlog::error("SIGHUP: {}; keeping the running config", fresh.error().detail);
    return;
  }
  std::vector<std::string> applied;
  for (const auto& key : changed_keys(running, *fresh))
    if (is_reloadable(key) && (key.starts_with("[dns]") || key.starts_with("[appliance]")))
      applied.push_back(key);
  auto options = dns::ResponderOptions::from(*fresh);
  options.intercept = dns::ResponderOptions::from(running).intercept;
  responder.reconfigure(std::move(options));
  spdlog::set_level(spdlog::level::from_str(fresh->appliance.log_level));
  spdlog::info(
      "SIGHUP: reloaded {}; applied {}", running.source,
      applied.empty() ? std::string("nothing new") : fmt::format("{}", fmt::join(applied, ", ")));
}

// The counters, for `pipgate run`'s /metrics (another process): "name value" lines in
// <data_dir>/dns-stats, replaced atomically every few seconds when they changed.
asio::awaitable<void> publish_stats(const dns::Responder& responder, std::string path) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::string last;
  for (;;) {
    const dns::ResponderStats& s = responder.stats();
    auto text = fmt::format(
        "queries {}\nintercepted {}\ncached {}\nforwarded {}\nservfail {}\nrefused {}\n"
        "rate_limited {}\nmalformed {}\n",
        s.queries, s.intercepted, s.cache_hits, s.forwarded, s.upstream_failures, s.refused,
        s.rate_limited, s.malformed);
    if (text != last) {
      auto tmp = path + ".tmp";
      if (std::FILE* f = std::fopen(tmp.c_str(), "w")) {
        bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        ok = std::fclose(f) == 0 && ok;
        if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) last = text;
      }
    }
    timer.expires_after(std::chrono::seconds(5));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

int serve(const Config& cfg) {
  asio::io_context io(1);

  // Bind first, as root if need be; then nothing more needs privileges.
  auto udp = dns::UdpServer::bind(io, cfg.dns.listen);
  if (!udp) {
    spdlog::error("{}", udp.error().detail);
    return 1;
  }
  auto tcp = dns::TcpServer::bind(io, cfg.dns.listen, dns::TcpServerOptions::from(cfg));
  if (!tcp) {
    spdlog::error("{}", tcp.error().detail);
    return 1;
  }
  auto dropped = drop_privileges(cfg.appliance.user);
  if (!dropped) {
    spdlog::error("{}", dropped.error().detail);
    return 1;
  }
  switch (*dropped) {
    case PrivilegeDrop::kDropped:
      spdlog::info("running as user {}", cfg.appliance.user);
      break;
    case PrivilegeDrop::kNoSuchUser:
      spdlog::warn("running as root: [appliance] user \"{}\" does not exist", cfg.appliance.user);
      break;
    case PrivilegeDrop::kNotRoot:
      break;
  }

  SystemRandom random;  // upstream query IDs
  auto forwarder = dns::Forwarder::create(io, dns::ForwarderOptions::from(cfg), random);
  if (!forwarder) {
    spdlog::error("{}", forwarder.error().detail);
    return 1;
  }
  dns::Responder responder(dns::ResponderOptions::from(cfg));
  RealClock clock;
  (*udp)->start(responder, **forwarder, clock);
  (*tcp)->start(responder, **forwarder, clock);

  // SIGHUP (forwarded by `pipgate run`): re-read the same file and apply the [dns] keys that
  // change live; the names stay those the proxy has certificates for until a restart. `pipgate
  // run` reports the keys that need one.
  asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        reload(cfg, responder);
        wait_signal();
        return;
      }
      spdlog::info("stopping on signal {}", signo);
      (*udp)->stop();
      (*tcp)->stop();
      io.stop();
    });
  };
  wait_signal();
  asio::co_spawn(io, report_stats(responder), asio::detached);
  asio::co_spawn(io, publish_stats(responder, cfg.appliance.data_dir + "/dns-stats"),
                 asio::detached);

  if (cfg.dns.upstream.empty()) spdlog::warn("no [dns] upstream: other names get SERVFAIL");
  if (!cfg.appliance.address) spdlog::warn("no [appliance] address: A queries get NODATA");
  spdlog::info("pipgate-dns {} ready: listening on {} (udp, tcp), upstream {}, intercepting {}",
               PIPGATE_VERSION, join_endpoints((*udp)->local_endpoints()),
               join_endpoints(cfg.dns.upstream), fmt::join(cfg.dns.intercept, ", "));
  io.run();
  forwarder->reset();  // before the servers: pending upstream queries end silently
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pipgate-dns: the pipgate appliance's DNS responder (started by `pipgate run`)"};
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "TOML config file (the same as pipgate's); without it, the embedded defaults");
  app.set_version_flag("--version", std::string("pipgate-dns ") + PIPGATE_VERSION);
  CLI11_PARSE(app, argc, argv);

  const HostFacts host = HostFacts::probe();
  Result<Config> cfg = config_path.empty() ? default_config(LoadOptions{}, host)
                                           : load_config_file(config_path, LoadOptions{}, host);
  if (!cfg) {
    std::fprintf(stderr, "pipgate-dns: %s\n", cfg.error().detail.c_str());
    return 1;
  }
  if (auto logging = setup_logging("pipgate-dns", cfg->appliance.log_level); !logging) {
    std::fprintf(stderr, "pipgate-dns: %s\n", logging.error().detail.c_str());
    return 1;
  }
  try {
    return serve(*cfg);
  } catch (const std::exception& e) {  // a bug: say what, and exit non-zero for the supervisor
    spdlog::critical("pipgate-dns: {}", e.what());
    return 1;
  }
}
