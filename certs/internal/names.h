// Normalization of the intercepted host names, shared by Authority and LeafStore.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pipgate::certs::internal {

// Lower case, one trailing dot removed. Does not validate.
std::string normalize_name(std::string_view name);

// Normalizes and validates each name as a DNS host name (LDH labels of 1..63 chars, at least two
// labels, ≤ 253 chars, no wildcard), drops duplicates, keeps first-seen order. kConfig naming the
// bad name, or when `names` is empty.
[[nodiscard]] Result<std::vector<std::string>> normalize_names(
    const std::vector<std::string>& names);

}  // namespace pipgate::certs::internal
