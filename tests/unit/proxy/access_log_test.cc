// Per-project figures and the request counters behind /metrics: what they count, and that
// client-chosen names (project paths, refused authorities) cannot grow them without bound.
#include "proxy/access_log.h"

#include <gtest/gtest.h>

#include "common/metric_names.h"
#include "common/metrics.h"

namespace pipgate::proxy {
namespace {

TEST(ProjectStats, CountsHitsMissesAndSavedBytes) {
  ProjectStats stats;
  stats.record("numpy", true, 100);
  stats.record("numpy", false, 50);
  stats.record("requests", true, 7);
  auto top = stats.top(10);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].project, "numpy");
  EXPECT_EQ(top[0].hits, 1u);
  EXPECT_EQ(top[0].misses, 1u);
  EXPECT_EQ(top[0].bytes_served, 150u);
  EXPECT_EQ(top[0].bytes_saved, 100u);
  EXPECT_EQ(stats.top(1).size(), 1u);
}

TEST(ProjectStats, StaysBoundedWhateverNamesClientsSend) {
  ProjectStats stats;
  for (int i = 0; i < 25'000; ++i) stats.record("p" + std::to_string(i), false, 1);
  stats.record("p1", true, 1);  // a known name still counts as itself
  auto all = stats.top(1'000'000);
  EXPECT_LE(all.size(), 20'001u);
  auto other = std::find_if(all.begin(), all.end(),
                            [](const ProjectFigures& f) { return f.project == "(other)"; });
  ASSERT_NE(other, all.end());
  EXPECT_GE(other->misses, 5'000u);
  auto p1 = std::find_if(all.begin(), all.end(),
                         [](const ProjectFigures& f) { return f.project == "p1"; });
  ASSERT_NE(p1, all.end());
  EXPECT_EQ(p1->hits, 1u);
}

TEST(AccessLog, RefusedRequestsDoNotLabelTheirAuthority) {
  ConnectionInfo conn;
  Request req;
  req.method = "GET";
  req.path = "/";
  Response refused;
  refused.head.status = 421;
  for (int i = 0; i < 3; ++i) {
    req.authority = "evil" + std::to_string(i) + ".example";
    record_access({conn, req, refused, 0, true, std::chrono::milliseconds(1)});
  }
  EXPECT_EQ(metrics().counter_value(
                kHttpRequestsTotal,
                {{kLabelHost, "evil0.example"}, {kLabelStatus, "421"}, {kLabelCache, kCachePass}}),
            0u);
  EXPECT_EQ(metrics().counter_value(
                kHttpRequestsTotal,
                {{kLabelHost, "refused"}, {kLabelStatus, "421"}, {kLabelCache, kCachePass}}),
            3u);
  Response hit;
  hit.cache_status = "HIT";
  req.authority = "pypi.org:443";
  record_access({conn, req, hit, 10, true, std::chrono::milliseconds(1)});
  EXPECT_EQ(metrics().counter_value(
                kHttpRequestsTotal,
                {{kLabelHost, "pypi.org"}, {kLabelStatus, "200"}, {kLabelCache, kCacheHit}}),
            1u);
}

}  // namespace
}  // namespace pipgate::proxy
