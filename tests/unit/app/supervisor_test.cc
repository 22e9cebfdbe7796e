#include "app/supervisor.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>

namespace pipgate::app {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Runs `io` in short slices until `done` holds or 10 s have passed (real children, real time).
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(20ms);
  }
  return true;
}

TEST(SupervisorBackoff, AtOnceThenDoublesFromHalfASecondUpToThirtySeconds) {
  struct Case {
    int failures;
    milliseconds want;
  };
  const Case cases[] = {{0, milliseconds(0)},     {1, milliseconds(0)},
                        {2, milliseconds(500)},   {3, milliseconds(1000)},
                        {4, milliseconds(2000)},  {7, milliseconds(16000)},
                        {8, milliseconds(30000)}, {50, milliseconds(30000)}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.failures);
    EXPECT_EQ(Supervisor::backoff(c.failures), c.want);
  }
}

TEST(SupervisorStatus, ReportsPidsRestartsAndLastExit) {
  boost::asio::io_context io;
  RealClock clock;
  Supervisor sup(io, clock);
  sup.add({"sleeper", {"/bin/sleep", "30"}});
  sup.add({"failer", {"/bin/sh", "-c", "exit 3"}});

  auto before = sup.status();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].name, "sleeper");
  EXPECT_EQ(before[1].name, "failer");
  EXPECT_FALSE(before[0].running);
  EXPECT_EQ(before[0].pid, -1);

  sup.start();
  auto started = sup.status();
  EXPECT_TRUE(started[0].running);
  EXPECT_GT(started[0].pid, 0);
  EXPECT_EQ(started[0].restarts, 0);
  EXPECT_TRUE(started[0].last_exit.empty());

  // The failer exits at once and is restarted at once (then after 0.5 s, 1 s, ...).
  ASSERT_TRUE(run_until(io, [&] { return sup.status()[1].restarts >= 1; }));
  auto later = sup.status();
  EXPECT_EQ(later[1].last_exit, "exited with status 3");
  EXPECT_TRUE(later[0].running);
  EXPECT_EQ(later[0].pid, started[0].pid);
  EXPECT_EQ(later[0].restarts, 0);

  bool stopped = false;
  boost::asio::co_spawn(io, sup.stop(2s), [&](std::exception_ptr) { stopped = true; });
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  auto after = sup.status();
  EXPECT_FALSE(after[0].running);
  EXPECT_EQ(after[0].pid, -1);
  EXPECT_EQ(after[0].last_exit, "killed by signal 15");
  EXPECT_FALSE(after[1].running);
}

}  // namespace
}  // namespace pipgate::app
