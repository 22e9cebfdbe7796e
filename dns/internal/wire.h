// Where things sit in a DNS message's wire form, so the cache can age TTLs and the responder can
// adapt a cached answer in place (ID, flags, question case, OPT) without a parse and rebuild
// through ldns on every hit. Only for messages ldns has already parsed and written (the cache
// stores ldns_pkt2wire output), so this is a walk over known-good bytes, bounds-checked anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace pipgate::dns::internal {

struct WireLayout {
  std::size_t question_name_end = 0;      // offset just past the first question's name
  std::vector<std::size_t> ttl_offsets;   // TTL field of every RR except OPT
  std::optional<std::size_t> opt_offset;  // start of the OPT RR, when it is the last RR
};

// nullopt when the message is not one question plus well-formed RRs ending exactly at the end.
std::optional<WireLayout> walk_wire(std::span<const std::uint8_t> msg);

inline std::uint16_t read_u16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
inline std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 |
         std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}
inline void write_u16(std::span<std::uint8_t> b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void write_u32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

}  // namespace pipgate::dns::internal
