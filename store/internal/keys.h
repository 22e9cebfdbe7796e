// Record keys of the store's column families. Big-endian integers, so RocksDB's bytewise order
// is numeric order: an object's chunks are contiguous and in order, the LRU index is oldest
// first.
//
//   meta     object key                       → ObjectRecord (meta_codec.h)
//   chunks   be64(object id) be32(chunk index) → body bytes [index*chunk, (index+1)*chunk)
//   lru      be64(last access µs) object key   → ""
//   pending  be64(object id)                   → object key (for people reading a dump)
//            Removed with SingleDelete: a begin and its commit usually fall in one memtable,
//            and then the flush drops both, so open() never wades through a tombstone per
//            object ever written. Each id is Put at most once between SingleDeletes.
//   state    name                              → value (format version, counters)
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace pipgate::store::internal {

inline constexpr std::uint32_t kFormatVersion = 1;

inline constexpr char kMetaFamily[] = "meta";
inline constexpr char kChunkFamily[] = "chunks";
inline constexpr char kLruFamily[] = "lru";
inline constexpr char kPendingFamily[] = "pending";
inline constexpr char kStateFamily[] = "state";

inline constexpr char kFormatVersionKey[] = "format_version";
inline constexpr char kNextObjectIdKey[] = "next_object_id";
inline constexpr char kChargedBytesKey[] = "charged_bytes";
inline constexpr char kObjectCountKey[] = "object_count";

inline void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline std::uint64_t get_be(std::string_view in, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(in[i]);
  return v;
}

inline std::string u64_value(std::uint64_t v) {
  std::string s;
  put_be(s, v, 8);
  return s;
}

inline std::optional<std::uint64_t> parse_u64_value(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  return get_be(s, 8);
}

inline std::string object_id_key(std::uint64_t id) { return u64_value(id); }

inline std::string chunk_key(std::uint64_t id, std::uint32_t index) {
  std::string s;
  s.reserve(12);
  put_be(s, id, 8);
  put_be(s, index, 4);
  return s;
}

inline std::uint64_t to_micros(SystemTime t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

inline SystemTime from_micros(std::uint64_t us) {
  us = std::min<std::uint64_t>(us, 1ull << 53);  // ~285 years: no overflow converting to ns
  return SystemTime{} + std::chrono::duration_cast<SystemTime::duration>(
                            std::chrono::microseconds(static_cast<std::int64_t>(us)));
}

inline std::string lru_key(SystemTime access, std::string_view key) {
  std::string s;
  s.reserve(8 + key.size());
  put_be(s, to_micros(access), 8);
  s.append(key);
  return s;
}

// The object key inside an lru key; nullopt if `lru` is too short to be one.
inline std::optional<std::string_view> key_of_lru(std::string_view lru) {
  if (lru.size() < 8) return std::nullopt;
  return lru.substr(8);
}

}  // namespace pipgate::store::internal
