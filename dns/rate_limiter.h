// Response rate limiting per client: a token bucket per IPv4 address or IPv6 /64 (a host can use
// any address of its /64, so a smaller unit would be no limit at all). Pure: `now` comes from
// the caller, so tests drive it with a ManualClock.
//
//   RateLimiter rl{{.rate_per_second = 500, .burst = 1000}};
//   if (!rl.allow(client.address, clock.monotonic_now())) return Drop{};
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "common/clock.h"
#include "common/net.h"

namespace pipgate::dns {

struct RateLimiterOptions {
  // Sustained responses per second per client; 0 disables the limiter. Default: [dns] rate_limit.
  std::uint32_t rate_per_second = 500;
  // Bucket size: responses a quiet client may send at once. 0 means 2 x rate_per_second.
  std::uint32_t burst = 0;
  // Clients tracked at once. When the table is full, buckets that have refilled are forgotten
  // (they hold no information); if all are busy the table is cleared rather than locking out
  // new clients (spoofed floods fill tables). Default: 65536 (a few MB).
  std::size_t max_clients = 65536;
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimiterOptions& options);

  // Takes one token from the bucket of `client`. False when the bucket is empty: the caller
  // sends nothing. `now` must not go backwards between calls (monotonic time).
  [[nodiscard]] bool allow(const IpAddress& client, MonotonicTime now);

  std::size_t tracked_clients() const { return buckets_.size(); }
  bool is_enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    MonotonicTime last;
  };
  struct KeyHash {
    std::size_t operator()(const IpAddress& a) const;
  };
  void make_room(MonotonicTime now);

  double rate_;
  double burst_;
  std::size_t max_clients_;
  std::unordered_map<IpAddress, Bucket, KeyHash> buckets_;
};

}  // namespace pipgate::dns
