// The meta record: ObjectMeta plus what only the store needs, in a versioned binary layout.
// decode() is a parser of disk bytes: it bounds-checks everything and returns kCorrupt, never
// crashes, on any input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/object_meta.h"

namespace pipgate::store::internal {

struct ObjectRecord {
  ObjectMeta meta;  // meta.key is not encoded: it is the record's key
  std::uint32_t chunk_size_bytes = 0;

  std::uint64_t chunk_count() const {
    return chunk_size_bytes == 0 ? 0 : (meta.size_bytes + chunk_size_bytes - 1) / chunk_size_bytes;
  }
};

// Bytes an object counts against the budget: body, key and stored head, plus a fixed overhead
// for its records and index entries.
std::uint64_t charged_bytes(const ObjectRecord& record);

std::string encode(const ObjectRecord& record);
// `key` is copied into the result's meta.key.
[[nodiscard]] Result<ObjectRecord> decode(std::string_view key, std::string_view bytes);

}  // namespace pipgate::store::internal
