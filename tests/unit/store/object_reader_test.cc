// Live readers of a write in progress (the coalescing case): woken by the writer, many at once,
// slow ones never holding it back, errors on abort.
#include "store/object_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

using LiveReader = StoreTest;

TEST_F(LiveReader, SeesWholeChunksBeforeCommitAndTheRestAtCommit) {
  open();
  auto w = store->begin("k", {200, {{"content-length", "10000"}}}, 10000);
  PIPGATE_ASSERT_OK(w);
  auto r = store->join("k");
  PIPGATE_ASSERT_OK(r);
  EXPECT_TRUE(r->is_live());
  EXPECT_EQ(r->head().headers[0].second, "10000") << "the head is there before any byte";
  EXPECT_EQ(r->size_bytes(), 10000u);

  std::vector<std::uint8_t> buf(20000);
  const std::string body = pattern(10000);
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(0, 3000)));
  EXPECT_EQ(r->read(buf).value(), 0u) << "no whole chunk yet";
  EXPECT_FALSE(r->is_done());
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(3000, 6000)));  // 9000: 2 chunks
  auto n = r->read(buf);
  PIPGATE_ASSERT_OK(n);
  EXPECT_EQ(*n, 4096u) << "one chunk per read when the buffer is larger";
  EXPECT_EQ(r->read(buf).value(), 4096u);
  EXPECT_EQ(r->read(buf).value(), 0u);
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(9000)));
  PIPGATE_ASSERT_OK(w->commit());
  EXPECT_EQ(r->read(buf).value(), 10000u - 8192u);
  EXPECT_TRUE(r->is_done());
  EXPECT_EQ(store->join("k").error().code, Errc::kNotFound) << "committed: no longer live";
}

TEST_F(LiveReader, OnProgressRunsOnTheWriterThreadOrAtOnce) {
  open();
  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  auto r = w->open_reader();
  PIPGATE_ASSERT_OK(r);

  std::atomic<int> calls{0};
  std::thread::id ran_on;
  r->on_progress([&] {
    ran_on = std::this_thread::get_id();
    ++calls;
  });
  EXPECT_EQ(calls, 0);
  std::thread writer([&] {
    PIPGATE_EXPECT_OK(w->append(pattern(100)));  // no whole chunk: no wakeup
    EXPECT_EQ(calls, 0);
    PIPGATE_EXPECT_OK(w->append(pattern(5000)));
  });
  std::thread::id writer_id = writer.get_id();
  writer.join();
  EXPECT_EQ(calls, 1) << "woken once, by the writer";
  EXPECT_EQ(ran_on, writer_id);

  // Data readable now: the callback runs at once, on this thread.
  r->on_progress([&] {
    ran_on = std::this_thread::get_id();
    ++calls;
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(LiveReader, ManyReadersGetTheWholeBody) {
  open();
  const std::string body = pattern(200 * 1000 + 123);
  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  constexpr int kReaders = 8;
  std::vector<std::string> got(kReaders);
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    // Half read from the start, half a range beginning mid-chunk.
    ByteRange range = i % 2 ? ByteRange{5000, 100000} : ByteRange{};
    auto r = store->join("k", range);
    PIPGATE_ASSERT_OK(r);
    readers.emplace_back([&got, i, r = std::move(*r)]() mutable {
      auto all = read_all(r, 777 + i);
      EXPECT_TRUE(all.has_value());
      if (all) got[i] = std::move(*all);
    });
  }
  for (std::size_t i = 0; i < body.size(); i += 1500) {
    PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(i, 1500)));
  }
  PIPGATE_ASSERT_OK(w->commit());
  for (auto& t : readers) t.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_EQ(got[i], i % 2 ? body.substr(5000, 100000) : body) << "reader " << i;
  }
}

