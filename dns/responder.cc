#include "dns/responder.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <utility>

#include "dns/internal/packet.h"
#include "dns/internal/wire.h"

namespace pipgate::dns {
namespace {

using internal::Packet;

constexpr std::size_t kMinUdpSize = 512;      // RFC 1035 §4.2.1, and RFC 6891 §6.2.5's floor
constexpr std::size_t kMaxTcpSize = 65535;    // the two-byte length prefix, RFC 7766 §8
constexpr std::uint8_t kExtRcodeBadvers = 1;  // BADVERS (16) = extended 1 << 4 | header 0

// A query that passed the header checks and parsed with exactly one question.
struct Query {
  Packet pkt;
  ldns_rr* question = nullptr;  // owned by pkt
  bool has_edns = false;
  bool dnssec_ok = false;
  std::uint16_t udp_size = 0;
};

std::optional<Query> parse_query(std::span<const std::uint8_t> wire) {
  Query q;
  q.pkt = internal::parse_packet(wire);
  if (!q.pkt) return std::nullopt;
  ldns_rr_list* questions = ldns_pkt_question(q.pkt.get());
  if (ldns_rr_list_rr_count(questions) != 1) return std::nullopt;
  q.question = ldns_rr_list_rr(questions, 0);
  if (ldns_rr_owner(q.question) == nullptr) return std::nullopt;
  q.has_edns = ldns_pkt_edns(q.pkt.get());
  q.dnssec_ok = q.has_edns && ldns_pkt_edns_do(q.pkt.get());
  q.udp_size = ldns_pkt_edns_udp_size(q.pkt.get());
  return q;
}

CacheKey cache_key(const Query& q) {
  return CacheKey{internal::lowered_wire_name(ldns_rr_owner(q.question)),
                  static_cast<std::uint16_t>(ldns_rr_get_type(q.question)),
                  static_cast<std::uint16_t>(ldns_rr_get_class(q.question)), q.dnssec_ok,
                  ldns_pkt_cd(q.pkt.get())};
}

std::size_t size_limit(const Query& q, Transport t, std::uint16_t max_udp_size) {
  if (t == Transport::kTcp) return kMaxTcpSize;
  if (!q.has_edns) return kMinUdpSize;
  return std::clamp<std::size_t>(q.udp_size, kMinUdpSize,
                                 std::max<std::size_t>(max_udp_size, kMinUdpSize));
}

// The reply skeleton every answer to `q` starts from: the client's ID, RD and CD, the question
// exactly as sent (RFC 1035 §7.3; resolvers using 0x20 compare it byte for byte), RA (we
// recurse through the upstreams), and an OPT RR when the query had one (RFC 6891 §7).
Packet new_reply(const Query& q, std::uint8_t rcode, const ResponderOptions& o) {
  Packet r(ldns_pkt_new());
  ldns_pkt_set_id(r.get(), ldns_pkt_id(q.pkt.get()));
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), LDNS_PACKET_QUERY);
  ldns_pkt_set_rd(r.get(), ldns_pkt_rd(q.pkt.get()));
  ldns_pkt_set_cd(r.get(), ldns_pkt_cd(q.pkt.get()));
  ldns_pkt_set_ra(r.get(), true);
  ldns_pkt_set_rcode(r.get(), rcode);
  ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(q.question));
  if (q.has_edns) {
    ldns_pkt_set_edns_udp_size(r.get(), std::max<std::uint16_t>(o.max_udp_size, kMinUdpSize));
    ldns_pkt_set_edns_do(r.get(), q.dnssec_ok);  // RFC 3225 §3: DO is copied into the response
  }
  return r;
}

