// ldns glue shared by the dns/ cores; not for other modules. Forward-declares ldns' packet type
// so that no header includes <ldns/ldns.h> (STYLE.md §1).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "dns/bytes.h"

struct ldns_struct_pkt;
struct ldns_struct_rdf;

namespace pipgate::dns::internal {

struct PacketFree {
  void operator()(ldns_struct_pkt* p) const;
};
// An owned ldns packet.
using Packet = std::unique_ptr<ldns_struct_pkt, PacketFree>;

// ldns_wire2pkt: null when ldns rejects the bytes (bad labels, counts past the end, ...), or
// when they hold more than one TSIG RR (see the .cc).
Packet parse_packet(std::span<const std::uint8_t> wire);
// ldns_pkt2wire (with name compression); nullopt when ldns fails (out of memory).
std::optional<Bytes> to_wire(const ldns_struct_pkt* packet);
// The wire form of a domain name with ASCII letters lowered: the case-insensitive identity of
// a name (RFC 4343). Label length bytes (<= 63) are never letters, so lowering every byte is safe.
std::string lowered_wire_name(const ldns_struct_rdf* name);

}  // namespace pipgate::dns::internal
