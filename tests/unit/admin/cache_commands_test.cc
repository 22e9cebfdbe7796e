// list_objects, purge_objects, verify_objects on a real store in a temp dir.
#include "admin/cache_commands.h"

#include <gtest/gtest.h>

#include "store/internal/keys.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::admin {
namespace {

using store::testing::pattern;

const std::string kWheel =
    "files.pythonhosted.org/packages/ab/cd/0123456789abcdef0123456789abcdef0123456789abcdef01234567"
    "89ab/numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl";

class CacheCommands : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    open();
    put(kWheel, pattern(10000, 1));
    put("pypi.org/simple/numpy/#v1+json", pattern(300, 2));
    put("pypi.org/simple/numpy/#html", pattern(200, 3));
    put("pypi.org/simple/requests/#html", pattern(100, 4));
  }
  std::vector<Progress> seen;
  ProgressFn record = [this](const Progress& p) { seen.push_back(p); };
  std::atomic<bool> stop{false};
};

TEST_F(CacheCommands, ListsMatchingObjectsInKeyOrder) {
  auto r = list_objects(*store, "*numpy*", 100, record, stop);
  PIPGATE_ASSERT_OK(r);
  EXPECT_EQ(r->pattern, "*numpy*");
  EXPECT_EQ(r->matched, 3u);
  EXPECT_EQ(r->bytes, 10500u);
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(r->objects.size(), 3u);
  EXPECT_EQ(r->objects[0].key, kWheel);
  EXPECT_EQ(r->objects[0].size, 10000u);
  EXPECT_EQ(r->objects[0].status, 200);
  EXPECT_EQ(r->objects[1].key, "pypi.org/simple/numpy/#html");
  EXPECT_EQ(r->objects[2].key, "pypi.org/simple/numpy/#v1+json");
  // A first report before scanning, then one per object.
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen.front(), (Progress{"ls", "scan", 0, 4, 0, 0}));
  EXPECT_EQ(seen.back(), (Progress{"ls", "scan", 4, 4, 0, 3}));
}

TEST_F(CacheCommands, ListCountsPastTheCap) {
  auto r = list_objects(*store, "*", 2, {}, stop);
  PIPGATE_ASSERT_OK(r);
  EXPECT_EQ(r->matched, 4u);
  EXPECT_EQ(r->objects.size(), 2u);
  EXPECT_TRUE(r->truncated);
  auto none = list_objects(*store, "*scipy*", 10, {}, stop);
  PIPGATE_ASSERT_OK(none);
  EXPECT_EQ(none->matched, 0u);
  EXPECT_TRUE(none->objects.empty());
}

TEST_F(CacheCommands, PurgeRemovesOnlyMatchesAndCountsBytes) {
  auto before = store->stats().charged_bytes;
  auto r = purge_objects(*store, std::string("*numpy*"), record, stop);
  PIPGATE_ASSERT_OK(r);
  EXPECT_EQ(*r, (PurgeResult{"*numpy*", false, 3, 3, 10500, true}));
  EXPECT_EQ(store->lookup(kWheel).error().code, Errc::kNotFound);
  EXPECT_TRUE(store->lookup("pypi.org/simple/requests/#html").has_value());
  EXPECT_EQ(store->stats().objects, 1u);
  EXPECT_LT(store->stats().charged_bytes, before);
  // Scan reports, then removal reports with bytes.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), (Progress{"purge", "purge", 3, 3, 10500, 3}));
  EXPECT_EQ(seen.front().phase, "scan");
}

TEST_F(CacheCommands, PurgeAllEmptiesTheStore) {
  auto r = purge_objects(*store, std::nullopt, {}, stop);
  PIPGATE_ASSERT_OK(r);
  EXPECT_TRUE(r->all);
  EXPECT_EQ(r->removed, 4u);
  EXPECT_EQ(r->bytes_freed, 10600u);
  EXPECT_EQ(store->stats().objects, 0u);
  auto again = purge_objects(*store, std::nullopt, {}, stop);
  PIPGATE_ASSERT_OK(again);
  EXPECT_EQ(again->matched, 0u);
}

TEST_F(CacheCommands, PurgeLeavesAKeyReplacedAfterTheScan) {
  // Replace the object from inside the scan's progress callback: the version scanned is gone.
  bool replaced = false;
  auto r = purge_objects(
      *store, std::string("pypi.org/simple/requests/*"),
      [&](const Progress& p) {
        if (p.phase == "purge" && p.done == 0 && !replaced) {
          replaced = true;
          put("pypi.org/simple/requests/#html", pattern(100, 9));
        }
      },
      stop);
  PIPGATE_ASSERT_OK(r);
  EXPECT_EQ(r->matched, 1u);
  EXPECT_EQ(r->removed, 0u);
  EXPECT_EQ(get("pypi.org/simple/requests/#html").value(), pattern(100, 9));
}

TEST_F(CacheCommands, StopEndsEarly) {
  auto r = purge_objects(
      *store, std::nullopt,
      [&](const Progress& p) {
        if (p.phase == "purge" && p.done == 1) stop = true;
      },
      stop);
  PIPGATE_ASSERT_OK(r);
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(r->removed, 1u);
  EXPECT_EQ(store->stats().objects, 3u);
}

TEST_F(CacheCommands, VerifyReportsAndRemovesCorruptObjects) {
  auto clean = verify_objects(*store, record, stop);
  PIPGATE_ASSERT_OK(clean);
  EXPECT_EQ(*clean, (VerifyResult{4, 4, 10600, {}, true}));
  EXPECT_EQ(seen.back(), (Progress{"verify", "verify", 4, 4, 10600, 0}));

  auto wheel = store->lookup(kWheel);
  PIPGATE_ASSERT_OK(wheel);
  with_raw_db([&](rocksdb::DB* db, auto& handles, const auto& names) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] != "chunks") continue;
      ASSERT_TRUE(
          db->Put({}, handles[i], store::internal::chunk_key(wheel->version, 0), pattern(4096, 8))
              .ok());
    }
  });
  open();
  auto bad = verify_objects(*store, {}, stop);
  PIPGATE_ASSERT_OK(bad);
  EXPECT_EQ(bad->corrupt, std::vector<std::string>{kWheel});
  EXPECT_EQ(bad->checked, 4u);
  EXPECT_EQ(store->lookup(kWheel).error().code, Errc::kNotFound);

  stop = true;
  auto stopped = verify_objects(*store, {}, stop);
  PIPGATE_ASSERT_OK(stopped);
  EXPECT_FALSE(stopped->complete);
  EXPECT_EQ(stopped->checked, 1u);
}

}  // namespace
}  // namespace pipgate::admin
