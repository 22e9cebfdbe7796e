// Test-only executable: runs proxy::Server alone (no DNS child, no supervisor) from a config
// file, until SIGTERM or SIGINT. Integration scripts start it like `pipgate run` would start
// the proxy, and poll its listen address for readiness.
//
//   pipgate-proxy-test-server --config test.toml
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include "certs/authority.h"
#include "certs/leaf_store.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/random.h"
#include "proxy/server.h"

namespace asio = boost::asio;
using namespace pipgate;

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--config") {
    std::fprintf(stderr, "usage: %s --config FILE\n", argv[0]);
    return 2;
  }
  auto cfg = load_config_file(argv[2], LoadOptions{}, HostFacts::probe());
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().detail.c_str());
    return 1;
  }
  if (auto r = setup_logging("pipgate", cfg->appliance.log_level); !r) {
    std::fprintf(stderr, "%s\n", r.error().detail.c_str());
    return 1;
  }
  RealClock clock;
  SystemRandom random;
  auto ca =
      certs::Authority::load_or_create(cfg->ca_dir(), cfg->dns.intercept, "test", clock, random);
  if (!ca) {
    spdlog::critical("certs: {}", ca.error().detail);
    return 1;
  }
  certs::LeafStore leaves(*ca, cfg->certs_dir(), clock, random);
  if (auto r = leaves.ensure_all(); !r) {
    spdlog::critical("certs: {}", r.error().detail);
    return 1;
  }
  asio::io_context io(1);
  proxy::Server server(io, *cfg, leaves, clock);
  if (auto r = server.start(); !r) {
    spdlog::critical("proxy: {}", r.error().detail);
    return 1;
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await server.stop(std::chrono::seconds(5));
          io.stop();
        },
        asio::detached);
  });
  io.run();
  spdlog::info("proxy test server stopped");
  return 0;
}
