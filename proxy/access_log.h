// One line per answered request, and the counters behind /metrics and the onboarding page:
// requests by host/status/cache result, body bytes by source, upstream latency, per-project
// figures, and whether upstream answered lately. Called by the sessions once a response is over.
//
//   record_access({info, req, resp, bytes_sent, complete, elapsed});
//   // access: 10.0.0.7 files.pythonhosted.org /packages/.../numpy.whl 200 16777216 HIT
//   //         complete up=- total=41ms h2
//
// Thread-safe (every proxy loop calls it).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/connection_info.h"

namespace pipgate::proxy {

struct AccessRecord {
  const ConnectionInfo& conn;
  const Request& request;
  const Response& response;
  std::uint64_t body_bytes = 0;  // response body bytes handed to the connection
  bool complete = true;          // false: the body was cut short (error, client gone)
  std::chrono::milliseconds elapsed{0};
};

void record_access(const AccessRecord& r);

// Requests answered so far by every loop (record_access calls): how the appliance tells that it
// has gone idle, to give memory back.
std::uint64_t requests_answered();

// Per-project figures since start, for the page and `pipgate cache stats`.
struct ProjectFigures {
  std::string project;
  std::uint64_t hits = 0;    // answered from the cache (HIT, REVALIDATED, STALE)
  std::uint64_t misses = 0;  // fetched upstream (MISS)
  std::uint64_t bytes_served = 0;
  std::uint64_t bytes_saved = 0;  // served from the cache: not downloaded again
};

class ProjectStats {
 public:
  void record(const std::string& project, bool from_cache, std::uint64_t bytes);
  // The `n` projects with the most requests, most first.
  std::vector<ProjectFigures> top(std::size_t n) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, ProjectFigures> by_project_;
};
ProjectStats& project_stats();

// Whether upstream answered lately: the last success and the last failure seen by any request.
struct UpstreamHealth {
  std::optional<SystemTime> last_ok;
  std::optional<SystemTime> last_failure;
  std::string last_failure_detail;
  enum class State { kUnknown, kReachable, kUnreachable };
  // Whichever was seen last wins; unknown before the first upstream request. The page and
  // `pipgate status` both say this, so they never disagree.
  State state() const {
    if (last_ok && (!last_failure || *last_ok >= *last_failure)) return State::kReachable;
    return last_failure ? State::kUnreachable : State::kUnknown;
  }
};
UpstreamHealth upstream_health();
void note_upstream(bool ok, SystemTime when, std::string detail = {});

}  // namespace pipgate::proxy
