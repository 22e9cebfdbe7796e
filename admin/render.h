// The human forms of the admin results, as `pipgate status` and `pipgate cache ...` print them
// without --json: aligned tables, sizes like "1.2 GiB", times in UTC. Pure (`now` is passed in).
//
//   fmt::print("{}", render_list(*decode_list(json)));
//   // SIZE     STATUS  CREATED           KEY
//   // 1.2 MiB     200  2024-05-01 10:00  files.pythonhosted.org/packages/.../numpy-2.1.0-...whl
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "admin/protocol.h"

namespace pipgate::admin {

// "0 B", "512 B", "1.0 KiB", "12.3 MiB", "123 MiB", "1.2 GiB" (binary units, 3 significant digits).
std::string human_size(std::uint64_t bytes);
// "45s", "12m 5s", "3h 4m", "2d 3h".
std::string human_duration(std::chrono::seconds d);
// "2024-05-01 10:00:00 UTC"
std::string utc_time(std::int64_t unix_seconds);

// Columns padded to their widest cell, two spaces apart; columns in `right` are right-aligned
// (numbers, sizes); the last column is not padded. Ends with "\n".
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right = {});

std::string render_status(const StatusResult& r, std::int64_t now_unix);
std::string render_stats(const StatsResult& r);
std::string render_list(const ListResult& r);
std::string render_purge(const PurgeResult& r);
std::string render_verify(const VerifyResult& r);
// One line, no "\n": "verify: 120/450 objects (26%), 1.2 GiB re-hashed, 0 corrupt".
std::string render_progress(const Progress& p);

}  // namespace pipgate::admin
