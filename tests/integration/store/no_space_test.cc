// ENOSPC injected at the file-system layer (a rocksdb::FileSystemWrapper, as RocksDB's own
// db_io_failure_test does): deterministic, and it needs no root. The same guarantees as
// disk_full_test: kNoSpace, the writer aborts, committed objects stay readable, recovery.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

// Every write to any file fails with NoSpace while `*is_full`.
class FullDisk final : public rocksdb::FileSystemWrapper {
 public:
  FullDisk(const std::shared_ptr<rocksdb::FileSystem>& base, const std::atomic<bool>* is_full)
      : FileSystemWrapper(base), is_full_(is_full) {}
  const char* Name() const override { return "FullDisk"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (*is_full_) return rocksdb::IOStatus::NoSpace("injected");
    auto s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(*result), is_full_);
    return s;
  }

 private:
  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& f, const std::atomic<bool>* is_full)
        : FSWritableFileOwnerWrapper(std::move(f)), is_full_(is_full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (*is_full_) return rocksdb::IOStatus::NoSpace("injected");
      return FSWritableFileOwnerWrapper::Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (*is_full_) return rocksdb::IOStatus::NoSpace("injected");
      return FSWritableFileOwnerWrapper::Append(data, o, info, dbg);
    }

   private:
    const std::atomic<bool>* is_full_;
  };

  const std::atomic<bool>* is_full_;
};

class NoSpace : public StoreTest {
 protected:
  NoSpace()
      : fs_(std::make_shared<FullDisk>(rocksdb::FileSystem::Default(), &is_full_)),
        env_(rocksdb::NewCompositeEnv(fs_)) {
    options.env = env_.get();
    options.chunk_size_bytes = 16 << 10;
    options.min_free_disk_bytes = 0;  // the injected ENOSPC is the point
  }
  ~NoSpace() override { close(); }

  std::atomic<bool> is_full_{false};
  std::shared_ptr<FullDisk> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

TEST_F(NoSpace, WriterAbortsAndEverythingElseCarriesOn) {
  open();
  const std::string kept = pattern(100000, 1);
  put("committed", kept);
  {
    auto w = store->begin("doomed", {});
    PIPGATE_ASSERT_OK(w);
    auto joined = w->open_reader();
    PIPGATE_ASSERT_OK(joined);
    PIPGATE_ASSERT_OK(w->append(pattern(40000, 2)));  // two chunks are in

    is_full_ = true;
    Result<void> r;
    for (int i = 0; i < 100 && r; ++i) r = w->append(pattern(16 << 10, 3));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kNoSpace) << to_string(r.error());
    auto tail = read_all(*joined);
    ASSERT_FALSE(tail.has_value());
    EXPECT_EQ(tail.error().code, Errc::kNoSpace);
    EXPECT_EQ(get("committed").value(), kept);
    auto refused = store->begin("other", {});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, Errc::kNoSpace);
  }

  is_full_ = false;
  bool reopened = restore_writes();
  std::printf("writes came back %s\n", reopened ? "after reopening" : "in-process");
  put("after", pattern(50000, 4));
  EXPECT_EQ(get("after").value(), pattern(50000, 4));

  reopen();
  EXPECT_EQ(get("committed").value(), kept);
  EXPECT_EQ(get("after").value(), pattern(50000, 4));
  EXPECT_EQ(store->lookup("doomed").error().code, Errc::kNotFound);
  auto report = store->verify();
  PIPGATE_ASSERT_OK(report);
  EXPECT_TRUE(report->corrupt.empty());
}

}  // namespace
}  // namespace pipgate::store::testing
