// A full disk (a small tmpfs): writes fail with kNoSpace, the writer aborts and its readers get
// the error, readers of committed objects keep working, and once space is back the store
// resumes, with nothing corrupted, in the same process and after reopening.
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

class DiskFull : public StoreTest {
 protected:
  void SetUp() override {
    mount_point_ = dir.path() + "/tmpfs";
    std::filesystem::create_directory(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=8m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << std::strerror(errno);
    }
    is_mounted_ = true;
    options.path = mount_point_ + "/db";
    options.chunk_size_bytes = 64 << 10;
    options.chunk_write_buffer_bytes = 1 << 20;
    options.blob_file_bytes = 1 << 20;
    options.min_free_disk_bytes = 0;  // a real ENOSPC; ReserveStops... sets a reserve
  }
  void TearDown() override {
    close();
    if (is_mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  bool resize(const char* size) {
    std::string data = std::string("size=") + size;
    return ::mount("tmpfs", mount_point_.c_str(), "tmpfs", MS_REMOUNT, data.c_str()) == 0;
  }

  std::string mount_point_;
  bool is_mounted_ = false;
};

TEST_F(DiskFull, WritesFailCleanlyAndTheStoreRecovers) {
  open();
  const std::string kept = pattern(200 << 10, 1);
  put("committed", kept);
  {  // writers and readers keep the database open: let them go before reopen()
    auto committed_reader = store->open_reader("committed");
    PIPGATE_ASSERT_OK(committed_reader);

    auto w = store->begin("big", {});
    PIPGATE_ASSERT_OK(w);
    auto joined = w->open_reader();
    PIPGATE_ASSERT_OK(joined);
    const std::string piece = pattern(64 << 10, 2);
    Result<void> r;
    int pieces = 0;
    for (; pieces < 1000 && r; ++pieces) r = w->append(piece);  // 64 MiB max: the disk is 8
    ASSERT_FALSE(r.has_value()) << "wrote " << pieces << " pieces on an 8 MiB disk";
    EXPECT_EQ(r.error().code, Errc::kNoSpace) << to_string(r.error());
    EXPECT_EQ(w->append(piece).error().code, Errc::kInternal) << "the writer has aborted";

    auto tail = read_all(*joined);
    ASSERT_FALSE(tail.has_value());
    EXPECT_EQ(tail.error().code, Errc::kNoSpace);
    EXPECT_EQ(store->lookup("big").error().code, Errc::kNotFound);

    // Committed objects are still served, from a reader opened before and one opened after.
    EXPECT_EQ(read_all(*committed_reader).value(), kept);
    EXPECT_EQ(get("committed").value(), kept);

    {
      auto refused = store->begin("other", {});
      if (!refused) {
        EXPECT_EQ(refused.error().code, Errc::kNoSpace) << to_string(refused.error());
      }
    }

  }  // the readers and the writer let go of the database

  // Space comes back.
  ASSERT_TRUE(resize("64m"));
  bool reopened = restore_writes();
  std::printf("writes came back %s\n", reopened ? "after reopening" : "in-process");
  put("after", pattern(300 << 10, 3));
  EXPECT_EQ(get("after").value(), pattern(300 << 10, 3));

  reopen();
  EXPECT_EQ(get("committed").value(), kept);
  EXPECT_EQ(get("after").value(), pattern(300 << 10, 3));
  EXPECT_EQ(store->lookup("big").error().code, Errc::kNotFound);
  auto report = store->verify();
  PIPGATE_ASSERT_OK(report);
  EXPECT_TRUE(report->corrupt.empty());
  EXPECT_EQ(store->stats().objects, 2u);
}

TEST_F(DiskFull, ReserveStopsWritesBeforeTheDiskIsFull) {
  options.min_free_disk_bytes = 2 << 20;  // of the ~3.5 MiB left after RocksDB preallocates
  open();
  put("committed", pattern(100 << 10, 1));
  {
    auto w = store->begin("big", {});
    PIPGATE_ASSERT_OK(w);
    Result<void> r;
    for (int i = 0; i < 1000 && r; ++i) r = w->append(pattern(64 << 10, 2));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kNoSpace);
    EXPECT_NE(r.error().detail.find("below the reserve"), std::string::npos)
        << "the reserve, not RocksDB, stopped it: " << r.error().detail;
  }
  EXPECT_EQ(get("committed").value(), pattern(100 << 10, 1));
  // RocksDB never failed a write, so freeing space is all it takes.
  ASSERT_TRUE(resize("64m"));
  put("after", pattern(100 << 10, 3));
  EXPECT_EQ(get("after").value(), pattern(100 << 10, 3));
  reopen();
  EXPECT_EQ(store->lookup("big").error().code, Errc::kNotFound);
  EXPECT_EQ(store->stats().objects, 2u);
}

}  // namespace
}  // namespace pipgate::store::testing
