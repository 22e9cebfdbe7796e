#include "common/privileges.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace pipgate {
namespace {

TEST(PrivilegesTest, MissingUserKeepsRunningAsIs) {
  auto r = drop_privileges("no-such-user-pipgate-test");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(*r, geteuid() == 0 ? PrivilegeDrop::kNoSuchUser : PrivilegeDrop::kNotRoot);
  auto empty = drop_privileges("");
  ASSERT_TRUE(empty);
  EXPECT_NE(*empty, PrivilegeDrop::kDropped);
}

TEST(PrivilegesTest, RootDropsToTheUserInAChild) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // the child drops for good; the test process stays root
    auto r = drop_privileges("nobody");
    const bool ok = r && *r == PrivilegeDrop::kDropped && getuid() != 0 && geteuid() != 0 &&
                    getgid() != 0 && setuid(0) != 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace pipgate

namespace pipgate {
namespace {

// The appliance's own drop: root → `nobody` keeping only CAP_NET_BIND_SERVICE, which still
// binds a port below 1024 and is passed on (ambient) to what the process execs.
TEST(PrivilegesTest, KeepsOnlyTheBindCapability) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = drop_privileges("nobody", {.keep_bind_capability = true});
    if (!r || *r != PrivilegeDrop::kDropped || geteuid() == 0) _exit(1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    a.sin_port = htons(1023);
    int rc = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && errno != EADDRINUSE) _exit(2);  // EACCES would mean the capability is gone
    // Ambient: a child shell still has it (CapAmb bit 10 = CAP_NET_BIND_SERVICE).
    int status = std::system("grep -q '^CapAmb:.*0000000000000400$' /proc/self/status");
    _exit(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no drop, 2: cannot bind <1024, 3: no ambient cap";
}

TEST(PrivilegesTest, ChownTreeGivesEverythingToTheUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto dir = std::filesystem::temp_directory_path() / ("pipgate-chown-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "a" / "b");
  std::FILE* f = std::fopen((dir / "a" / "b" / "f").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto nobody = lookup_user("nobody");
  ASSERT_TRUE(nobody);
  ASSERT_TRUE(chown_tree(dir, *nobody));
  struct stat st {};
  ASSERT_EQ(stat((dir / "a" / "b" / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->uid);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(lookup_user("no-such-user-pipgate-test"));
}

}  // namespace
}  // namespace pipgate