void clear_section(ldns_pkt* r, ldns_pkt_section s) {
  switch (s) {
    case LDNS_SECTION_ANSWER:
      ldns_rr_list_deep_free(ldns_pkt_answer(r));
      ldns_pkt_set_answer(r, ldns_rr_list_new());
      ldns_pkt_set_ancount(r, 0);
      break;
    case LDNS_SECTION_AUTHORITY:
      ldns_rr_list_deep_free(ldns_pkt_authority(r));
      ldns_pkt_set_authority(r, ldns_rr_list_new());
      ldns_pkt_set_nscount(r, 0);
      break;
    case LDNS_SECTION_ADDITIONAL:
      ldns_rr_list_deep_free(ldns_pkt_additional(r));
      ldns_pkt_set_additional(r, ldns_rr_list_new());
      ldns_pkt_set_arcount(r, 0);
      break;
    default:
      break;
  }
}

// Wire form of `r`, truncated when it does not fit the transport: TC=1 with the question and
// OPT only (RFC 2181 §9, RFC 6891 §7), which makes the client retry over TCP (RFC 7766 §5).
Bytes finish(Packet r, std::size_t limit) {
  std::optional<Bytes> wire = internal::to_wire(r.get());
  if (wire && wire->size() <= limit) return std::move(*wire);
  ldns_pkt_set_tc(r.get(), true);
  clear_section(r.get(), LDNS_SECTION_ANSWER);
  clear_section(r.get(), LDNS_SECTION_AUTHORITY);
  clear_section(r.get(), LDNS_SECTION_ADDITIONAL);
  wire = internal::to_wire(r.get());
  return wire ? std::move(*wire) : Bytes{};
}

// A reply for a message we will not or cannot process as a query: only its header is trusted.
Bytes header_only_reply(std::span<const std::uint8_t> query, std::uint8_t rcode) {
  Packet r(ldns_pkt_new());
  ldns_pkt_set_id(r.get(), LDNS_ID_WIRE(query.data()));
  ldns_pkt_set_qr(r.get(), true);
  ldns_pkt_set_opcode(r.get(), static_cast<ldns_pkt_opcode>(LDNS_OPCODE_WIRE(query.data())));
  ldns_pkt_set_rd(r.get(), LDNS_RD_WIRE(query.data()) != 0);
  ldns_pkt_set_cd(r.get(), LDNS_CD_WIRE(query.data()) != 0);
  ldns_pkt_set_rcode(r.get(), rcode);
  std::optional<Bytes> wire = internal::to_wire(r.get());
  return wire ? std::move(*wire) : Bytes{};
}

// The reply to `q` carrying `u`'s sections (an upstream's answer, live or from the cache). Owner
// names equal to the question name take the client's case, so
// a cached answer first fetched as "Example.COM" reads as this client asked.
Packet reply_from(const Query& q, const ldns_pkt* u, const ResponderOptions& o) {
  Packet r = new_reply(q, static_cast<std::uint8_t>(ldns_pkt_get_rcode(u)), o);
  ldns_pkt_set_aa(r.get(), ldns_pkt_aa(u));
  // RFC 6840 §5.8: AD only for clients that asked for DNSSEC (DO) or set AD themselves.
  ldns_pkt_set_ad(r.get(), ldns_pkt_ad(u) && (q.dnssec_ok || ldns_pkt_ad(q.pkt.get())));
  if (q.has_edns) ldns_pkt_set_edns_extended_rcode(r.get(), ldns_pkt_edns_extended_rcode(u));
  const ldns_rdf* qname = ldns_rr_owner(q.question);
  const std::pair<ldns_pkt_section, const ldns_rr_list*> sections[] = {
      {LDNS_SECTION_ANSWER, ldns_pkt_answer(u)},
      {LDNS_SECTION_AUTHORITY, ldns_pkt_authority(u)},
      {LDNS_SECTION_ADDITIONAL, ldns_pkt_additional(u)}};
  for (const auto& [section, list] : sections) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
      ldns_rr* rr = ldns_rr_clone(ldns_rr_list_rr(list, i));
      if (ldns_dname_compare(ldns_rr_owner(rr), qname) == 0) {
        ldns_rdf_deep_free(ldns_rr_owner(rr));
        ldns_rr_set_owner(rr, ldns_rdf_clone(qname));
      }
      ldns_pkt_push_rr(r.get(), section, rr);
    }
  }
  return r;
}

