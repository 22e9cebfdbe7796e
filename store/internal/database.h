// The store's shared state behind Store, ChunkWriter and ObjectReader: the RocksDB handle, the
// persisted accounting, pins, live writes and pending access times. Internal to store/: other
// modules use Store.
//
// Threading: every method is thread-safe. One mutex (mu_) orders everything that must agree
// with the accounting (begin, commit, abort, evict, remove, pins, access flush); chunk puts and
// chunk gets do not take it, so body I/O of different objects runs in parallel. Every write of
// the meta column family happens under mu_ and inside a HotObjects::Writing (hot_objects.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/shared_bytes.h"
#include "store/digest.h"
#include "store/internal/hot_objects.h"
#include "store/internal/live_object.h"
#include "store/internal/meta_codec.h"
#include "store/store_options.h"
#include "store/store_stats.h"

namespace rocksdb {
class Cache;
class DB;
class ColumnFamilyHandle;
class Statistics;
class WriteBatch;
class Status;
}  // namespace rocksdb

namespace pipgate::store {
struct EvictionReport;
struct VerifyReport;
struct VerifyProgress;
}  // namespace pipgate::store

namespace pipgate::store::internal {

class Database {
 public:
  [[nodiscard]] static Result<std::shared_ptr<Database>> open(StoreOptions options,
                                                              const Clock& clock);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const StoreOptions& options() const { return options_; }

  // Write path (ChunkWriter).
  [[nodiscard]] Result<std::shared_ptr<LiveObject>> begin(std::string key, ResponseHead head,
                                                          std::optional<std::uint64_t> size);
  // Chunks at or past options().logged_bytes_per_object skip the WAL; commit() then flushes.
  [[nodiscard]] Result<void> put_chunk(std::uint64_t id, std::uint32_t index,
                                       std::string_view bytes);
  bool is_logged(std::uint32_t index) const;
  // Writes `tail` (if not empty) as chunk `tail_index` together with the meta record, in one
  // batch; then wakes the live readers and evicts if over budget.
  [[nodiscard]] Result<ObjectMeta> commit(const std::shared_ptr<LiveObject>& live,
                                          std::uint32_t tail_index, std::string_view tail,
                                          std::uint64_t size, const Digest& digest);
  // Deletes the first `chunks_written` chunks and the pending record (best effort: what fails
  // is reclaimed at the next open), then wakes the live readers with `reason`.
  void abort(const std::shared_ptr<LiveObject>& live, std::uint32_t chunks_written, Error reason);

  // Read path (ObjectReader). The returned version / live object is pinned: call unpin(id).
  [[nodiscard]] Result<ObjectRecord> lookup(std::string_view key);
  [[nodiscard]] Result<ObjectRecord> open_committed(std::string_view key);
  [[nodiscard]] Result<std::shared_ptr<LiveObject>> join(std::string_view key);
  void pin(std::uint64_t id);
  void unpin(std::uint64_t id);
  // Replaces `out` with the chunk's bytes; kNotFound if it does not exist. Always RocksDB.
  // A chunk stored in a blob file is handed over as RocksDB read it (no copy).
  [[nodiscard]] Result<void> get_chunk(std::uint64_t id, std::uint32_t index, SharedBytes& out,
                                       bool verify_checksums = true);
  // get_chunk for a pinned committed version of `size_bytes` bytes in chunks of `chunk_size`:
  // a chunk of a body of at most 1 MiB comes from HotObjects, or is read and kept there if it
  // has the expected size. verify() does not use it: it must see what is on disk.
  [[nodiscard]] Result<void> get_committed_chunk(std::uint64_t id, std::uint32_t index,
                                                 std::uint64_t size_bytes, std::uint32_t chunk_size,
                                                 SharedBytes& out, bool verify_checksums);

