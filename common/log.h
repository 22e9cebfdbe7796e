// Logging setup shared by both executables: spdlog to stderr. Under systemd (JOURNAL_STREAM set)
// each line starts with a "<N>" syslog priority and has no timestamp, which journald turns into
// the entry's priority; otherwise lines carry an ISO time and the level.
#pragma once

#include <string_view>

#include "common/result.h"

namespace pipgate {

// `level`: trace, debug, info, warn, error. kConfig for anything else.
[[nodiscard]] Result<> setup_logging(std::string_view process_name, std::string_view level);

}  // namespace pipgate
