// A token bucket over a monotonic clock: `rate` events per second on average, bursts up to
// `burst`. Pure: the caller passes `now`. H2Session counts stream resets with it (rapid reset).
//
//   FloodGuard resets{100, 1000, clock.monotonic_now()};
//   if (!resets.allow(clock.monotonic_now())) → GOAWAY ENHANCE_YOUR_CALM
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "common/clock.h"

namespace pipgate::proxy {

class FloodGuard {
 public:
  FloodGuard(std::uint32_t rate_per_second, std::uint32_t burst, MonotonicTime now)
      : rate_(rate_per_second), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token; false when none is left (the caller stops serving the peer).
  bool allow(MonotonicTime now) {
    if (now > last_) {
      double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min<double>(burst_, tokens_ + elapsed * rate_);
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  MonotonicTime last_;
};

}  // namespace pipgate::proxy
