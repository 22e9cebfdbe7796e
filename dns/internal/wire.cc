#include "dns/internal/wire.h"

namespace pipgate::dns::internal {
namespace {

constexpr std::uint16_t kTypeOpt = 41;

// Offset just past the name at `at` (labels, ending in a root label or a compression pointer).
std::optional<std::size_t> skip_name(std::span<const std::uint8_t> b, std::size_t at) {
  while (at < b.size()) {
    const std::uint8_t len = b[at];
    if ((len & 0xc0) == 0xc0) return at + 2 <= b.size() ? std::optional(at + 2) : std::nullopt;
    if ((len & 0xc0) != 0) return std::nullopt;
    if (len == 0) return at + 1;
    at += 1 + len;
  }
  return std::nullopt;
}

}  // namespace

std::optional<WireLayout> walk_wire(std::span<const std::uint8_t> msg) {
  if (msg.size() < 12 || read_u16(msg, 4) != 1) return std::nullopt;
  WireLayout out;
  auto at = skip_name(msg, 12);
  if (!at || *at + 4 > msg.size()) return std::nullopt;
  out.question_name_end = *at;
  std::size_t pos = *at + 4;
  const std::size_t rrs = std::size_t{read_u16(msg, 6)} + read_u16(msg, 8) + read_u16(msg, 10);
  for (std::size_t i = 0; i < rrs; ++i) {
    const std::size_t start = pos;
    auto name_end = skip_name(msg, pos);
    if (!name_end || *name_end + 10 > msg.size()) return std::nullopt;
    const std::uint16_t type = read_u16(msg, *name_end);
    const std::size_t rdlength = read_u16(msg, *name_end + 8);
    pos = *name_end + 10 + rdlength;
    if (pos > msg.size()) return std::nullopt;
    if (type == kTypeOpt) {
      if (i + 1 != rrs) return std::nullopt;  // ldns writes OPT last; anything else is odd
      out.opt_offset = start;
    } else {
      out.ttl_offsets.push_back(*name_end + 4);
    }
  }
  if (pos != msg.size()) return std::nullopt;
  return out;
}

}  // namespace pipgate::dns::internal
