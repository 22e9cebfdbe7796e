#include "dns/rate_limiter.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace pipgate::dns {
namespace {

// IPv6 clients are limited per /64: SLAAC and privacy addresses give every host the whole /64.
IpAddress bucket_key(const IpAddress& a) {
  if (a.is_v4()) return a;
  IpAddress key = a;
  std::fill(key.bytes.begin() + 8, key.bytes.end(), std::uint8_t{0});
  return key;
}

}  // namespace

std::size_t RateLimiter::KeyHash::operator()(const IpAddress& a) const {
  std::string_view bytes(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size());
  return std::hash<std::string_view>{}(bytes) ^ static_cast<std::size_t>(a.family);
}

RateLimiter::RateLimiter(const RateLimiterOptions& options)
    : rate_(options.rate_per_second),
      burst_(options.burst != 0 ? options.burst : 2.0 * options.rate_per_second),
      max_clients_(std::max<std::size_t>(options.max_clients, 1)) {
  burst_ = std::max(burst_, 1.0);
}

bool RateLimiter::allow(const IpAddress& client, MonotonicTime now) {
  if (rate_ <= 0) return true;
  const IpAddress key = bucket_key(client);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) make_room(now);
    buckets_.emplace(key, Bucket{burst_ - 1, now});
    return true;
  }
  Bucket& b = it->second;
  const std::chrono::duration<double> elapsed = now - b.last;
  if (elapsed.count() > 0) {
    b.tokens = std::min(burst_, b.tokens + elapsed.count() * rate_);
    b.last = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

void RateLimiter::make_room(MonotonicTime now) {
  const std::chrono::duration<double> refill_time(burst_ / rate_);
  std::erase_if(buckets_, [&](const auto& kv) {
    const std::chrono::duration<double> idle = now - kv.second.last;
    return kv.second.tokens + idle.count() * rate_ >= burst_ || idle >= refill_time;
  });
  if (buckets_.size() >= max_clients_) buckets_.clear();
}

}  // namespace pipgate::dns
