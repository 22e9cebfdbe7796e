// Write path and committed reads: commit, abort, replace, checks at commit, ranges at chunk
// edges, persistence across reopen, format version.
#include "store/store.h"

#include <gtest/gtest.h>

#include "store/internal/keys.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

using StoreWrite = StoreTest;

TEST_F(StoreWrite, CommitMakesObjectVisibleWithItsMeta) {
  open();
  ResponseHead head{200, {{"content-type", "text/html"}, {"etag", "\"1\""}}};
  auto w = store->begin("pypi.org/simple/numpy/|html", head);
  PIPGATE_ASSERT_OK(w);
  const std::string body = pattern(10000);
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(0, 3000)));
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(3000)));
  EXPECT_EQ(store->lookup("pypi.org/simple/numpy/|html").error().code, Errc::kNotFound)
      << "invisible before commit";
  auto meta = w->commit({.size_bytes = body.size(), .digest = Blake2b256::of(body)});
  PIPGATE_ASSERT_OK(meta);

  auto got = store->lookup("pypi.org/simple/numpy/|html");
  PIPGATE_ASSERT_OK(got);
  EXPECT_EQ(got->head, head);
  EXPECT_EQ(got->size_bytes, body.size());
  EXPECT_EQ(got->digest, Blake2b256::of(body));
  EXPECT_EQ(got->created, clock.system_now());
  EXPECT_EQ(got->version, meta->version);
  EXPECT_EQ(get("pypi.org/simple/numpy/|html").value(), body);
  EXPECT_EQ(store->stats().objects, 1u);
}

TEST_F(StoreWrite, EmptyAndExactChunkMultipleBodies) {
  open();
  const std::size_t sizes[] = {0, 1, 4095, 4096, 4097, 8192, 3 * 4096 + 17};
  for (std::size_t n : sizes) {
    SCOPED_TRACE(n);
    std::string key = "k" + std::to_string(n);
    put(key, pattern(n, static_cast<unsigned>(n)));
    auto got = get(key);
    PIPGATE_ASSERT_OK(got);
    EXPECT_EQ(*got, pattern(n, static_cast<unsigned>(n)));
  }
}

TEST_F(StoreWrite, AbortDiscardsAndReadersNeverSeeIt) {
  open();
  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  PIPGATE_ASSERT_OK(w->append(pattern(9000)));
  w->abort();
  EXPECT_EQ(store->lookup("k").error().code, Errc::kNotFound);
  EXPECT_EQ(store->stats().aborts, 1u);
  EXPECT_EQ(w->append(std::string_view("x")).error().code, Errc::kInternal);
  // A new write of the same key may start once the old one ended.
  put("k", "fresh");
  EXPECT_EQ(get("k").value(), "fresh");
}

TEST_F(StoreWrite, DroppedWriterAborts) {
  open();
  {
    auto w = store->begin("k", {});
    PIPGATE_ASSERT_OK(w);
    PIPGATE_ASSERT_OK(w->append(pattern(5000)));
  }
  EXPECT_EQ(store->lookup("k").error().code, Errc::kNotFound);
  EXPECT_EQ(store->stats().live_writes, 0u);
}

TEST_F(StoreWrite, CommitChecksSizeAndDigest) {
  open();
  const std::string body = pattern(5000);
  struct Case {
    const char* name;
    CommitCheck check;
    bool want_ok;
  };
  const Case cases[] = {
      {"no check", {}, true},
      {"right size and digest", {body.size(), Blake2b256::of(body)}, true},
      {"short", {body.size() + 1, std::nullopt}, false},
      {"long", {body.size() - 1, std::nullopt}, false},
      {"wrong digest", {std::nullopt, Blake2b256::of("other")}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string key = std::string("k/") + c.name;
    auto w = store->begin(key, {});
    PIPGATE_ASSERT_OK(w);
    auto joined = w->open_reader();
    PIPGATE_ASSERT_OK(joined);
    PIPGATE_ASSERT_OK(w->append(body));
    auto m = w->commit(c.check);
    EXPECT_EQ(m.has_value(), c.want_ok);
    if (c.want_ok) {
      EXPECT_EQ(read_all(*joined).value(), body);
      EXPECT_EQ(get(key).value(), body);
    } else {
      EXPECT_EQ(m.error().code, Errc::kCorrupt);
      EXPECT_EQ(store->lookup(key).error().code, Errc::kNotFound);
      auto r = read_all(*joined);
      ASSERT_FALSE(r.has_value()) << "a joined reader must never see a failed fill as success";
      EXPECT_EQ(r.error().code, Errc::kCorrupt);
    }
  }
}

TEST_F(StoreWrite, ReplaceIsAtomicAndOldReadersKeepTheirVersion) {
  open();
  const std::string v1 = pattern(20000, 1), v2 = pattern(7000, 2);
  auto m1 = put("k", v1);
  auto old_reader = store->open_reader("k");
  PIPGATE_ASSERT_OK(old_reader);

  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  PIPGATE_ASSERT_OK(w->append(v2));
  EXPECT_EQ(get("k").value(), v1) << "the old version stays visible until commit";
  auto m2 = w->commit();
  PIPGATE_ASSERT_OK(m2);
  EXPECT_NE(m2->version, m1.version);
  EXPECT_EQ(get("k").value(), v2);
  EXPECT_EQ(read_all(*old_reader).value(), v1) << "pinned: replaced but not deleted";
  EXPECT_EQ(store->stats().objects, 1u);
  EXPECT_EQ(store->stats().charged_bytes, store->lookup("k")->size_bytes + 1 + 128);
}

TEST_F(StoreWrite, SecondConcurrentWriteOfAKeyIsRefused) {
  open();
  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  auto again = store->begin("k", {});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Errc::kInternal);
}

