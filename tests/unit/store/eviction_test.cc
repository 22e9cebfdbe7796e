// Byte budget: LRU order by batched access times, pinning, persisted accounting, disk reclaim.
#include <gtest/gtest.h>

#include <chrono>

#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

using std::chrono::seconds;

class Eviction : public StoreTest {
 protected:
  // Each object below charges 1000 body + 1 key + 128 overhead bytes.
  static constexpr std::uint64_t kCharge = 1129;

  void touch(const std::string& key) {
    clock.advance(seconds(1));
    auto r = store->open_reader(key);
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
  }
  bool has(const std::string& key) { return store->lookup(key).has_value(); }
};

TEST_F(Eviction, EvictsLeastRecentlyUsedFirst) {
  options.max_size_bytes = 5 * kCharge;
  open();
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    clock.advance(seconds(1));
    put(k, pattern(1000));
  }
  EXPECT_EQ(store->stats().charged_bytes, 5 * kCharge);
  touch("a");  // a is now the most recent; b the least
  touch("c");
  clock.advance(seconds(1));
  put("f", pattern(1000));  // over budget by one object: commit evicts
  struct Case {
    const char* key;
    bool kept;
  };
  const Case cases[] = {{"a", true}, {"b", false}, {"c", true},
                        {"d", true}, {"e", true},  {"f", true}};
  for (const auto& c : cases) EXPECT_EQ(has(c.key), c.kept) << c.key;
  put("g", pattern(1000));
  const Case after[] = {{"a", true}, {"c", true}, {"d", false}, {"e", true}, {"g", true}};
  for (const auto& c : after) EXPECT_EQ(has(c.key), c.kept) << c.key;
  EXPECT_EQ(store->stats().evicted_objects, 2u);
  EXPECT_LE(store->stats().charged_bytes, options.max_size_bytes);
}

TEST_F(Eviction, NeverEvictsWhatIsBeingRead) {
  options.max_size_bytes = 3 * kCharge;
  open();
  for (const char* k : {"a", "b", "c"}) put(k, pattern(1000));
  {
    auto reading = store->open_reader("a");
    PIPGATE_ASSERT_OK(reading);
    touch("b");
    touch("c");  // a is the least recently used, and pinned
    put("d", pattern(1000));
    EXPECT_TRUE(has("a"));
    EXPECT_FALSE(has("b"));
    EXPECT_EQ(read_all(*reading).value(), pattern(1000));
  }
  put("e", pattern(1000));
  EXPECT_FALSE(has("a")) << "unpinned: evictable again";
  EXPECT_TRUE(has("c"));
}

TEST_F(Eviction, ReaderOfALiveWritePinsItPastCommit) {
  options.max_size_bytes = 2 * kCharge;
  open();
  put("x", pattern(1000));
  clock.advance(seconds(1));
  auto w = store->begin("e", {});
  PIPGATE_ASSERT_OK(w);
  auto tail = w->open_reader();
  PIPGATE_ASSERT_OK(tail);
  PIPGATE_ASSERT_OK(w->append(pattern(1000, 5)));
  PIPGATE_ASSERT_OK(w->commit());
  clock.advance(seconds(1));
  put("f", pattern(1000));  // evicts x
  clock.advance(seconds(1));
  put("g", pattern(1000));  // e is least recent but pinned: evicts f
  EXPECT_FALSE(has("x"));
  EXPECT_TRUE(has("e"));
  EXPECT_FALSE(has("f"));
  EXPECT_EQ(read_all(*tail).value(), pattern(1000, 5));
  tail = make_error(Errc::kNotFound, "drop the reader");
  clock.advance(seconds(1));
  put("h", pattern(1000));
  EXPECT_FALSE(has("e"));
  EXPECT_TRUE(has("g"));
  EXPECT_TRUE(has("h"));
}

TEST_F(Eviction, AccessTimesAreWrittenInBatches) {
  options.access_batch_keys = 3;
  options.access_flush_interval = seconds(60);
  open();
  for (const char* k : {"a", "b", "c", "d"}) put(k, "x");
  const SystemTime created = clock.system_now();
  touch("a");
  touch("b");
  EXPECT_EQ(store->lookup("a")->last_access, created) << "still pending in memory";
  touch("c");  // third distinct key: the batch is written
  EXPECT_EQ(store->lookup("a")->last_access, created + seconds(1));
  EXPECT_EQ(store->lookup("c")->last_access, created + seconds(3));

  touch("d");
  clock.advance(seconds(61));
  touch("a");  // the oldest pending access is past the interval: written
  EXPECT_EQ(store->lookup("d")->last_access, created + seconds(4));

  touch("b");
  close();  // closing writes what is pending
  open();
  EXPECT_EQ(store->lookup("b")->last_access, clock.system_now());
}

TEST_F(Eviction, AccountingSurvivesRestart) {
  options.max_size_bytes = 4 * kCharge;
  open();
  for (const char* k : {"a", "b", "c", "d", "e", "f"}) {
    clock.advance(seconds(1));
    put(k, pattern(1000));
  }
  put("c", pattern(1000, 9));  // replace: same charge
  PIPGATE_ASSERT_OK(store->remove("d"));
  auto before = store->stats();
  EXPECT_EQ(before.objects, 3u);
  EXPECT_EQ(before.charged_bytes, 3 * kCharge);
  reopen();
  auto after = store->stats();
  EXPECT_EQ(after.objects, before.objects);
  EXPECT_EQ(after.charged_bytes, before.charged_bytes);
  std::uint64_t counted = 0, charged = 0;
  PIPGATE_ASSERT_OK(store->for_each([&](const ObjectMeta& m) {
    ++counted;
    charged += m.size_bytes + m.key.size() + 128;
    return true;
  }));
  EXPECT_EQ(counted, after.objects);
  EXPECT_EQ(charged, after.charged_bytes);
}

TEST_F(Eviction, ReclaimsDiskSpace) {
  options.chunk_size_bytes = 64 << 10;
  options.max_size_bytes = 64 << 20;
  open();
  constexpr int kObjects = 16;
  for (int i = 0; i < kObjects; ++i) {
    clock.advance(seconds(1));
    put("o" + std::to_string(i), pattern(1 << 20, i));
  }
  PIPGATE_ASSERT_OK(store->compact());
  const std::uint64_t full = dir_bytes(options.path, ".blob");
  EXPECT_GE(full, kObjects * (1u << 20));

  close();
  options.max_size_bytes = 4 << 20;  // lowered budget: the next eviction keeps the newest ~3
  open();
  auto report = store->evict();
  PIPGATE_ASSERT_OK(report);
  EXPECT_EQ(report->objects, kObjects - 3u);
  PIPGATE_ASSERT_OK(store->compact());
  const std::uint64_t after = dir_bytes(options.path, ".blob");
  std::printf("blob bytes: %llu before eviction, %llu after\n",
              static_cast<unsigned long long>(full), static_cast<unsigned long long>(after));
  EXPECT_LE(after, 6u << 20);
  EXPECT_EQ(store->stats().blob_bytes, after);
  for (int i = kObjects - 3; i < kObjects; ++i) {
    EXPECT_EQ(get("o" + std::to_string(i)).value(), pattern(1 << 20, i));
  }
}

}  // namespace
}  // namespace pipgate::store::testing