// The cached answer `c` turned into the reply to `q` in place: what reply_from() does, on the
// wire. The stored question is the same name as the client's (the cache key is its lowered wire
// form), so the client's spelling is copied over it, and the owner names that ldns compressed
// into pointers to it follow. nullopt when the result needs truncating or the OPT RR is not the
// plain one ldns writes: the caller then takes the ldns path.
std::optional<Bytes> adapt_cached(const Query& q, const CachedAnswer& c, std::size_t limit,
                                  const ResponderOptions& o) {
  Bytes out = c.packet;
  const ldns_rdf* qname = ldns_rr_owner(q.question);
  const std::size_t name_size = ldns_rdf_size(qname);
  if (out.size() < 12 + name_size) return std::nullopt;
  std::copy_n(ldns_rdf_data(qname), name_size, out.begin() + 12);
  const ldns_pkt* qp = q.pkt.get();
  internal::write_u16(out, 0, ldns_pkt_id(qp));
  out[2] = static_cast<std::uint8_t>(0x80 | (out[2] & 0x04) | (ldns_pkt_rd(qp) ? 0x01 : 0));
  const bool is_ad = (out[3] & 0x20) != 0 && (q.dnssec_ok || ldns_pkt_ad(qp));
  out[3] = static_cast<std::uint8_t>(0x80 | (is_ad ? 0x20 : 0) | (ldns_pkt_cd(qp) ? 0x10 : 0) |
                                     (out[3] & 0x0f));
  const std::uint16_t arcount = internal::read_u16(out, 10);
  const std::uint16_t udp_size = std::max<std::uint16_t>(o.max_udp_size, kMinUdpSize);
  if (c.opt_offset) {
    const std::size_t at = *c.opt_offset;
    if (at + 11 > out.size() || out[at] != 0) return std::nullopt;
    if (q.has_edns) {  // ours: our size, DO as asked (also the key), no upstream options
      internal::write_u16(out, at + 3, udp_size);
      out[at + 6] = 0;
      out[at + 7] = q.dnssec_ok ? 0x80 : 0;
      out[at + 8] = 0;
      internal::write_u16(out, at + 9, 0);
      out.resize(at + 11);
    } else {
      out.resize(at);
      internal::write_u16(out, 10, static_cast<std::uint16_t>(arcount - 1));
    }
  } else if (q.has_edns) {
    const std::uint8_t opt[11] = {0,
                                  0,
                                  41,
                                  static_cast<std::uint8_t>(udp_size >> 8),
                                  static_cast<std::uint8_t>(udp_size),
                                  0,
                                  0,
                                  static_cast<std::uint8_t>(q.dnssec_ok ? 0x80 : 0),
                                  0,
                                  0,
                                  0};
    out.insert(out.end(), std::begin(opt), std::end(opt));
    internal::write_u16(out, 10, static_cast<std::uint16_t>(arcount + 1));
  }
  if (out.size() > limit) return std::nullopt;
  return out;
}

ldns_rdf* name_from_wire(const std::string& wire) {
  return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, wire.size(), wire.data());
}

// The SOA that makes a NODATA answer for an intercepted name negatively cacheable for `ttl`
// (RFC 2308 §3: TTL and MINIMUM both `ttl`). The names are synthetic: we are not the zone.
ldns_rr* synthetic_soa(const std::string& name_wire, std::uint32_t ttl) {
  ldns_rr* soa = ldns_rr_new();
  ldns_rr_set_owner(soa, name_from_wire(name_wire));
  ldns_rr_set_type(soa, LDNS_RR_TYPE_SOA);
  ldns_rr_set_class(soa, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(soa, ttl);
  ldns_rr_push_rdf(soa, name_from_wire(name_wire));
  ldns_rr_push_rdf(soa, name_from_wire(std::string("\x0ahostmaster") + name_wire));
  ldns_rr_push_rdf(soa, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, 1));       // serial
  ldns_rr_push_rdf(soa, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 3600));   // refresh
  ldns_rr_push_rdf(soa, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 600));    // retry
  ldns_rr_push_rdf(soa, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 86400));  // expire
  ldns_rr_push_rdf(soa, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, ttl));    // minimum
  return soa;
}

