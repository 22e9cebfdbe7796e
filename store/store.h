// The cache store: objects keyed by a string the proxy chooses (host + path + variant), each a
// stored response head plus a body kept in RocksDB as fixed-size chunks. The only module that
// knows RocksDB.
//
//   auto store = Store::open(StoreOptions::from(config.cache, config.cache_dir()), clock);
//   // miss: one fill per key
//   auto w = store->begin(key, head, content_length);    // Result<ChunkWriter>
//   w->append(bytes) ...;  w->commit({.digest = digest_from_path});
//   // every client of that key while the fill runs:
//   auto r = store->join(key);      // a live ObjectReader, woken as chunks land
//   // hit:
//   auto r = store->open_reader(key, {.offset = 1000, .length = 500});
//
// Guarantees:
// - A reader sees only committed objects (open_reader) or the one write it joined (join); a
//   commit replaces the previous version of its key atomically; nothing partial survives a crash
//   (chunks of unfinished writes are reclaimed by the next open, which scans only the small set
//   of writes that were in progress).
// - A version being read is never deleted under its reader: replacement, eviction and remove
//   hide it at once and free its chunks when its last reader is gone.
// - charged_bytes stays within max_size_bytes except while the oldest objects are pinned by
//   readers; accounting is persisted with every commit and eviction, so open() scans nothing.
//
// Lifetime: the database closes when the last of the Store (copies share one database) and the
// writers and readers made from it is destroyed.
//
// Threading: Store is thread-safe and may be shared by all threads.
// ChunkWriter and ObjectReader are each used by one thread at a time; see their headers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/chunk_writer.h"
#include "store/object_meta.h"
#include "store/object_reader.h"
#include "store/store_options.h"
#include "store/store_stats.h"

namespace pipgate::store {

namespace internal {
class Database;
}

struct EvictionReport {
  std::uint64_t objects = 0;
  std::uint64_t bytes = 0;  // charged bytes freed
};

struct VerifyReport {
  std::uint64_t checked = 0;
  // Keys whose body did not match the size or digest recorded at commit (or whose chunks or
  // meta record were unreadable). They have been deleted.
  std::vector<std::string> corrupt;
};

// How far a verify() is, passed to its progress function.
struct VerifyProgress {
  std::uint64_t checked = 0;  // objects re-hashed (or found undecodable) so far
  // Objects when verify began: a snapshot, since commits and evictions go on meanwhile.
  std::uint64_t total = 0;
  std::uint64_t bytes = 0;    // body bytes re-hashed so far
  std::uint64_t corrupt = 0;  // corrupt objects found (and deleted) so far
};

class Store {
 public:
  // Opens or creates the database at options.path. Errors: kConfig when the directory holds a
  // store of another format version (the detail says which) or is not a store; kNoSpace;
  // kCorrupt when RocksDB reports corruption; kInternal otherwise. `clock` must outlive the
  // store and every writer and reader made from it.
  [[nodiscard]] static Result<Store> open(StoreOptions options, const Clock& clock);

  // Starts writing a new version of `key`, invisible to open_reader() until committed.
  // `expected_size` (Content-Length) lets the store refuse at once what cannot fit.
  // Errors: kInternal if a write of `key` is already in progress (the proxy coalesces fills),
  // kNoSpace if expected_size exceeds the budget or the disk is full.
  [[nodiscard]] Result<ChunkWriter> begin(std::string_view key, ResponseHead head,
                                          std::optional<std::uint64_t> expected_size = {});

  // The committed object's metadata, without counting as an access. kNotFound if none.
  [[nodiscard]] Result<ObjectMeta> lookup(std::string_view key);

  // A reader of the committed version of `key` over `range`; counts as an access for LRU.
  // Errors: kNotFound; kInvalidInput if range.offset is past the end of the object.
  [[nodiscard]] Result<ObjectReader> open_reader(std::string_view key, ByteRange range = {});

  // A reader of the write of `key` in progress (the coalescing case): it gets chunks as the
  // writer appends them and an error if the writer aborts. kNotFound if no write is in
  // progress (it may just have committed: try open_reader()).
  [[nodiscard]] Result<ObjectReader> join(std::string_view key, ByteRange range = {});

  // Replaces the stored head of version `version` of `key` and sets `validated` to now (after
  // a 304 from upstream). kNotFound if that version is no longer stored.
  [[nodiscard]] Result<ObjectMeta> update_head(std::string_view key, std::uint64_t version,
                                               ResponseHead head);

  // Deletes `key` (only if its version is `version`, when given). kNotFound if absent.
  [[nodiscard]] Result<void> remove(std::string_view key,
                                    std::optional<std::uint64_t> version = {});

  // Evicts least recently used, unpinned objects until charged_bytes <= max_size_bytes. Commit
  // calls it when needed; exposed for the appliance's maintenance and for tests.
  [[nodiscard]] Result<EvictionReport> evict();

  // Writes batched access times now (also done on close and before eviction).
  [[nodiscard]] Result<void> flush_access_times();

  // Re-hashes every committed object, compares size and BLAKE2b-256 with what commit recorded,
  // and deletes the ones that differ. Reads the whole data set: for maintenance, not startup.
  [[nodiscard]] Result<VerifyReport> verify();
  // The same, calling `progress` on the calling thread after each object and every 16 MiB
  // hashed within a large one. When it returns false, verify stops before the next object and
  // returns the report so far (checked < total): how a caller cancels a long run.
  //   store.verify([&](const VerifyProgress& p) { show(p.checked, p.total); return !cancelled; });
  [[nodiscard]] Result<VerifyReport> verify(
      const std::function<bool(const VerifyProgress&)>& progress);

  // Calls `visit` for each committed object in key order until it returns false. Takes no
  // lock: objects committed or removed meanwhile may or may not be visited.
  [[nodiscard]] Result<void> for_each(const std::function<bool(const ObjectMeta&)>& visit);

  // Flushes and fully compacts now, with blob garbage collection forced, so the disk space of
  // evicted or replaced objects is returned. Eviction already asks RocksDB to compact the
  // affected range in the background; this is the synchronous version (tests, benchmark).
  [[nodiscard]] Result<void> compact();

  // Writes memtables to table/blob files and syncs the WAL: after it returns, everything
  // committed before survives power loss. Also done when the store closes.
  [[nodiscard]] Result<void> flush();

  // Gives back memory the store only keeps to be fast: empties the hot object cache
  // (StoreOptions::hot_object_bytes) and drops the RocksDB block cache's blocks that nobody is
  // using. For when the appliance is idle: the next reads of each object cost a disk (usually
  // page cache) read again. Data and readers are unaffected; any thread.
  void release_memory();

  StoreStats stats() const;

 private:
  explicit Store(std::shared_ptr<internal::Database> db);
  std::shared_ptr<internal::Database> db_;
};

}  // namespace pipgate::store
