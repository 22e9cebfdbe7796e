// kill -9 of a real process mid-write: reopening shows no partial object, reclaims the
// leftover chunks, and keeps committed objects intact.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "store/internal/keys.h"
#include "store/internal/meta_codec.h"
#include "store/store.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::store::testing {
namespace {

// Runs the child until it says "ready", then SIGKILLs it. Returns false if it never did.
bool run_child_and_kill(const std::string& dir, int chunks_before_ready) {
  int out[2];
  if (pipe(out) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    std::string n = std::to_string(chunks_before_ready);
    execl(STORE_CRASH_CHILD, STORE_CRASH_CHILD, dir.c_str(), n.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string got;
  char buf[64];
  ssize_t n;
  // Blocking read: the child either prints "ready" or exits (EOF); ctest's timeout bounds it.
  while (got.find("ready\n") == std::string::npos && (n = read(out[0], buf, sizeof buf)) > 0) {
    got.append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return got.find("ready\n") != std::string::npos && WIFSIGNALED(status) &&
         WTERMSIG(status) == SIGKILL;
}

class Crash : public StoreTest {};

TEST_F(Crash, KillNineMidWriteLeavesNoTrace) {
  for (int chunks : {0, 1, 7, 200}) {
    SCOPED_TRACE(::testing::Message() << "killed after " << chunks << "+ chunks");
    TempDir d;
    options.path = d.path() + "/db";
    ASSERT_TRUE(run_child_and_kill(options.path, chunks));

    open();
    EXPECT_EQ(store->lookup("partial").error().code, Errc::kNotFound);
    EXPECT_EQ(get("committed").value(), pattern(50000, 1));
    EXPECT_EQ(get("stable").value(), pattern(50000, 2)) << "the unfinished replacement is gone";
    EXPECT_EQ(store->lookup("stable")->head.headers[0].second, "stable");
    auto st = store->stats();
    EXPECT_EQ(st.reclaimed_at_open, 2u);
    EXPECT_EQ(st.objects, 2u);
    auto report = store->verify();
    PIPGATE_ASSERT_OK(report);
    EXPECT_TRUE(report->corrupt.empty());
    // The store keeps working: a new write of the key the crash interrupted.
    put("partial", "done");
    EXPECT_EQ(get("partial").value(), "done");

    // No chunk that no meta record points at, and no pending write left.
    with_raw_db([&](rocksdb::DB* db, auto& handles, const auto& names) {
      std::set<std::uint64_t> referenced, stored;
      std::size_t pending = 0;
      for (std::size_t i = 0; i < names.size(); ++i) {
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[i]));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          std::string_view k(it->key().data(), it->key().size());
          if (names[i] == "meta") {
            auto rec =
                internal::decode(k, std::string_view(it->value().data(), it->value().size()));
            ASSERT_TRUE(rec.has_value());
            referenced.insert(rec->meta.version);
          } else if (names[i] == "chunks") {
            stored.insert(internal::get_be(k, 8));
          } else if (names[i] == "pending") {
            ++pending;
          }
        }
      }
      for (auto id : stored) EXPECT_TRUE(referenced.contains(id)) << "orphan chunks of " << id;
      EXPECT_EQ(pending, 0u);
    });
    close();
  }
}

}  // namespace
}  // namespace pipgate::store::testing
