// Shared by the store tests: a real RocksDB in a fresh temp dir per test, reopen() for recovery,
// and raw access to the database for tests that must damage it on purpose.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace pipgate::store::testing {

// Prints the error's detail on failure, like RocksDB's ASSERT_OK.
#define PIPGATE_ASSERT_OK(expr)                                                            \
  do {                                                                                     \
    auto&& pipgate_r_ = (expr);                                                            \
    ASSERT_TRUE(pipgate_r_.has_value()) << #expr << ": " << to_string(pipgate_r_.error()); \
  } while (0)
#define PIPGATE_EXPECT_OK(expr)                                                            \
  do {                                                                                     \
    auto&& pipgate_r_ = (expr);                                                            \
    EXPECT_TRUE(pipgate_r_.has_value()) << #expr << ": " << to_string(pipgate_r_.error()); \
  } while (0)

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pipgate-store-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Deterministic bytes, different for each seed, so misplaced chunks show.
inline std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

// Everything the reader still has to give, waiting for a live writer as needed.
inline Result<std::string> read_all(ObjectReader& reader, std::size_t buffer = 1000) {
  std::string out;
  std::vector<std::uint8_t> buf(buffer);
  for (;;) {
    auto n = reader.read_wait(buf);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

inline std::uint64_t dir_bytes(const std::string& dir, const std::string& ext = "") {
  std::uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.is_regular_file() && (ext.empty() || e.path().extension() == ext)) n += e.file_size();
  }
  return n;
}

class StoreTest : public ::testing::Test {
 public:
  StoreTest() {
    options.path = dir.path() + "/db";
    options.chunk_size_bytes = 4096;  // small, so a few KiB cross several chunk edges
    options.max_size_bytes = 64 << 20;
    options.block_cache_bytes = 1 << 20;
    options.chunk_write_buffer_bytes = 1 << 20;
    options.blob_file_bytes = 1 << 20;
  }

  void open() {
    store.reset();
    auto s = Store::open(options, clock);
    ASSERT_TRUE(s.has_value()) << to_string(s.error());
    store.emplace(std::move(*s));
  }
  void reopen() { open(); }
  void close() { store.reset(); }

  // Commits `body` under `key` and returns its meta.
  ObjectMeta put(const std::string& key, const std::string& body, ResponseHead head = {}) {
    auto w = store->begin(key, head);
    EXPECT_TRUE(w.has_value()) << to_string(w.error());
    if (!w) return {};
    auto a = w->append(body);
    EXPECT_TRUE(a.has_value()) << to_string(a.error());
    auto m = w->commit();
    EXPECT_TRUE(m.has_value()) << to_string(m.error());
    return m ? *m : ObjectMeta{};
  }

  // After a full disk, once space is back: polls begin() until writes work again in this
  // process (RocksDB resumes when its error came from a flush); if they do not within
  // `limit`, reopens the store (RocksDB 7.8 cannot resume after a failed WAL write; see
  // StoreOptions::min_free_disk_bytes). Returns true if it had to reopen.
  bool restore_writes(std::chrono::seconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto w = store->begin("probe", {});
      if (w) {
        w->abort();
        return false;
      }
      EXPECT_EQ(w.error().code, Errc::kNoSpace) << to_string(w.error());
      if (std::chrono::steady_clock::now() > deadline) {
        std::printf("writes still refused: %s\n", to_string(w.error()).c_str());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    reopen();
    return true;
  }

  Result<std::string> get(const std::string& key, ByteRange range = {}) {
    auto r = store->open_reader(key, range);
    if (!r) return std::unexpected(r.error());
    return read_all(*r);
  }

  // Runs `fn` on the closed store's database opened raw (all column families).
  void with_raw_db(
      const std::function<void(rocksdb::DB*, std::vector<rocksdb::ColumnFamilyHandle*>&,
                               const std::vector<std::string>&)>& fn) {
    close();
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), options.path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) {
      rocksdb::ColumnFamilyOptions c;
      if (n == "chunks") c.enable_blob_files = true;
      families.emplace_back(n, c);
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(), options.path, families, &handles, &db).ok());
    fn(db, handles, names);
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }

  TempDir dir;
  ManualClock clock;
  StoreOptions options;
  std::optional<Store> store;
};

}  // namespace pipgate::store::testing
