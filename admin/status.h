// Pure pieces of `pipgate status`: how the upstream's recent answers read as a state.
#pragma once

#include "admin/protocol.h"
#include "proxy/access_log.h"

namespace pipgate::admin {

// "reachable" when the last upstream answer is at least as recent as the last failure,
// "unreachable" (with the failure's detail) when a failure is the more recent, "unknown" before
// any request went upstream. Times become Unix seconds.
StatusResult::Upstream describe_upstream(const proxy::UpstreamHealth& health);

}  // namespace pipgate::admin
