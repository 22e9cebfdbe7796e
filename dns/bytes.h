// The byte buffer DNS messages travel in between the cores and the shells.
#pragma once

#include <cstdint>
#include <vector>

namespace pipgate::dns {

using Bytes = std::vector<std::uint8_t>;

}  // namespace pipgate::dns
