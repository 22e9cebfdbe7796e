// Test helpers: build real DNS packets with ldns and read replies back. Test-only, so ldns may
// appear in this header.
#pragma once

#include <ldns/ldns.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/net.h"
#include "dns/bytes.h"

namespace pipgate::dns::testing {

struct QueryOptions {
  std::uint16_t id = 0x1234;
  bool has_edns = false;
  bool dnssec_ok = false;
  std::uint16_t udp_size = 1232;
  bool checking_disabled = false;
  bool recursion_desired = true;
};

struct PacketFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Packet = std::unique_ptr<ldns_pkt, PacketFree>;

inline Bytes to_bytes(const ldns_pkt* p) {
  std::uint8_t* buf = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&buf, p, &size) != LDNS_STATUS_OK) return {};
  Bytes out(buf, buf + size);
  std::free(buf);
  return out;
}

inline Packet parse(std::span<const std::uint8_t> wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Packet(p);
}

inline ldns_rr* rr(const std::string& text) {
  ldns_rr* out = nullptr;
  if (ldns_rr_new_frm_str(&out, text.c_str(), 3600, nullptr, nullptr) != LDNS_STATUS_OK) {
    return nullptr;
  }
  return out;
}

inline Bytes make_query(const std::string& name, ldns_rr_type type, const QueryOptions& o = {}) {
  Packet p(ldns_pkt_new());
  ldns_pkt_set_id(p.get(), o.id);
  ldns_pkt_set_rd(p.get(), o.recursion_desired);
  ldns_pkt_set_cd(p.get(), o.checking_disabled);
  ldns_rr* q = ldns_rr_new();
  ldns_rr_set_owner(q, ldns_dname_new_frm_str(name.c_str()));
  ldns_rr_set_type(q, type);
  ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
  ldns_rr_set_question(q, true);
  ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, q);
  if (o.has_edns) {
    ldns_pkt_set_edns_udp_size(p.get(), o.udp_size);
    ldns_pkt_set_edns_do(p.get(), o.dnssec_ok);
  }
  return to_bytes(p.get());
}

// A reply to `query` with the given RRs (presentation format) and RCODE, as an upstream would
// send it (its own ID).
inline Bytes make_reply(std::span<const std::uint8_t> query, ldns_pkt_rcode rcode,
                        const std::vector<std::string>& answer,
                        const std::vector<std::string>& authority = {}, std::uint16_t id = 0xbeef) {
  Packet q = parse(query);
  Packet r(ldns_pkt_new());
  ldns_pkt_set_id(r.get(), id);
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_rd(r.get(), true);
  ldns_pkt_set_ra(r.get(), true);
  ldns_pkt_set_rcode(r.get(), rcode);
  ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION,
                   ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q.get()), 0)));
  for (const auto& a : answer) ldns_pkt_push_rr(r.get(), LDNS_SECTION_ANSWER, rr(a));
  for (const auto& a : authority) ldns_pkt_push_rr(r.get(), LDNS_SECTION_AUTHORITY, rr(a));
  if (ldns_pkt_edns(q.get())) {
    ldns_pkt_set_edns_udp_size(r.get(), 1232);
    ldns_pkt_set_edns_do(r.get(), ldns_pkt_edns_do(q.get()));
  }
  return to_bytes(r.get());
}

inline std::string question_name_bytes(const ldns_pkt* p) {
  const ldns_rdf* n = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0));
  return std::string(reinterpret_cast<const char*>(ldns_rdf_data(n)), ldns_rdf_size(n));
}

inline std::string rr_text(const ldns_rr* r) {
  char* s = ldns_rr2str(r);
  std::string out = s ? s : "";
  std::free(s);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline IpAddress ip(const std::string& text) { return *parse_ip(text); }

}  // namespace pipgate::dns::testing
