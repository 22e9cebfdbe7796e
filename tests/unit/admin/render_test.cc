// The human output: sizes, durations, aligned tables and each command's text.
#include "admin/render.h"

#include <gtest/gtest.h>

namespace pipgate::admin {
namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HumanSize, BinaryUnitsWithThreeSignificantDigits) {
  struct Case {
    std::uint64_t bytes;
    const char* want;
  };
  const Case cases[] = {{0, "0 B"},
                        {1023, "1023 B"},
                        {1024, "1.0 KiB"},
                        {1536, "1.5 KiB"},
                        {12'900'000, "12.3 MiB"},
                        {123ull << 20, "123 MiB"},
                        {1288490188, "1.2 GiB"},
                        {20ull << 30, "20.0 GiB"},
                        {1023ull << 30, "1023 GiB"},
                        {5ull << 40, "5.0 TiB"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bytes);
    EXPECT_EQ(human_size(c.bytes), c.want);
  }
}

TEST(HumanDuration, TwoUnitsAtMost) {
  using std::chrono::seconds;
  EXPECT_EQ(human_duration(seconds(0)), "0s");
  EXPECT_EQ(human_duration(seconds(-5)), "0s");
  EXPECT_EQ(human_duration(seconds(59)), "59s");
  EXPECT_EQ(human_duration(seconds(725)), "12m 5s");
  EXPECT_EQ(human_duration(seconds(3 * 3600 + 4 * 60 + 9)), "3h 4m");
  EXPECT_EQ(human_duration(seconds(2 * 86400 + 3 * 3600)), "2d 3h");
}

TEST(RenderTable, PadsColumnsAndAlignsNumbersRight) {
  auto t = render_table({"NAME", "SIZE", "KEY"},
                        {{"a", "1.0 KiB", "k1"}, {"long name", "5 B", "k2"}}, {false, true, false});
  EXPECT_EQ(t,
            "NAME          SIZE  KEY\n"
            "a          1.0 KiB  k1\n"
            "long name      5 B  k2\n");
}

TEST(RenderStatus, ShowsEveryFigure) {
  StatusResult r;
  r.version = "0.1.0";
  r.pid = 4242;
  r.started_at = 1714557600;  // 2024-05-01 10:00:00 UTC
  r.uptime_seconds = 3725;
  r.data_dir = "/var/lib/pipgate";
  r.cache = {1288490188, 20ull << 30, 1234};
  r.traffic = {1024, 0.875, 3ull << 30, 512ull << 20};
  r.upstream = {"reachable", 1714561300, std::nullopt, ""};
  r.children = {{"pipgate-dns", 4243, true, 1, "killed by signal 9"}};
  auto text = render_status(r, 1714561325);
  SCOPED_TRACE(text);
  EXPECT_TRUE(has(text, "pipgate 0.1.0, pid 4242, up 1h 2m (since 2024-05-01 10:00:00 UTC)"));
  EXPECT_TRUE(has(text, "cache:      1.2 GiB of 20.0 GiB (6%), 1234 objects"));
  EXPECT_TRUE(has(text, "hit ratio:  87.5% of 1024 cacheable requests"));
  EXPECT_TRUE(has(text, "upstream:   reachable (last answer 25s ago)"));
  EXPECT_TRUE(has(text, "  NAME          PID  STATE    RESTARTS  LAST EXIT\n"));
  EXPECT_TRUE(has(text, "  pipgate-dns  4243  running         1  killed by signal 9\n"));

  r.upstream = {"unreachable", std::nullopt, 1714561300, "connect to 151.101.0.223:443: timeout"};
  r.traffic.lookups = 0;
  r.children.clear();
  text = render_status(r, 1714561325);
  EXPECT_TRUE(has(text,
                  "UNREACHABLE since 25s ago: connect to 151.101.0.223:443: timeout "
                  "(last answer: never)"));
  EXPECT_TRUE(has(text, "hit ratio:  - (no cacheable request since start)"));
  EXPECT_TRUE(has(text, "children:   none"));
}

TEST(RenderCommands, StatsListPurgeVerify) {
  auto stats = render_stats({1714557600, {{"numpy", 12, 1, 300 << 20, 280 << 20}}});
  SCOPED_TRACE(stats);
  EXPECT_TRUE(has(stats, "PROJECT  REQUESTS  HITS  MISSES  HIT%   SERVED    SAVED\n"));
  EXPECT_TRUE(has(stats, "numpy          13    12       1   92%  300 MiB  280 MiB\n"));
  EXPECT_TRUE(has(render_stats({1714557600, {}}), "no cacheable requests since 2024-05-01"));

  auto ls = render_list({"*numpy*",
                         2,
                         3072,
                         false,
                         {{"pypi.org/simple/numpy/#v1+json", 2048, 200, 1714557600, 1714557660},
                          {"pypi.org/simple/numpy/#html", 1024, 200, 1714557600, 1714557600}}});
  SCOPED_TRACE(ls);
  EXPECT_TRUE(has(ls, "   SIZE  STATUS  CREATED           LAST ACCESS       KEY\n"));
  EXPECT_TRUE(has(ls,
                  "2.0 KiB     200  2024-05-01 10:00  2024-05-01 10:01  "
                  "pypi.org/simple/numpy/#v1+json\n"));
  EXPECT_TRUE(has(ls, "2 objects, 3.0 KiB\n"));
  EXPECT_EQ(render_list({"*nothing*", 0, 0, false, {}}), "no object matches *nothing*\n");
  EXPECT_TRUE(has(render_list({"*", 5, 5, true, {{"k", 1, 200, 0, 0}}}), "(the first 1 listed)"));

  EXPECT_EQ(render_purge({"*numpy*", false, 3, 3, 3 << 20, true}),
            "removed 3 of 3 matching objects (*numpy*), 3.0 MiB freed\n");
  EXPECT_TRUE(has(render_purge({"", true, 3, 2, 10, true}), "1 were replaced or evicted"));
  EXPECT_TRUE(has(render_purge({"", true, 3, 1, 10, false}), "stopped early"));

  EXPECT_EQ(render_verify({4, 4, 2048, {}, true}), "checked 4 objects (2.0 KiB): 0 corrupt\n");
  auto bad = render_verify({4, 4, 2048, {"k1"}, true});
  EXPECT_TRUE(has(bad, "1 corrupt\nremoved (the next request fetches them again):\n  k1\n"));
}

TEST(RenderProgress, OneLinePerOperation) {
  EXPECT_EQ(render_progress({"verify", "verify", 120, 450, 1288490188, 0}),
            "verify: 120/450 objects (27%), 1.2 GiB re-hashed, 0 corrupt");
  EXPECT_EQ(render_progress({"purge", "scan", 10, 0, 0, 3}), "purge: scanned 10 objects, 3 match");
  EXPECT_EQ(render_progress({"purge", "purge", 1, 3, 2048, 3}),
            "purge: removed 1/3 objects (33%), 2.0 KiB");
  EXPECT_EQ(render_progress({"ls", "scan", 12, 10, 0, 1}),
            "ls: scanned 12 objects (100%), 1 match");
}

}  // namespace
}  // namespace pipgate::admin