TEST_F(StoreWrite, OverBudgetIsNoSpace) {
  options.max_size_bytes = 10000;
  open();
  auto w = store->begin("big", {}, 20000);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code, Errc::kNoSpace);

  auto unknown_size = store->begin("big", {});
  PIPGATE_ASSERT_OK(unknown_size);
  auto r = unknown_size->append(pattern(20000));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kNoSpace);
  EXPECT_EQ(store->lookup("big").error().code, Errc::kNotFound);
}

TEST_F(StoreWrite, RangeReadsAtChunkEdges) {
  open();
  const std::string body = pattern(3 * 4096 + 100);
  put("k", body);
  struct Case {
    std::uint64_t offset;
    std::optional<std::uint64_t> length;
  };
  const Case cases[] = {
      {0, std::nullopt}, {0, 1},       {0, 4096},         {4095, 2},
      {4096, 4096},      {4096, 1},    {4095, 4098},      {8191, 1},
      {12287, 1},        {12288, 100}, {12288, 1000},     {12387, 1},
      {12388, 5},        {100, 0},     {100, UINT64_MAX}, {5000, std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.offset << "+" << c.length.value_or(-1));
    auto r = store->open_reader("k", {c.offset, c.length});
    PIPGATE_ASSERT_OK(r);
    std::size_t want_len = c.length ? std::min<std::uint64_t>(*c.length, body.size() - c.offset)
                                    : body.size() - c.offset;
    // Buffers of 1, 7 and 5000 bytes: reads that stop inside, at and across chunk edges.
    for (std::size_t buffer : {1u, 7u, 5000u}) {
      auto rr = store->open_reader("k", {c.offset, c.length});
      PIPGATE_ASSERT_OK(rr);
      auto got = read_all(*rr, buffer);
      PIPGATE_ASSERT_OK(got);
      EXPECT_EQ(*got, body.substr(c.offset, want_len)) << "buffer " << buffer;
      EXPECT_TRUE(rr->is_done());
    }
  }
  auto past = store->open_reader("k", {body.size() + 1, std::nullopt});
  ASSERT_FALSE(past.has_value());
  EXPECT_EQ(past.error().code, Errc::kInvalidInput);
}

TEST_F(StoreWrite, SurvivesReopen) {
  open();
  put("a", pattern(9000, 1), {200, {{"etag", "\"a\""}}});
  put("b", pattern(10, 2));
  auto before = store->stats();
  reopen();
  EXPECT_EQ(get("a").value(), pattern(9000, 1));
  EXPECT_EQ(get("b").value(), pattern(10, 2));
  EXPECT_EQ(store->lookup("a")->head.headers[0].second, "\"a\"");
  EXPECT_EQ(store->stats().charged_bytes, before.charged_bytes);
  EXPECT_EQ(store->stats().objects, 2u);
  // Versions keep increasing across restarts.
  auto m = put("c", "x");
  EXPECT_GT(m.version, store->lookup("b")->version);
}

TEST_F(StoreWrite, UpdateHeadAndRemove) {
  open();
  auto m = put("k", "body", {200, {{"etag", "\"1\""}}});
  clock.advance(std::chrono::seconds(30));
  auto u = store->update_head("k", m.version, {200, {{"etag", "\"1\""}, {"age", "0"}}});
  PIPGATE_ASSERT_OK(u);
  EXPECT_EQ(u->validated, clock.system_now());
  EXPECT_EQ(store->lookup("k")->head.headers.size(), 2u);
  EXPECT_EQ(store->update_head("k", m.version + 100, {}).error().code, Errc::kNotFound);

  EXPECT_EQ(store->remove("k", m.version + 100).error().code, Errc::kNotFound);
  PIPGATE_ASSERT_OK(store->remove("k", m.version));
  EXPECT_EQ(store->lookup("k").error().code, Errc::kNotFound);
  EXPECT_EQ(store->stats().objects, 0u);
  EXPECT_EQ(store->stats().charged_bytes, 0u);
}

TEST_F(StoreWrite, ForEachVisitsCommittedObjects) {
  open();
  put("a", "1");
  put("b", "22");
  auto w = store->begin("c", {});  // in progress: not visited
  PIPGATE_ASSERT_OK(w);
  std::vector<std::string> keys;
  PIPGATE_ASSERT_OK(store->for_each([&](const ObjectMeta& m) {
    keys.push_back(m.key);
    return true;
  }));
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
}

TEST_F(StoreWrite, RefusesAnotherFormatVersion) {
  open();
  put("a", "1");
  with_raw_db([](rocksdb::DB* db, auto& handles, const auto& names) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "state") {
        ASSERT_TRUE(db->Put({}, handles[i], "format_version", internal::u64_value(2)).ok());
      }
    }
  });
  auto s = Store::open(options, clock);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::kConfig);
  EXPECT_NE(s.error().detail.find("format 2"), std::string::npos) << s.error().detail;
}

}  // namespace
}  // namespace pipgate::store::testing
