// A small in-memory cache of what readers of committed objects ask for most: decoded meta
// records by key, and the chunks of small bodies (Database keys them by version id and chunk
// index; bodies up to 1 MiB: index pages, .metadata files, small sdists). A hit on a hot
// index page then costs no RocksDB Get and no decode (two Gets and a decode were ~18% of the
// CPU serving an 800-byte page over h2 at 40k req/s). Bounded by bytes, least recently used
// out first. Internal to store/: Database owns one.
//
// Records of all objects are kept, large files' too: a record is about a KiB whatever the
// body's size, and a wheel is often opened many times in a row (uv and pip read its
// central directory and metadata with several range requests before downloading it). Whether
// it stays is the LRU's call, like any other entry's.
//
// Records change (commit, update_head, access times, remove, eviction, verify), so they are
// kept consistent with the meta column family by a protocol between writers and readers:
//
//   writer (holds Database::mu_, as every meta writer does):
//     HotObjects::Writing writing(hot);              // no reader inserts until it ends
//     bool was_hot = hot.forget_record(key);         // before the RocksDB write
//     db->Write(batch);
//     if (ok && was_hot) hot.restore_record(record); // the record just written
//   reader:
//     auto hit = hot.find_record(key);               // also takes the generation on a miss
//     if (!hit.record) { rec = Get(key); hot.insert_record(rec, hit.generation); }
//
// insert_record() drops the record if any Writing ended since the generation was taken or one
// is in progress: the record read may then predate that write. Hence the invariant: a record
// in the cache is, at every instant, the record RocksDB holds for its key; no stale record is
// ever visible, not even while a write is being applied.
//
// Bodies need no protocol: versions are immutable and ids are never reused. A body is dropped
// (forget_body) when its version's chunks are deleted, only to give the memory back.
//
// Threading: every method is thread-safe; one mutex, held for map and list updates only
// (records and bodies are shared_ptrs, copied by callers outside the lock).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/shared_bytes.h"
#include "store/internal/meta_codec.h"

namespace pipgate::store::internal {

class HotObjects {
 public:
  // `max_bytes` bounds the estimated memory of all entries (0 disables the cache: every find
  // misses without counting, every insert is dropped); bodies larger than `max_body_bytes`
  // are never kept.
  HotObjects(std::size_t max_bytes, std::size_t max_body_bytes);
  HotObjects(const HotObjects&) = delete;
  HotObjects& operator=(const HotObjects&) = delete;

  bool is_enabled() const { return max_bytes_ > 0; }

  struct RecordLookup {
    std::shared_ptr<const ObjectRecord> record;  // null: a miss
    // The generation when looked up: for insert_record after a miss, and for a caller that
    // must know later (under a lock every writer holds) whether a write happened since a hit.
    std::uint64_t generation = 0;
  };
  RecordLookup find_record(std::string_view key);
  // Keeps `record` (read from RocksDB after find_record returned `generation`) unless a
  // Writing ended since or is in progress.
  void insert_record(ObjectRecord record, std::uint64_t generation);
  // Counts the Writings that ended. Lock-free.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // The writer's side, see above. While a Writing exists no insert_record succeeds; its end
  // bumps the generation. Writings may nest (each counts).
  class Writing {
   public:
    explicit Writing(HotObjects& hot);
    ~Writing();
    Writing(const Writing&) = delete;
    Writing& operator=(const Writing&) = delete;

   private:
    HotObjects& hot_;
  };
  // With a Writing alive and before the RocksDB write: drops `key`'s record; true if it was
  // cached (the writer may then restore the record it writes, keeping a hot key hot).
  bool forget_record(std::string_view key);
  // With the Writing that forgot the key alive, after its write was applied: keeps `record`,
  // which must be exactly what the write put in the meta column family.
  void restore_record(ObjectRecord record);

  // Whether a body (or a chunk of one) of `size_bytes` may be kept.
  bool is_body_cacheable(std::uint64_t size_bytes) const {
    return max_bytes_ > 0 && size_bytes <= max_body_bytes_;
  }
  // The body of version `id`; with `need_checked`, only one read with RocksDB's checksum
  // verified (a reader that skips checksums may have inserted one that was not).
  // The bytes are shared, not copied, both ways.
  std::optional<SharedBytes> find_body(std::uint64_t id, bool need_checked);
  void insert_body(std::uint64_t id, SharedBytes body, bool is_checked);
  void forget_body(std::uint64_t id);

  // Drops every entry (idle memory release). Records read meanwhile may be inserted again.
  void clear();

  struct Stats {
    std::uint64_t record_hits = 0, record_misses = 0;
    std::uint64_t body_hits = 0, body_misses = 0;
    std::uint64_t bytes = 0, entries = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const ObjectRecord> record;  // set for a record entry
    SharedBytes body;                            // set for a body entry
    std::uint64_t id = 0;                        // body entries: the version
    bool is_checked = false;                     // body entries
    std::size_t bytes = 0;
  };
  using Lru = std::list<Entry>;  // most recently used first

  void end_writing();
  void insert_locked(Entry entry);      // mu_ held; makes room, never exceeds max_bytes_
  void erase_locked(Lru::iterator it);  // mu_ held

  const std::size_t max_bytes_;
  const std::size_t max_body_bytes_;
  std::atomic<std::uint64_t> generation_{0};  // written under mu_

  mutable std::mutex mu_;
  int writings_ = 0;
  std::size_t bytes_ = 0;
  Lru lru_;
  // Keys view the entry's record->meta.key, which lives as long as the entry.
  std::unordered_map<std::string_view, Lru::iterator> records_;
  std::unordered_map<std::uint64_t, Lru::iterator> bodies_;
  Stats counts_;
};

}  // namespace pipgate::store::internal
