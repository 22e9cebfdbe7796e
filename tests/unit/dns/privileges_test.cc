#include "dns/privileges.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pipgate::dns {
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
}  // namespace pipgate::dns
