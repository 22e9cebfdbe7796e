// Time is injected. Pure functions take `now` as a parameter; objects with state over time take a
// Clock&. Only RealClock reads the system clocks (a test greps for other calls to ::now()).
//
//   ManualClock clock{t0};  LeafStore leaves{ca, clock, ...};  clock.advance(60 * 24h);
#pragma once

#include <chrono>
#include <mutex>

namespace pipgate {

using SystemTime = std::chrono::system_clock::time_point;     // HTTP dates, cert validity
using MonotonicTime = std::chrono::steady_clock::time_point;  // TTLs, rate buckets, timeouts

struct Clock {
  virtual ~Clock() = default;
  virtual SystemTime system_now() const = 0;
  virtual MonotonicTime monotonic_now() const = 0;
};

class RealClock final : public Clock {
 public:
  SystemTime system_now() const override;
  MonotonicTime monotonic_now() const override;
};

// For tests: starts at the given wall time, moves only when told, never backwards. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start = SystemTime{} + std::chrono::hours(24 * 365 * 56))
      : system_(start) {}
  SystemTime system_now() const override {
    std::lock_guard lock(mu_);
    return system_;
  }
  MonotonicTime monotonic_now() const override {
    std::lock_guard lock(mu_);
    return monotonic_;
  }
  // Advances both clocks by `d` (d >= 0).
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mu_);
    system_ += std::chrono::duration_cast<SystemTime::duration>(d);
    monotonic_ += d;
  }

 private:
  mutable std::mutex mu_;
  SystemTime system_;
  MonotonicTime monotonic_{};
};

}  // namespace pipgate
