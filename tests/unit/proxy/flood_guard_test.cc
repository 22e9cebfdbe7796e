#include "proxy/flood_guard.h"

#include <gtest/gtest.h>

namespace pipgate::proxy {
namespace {

using namespace std::chrono_literals;

TEST(FloodGuardTest, BurstThenRate) {
  ManualClock clock;
  FloodGuard g(10, 5, clock.monotonic_now());
  struct Step {
    std::chrono::milliseconds advance;
    int events;
    int want_allowed;
  };
  const Step steps[] = {
      {0ms, 7, 5},      // the burst, then refused
      {100ms, 3, 1},    // 10/s refills one token per 100 ms
      {1000ms, 20, 5},  // refills to the burst, never beyond
      {0ms, 1, 0},
  };
  int i = 0;
  for (const auto& s : steps) {
    SCOPED_TRACE(i++);
    clock.advance(s.advance);
    int allowed = 0;
    for (int e = 0; e < s.events; ++e) allowed += g.allow(clock.monotonic_now());
    EXPECT_EQ(allowed, s.want_allowed);
  }
}

}  // namespace
}  // namespace pipgate::proxy