ldns_rr* address_rr(const Query& q, const IpAddress& a, std::uint32_t ttl) {
  ldns_rr* rr = ldns_rr_new();
  ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(q.question)));  // 0x20: the client's case
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, ttl);
  if (a.is_v4()) {
    ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
    ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, a.bytes.data()));
  } else {
    ldns_rr_set_type(rr, LDNS_RR_TYPE_AAAA);
    ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, a.bytes.data()));
  }
  return rr;
}

bool is_intercepted_type(ldns_rr_type t) {
  return t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA || t == LDNS_RR_TYPE_ANY ||
         t == LDNS_RR_TYPE_HTTPS || t == LDNS_RR_TYPE_SVCB;
}

// The answer for an intercepted name (`name_wire`, lowered) and an address-like type.
Packet intercepted_reply(const Query& q, const std::string& name_wire, const ResponderOptions& o) {
  const ldns_rr_type qtype = ldns_rr_get_type(q.question);
  const auto ttl = static_cast<std::uint32_t>(std::max<std::int64_t>(o.ttl.count(), 0));
  Packet r = new_reply(q, LDNS_RCODE_NOERROR, o);
  ldns_pkt_set_aa(r.get(), true);
  // HTTPS/SVCB: NODATA, since hints from upstream would carry PyPI's real addresses.
  // ANY: RFC 8482 §4.2 allows answering with one RRset; the A record is the useful one.
  std::optional<IpAddress> address;
  if (qtype == LDNS_RR_TYPE_A || qtype == LDNS_RR_TYPE_ANY) address = o.address;
  if (qtype == LDNS_RR_TYPE_AAAA || (qtype == LDNS_RR_TYPE_ANY && !address)) address = o.address6;
  if (address) {
    ldns_pkt_push_rr(r.get(), LDNS_SECTION_ANSWER, address_rr(q, *address, ttl));
  } else {
    ldns_pkt_push_rr(r.get(), LDNS_SECTION_AUTHORITY, synthetic_soa(name_wire, ttl));
  }
  return r;
}

}  // namespace

ResponderOptions ResponderOptions::from(const Config& cfg) {
  ResponderOptions o;
  o.intercept = cfg.dns.intercept;
  o.address = cfg.appliance.address;
  o.address6 = cfg.appliance.address6;
  o.ttl = cfg.dns.ttl;
  o.allow = cfg.dns.allow;
  o.rate_limit.rate_per_second = cfg.dns.rate_limit;
  o.rate_limit.burst = cfg.dns.rate_limit_burst;
  o.cache.max_entries = cfg.dns.cache_entries;
  o.cache.min_ttl = cfg.dns.cache_min_ttl;
  o.cache.max_ttl = cfg.dns.cache_max_ttl;
  o.cache.max_negative_ttl = cfg.dns.cache_max_negative_ttl;
  o.max_udp_size = cfg.dns.max_udp_size;
  o.upstream_udp_size = cfg.dns.max_udp_size;
  return o;
}

void Responder::reconfigure(ResponderOptions options) {
  auto stats = stats_;
  *this = Responder(std::move(options));
  stats_ = stats;
}

