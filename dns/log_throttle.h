// Log lines about one client (refused, rate-limited) at most once per interval, with how many
// queries it sent since the last line: a flood of queries must not become a flood of log lines,
// yet the first query of each episode is named at once. Pure: `now` comes from the caller.
//
//   LogThrottle refusals;
//   if (auto n = refusals.note(client, now)) spdlog::info("refused {} ({} queries)", client, n);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/net.h"

namespace pipgate::dns {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::seconds interval = std::chrono::seconds(10),
                       std::size_t max_clients = 4096)
      : interval_(interval), max_clients_(max_clients) {}

  // Counts one event for `client`. When a line is due (the client's first event, or `interval`
  // after its last line), the events to report, this one included; otherwise 0.
  std::uint64_t note(const IpAddress& client, MonotonicTime now) {
    auto it = clients_.find(client);
    if (it == clients_.end()) {
      if (clients_.size() >= max_clients_) clients_.clear();  // spoofed sources: stay bounded
      clients_.emplace(client, Entry{now, 0});
      return 1;
    }
    ++it->second.unreported;
    if (now - it->second.last_line < interval_) return 0;
    it->second.last_line = now;
    return std::exchange(it->second.unreported, 0);
  }

 private:
  struct Entry {
    MonotonicTime last_line;
    std::uint64_t unreported;
  };
  struct KeyHash {
    std::size_t operator()(const IpAddress& a) const {
      return std::hash<std::string_view>{}(
                 std::string_view(reinterpret_cast<const char*>(a.bytes.data()), a.bytes.size())) ^
             static_cast<std::size_t>(a.family);
    }
  };
  std::chrono::seconds interval_;
  std::size_t max_clients_;
  std::unordered_map<IpAddress, Entry, KeyHash> clients_;
};

}  // namespace pipgate::dns
