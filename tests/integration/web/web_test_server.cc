// Test-only executable: runs web::Server alone from a config file, with the CA the appliance
// would use (created in <data_dir>/ca on first start, as `pipgate run` does) and a fixed set of
// metrics, until SIGTERM or SIGINT. web_test.sh starts it and checks what it serves against
// `pipgate ca export`, the Prometheus parser and a headless browser.
//
//   pipgate-web-test-server --config test.toml
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "certs/authority.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/metric_names.h"
#include "common/metrics.h"
#include "common/random.h"
#include "web/live_figures.h"
#include "web/server.h"

namespace asio = boost::asio;
using namespace pipgate;

namespace {

// What the proxy would have counted after a few installs; web_test.sh asserts these numbers.
void register_metrics() {
  auto& m = metrics();
  auto requests = [&](const char* host, const char* status, const char* cache, std::uint64_t n) {
    m.counter(kHttpRequestsTotal, kHttpRequestsHelp,
              {{kLabelHost, host}, {kLabelStatus, status}, {kLabelCache, cache}})
        .inc(n);
  };
  requests("pypi.org", "200", kCacheHit, 30);
  requests("pypi.org", "200", kCacheMiss, 10);
  requests("files.pythonhosted.org", "200", kCacheHit, 50);
  requests("files.pythonhosted.org", "404", kCacheMiss, 2);
  requests("pypi.org", "200", kCachePass, 1);
  m.counter(kBytesServedTotal, kBytesServedHelp, {{kLabelSource, kSourceCache}}).inc(123456789);
  m.counter(kBytesServedTotal, kBytesServedHelp, {{kLabelSource, kSourceUpstream}}).inc(2345678);
  auto& latency = m.histogram(kUpstreamLatencySeconds, kUpstreamLatencyHelp,
                              {kLatencyBuckets.begin(), kLatencyBuckets.end()});
  for (double v : {0.02, 0.2, 0.2, 3.0}) latency.observe(v);
  m.gauge_fn(kStoreBytes, kStoreBytesHelp, [] { return 3.0 * (1ull << 30); });
  m.gauge(kStoreObjects, kStoreObjectsHelp).set(4321);
  m.gauge(kStoreBudgetBytes, kStoreBudgetBytesHelp).set(20ll << 30);
  m.counter(kStoreEvictionsTotal, kStoreEvictionsHelp).inc(7);
  m.counter(kCoalescedFollowersTotal, kCoalescedFollowersHelp).inc(5);
  m.counter(kIntegrityFailuresTotal, kIntegrityFailuresHelp).inc(1);
  // A label value that needs escaping in the text format.
  m.counter("pipgate_test_escaping_total", "Label escaping check.",
            {{"value", "back\\slash \"quoted\"\nnewline"}})
      .inc(2);
}

}  // namespace

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
  register_metrics();
  web::FiguresFn figures = [] {
    auto f = web::figures_from_metrics(metrics());
    f.upstream = web::UpstreamState::kReachable;
    f.upstream_detail = "last answer 2 s ago";
    f.top_projects = {{"numpy", 120}, {"requests", 80}, {"<b>not-bold</b>", 3}};
    return f;
  };
  asio::io_context io(1);
  web::Server server(io, *cfg, ca->certificate_pem(), figures);
  if (auto r = server.start(); !r) {
    spdlog::critical("web: {}", r.error().detail);
    return 1;
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.stop();
    io.stop();
  });
  io.run();
  spdlog::info("web test server stopped");
  return 0;
}
