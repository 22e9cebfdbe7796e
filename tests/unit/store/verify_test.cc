// verify(): re-hash every object, report and delete those that differ from their commit.
#include <gtest/gtest.h>

#include "store/internal/keys.h"
#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

using Verify = StoreTest;

// Applies `damage` to the store's raw database (column family name → handle).
void damage_db(StoreTest& t,
               const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle* meta,
                                        rocksdb::ColumnFamilyHandle* chunks)>& damage) {
  t.with_raw_db([&](rocksdb::DB* db, auto& handles, const auto& names) {
    rocksdb::ColumnFamilyHandle *meta = nullptr, *chunks = nullptr;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "meta") meta = handles[i];
      if (names[i] == "chunks") chunks = handles[i];
    }
    damage(db, meta, chunks);
  });
}

TEST_F(Verify, IntactStoreHasNothingToReport) {
  open();
  for (int i = 0; i < 5; ++i) put("k" + std::to_string(i), pattern(3000 * i, i));
  auto report = store->verify();
  PIPGATE_ASSERT_OK(report);
  EXPECT_EQ(report->checked, 5u);
  EXPECT_TRUE(report->corrupt.empty());
}

TEST_F(Verify, ReportsAndDeletesDamagedObjects) {
  open();
  auto flipped = put("flipped", pattern(10000, 1));
  auto missing = put("missing", pattern(10000, 2));
  auto truncated = put("truncated", pattern(10000, 3));
  put("intact", pattern(10000, 4));
  damage_db(*this, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                       rocksdb::ColumnFamilyHandle* chunks) {
    std::string same_size = pattern(4096, 99);
    ASSERT_TRUE(db->Put({}, chunks, internal::chunk_key(flipped.version, 1), same_size).ok());
    ASSERT_TRUE(db->Delete({}, chunks, internal::chunk_key(missing.version, 2)).ok());
    ASSERT_TRUE(db->Put({}, chunks, internal::chunk_key(truncated.version, 0), "short").ok());
    ASSERT_TRUE(db->Put({}, meta, "garbage", "\x01\x02").ok());
  });
  open();
  // A reader notices a mis-sized chunk by itself.
  auto r = get("truncated");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kCorrupt);

  auto report = store->verify();
  PIPGATE_ASSERT_OK(report);
  EXPECT_EQ(report->checked, 5u);
  std::sort(report->corrupt.begin(), report->corrupt.end());
  EXPECT_EQ(report->corrupt,
            (std::vector<std::string>{"flipped", "garbage", "missing", "truncated"}));
  for (const char* k : {"flipped", "missing", "truncated", "garbage"}) {
    EXPECT_EQ(store->lookup(k).error().code, Errc::kNotFound) << k;
  }
  EXPECT_EQ(get("intact").value(), pattern(10000, 4));
  EXPECT_EQ(store->stats().objects, 1u);
  auto again = store->verify();
  PIPGATE_ASSERT_OK(again);
  EXPECT_TRUE(again->corrupt.empty());
}

TEST_F(Verify, ReportsProgressAfterEachObject) {
  open();
  std::uint64_t sizes = 0;
  for (int i = 0; i < 4; ++i)
    sizes += put("k" + std::to_string(i), pattern(5000 + i, i)).size_bytes;
  std::vector<VerifyProgress> seen;
  auto report = store->verify([&](const VerifyProgress& p) {
    seen.push_back(p);
    return true;
  });
  PIPGATE_ASSERT_OK(report);
  EXPECT_EQ(report->checked, 4u);
  ASSERT_EQ(seen.size(), 4u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(seen[i].checked, i + 1);
    EXPECT_EQ(seen[i].total, 4u);
    EXPECT_EQ(seen[i].corrupt, 0u);
    if (i > 0) {
      EXPECT_GT(seen[i].bytes, seen[i - 1].bytes);
    }
  }
  EXPECT_EQ(seen.back().bytes, sizes);
}

TEST_F(Verify, ProgressCountsCorruptObjects) {
  open();
  auto bad = put("a-bad", pattern(10000, 1));
  put("b-good", pattern(10000, 2));
  damage_db(*this, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle*,
                       rocksdb::ColumnFamilyHandle* chunks) {
    ASSERT_TRUE(db->Put({}, chunks, internal::chunk_key(bad.version, 0), pattern(4096, 7)).ok());
  });
  open();
  std::vector<VerifyProgress> seen;
  auto report = store->verify([&](const VerifyProgress& p) {
    seen.push_back(p);
    return true;
  });
  PIPGATE_ASSERT_OK(report);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].corrupt, 1u);  // keys in order: a-bad first
  EXPECT_EQ(seen[1].corrupt, 1u);
  EXPECT_EQ(report->corrupt, std::vector<std::string>{"a-bad"});
}

TEST_F(Verify, StopsWhenProgressSaysSo) {
  open();
  for (int i = 0; i < 6; ++i) put("k" + std::to_string(i), pattern(3000, i));
  auto report = store->verify([](const VerifyProgress& p) { return p.checked < 2; });
  PIPGATE_ASSERT_OK(report);
  EXPECT_EQ(report->checked, 2u);
  EXPECT_TRUE(report->corrupt.empty());
  EXPECT_EQ(store->stats().objects, 6u);  // stopping deletes nothing
  auto all = store->verify();             // the old overload: no progress, runs to the end
  PIPGATE_ASSERT_OK(all);
  EXPECT_EQ(all->checked, 6u);
}

}  // namespace
}  // namespace pipgate::store::testing
