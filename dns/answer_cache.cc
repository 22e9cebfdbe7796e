#include "dns/answer_cache.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <functional>

#include "dns/internal/packet.h"
#include "dns/internal/wire.h"

namespace pipgate::dns {
namespace {

using std::chrono::seconds;

std::uint32_t clamp_ttl(std::uint32_t ttl, seconds lo, seconds hi) {
  const auto lo_s = static_cast<std::uint32_t>(std::max<seconds::rep>(lo.count(), 0));
  const auto hi_s = static_cast<std::uint32_t>(std::max<seconds::rep>(hi.count(), 0));
  return std::clamp(ttl, std::min(lo_s, hi_s), hi_s);
}

// Applies `f` to every RR in the answer, authority and additional sections (ldns keeps the OPT
// pseudo-RR apart, so its TTL field, which carries EDNS flags, is never touched).
template <class F>
void for_each_rr(ldns_pkt* pkt, F&& f) {
  for (ldns_rr_list* list :
       {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt), ldns_pkt_additional(pkt)}) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) f(ldns_rr_list_rr(list, i));
  }
}

}  // namespace

std::size_t AnswerCache::KeyHash::operator()(const CacheKey& k) const {
  std::size_t h = std::hash<std::string>{}(k.name);
  h ^= (std::size_t{k.type} << 17) ^ (std::size_t{k.klass} << 1) ^
       (std::size_t{k.dnssec_ok} << 40) ^ (std::size_t{k.checking_disabled} << 41);
  return h;
}

AnswerCache::AnswerCache(const AnswerCacheOptions& options) : options_(options) {}

std::optional<seconds> AnswerCache::store(const CacheKey& key, std::span<const std::uint8_t> reply,
                                          MonotonicTime now) {
  if (options_.max_entries == 0) return std::nullopt;
  internal::Packet pkt = internal::parse_packet(reply);
  if (!pkt || ldns_pkt_tc(pkt.get())) return std::nullopt;
  const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
  if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) return std::nullopt;

  const bool is_negative = rcode == LDNS_RCODE_NXDOMAIN || ldns_pkt_ancount(pkt.get()) == 0;
  std::uint32_t ttl = UINT32_MAX;
  if (is_negative) {
    // RFC 2308 §5: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field, and
    // that is the TTL the SOA is given when served from cache (§3). Without an SOA (e.g. a
    // referral) a negative answer is not cached.
    ldns_rr* soa = nullptr;
    ldns_rr_list* auth = ldns_pkt_authority(pkt.get());
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(auth); ++i) {
      ldns_rr* rr = ldns_rr_list_rr(auth, i);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7) soa = rr;
    }
    if (soa == nullptr) return std::nullopt;
    const std::uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
    const std::uint32_t negative = clamp_ttl(std::min(ldns_rr_ttl(soa), minimum), options_.min_ttl,
                                             std::min(options_.max_ttl, options_.max_negative_ttl));
    for_each_rr(pkt.get(), [&](ldns_rr* rr) {
      ldns_rr_set_ttl(rr, std::min(ldns_rr_ttl(rr), negative));
      ttl = std::min(ttl, ldns_rr_ttl(rr));
    });
    ttl = std::min(ttl, negative);
  } else {
    for_each_rr(pkt.get(), [&](ldns_rr* rr) {
      ldns_rr_set_ttl(rr, clamp_ttl(ldns_rr_ttl(rr), options_.min_ttl, options_.max_ttl));
      ttl = std::min(ttl, ldns_rr_ttl(rr));
    });
  }
  if (ttl == 0 || ttl == UINT32_MAX) return std::nullopt;

  ldns_pkt_set_id(pkt.get(), 0);
  std::optional<Bytes> wire = internal::to_wire(pkt.get());
  if (!wire) return std::nullopt;
  std::optional<internal::WireLayout> layout = internal::walk_wire(*wire);
  if (!layout) return std::nullopt;

  if (auto it = entries_.find(key); it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  while (entries_.size() >= options_.max_entries) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(*wire), std::move(layout->ttl_offsets), layout->opt_offset,
                              now, now + seconds(ttl), lru_.begin()});
  return seconds(ttl);
}

std::optional<CachedAnswer> AnswerCache::lookup(const CacheKey& key, MonotonicTime now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  if (now >= e.expires_at) {
    lru_.erase(e.lru);
    entries_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, e.lru);
  const seconds age = std::chrono::duration_cast<seconds>(now - e.stored_at);
  CachedAnswer hit{e.packet, age, e.opt_offset};
  const auto age_s = static_cast<std::uint32_t>(age.count());
  for (std::size_t at : e.ttl_offsets) {
    const std::uint32_t ttl = internal::read_u32(hit.packet, at);
    internal::write_u32(hit.packet, at, ttl > age_s ? ttl - age_s : 0);
  }
  return hit;
}

}  // namespace pipgate::dns
