#include "dns/rate_limiter.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "dns/log_throttle.h"

namespace pipgate::dns {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) { return *parse_ip(s); }

int allowed_in_a_row(RateLimiter& rl, const IpAddress& a, MonotonicTime now, int tries = 100) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += rl.allow(a, now) ? 1 : 0;
  return n;
}

TEST(RateLimiterTest, BurstThenRefillUnderManualClock) {
  ManualClock clock;
  RateLimiter rl{{.rate_per_second = 10, .burst = 20}};
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), clock.monotonic_now()), 20);
  clock.advance(100ms);
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), clock.monotonic_now()), 1);
  clock.advance(1s);
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), clock.monotonic_now()), 10);
  clock.advance(1h);  // never more than the burst
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), clock.monotonic_now()), 20);
}

TEST(RateLimiterTest, DefaultBurstIsTwiceTheRate) {
  RateLimiter rl{{.rate_per_second = 5}};
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), MonotonicTime{}), 10);
}

TEST(RateLimiterTest, PerClientAndPerIpv6Slash64) {
  RateLimiter rl{{.rate_per_second = 1, .burst = 2}};
  const MonotonicTime t{};
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), t), 2);
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.2"), t), 2);
  EXPECT_EQ(allowed_in_a_row(rl, ip("2001:db8:1:2::1"), t), 2);
  EXPECT_EQ(allowed_in_a_row(rl, ip("2001:db8:1:2:ffff::9"), t), 0);  // same /64
  EXPECT_EQ(allowed_in_a_row(rl, ip("2001:db8:1:3::1"), t), 2);
}

TEST(RateLimiterTest, ZeroRateDisables) {
  RateLimiter rl{{.rate_per_second = 0}};
  EXPECT_FALSE(rl.is_enabled());
  EXPECT_EQ(allowed_in_a_row(rl, ip("10.0.0.1"), MonotonicTime{}, 10000), 10000);
}

TEST(RateLimiterTest, TableStaysBounded) {
  ManualClock clock;
  RateLimiter rl{{.rate_per_second = 1, .burst = 1, .max_clients = 8}};
  for (std::uint32_t i = 0; i < 100; ++i) {
    EXPECT_TRUE(rl.allow(IpAddress::v4(0x0a000000 + i), clock.monotonic_now()));
    EXPECT_LE(rl.tracked_clients(), 8u);
  }
  // A busy client is remembered while others that refilled are forgotten.
  EXPECT_FALSE(rl.allow(IpAddress::v4(0x0a000000 + 99), clock.monotonic_now()));
  clock.advance(2s);
  EXPECT_TRUE(rl.allow(IpAddress::v4(0x0b000000), clock.monotonic_now()));
}

// The servers name a refused or rate-limited client once, then at most every interval with the
// count of queries since: a flood of queries must not become a flood of log lines.
TEST(LogThrottleTest, FirstEventAtOnceThenOncePerIntervalWithTheCount) {
  ManualClock clock;
  LogThrottle t{10s, 2};
  EXPECT_EQ(t.note(ip("10.0.0.1"), clock.monotonic_now()), 1u);
  for (int i = 0; i < 999; ++i) EXPECT_EQ(t.note(ip("10.0.0.1"), clock.monotonic_now()), 0u);
  EXPECT_EQ(t.note(ip("10.0.0.2"), clock.monotonic_now()), 1u);  // per client
  clock.advance(10s);
  EXPECT_EQ(t.note(ip("10.0.0.1"), clock.monotonic_now()), 1000u);  // 999 + this one
  EXPECT_EQ(t.note(ip("10.0.0.1"), clock.monotonic_now()), 0u);
  // Bounded: a third client when two are tracked starts the table afresh.
  EXPECT_EQ(t.note(ip("10.0.0.3"), clock.monotonic_now()), 1u);
  EXPECT_EQ(t.note(ip("10.0.0.1"), clock.monotonic_now()), 1u);
}

}  // namespace
}  // namespace pipgate::dns
