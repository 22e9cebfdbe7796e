// The answer cache for forwarded questions: bounded (least recently used entries go first),
// TTLs clamped, negative answers cached per RFC 2308. Pure: `now` comes from the caller, so
// tests expire entries by advancing a ManualClock.
//
//   AnswerCache cache{{.max_entries = 10000}};
//   cache.store(key, upstream_reply, now);                  // when the upstream answers
//   if (auto hit = cache.lookup(key, now)) reply_from(hit->packet, hit->age);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "dns/bytes.h"

namespace pipgate::dns {

struct AnswerCacheOptions {
  // Entries kept; 0 disables caching. Default: [dns] cache_entries.
  std::size_t max_entries = 10000;
  // Every RR's TTL is clamped to [min_ttl, max_ttl] when stored (unbound's cache-min/max-ttl).
  std::chrono::seconds min_ttl{0};
  std::chrono::seconds max_ttl{86400};
  // Upper bound for NXDOMAIN / NODATA answers (RFC 2308 §5 suggests 1 to 3 hours).
  std::chrono::seconds max_negative_ttl{3600};
};

// One question as cached: the name in lowered wire form (case-insensitive, RFC 4343), type,
// class, and the bits that change what an upstream returns: DO (RRSIGs, RFC 3225) and CD
// (unvalidated data, RFC 4035 §3.2.2).
struct CacheKey {
  std::string name;
  std::uint16_t type = 0;
  std::uint16_t klass = 1;
  bool dnssec_ok = false;
  bool checking_disabled = false;
  bool operator==(const CacheKey&) const = default;
};

struct CachedAnswer {
  // The stored reply as ldns wrote it (ID 0, OPT last if any) with every TTL lowered by `age`
  // (the clamped TTLs count down from the store). The caller adapts the header, the question's
  // case and the OPT RR to its client.
  Bytes packet;
  // Whole seconds since the reply was stored; below the entry's smallest TTL.
  std::chrono::seconds age{0};
  // Offset of the OPT RR in `packet` (always the last RR), if the upstream sent one.
  std::optional<std::size_t> opt_offset;
};

class AnswerCache {
 public:
  explicit AnswerCache(const AnswerCacheOptions& options);

  // Stores `reply`, an upstream's answer to the question `key`, when it is cacheable: NOERROR
  // with answers (TTL = smallest clamped RR TTL), or NXDOMAIN / NODATA with an SOA in the
  // authority section (TTL = min(SOA TTL, SOA MINIMUM), RFC 2308 §5, at most
  // max_negative_ttl). Not stored: truncated replies, other RCODEs (SERVFAIL, REFUSED, ...),
  // negative answers without SOA, TTL 0, unparsable bytes. Returns the entry's TTL, or nullopt
  // when nothing was stored. Replaces an existing entry for `key`.
  std::optional<std::chrono::seconds> store(const CacheKey& key,
                                            std::span<const std::uint8_t> reply, MonotonicTime now);

  // The entry for `key` while its TTL has not run out (an expired entry is removed), and marks
  // it recently used.
  [[nodiscard]] std::optional<CachedAnswer> lookup(const CacheKey& key, MonotonicTime now);

  std::size_t size() const { return entries_.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const CacheKey& k) const;
  };
  struct Entry {
    Bytes packet;
    std::vector<std::size_t> ttl_offsets;
    std::optional<std::size_t> opt_offset;
    MonotonicTime stored_at;
    MonotonicTime expires_at;
    std::list<CacheKey>::iterator lru;
  };

  AnswerCacheOptions options_;
  std::list<CacheKey> lru_;  // front: most recently used
  std::unordered_map<CacheKey, Entry, KeyHash> entries_;
};

}  // namespace pipgate::dns