Responder::Responder(ResponderOptions options)
    : options_(std::move(options)), limiter_(options_.rate_limit), cache_(options_.cache) {
  for (const std::string& name : options_.intercept) {
    std::string text = name;
    if (text.empty() || text.back() != '.') text += '.';
    ldns_rdf* rdf = ldns_dname_new_frm_str(text.c_str());
    if (rdf == nullptr) continue;  // the config loader rejects such names; nothing to match
    intercept_wire_.push_back(internal::lowered_wire_name(rdf));
    ldns_rdf_deep_free(rdf);
  }
  if (options_.address && !options_.address->is_v4()) options_.address.reset();
  if (options_.address6 && options_.address6->is_v4()) options_.address6.reset();
  // Intercepted answers never change, so ldns builds each once, for an EDNS query in lower
  // case; handle() adapts a copy on the wire (as for cache hits) instead of building it again.
  for (const std::string& name : intercept_wire_) {
    for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_ANY,
                              LDNS_RR_TYPE_HTTPS, LDNS_RR_TYPE_SVCB}) {
      Packet synthetic(ldns_pkt_new());
      ldns_pkt_set_rd(synthetic.get(), true);
      ldns_rr* question = ldns_rr_new();
      ldns_rr_set_owner(question, name_from_wire(name));
      ldns_rr_set_type(question, type);
      ldns_rr_set_class(question, LDNS_RR_CLASS_IN);
      ldns_rr_set_question(question, true);
      ldns_pkt_push_rr(synthetic.get(), LDNS_SECTION_QUESTION, question);
      ldns_pkt_set_edns_udp_size(synthetic.get(), kMinUdpSize);
      std::optional<Bytes> query = internal::to_wire(synthetic.get());
      std::optional<Query> q = query ? parse_query(*query) : std::nullopt;
      if (!q) continue;
      std::optional<Bytes> wire = internal::to_wire(intercepted_reply(*q, name, options_).get());
      std::optional<internal::WireLayout> layout = wire ? internal::walk_wire(*wire) : std::nullopt;
      if (!layout) continue;
      templates_.push_back(Template{name, static_cast<std::uint16_t>(type),
                                    CachedAnswer{std::move(*wire), {}, layout->opt_offset}});
    }
  }
}

