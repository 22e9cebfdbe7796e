// What the store keeps beside an object's body: the upstream response head the proxy needs to
// answer from cache, plus sizes, digest and times the store maintains.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "store/digest.h"

namespace pipgate::store {

// The stored upstream response head. Header names and values are kept byte for byte as the
// proxy hands them over; the store never interprets them.
struct ResponseHead {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;

  bool operator==(const ResponseHead&) const = default;
};

// A committed object as the store describes it.
struct ObjectMeta {
  std::string key;
  // Changes on every commit of `key`: readers, verify and remove_if() use it to tell a
  // replacement apart from the version they looked at.
  std::uint64_t version = 0;
  ResponseHead head;
  std::uint64_t size_bytes = 0;
  Digest digest{};         // BLAKE2b-256 of the body, computed while it was written
  SystemTime created;      // commit time
  SystemTime validated;    // commit time, or the last update_head() (a 304 from upstream)
  SystemTime last_access;  // as of the last batched access-time flush (see Store)
};

}  // namespace pipgate::store
