#include "dns/internal/packet.h"

#include <ldns/ldns.h>

#include <cstdlib>
#include <utility>

namespace pipgate::dns::internal {

void PacketFree::operator()(ldns_struct_pkt* p) const { ldns_pkt_free(p); }

namespace {

// ldns 1.8.3's ldns_wire2pkt keeps only the last TSIG RR of the additional section and leaks
// the others (ldns_pkt_set_tsig does not free the one it replaces), so a message with two would
// cost memory on every packet. This walks the RRs exactly as ldns_wire2pkt does, with the same
// ldns_wire2rr and the same ARCOUNT bookkeeping, counting TSIGs. Only needed with ARCOUNT >= 2.
bool has_several_tsigs(std::span<const std::uint8_t> wire) {
  if (wire.size() < LDNS_HEADER_SIZE || LDNS_ARCOUNT(wire.data()) < 2) return false;
  std::size_t pos = LDNS_HEADER_SIZE;
  const auto read = [&](ldns_pkt_section section, ldns_rr_type* type) {
    ldns_rr* rr = nullptr;
    const bool ok = ldns_wire2rr(&rr, wire.data(), wire.size(), &pos, section) == LDNS_STATUS_OK;
    if (ok && type != nullptr) *type = ldns_rr_get_type(rr);
    ldns_rr_free(rr);
    return ok;
  };
  const std::pair<ldns_pkt_section, std::size_t> before[] = {
      {LDNS_SECTION_QUESTION, LDNS_QDCOUNT(wire.data())},
      {LDNS_SECTION_ANSWER, LDNS_ANCOUNT(wire.data())},
      {LDNS_SECTION_AUTHORITY, LDNS_NSCOUNT(wire.data())}};
  for (const auto& [section, count] : before) {
    for (std::size_t i = 0; i < count; ++i) {
      if (!read(section, nullptr)) return false;  // ldns stops here too, before any TSIG
    }
  }
  std::size_t arcount = LDNS_ARCOUNT(wire.data());
  int tsigs = 0;
  for (std::size_t i = 0; i < arcount; ++i) {
    ldns_rr_type type{};
    if (!read(LDNS_SECTION_ADDITIONAL, &type)) break;
    if (type == LDNS_RR_TYPE_TSIG) {
      if (++tsigs > 1) return true;
      --arcount;  // as ldns_wire2pkt does
    }
  }
  return false;
}

}  // namespace

Packet parse_packet(std::span<const std::uint8_t> wire) {
  // Several TSIGs are invalid anyway (RFC 8945 §5.1: one, last).
  if (has_several_tsigs(wire)) return nullptr;
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, wire.data(), wire.size()) != LDNS_STATUS_OK) {
    ldns_pkt_free(pkt);
    return nullptr;
  }
  return Packet(pkt);
}

std::optional<Bytes> to_wire(const ldns_struct_pkt* packet) {
  std::uint8_t* buf = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&buf, packet, &size) != LDNS_STATUS_OK) {
    std::free(buf);
    return std::nullopt;
  }
  Bytes out(buf, buf + size);
  std::free(buf);
  return out;
}

std::string lowered_wire_name(const ldns_struct_rdf* name) {
  std::string out(reinterpret_cast<const char*>(ldns_rdf_data(name)), ldns_rdf_size(name));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace pipgate::dns::internal