TEST_F(LiveReader, SlowReaderNeverHoldsTheWriterBack) {
  open();
  const std::string body = pattern(300 * 1000);
  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  auto slow = store->join("k");
  PIPGATE_ASSERT_OK(slow);
  std::vector<std::uint8_t> one(1);
  // The reader takes one byte and then stalls.
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(0, 4096)));
  EXPECT_EQ(slow->read(one).value(), 1u);
  // The writer finishes without waiting for it.
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(4096)));
  PIPGATE_ASSERT_OK(w->commit());
  // Replaced meanwhile, yet the reader still gets its version (pinned), from the database.
  put("k", "new version");
  auto rest = read_all(*slow, 10000);
  PIPGATE_ASSERT_OK(rest);
  EXPECT_EQ(body.substr(0, 1) + *rest, body);
}

TEST_F(LiveReader, AbortWakesReadersWithTheReason) {
  open();
  auto w = store->begin("k", {});
  PIPGATE_ASSERT_OK(w);
  auto blocked = store->join("k");
  auto polled = store->join("k");
  PIPGATE_ASSERT_OK(blocked);
  PIPGATE_ASSERT_OK(polled);
  PIPGATE_ASSERT_OK(w->append(pattern(9000)));
  std::vector<std::uint8_t> buf(10000);
  EXPECT_EQ(polled->read(buf).value(), 4096u);
  EXPECT_EQ(polled->read(buf).value(), 4096u);
  EXPECT_EQ(polled->read(buf).value(), 0u);
  std::atomic<int> callbacks{0};
  polled->on_progress([&] { ++callbacks; });
  EXPECT_EQ(callbacks, 0) << "nothing new yet";

  std::atomic<bool> failed{false};
  std::thread t([&] {
    auto all = read_all(*blocked);  // reads two chunks, then blocks until the abort
    failed = !all.has_value() && all.error().code == Errc::kUnavailable &&
             all.error().detail == "upstream reset";
  });
  w->abort({Errc::kUnavailable, "upstream reset"});
  t.join();
  EXPECT_TRUE(failed);
  EXPECT_EQ(callbacks, 1);
  auto r = polled->read(buf);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().detail, "upstream reset");
  EXPECT_EQ(store->lookup("k").error().code, Errc::kNotFound);
}