Outcome Responder::handle(std::span<const std::uint8_t> query, const Client& from,
                          MonotonicTime now) {
  ++stats_.queries;
  // NSD query.c: nothing useful can be said to a packet without a header, and answering a
  // response (QR=1) could start a loop between two servers.
  if (query.size() < LDNS_HEADER_SIZE || LDNS_QR_WIRE(query.data()) != 0) {
    ++stats_.dropped;
    return Drop{};
  }
  // UDP sources can be spoofed, so every reply over UDP (REFUSED and FORMERR too) costs a
  // token; a TCP peer has completed a handshake and is bounded by tcp_max_connections.
  if (from.transport == Transport::kUdp && !limiter_.allow(from.address, now)) {
    ++stats_.rate_limited;
    return Drop{.rate_limited = true};
  }
  const bool is_allowed = std::any_of(options_.allow.begin(), options_.allow.end(),
                                      [&](const Cidr& c) { return c.contains(from.address); });
  const auto opcode = LDNS_OPCODE_WIRE(query.data());
  if (!is_allowed) {
    ++stats_.refused;
    if (opcode == LDNS_PACKET_QUERY && LDNS_QDCOUNT(query.data()) == 1) {
      if (auto q = parse_query(query)) {
        Packet r = new_reply(*q, LDNS_RCODE_REFUSED, options_);
        ldns_pkt_set_ra(r.get(), false);  // no recursion for this client
        return Refuse{finish(std::move(r), size_limit(*q, from.transport, options_.max_udp_size))};
      }
    }
    return Refuse{header_only_reply(query, LDNS_RCODE_REFUSED)};
  }
  if (opcode != LDNS_PACKET_QUERY) {  // NOTIFY, UPDATE, IQUERY...: RFC 1035 §4.1.1
    ++stats_.malformed;
    return Answer{header_only_reply(query, LDNS_RCODE_NOTIMPL)};
  }
  if (LDNS_QDCOUNT(query.data()) != 1) {  // RFC 9619: exactly one question
    ++stats_.malformed;
    return Answer{header_only_reply(query, LDNS_RCODE_FORMERR)};
  }
  std::optional<Query> q = parse_query(query);
  if (!q) {
    ++stats_.malformed;
    return Answer{header_only_reply(query, LDNS_RCODE_FORMERR)};
  }
  const std::size_t limit = size_limit(*q, from.transport, options_.max_udp_size);
  if (q->has_edns && ldns_pkt_edns_version(q->pkt.get()) > 0) {
    ++stats_.malformed;
    Packet r = new_reply(*q, LDNS_RCODE_NOERROR, options_);
    ldns_pkt_set_edns_extended_rcode(r.get(), kExtRcodeBadvers);
    return Answer{finish(std::move(r), limit)};
  }

  const ldns_rr_type qtype = ldns_rr_get_type(q->question);
  if (ldns_rr_get_class(q->question) == LDNS_RR_CLASS_IN) {
    const std::string qname = internal::lowered_wire_name(ldns_rr_owner(q->question));
    auto hit = std::find(intercept_wire_.begin(), intercept_wire_.end(), qname);
    if (hit != intercept_wire_.end() && is_intercepted_type(qtype)) {
      ++stats_.intercepted;
      // The answer ldns built at start for this name and type, adapted to this query.
      const auto t = std::find_if(templates_.begin(), templates_.end(), [&](const Template& t) {
        return t.type == qtype && t.name == qname;
      });
      if (t != templates_.end()) {
        if (std::optional<Bytes> fast = adapt_cached(*q, t->answer, limit, options_)) {
          return Answer{std::move(*fast)};
        }
      }
      return Answer{finish(intercepted_reply(*q, *hit, options_), limit)};
    }
  }

  CacheKey key = cache_key(*q);
  if (std::optional<CachedAnswer> cached = cache_.lookup(key, now)) {
    ++stats_.cache_hits;
    if (std::optional<Bytes> fast = adapt_cached(*q, *cached, limit, options_)) {
      return Answer{std::move(*fast)};
    }
    if (Packet u = internal::parse_packet(cached->packet)) {  // needs truncating, or odd
      return Answer{finish(reply_from(*q, u.get(), options_), limit)};
    }
  }

  // Our own query upstream: the client's question (its case too, keeping its 0x20 bits), RD,
  // its CD and DO, and our EDNS size. Client EDNS options (cookies, ECS) are not passed on.
  ++stats_.forwarded;
  Packet up(ldns_pkt_new());
  ldns_pkt_set_opcode(up.get(), LDNS_PACKET_QUERY);
  ldns_pkt_set_rd(up.get(), true);
  ldns_pkt_set_cd(up.get(), ldns_pkt_cd(q->pkt.get()));
  ldns_pkt_push_rr(up.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(q->question));
  ldns_pkt_set_edns_udp_size(up.get(), std::max<std::uint16_t>(options_.upstream_udp_size, 512));
  ldns_pkt_set_edns_do(up.get(), q->dnssec_ok);
  std::optional<Bytes> up_wire = internal::to_wire(up.get());
  if (!up_wire) {
    ++stats_.upstream_failures;
    return Answer{finish(new_reply(*q, LDNS_RCODE_SERVFAIL, options_), limit)};
  }
  return Forward{std::move(*up_wire), Bytes(query.begin(), query.end()), from.transport};
}

Outcome Responder::complete(const Forward& forward, const Result<Bytes>& reply, MonotonicTime now) {
  std::optional<Query> q = parse_query(forward.client_query);
  if (!q) return Drop{};  // handle() only forwards queries that parse
  const std::size_t limit = size_limit(*q, forward.transport, options_.max_udp_size);
  Packet u;
  if (reply) u = internal::parse_packet(*reply);
  if (!u || !ldns_pkt_qr(u.get())) {
    ++stats_.upstream_failures;
    return Answer{finish(new_reply(*q, LDNS_RCODE_SERVFAIL, options_), limit)};
  }
  // A cached copy serves the next clients with the TTLs clamped as configured; this one gets
  // the upstream's own view.
  cache_.store(cache_key(*q), *reply, now);
  return Answer{finish(reply_from(*q, u.get(), options_), limit)};
}

}  // namespace pipgate::dns