  [[nodiscard]] Result<void> flush_access_times();
  [[nodiscard]] Result<EvictionReport> evict();
  [[nodiscard]] Result<void> remove(std::string_view key, std::optional<std::uint64_t> version);
  [[nodiscard]] Result<ObjectMeta> update_head(std::string_view key, std::uint64_t version,
                                               ResponseHead head);
  [[nodiscard]] Result<void> for_each(const std::function<bool(const ObjectMeta&)>& visit);
  // `progress` may be empty; see Store::verify.
  [[nodiscard]] Result<VerifyReport> verify(
      const std::function<bool(const VerifyProgress&)>& progress);
  [[nodiscard]] Result<void> compact();
  [[nodiscard]] Result<void> flush();
  // Empties HotObjects and drops the block cache's unreferenced blocks; see Store.
  void release_memory();
  StoreStats stats();

 private:
  Database(StoreOptions options, const Clock& clock);
  [[nodiscard]] Result<void> open_db();
  [[nodiscard]] Result<void> load_state();
  [[nodiscard]] Result<void> reclaim_pending();
  [[nodiscard]] Result<void> write(rocksdb::WriteBatch& batch, std::string_view what);
  // write() for a batch that drops versions (retire, eviction); then bumps drop_epoch_.
  [[nodiscard]] Result<void> write_dropping(rocksdb::WriteBatch& batch, std::string_view what);
  void note_status(const rocksdb::Status& s);
  [[nodiscard]] Result<void> check_free_space() const;
  [[nodiscard]] Result<std::optional<ObjectRecord>> get_record(std::string_view key);  // any thread
  // get_record through hot_; `hot` gets the lookup (hit or not, and its generation).
  [[nodiscard]] Result<std::optional<ObjectRecord>> read_record(std::string_view key,
                                                                HotObjects::RecordLookup& hot);
  void delete_chunks(rocksdb::WriteBatch& batch, std::uint64_t id, std::uint64_t count);
  // Drops a version no meta record points at any more: now, or when its last reader unpins.
  // `batch` must then be written with write_dropping.
  void retire(rocksdb::WriteBatch& batch, const ObjectRecord& old);  // mu_ held
  void put_counters(rocksdb::WriteBatch& batch, std::uint64_t charged, std::uint64_t objects);
  void record_access(const std::string& key);                            // mu_ held
  bool access_flush_due() const;                                         // mu_ held
  [[nodiscard]] Result<void> flush_access_times_locked();                // mu_ held
  [[nodiscard]] Result<EvictionReport> evict_locked();                   // mu_ held
  [[nodiscard]] Result<void> remove_locked(const ObjectRecord& record);  // mu_ held

  const StoreOptions options_;
  const Clock& clock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed before db_
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* chunks_ = nullptr;
  rocksdb::ColumnFamilyHandle* lru_ = nullptr;
  rocksdb::ColumnFamilyHandle* pending_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_ = nullptr;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  HotObjects hot_;

  std::mutex mu_;
  // Bumped (under mu_) after each write that makes a committed version unreachable and deletes
  // or dooms its chunks (write_dropping): open_committed reads records without mu_ and trusts
  // one only if no such write landed meanwhile.
  std::atomic<std::uint64_t> drop_epoch_{0};
  std::uint64_t next_id_ = 1;
  std::uint64_t charged_bytes_ = 0;
  std::uint64_t objects_ = 0;
  std::mutex resume_mu_;       // guards needs_resume_; never held while taking mu_
  bool needs_resume_ = false;  // a write failed for lack of space: try DB::Resume() on begin
  std::unordered_map<std::uint64_t, int> pins_;
  std::unordered_map<std::uint64_t, std::uint64_t> doomed_;  // id → chunk count
  std::unordered_map<std::string, std::shared_ptr<LiveObject>> live_;
  std::unordered_map<std::string, SystemTime> access_;
  MonotonicTime oldest_access_{};
  std::uint64_t commits_ = 0, aborts_ = 0, evicted_objects_ = 0, evicted_bytes_ = 0;
  std::uint64_t reclaimed_at_open_ = 0;
};

}  // namespace pipgate::store::internal
