#include "admin/status.h"

#include <chrono>

namespace pipgate::admin {

namespace {

std::int64_t unix_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

StatusResult::Upstream describe_upstream(const proxy::UpstreamHealth& health) {
  StatusResult::Upstream u;
  if (health.last_ok) u.last_ok = unix_seconds(*health.last_ok);
  if (health.last_failure) u.last_failure = unix_seconds(*health.last_failure);
  switch (health.state()) {
    case proxy::UpstreamHealth::State::kReachable:
      u.state = "reachable";
      break;
    case proxy::UpstreamHealth::State::kUnreachable:
      u.state = "unreachable";
      u.detail = health.last_failure_detail;
      break;
    case proxy::UpstreamHealth::State::kUnknown:
      break;
  }
  return u;
}

}  // namespace pipgate::admin