TEST_F(LiveReader, ReaderOfACommittedObjectIsNeverLive) {
  open();
  put("k", pattern(5000));
  auto r = store->open_reader("k");
  PIPGATE_ASSERT_OK(r);
  EXPECT_FALSE(r->is_live());
  EXPECT_EQ(r->size_bytes(), 5000u);
  int calls = 0;
  r->on_progress([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST_F(LiveReader, ReadSomeHandsOverWholeChunksAndSlicesOfThem) {
  open();
  const std::string body = pattern(10000);
  put("k", body);
  auto r = store->open_reader("k");
  PIPGATE_ASSERT_OK(r);
  r->skip_chunk_checksums();  // the same bytes either way
  auto a = r->read_some(1 << 20);
  PIPGATE_ASSERT_OK(a);
  EXPECT_EQ(*a, body.substr(0, 4096)) << "a chunk-aligned read is one whole chunk";
  auto b = r->read_some(100);
  PIPGATE_ASSERT_OK(b);
  EXPECT_EQ(*b, body.substr(4096, 100)) << "no more than asked";
  auto c = r->read_some(1 << 20);
  PIPGATE_ASSERT_OK(c);
  EXPECT_EQ(*c, body.substr(4196, 8192 - 4196)) << "the rest of the current chunk";
  auto d = r->read_some(1 << 20);
  PIPGATE_ASSERT_OK(d);
  EXPECT_EQ(*d, body.substr(8192)) << "the short last chunk whole";
  EXPECT_TRUE(r->is_done());
  EXPECT_EQ(r->read_some(1 << 20).value(), "");

  auto ranged = store->open_reader("k", {.offset = 4096, .length = 5000});
  PIPGATE_ASSERT_OK(ranged);
  std::string got;
  for (;;) {
    auto n = ranged->read_some(1 << 20);
    PIPGATE_ASSERT_OK(n);
    if (n->empty()) break;
    got += n->view();
  }
  EXPECT_EQ(got, body.substr(4096, 5000)) << "a range that ends mid-chunk is cut there";
}

// read_some shares the bytes RocksDB read a blob into (or the hot cache holds) instead of copying
// them: they must stay valid after the reader, the object and the whole store are gone (a
// response still being sent while the appliance replaces the object or shuts down).
TEST_F(LiveReader, BytesFromReadSomeOutliveReaderObjectAndStore) {
  for (bool hot : {false, true}) {
    SCOPED_TRACE(hot ? "hot cache" : "RocksDB");
    options.hot_object_bytes = hot ? 8u << 20 : 0;
    open();
    const std::string body = pattern(10000);
    put("k", body);
    PIPGATE_ASSERT_OK(store->flush());           // chunks in blob files: the pinned-buffer path
    if (hot) EXPECT_EQ(get("k").value(), body);  // the reads below are hot-cache hits
    SharedBytes whole, part;
    {
      auto r = store->open_reader("k");
      PIPGATE_ASSERT_OK(r);
      auto a = r->read_some(1 << 20);
      PIPGATE_ASSERT_OK(a);
      whole = std::move(*a);
      auto b = r->read_some(100);
      PIPGATE_ASSERT_OK(b);
      part = std::move(*b);
    }
    PIPGATE_ASSERT_OK(store->remove("k", std::nullopt));
    PIPGATE_ASSERT_OK(store->compact());
    close();
    EXPECT_EQ(whole, body.substr(0, 4096));
    EXPECT_EQ(part, body.substr(4096, 100));
  }
}

TEST_F(LiveReader, ReadSomeOfALiveWriteStopsAtWhatIsStored) {
  open();
  const std::string body = pattern(10000);
  auto w = store->begin("k", {}, 10000);
  PIPGATE_ASSERT_OK(w);
  auto r = store->join("k");
  PIPGATE_ASSERT_OK(r);
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(0, 6000)));
  EXPECT_EQ(r->read_some(1 << 20).value(), body.substr(0, 4096));
  EXPECT_EQ(r->read_some(1 << 20).value(), "") << "the second chunk is not whole yet";
  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(6000)));
  PIPGATE_ASSERT_OK(w->commit());
  EXPECT_EQ(r->read_some(1 << 20).value(), body.substr(4096, 4096));
  EXPECT_EQ(r->read_some(1 << 20).value(), body.substr(8192));
  EXPECT_TRUE(r->is_done());
}

TEST_F(LiveReader, HashedPrefixIsTheWritersStateAtTheLastChunkBoundaryReached) {
  open();
  const std::string body = pattern(10000);
  auto w = store->begin("k", {}, 10000);
  PIPGATE_ASSERT_OK(w);
  auto r = store->join("k");
  PIPGATE_ASSERT_OK(r);
  auto none = r->hashed_prefix();
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->first, 0u);
  EXPECT_EQ(none->second.finish(), Blake2b256::of(std::string_view())) << "nothing hashed yet";

  PIPGATE_ASSERT_OK(w->append(std::string_view(body).substr(0, 9000)));  // two whole chunks
  std::vector<std::uint8_t> buf(5000);
  EXPECT_EQ(r->read(buf).value(), 4096u);
  EXPECT_EQ(r->read(std::span(buf).first(1000)).value(), 1000u);  // position 5096
  auto mid = r->hashed_prefix();
  ASSERT_TRUE(mid.has_value());
  EXPECT_EQ(mid->first, 4096u) << "the boundary at or before the reader's position";
  Blake2b256 rest = mid->second;
  rest.update(std::string_view(body).substr(4096));
  EXPECT_EQ(rest.finish(), Blake2b256::of(body)) << "continues to the whole body's digest";

  w->abort(Error{Errc::kNoSpace, "disk full"});
  EXPECT_EQ(r->read(buf).error().code, Errc::kNoSpace);
  EXPECT_EQ(r->hashed_prefix()->first, 4096u) << "still there after the write failed";

  put("done", body);
  auto committed = store->open_reader("done");
  PIPGATE_ASSERT_OK(committed);
  EXPECT_FALSE(committed->hashed_prefix().has_value());
}

}  // namespace
}  // namespace pipgate::store::testing
