#include "common/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/metric_names.h"

namespace pipgate {
namespace {

TEST(MetricsRegistry, SameNameAndLabelsGiveTheSameObject) {
  MetricsRegistry r;
  Counter& a = r.counter("x_total", "X.", {{"b", "2"}, {"a", "1"}});
  Counter& b = r.counter("x_total", "other help is ignored", {{"a", "1"}, {"b", "2"}});
  Counter& c = r.counter("x_total", "X.", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(&r.gauge("g", "G."), &r.gauge("g", "G."));
  std::vector<double> buckets = {1, 2};
  EXPECT_EQ(&r.histogram("h", "H.", buckets), &r.histogram("h", "H.", buckets));
}

TEST(MetricsRegistry, RendersTextFormatSortedWithOneHelpAndTypePerFamily) {
  MetricsRegistry r;
  r.counter("b_requests_total", "Requests.", {{"status", "200"}, {"host", "pypi.org"}}).inc(3);
  r.counter("b_requests_total", "Requests.",
            {{"host", "files.pythonhosted.org"}, {"status", "404"}})
      .inc();
  r.gauge("a_open", "Open things.").set(-2);
  r.gauge_fn("c_store_bytes", "Bytes.", [] { return 1.5; });
  auto& h = r.histogram("d_latency_seconds", "Latency.", {0.125, 1}, {{"host", "pypi.org"}});
  h.observe(0.0625);
  h.observe(0.125);  // le is inclusive
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP a_open Open things.\n"
            "# TYPE a_open gauge\n"
            "a_open -2\n"
            "# HELP b_requests_total Requests.\n"
            "# TYPE b_requests_total counter\n"
            "b_requests_total{host=\"files.pythonhosted.org\",status=\"404\"} 1\n"
            "b_requests_total{host=\"pypi.org\",status=\"200\"} 3\n"
            "# HELP c_store_bytes Bytes.\n"
            "# TYPE c_store_bytes gauge\n"
            "c_store_bytes 1.5\n"
            "# HELP d_latency_seconds Latency.\n"
            "# TYPE d_latency_seconds histogram\n"
            "d_latency_seconds_bucket{host=\"pypi.org\",le=\"0.125\"} 2\n"
            "d_latency_seconds_bucket{host=\"pypi.org\",le=\"1\"} 3\n"
            "d_latency_seconds_bucket{host=\"pypi.org\",le=\"+Inf\"} 4\n"
            "d_latency_seconds_sum{host=\"pypi.org\"} 7.6875\n"
            "d_latency_seconds_count{host=\"pypi.org\"} 4\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.counter("x_total", "Line one\nback\\slash \"quoted\"", {{"path", "a\\b\"c\nd"}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP x_total Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistry, SpecialFloatValues) {
  MetricsRegistry r;
  r.gauge_fn("nan", "n", [] { return std::numeric_limits<double>::quiet_NaN(); });
  r.gauge_fn("pinf", "p", [] { return std::numeric_limits<double>::infinity(); });
  r.gauge_fn("ninf", "m", [] { return -std::numeric_limits<double>::infinity(); });
  auto text = r.render();
  EXPECT_NE(text.find("\nnan NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npinf +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nninf -Inf\n"), std::string::npos) << text;
}

TEST(MetricsRegistry, LookupsForThePage) {
  MetricsRegistry r;
  r.counter(kHttpRequestsTotal, kHttpRequestsHelp,
            {{kLabelHost, "pypi.org"}, {kLabelStatus, "200"}, {kLabelCache, kCacheHit}})
      .inc(5);
  r.counter(
       kHttpRequestsTotal, kHttpRequestsHelp,
       {{kLabelHost, "files.pythonhosted.org"}, {kLabelStatus, "200"}, {kLabelCache, kCacheHit}})
      .inc(2);
  r.counter(kHttpRequestsTotal, kHttpRequestsHelp,
            {{kLabelHost, "pypi.org"}, {kLabelStatus, "200"}, {kLabelCache, kCacheMiss}})
      .inc(1);
  EXPECT_EQ(
      r.counter_value(kHttpRequestsTotal,
                      {{kLabelCache, kCacheHit}, {kLabelStatus, "200"}, {kLabelHost, "pypi.org"}}),
      5u);
  EXPECT_EQ(r.counter_value(kHttpRequestsTotal, {{kLabelCache, kCacheHit}}), 0u);  // not a series
  EXPECT_EQ(r.counter_value("absent_total"), 0u);
  EXPECT_EQ(r.counter_sum(kHttpRequestsTotal, {{kLabelCache, kCacheHit}}), 7u);
  EXPECT_EQ(r.counter_sum(kHttpRequestsTotal, {{kLabelHost, "pypi.org"}}), 6u);
  EXPECT_EQ(r.counter_sum(kHttpRequestsTotal), 8u);
  EXPECT_EQ(r.counter_sum(kHttpRequestsTotal, {{kLabelCache, "nope"}}), 0u);

  r.gauge(kStoreObjects, kStoreObjectsHelp).set(12);
  r.gauge_fn(kStoreBytes, kStoreBytesHelp, [] { return 4096.0; });
  EXPECT_EQ(r.gauge_value(kStoreObjects), 12.0);
  EXPECT_EQ(r.gauge_value(kStoreBytes), 4096.0);
  EXPECT_EQ(r.gauge_value("absent"), 0.0);
}

TEST(MetricsRegistry, ComputedGaugesCanBeReplacedAndRemoved) {
  MetricsRegistry r;
  r.gauge_fn("g", "G.", [] { return 1.0; }, {{"k", "v"}});
  r.gauge_fn("g", "G.", [] { return 2.0; }, {{"k", "v"}});
  EXPECT_EQ(r.gauge_value("g", {{"k", "v"}}), 2.0);
  // A computed gauge may read the registry: render() runs it without holding the lock.
  r.gauge_fn("h", "H.", [&r] { return r.gauge_value("g", {{"k", "v"}}) + 1; });
  EXPECT_NE(r.render().find("\nh 3\n"), std::string::npos);
  r.remove_gauge_fn("g", {{"k", "v"}});
  r.remove_gauge_fn("h");
  EXPECT_EQ(r.render(), "");
}

TEST(MetricsRegistry, MisuseIsABug) {
  MetricsRegistry r;
  r.counter("x_total", "X.");
  EXPECT_THROW(r.gauge("x_total", "X."), std::logic_error);
  EXPECT_THROW(r.counter("bad-name", "X."), std::logic_error);
  EXPECT_THROW(r.counter("", "X."), std::logic_error);
  EXPECT_THROW(r.counter("y_total", "Y.", {{"bad label", "v"}}), std::logic_error);
  EXPECT_THROW(r.counter("y_total", "Y.", {{"__reserved", "v"}}), std::logic_error);
  EXPECT_THROW(r.counter("y_total", "Y.", {{"a", "1"}, {"a", "2"}}), std::logic_error);
  EXPECT_THROW(r.histogram("h", "H.", {1, 1}), std::logic_error);
  EXPECT_THROW(r.histogram("h", "H.", {1, 2}, {{"le", "x"}}), std::logic_error);
  r.histogram("h2", "H.", {1, 2});
  EXPECT_THROW(r.histogram("h2", "H.", {1, 3}, {{"a", "b"}}), std::logic_error);
  r.gauge("plain", "P.");
  EXPECT_THROW(r.gauge_fn("plain", "P.", [] { return 0.0; }), std::logic_error);
}

TEST(MetricsRegistry, ConcurrentUpdatesRegistrationAndScrapes) {
  MetricsRegistry r;
  Counter& shared = r.counter("shared_total", "S.");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& h = r.histogram("lat_seconds", "L.", {0.5, 1});
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        h.observe(i % 2 ? 0.25 : 0.75);
        // New series appear while others update and scrape.
        if (i % 1000 == 0)
          r.counter("per_thread_total", "P.", {{"t", std::to_string(t)}, {"i", std::to_string(i)}})
              .inc();
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 50; ++i) {
      auto text = r.render();
      ASSERT_NE(text.find("# TYPE shared_total counter"), std::string::npos);
    }
  });
  for (auto& t : threads) t.join();
  scraper.join();
  EXPECT_EQ(shared.value(), std::uint64_t{kThreads} * kPerThread);
  auto& h = r.histogram("lat_seconds", "L.", {0.5, 1});
  EXPECT_EQ(h.count(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.cumulative_count(0), std::uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(r.counter_sum("per_thread_total"), std::uint64_t{kThreads} * (kPerThread / 1000));
}

TEST(MetricsRegistry, ProcessRegistryIsOne) { EXPECT_EQ(&metrics(), &metrics()); }

}  // namespace
}  // namespace pipgate
