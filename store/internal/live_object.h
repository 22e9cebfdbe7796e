// The shared state of one write in progress: how many body bytes are readable from RocksDB, and
// whether the write ended. The writer advances it; any number of readers watch it. It holds no
// body bytes: readers always read chunks from the database, so a slow reader costs the writer
// nothing and holds no memory beyond its own current chunk.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "store/digest.h"
#include "store/object_meta.h"

namespace pipgate::store::internal {

class LiveObject {
 public:
  enum class Phase { kWriting, kCommitted, kAborted };
  struct Snapshot {
    Phase phase = Phase::kWriting;
    std::uint64_t readable_bytes = 0;         // body prefix present in RocksDB
    std::optional<std::uint64_t> final_size;  // set when committed
    std::optional<Error> error;               // set when aborted
  };

  LiveObject(std::string key, std::uint64_t id, std::uint32_t chunk_size_bytes, ResponseHead head,
             std::optional<std::uint64_t> expected_size)
      : key_(std::move(key)),
        id_(id),
        chunk_size_bytes_(chunk_size_bytes),
        head_(std::move(head)),
        expected_size_(expected_size) {}

  const std::string& key() const { return key_; }
  std::uint64_t id() const { return id_; }
  std::uint32_t chunk_size_bytes() const { return chunk_size_bytes_; }
  const ResponseHead& head() const { return head_; }
  std::optional<std::uint64_t> expected_size() const { return expected_size_; }

  Snapshot snapshot() const;

  // Writer side. Each wakes every waiter; callbacks run on the calling thread, after the state
  // changed and with no lock held.
  // `hashed` is the writer's BLAKE2b-256 state over exactly the first `readable_bytes`.
  void advance(std::uint64_t readable_bytes, const Blake2b256& hashed);
  void commit(std::uint64_t final_size);
  void abort(Error error);

  // Reader side. Calls `callback` once: now, on this thread, if more than `position` bytes are
  // readable or the write ended; otherwise on the writer's thread at the next change.
  void on_progress(std::uint64_t position, std::function<void()> callback);
  // Blocks until more than `position` bytes are readable or the write ended.
  Snapshot wait(std::uint64_t position) const;
  // The hash state over the longest stored prefix of at most `position` bytes, and that
  // prefix's length: a reader that must finish the body elsewhere (the write ran out of space)
  // can still check the whole body's digest. Kept at every chunk boundary: 256 bytes a chunk.
  std::pair<std::uint64_t, Blake2b256> hashed_prefix(std::uint64_t position) const;

 private:
  bool ready(std::uint64_t position) const;  // mu_ held
  void notify(std::unique_lock<std::mutex> lock);

  const std::string key_;
  const std::uint64_t id_;
  const std::uint32_t chunk_size_bytes_;
  const ResponseHead head_;
  const std::optional<std::uint64_t> expected_size_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Snapshot state_;
  std::vector<std::pair<std::uint64_t, Blake2b256>> hashed_;  // ascending prefix lengths
  std::vector<std::pair<std::uint64_t, std::function<void()>>> callbacks_;  // position, cb
};

}  // namespace pipgate::store::internal
