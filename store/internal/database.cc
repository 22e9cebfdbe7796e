#include "store/internal/database.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/experimental.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "store/internal/info_log.h"
#include "store/internal/keys.h"
#include "store/store.h"

namespace pipgate::store::internal {
namespace {

Error to_error(const rocksdb::Status& s, std::string_view what) {
  Errc code = Errc::kInternal;
  std::string text = s.ToString();
  if (s.IsNoSpace() || text.find("No space left") != std::string::npos) {
    code = Errc::kNoSpace;
  } else if (s.IsCorruption()) {
    code = Errc::kCorrupt;
  } else if (s.IsNotFound()) {
    code = Errc::kNotFound;
  }
  return Error{code, "store: " + std::string(what) + ": " + text};
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view view(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Objects with at most this many chunks are deleted with point deletes; larger ones with one
// range tombstone. Point deletes keep the memtable free of range tombstones (which every read
// of the column family must consult) for the common case of small files and index pages.
constexpr std::uint64_t kMaxPointDeletes = 256;
// Chunk values of at least this size are kept in blob files.
constexpr std::uint64_t kMinBlobBytes = 4096;

// Bodies up to this size are kept in HotObjects, chunk by chunk: index pages (a popular
// project's JSON page is a few hundred KiB gzipped), .metadata files and small sdists, the
// objects read most often for their size. Larger ones are files read once per install, which
// would only push the pages out. Without it, a 440 KiB page spent half its time in RocksDB's
// software CRC of its chunks, at every request.
constexpr std::size_t kMaxHotBodyBytes = 1 << 20;
// A body chunk's entry is keyed by version id and chunk index (ids are sequential from 1).
constexpr std::uint64_t kMaxHotChunks = 64;
std::uint64_t hot_body_key(std::uint64_t id, std::uint32_t index) {
  return id * kMaxHotChunks + index;
}

// Eviction writes its deletions in batches of this many objects, so evicting a large backlog
// (e.g. after the budget was lowered) never builds one giant batch.
constexpr std::size_t kEvictBatchObjects = 512;

rocksdb::DBOptions db_options(const StoreOptions& o, std::shared_ptr<rocksdb::Statistics> stats) {
  rocksdb::DBOptions d;
  d.create_if_missing = true;
  d.create_missing_column_families = true;
  // Default: 2 (RocksDB: 2). One flush and one compaction at a time: the VM has 1–2 vCPUs that
  // the proxy needs more.
  d.max_background_jobs = 2;
  // Default: 1 MiB (RocksDB: 0). Starts writeback of WAL, SST and blob files every MiB instead of
  // letting the kernel collect hundreds of MiB of dirty pages from a 1 GiB wheel and stall on
  // them. Not an fsync: commits stay cheap.
  d.bytes_per_sync = 1 << 20;
  d.wal_bytes_per_sync = 1 << 20;
  // Default: 64 MiB (RocksDB: 4x the largest memtables). A WAL file is deleted only once every
  // column family is flushed past it; the small meta/lru families would otherwise keep GBs of
  // chunk WAL alive. Past this size RocksDB flushes the family that holds the oldest WAL.
  d.max_total_wal_size = 64 << 20;
  // Default: 64 MiB (RocksDB: unlimited). Caps all memtables together (RAM on a small VM).
  d.db_write_buffer_size = 64 << 20;
  // Default: 512 (RocksDB: -1, all). With -1 open() opens every table file before returning;
  // bounded, tables open lazily and start-up stays well under a second with millions of objects.
  d.max_open_files = 512;
  // Default: true (RocksDB: false). Do not read every table's properties at open (start-up
  // time); they only tune compaction heuristics.
  d.skip_stats_update_on_db_open = true;
  // Default: true (RocksDB: false). After a crash, replayed WAL data stays in memtables instead
  // of being flushed inside open(): start-up time does not depend on how much was in flight.
  d.avoid_flush_during_recovery = true;
  // Default: false (RocksDB: true, fadvise(RANDOM) on every file). Blob files are read a
  // 256 KiB chunk after the next, and without kernel readahead each chunk waits for the disk:
  // cold sequential reads ran at a quarter of dd's speed. Table files (small point lookups)
  // pay some wasted readahead for it.
  d.advise_random_on_open = false;
  // Default: pipgate's log (RocksDB: LOG files in the data directory). See info_log.h.
  d.info_log = make_info_log();
  d.statistics = std::move(stats);
  if (o.env) d.env = o.env;
  return d;
}

rocksdb::ColumnFamilyOptions small_record_options(const std::shared_ptr<rocksdb::Cache>& cache,
                                                  bool bloom) {
  rocksdb::ColumnFamilyOptions c;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // Default: false (RocksDB: false). Index and filter blocks stay with their open table, off
  // the block cache. In the cache, random small reads over a million objects evicted them and
  // every read re-read and decompressed a whole index block (measured: 50x slower). Their
  // memory is ~30 bytes per record, bounded by max_open_files tables.
  t.cache_index_and_filter_blocks = false;
  // Point lookups by key (meta): a bloom filter spares a disk read for every miss, and the
  // proxy looks up many keys it has not stored yet.
  if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  // Default: 4 MiB (RocksDB: 64 MiB). Meta and index records are small; a small memtable keeps
  // RAM low and flushes are cheap.
  c.write_buffer_size = 4 << 20;
  c.level_compaction_dynamic_level_bytes = true;
  // Stored heads compress well; LZ4 is the cheapest of the codecs Debian builds in.
  auto supported = rocksdb::GetSupportedCompressions();
  if (std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end()) {
    c.compression = rocksdb::kLZ4Compression;
  }
  return c;
}

rocksdb::ColumnFamilyOptions chunk_options(const StoreOptions& o,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions c = small_record_options(cache, false);
  // Every chunk read is of a key that exists: no filter to build or keep in memory.
  c.optimize_filters_for_hits = true;
  c.write_buffer_size = o.chunk_write_buffer_bytes;
  // Default: 3 (RocksDB: 2): a fill keeps writing into a new memtable while one is flushed.
  c.max_write_buffer_number = 3;
  // Wheels, sdists and most index pages are already compressed.
  c.compression = rocksdb::kNoCompression;
  // Integrated BlobDB: chunk values go to blob files and the LSM holds ~20-byte references, so
  // compaction never rewrites body bytes.
  c.enable_blob_files = true;
  // Default: 4 KiB (RocksDB: 0). Smaller bodies (small index pages, .metadata files) stay inline
  // in table files, next to their key and in the block cache.
  c.min_blob_size = kMinBlobBytes;
  c.blob_file_size = o.blob_file_bytes;
  c.blob_compression_type = rocksdb::kNoCompression;
  // Blob GC: compactions move live chunks out of the oldest 25% of blob files, so files
  // holding evicted chunks become fully garbage and are deleted; files that are half garbage
  // (RocksDB default: only entirely garbage) are compacted for it.
  c.enable_blob_garbage_collection = true;
  c.blob_garbage_collection_age_cutoff = 0.25;
  c.blob_garbage_collection_force_threshold = 0.5;
  return c;
}

}  // namespace

Database::Database(StoreOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      hot_(options_.hot_object_bytes, kMaxHotBodyBytes) {}

Database::~Database() {
  if (db_) {
    ignore_error(flush_access_times(), "store: closing; access times are an LRU hint");
    // Leaves nothing in the WAL to replay, so the next open() is fast.
    ignore_error(flush(), "store: closing; the WAL still holds everything");
    for (auto* h : handles_) {
      rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
      s.PermitUncheckedError();
    }
    rocksdb::Status s = db_->Close();
    s.PermitUncheckedError();
  }
}

Result<std::shared_ptr<Database>> Database::open(StoreOptions options, const Clock& clock) {
  if (options.chunk_size_bytes == 0 || options.chunk_size_bytes > (64u << 20)) {
    return make_error(Errc::kConfig, "store: chunk_size_bytes must be in 1 B..64 MiB");
  }
  std::shared_ptr<Database> db(new Database(std::move(options), clock));
  if (auto r = db->open_db(); !r) return std::unexpected(r.error());
  if (auto r = db->load_state(); !r) return std::unexpected(r.error());
  if (auto r = db->reclaim_pending(); !r) return std::unexpected(r.error());
  return db;
}

Result<void> Database::open_db() {
  statistics_ = rocksdb::CreateDBStatistics();
  statistics_->set_stats_level(rocksdb::StatsLevel::kExceptDetailedTimers);
  auto cache = rocksdb::NewLRUCache(options_.block_cache_bytes);
  block_cache_ = cache;
  rocksdb::DBOptions dbo = db_options(options_, statistics_);

  std::vector<std::string> existing;
  std::error_code ec;
  std::filesystem::create_directories(options_.path, ec);  // else RocksDB logs a scary error
  if (std::filesystem::exists(options_.path + "/CURRENT", ec)) {
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(dbo, options_.path, &existing);
    if (!listed.ok()) return std::unexpected(to_error(listed, "open " + options_.path));
  }
  const std::vector<std::string> ours = {rocksdb::kDefaultColumnFamilyName,
                                         kMetaFamily,
                                         kChunkFamily,
                                         kLruFamily,
                                         kPendingFamily,
                                         kStateFamily};
  for (const auto& name : existing) {
    if (std::find(ours.begin(), ours.end(), name) == ours.end()) {
      return make_error(Errc::kConfig, "store: " + options_.path + " has column family '" + name +
                                           "', unknown to this version (format " +
                                           std::to_string(kFormatVersion) + ")");
    }
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, small_record_options(cache, false)},
      {kMetaFamily, small_record_options(cache, true)},
      {kChunkFamily, chunk_options(options_, cache)},
      {kLruFamily, small_record_options(cache, false)},
      {kPendingFamily, small_record_options(cache, false)},
      {kStateFamily, small_record_options(cache, false)},
  };
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, options_.path, families, &handles_, &raw);
  if (!s.ok()) return std::unexpected(to_error(s, "open " + options_.path));
  db_.reset(raw);
  meta_ = handles_[1];
  chunks_ = handles_[2];
  lru_ = handles_[3];
  pending_ = handles_[4];
  state_ = handles_[5];
  return {};
}

Result<void> Database::load_state() {
  auto read_u64 = [&](const char* name) -> Result<std::optional<std::uint64_t>> {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), state_, name, &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return std::unexpected(to_error(s, std::string("read ") + name));
    auto v = parse_u64_value(value);
    if (!v) return make_error(Errc::kCorrupt, std::string("store: state record ") + name);
    return v;
  };
  auto version = read_u64(kFormatVersionKey);
  if (!version) return std::unexpected(version.error());
  if (!*version) {
    // A new store: nothing may exist yet, else this is a directory we do not understand.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
    it->SeekToFirst();
    if (it->Valid()) {
      return make_error(Errc::kConfig,
                        "store: " + options_.path + " has objects but no format version");
    }
    rocksdb::WriteBatch batch;
    batch.Put(state_, kFormatVersionKey, u64_value(kFormatVersion));
    put_counters(batch, 0, 0);
    batch.Put(state_, kNextObjectIdKey, u64_value(next_id_));
    return write(batch, "initialise");
  }
  if (**version != kFormatVersion) {
    // TODO(#4): migrate from older layouts once there is a second one.
    return make_error(Errc::kConfig, "store: " + options_.path + " is format " +
                                         std::to_string(**version) + "; this build reads format " +
                                         std::to_string(kFormatVersion) +
                                         ": upgrade pipgate or move the cache directory away");
  }
  auto next = read_u64(kNextObjectIdKey);
  auto charged = read_u64(kChargedBytesKey);
  auto objects = read_u64(kObjectCountKey);
  for (auto* r : {&next, &charged, &objects}) {
    if (!*r) return std::unexpected(r->error());
    if (!**r) return make_error(Errc::kCorrupt, "store: state record missing");
  }
  next_id_ = **next;
  charged_bytes_ = **charged;
  objects_ = **objects;
  return {};
}

Result<void> Database::reclaim_pending() {
  // Only the writes that were in progress (or versions replaced while pinned) when the
  // process stopped: a handful of records, not the data set.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), pending_));
  rocksdb::WriteBatch batch;
  std::uint64_t count = 0;
  std::uint64_t min_id = UINT64_MAX, max_id = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) continue;
    std::uint64_t id = get_be(view(it->key()), 8);
    std::string from = chunk_key(id, 0);
    std::string to = chunk_key(id + 1, 0);
    batch.DeleteRange(chunks_, from, to);
    batch.SingleDelete(pending_, it->key());
    min_id = std::min(min_id, id);
    max_id = std::max(max_id, id);
    ++count;
  }
  if (!it->status().ok()) return std::unexpected(to_error(it->status(), "scan pending"));
  if (count == 0) return {};
  if (auto r = write(batch, "reclaim unfinished writes"); !r) return r;
  reclaimed_at_open_ = count;
  // Give the space back now. The recovered WALs (which hold the unfinished chunks) stay on disk
  // until every column family has flushed what was replayed from them, and the range deletions
  // sit in the memtable, so nothing would drop those chunks until write volume triggers flushes
  // and compactions (on a quiet cache: never). Flush every family, then compact the reclaimed
  // range with blob GC forced, so the blob files that held those chunks are deleted. Bounded by
  // what was in flight at the crash; best effort.
  std::string from = chunk_key(min_id, 0), to = chunk_key(max_id + 1, 0);
  rocksdb::Slice b(from), e(to);
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status s = db_->Flush(flush, handles_);
  if (s.ok()) {
    rocksdb::CompactRangeOptions c;
    c.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    c.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
    c.blob_garbage_collection_age_cutoff = 1.0;
    s = db_->CompactRange(c, chunks_, &b, &e);
  }
  s.PermitUncheckedError();  // best effort: later compactions reclaim anyway
  return {};
}

Result<void> Database::write(rocksdb::WriteBatch& batch, std::string_view what) {
  // No sync: a cache may lose its last commits on power loss but never its consistency (the
  // WAL replays a prefix of whole batches); kill -9 loses nothing written.
  rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  if (s.ok()) return {};
  note_status(s);
  return std::unexpected(to_error(s, what));
}

Result<void> Database::write_dropping(rocksdb::WriteBatch& batch, std::string_view what) {
  auto r = write(batch, what);
  // After the write, whether or not it failed (then nothing was dropped, and a bump only costs
  // readers a second read). Before it, a reader could load the new epoch and still Get the
  // old record before the write lands, then pin a version whose chunks the write deletes.
  drop_epoch_.fetch_add(1, std::memory_order_release);
  return r;
}

void Database::note_status(const rocksdb::Status& s) {
  if (to_error(s, "").code != Errc::kNoSpace) return;
  std::lock_guard lock(resume_mu_);
  needs_resume_ = true;
}

void Database::put_counters(rocksdb::WriteBatch& batch, std::uint64_t charged,
                            std::uint64_t objects) {
  batch.Put(state_, kChargedBytesKey, u64_value(charged));
  batch.Put(state_, kObjectCountKey, u64_value(objects));
}

Result<std::optional<ObjectRecord>> Database::get_record(std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, slice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return std::unexpected(to_error(s, "read meta"));
  auto rec = decode(key, value);
  if (!rec) return std::unexpected(rec.error());
  return std::optional<ObjectRecord>(std::move(*rec));
}

void Database::delete_chunks(rocksdb::WriteBatch& batch, std::uint64_t id, std::uint64_t count) {
  // Only readers that pin `id` insert its body, and it is never pinned again once its chunks
  // are deleted: forgotten for good.
  for (std::uint64_t i = 0; i < std::min(count, kMaxHotChunks); ++i)
    hot_.forget_body(hot_body_key(id, static_cast<std::uint32_t>(i)));
  if (count <= kMaxPointDeletes) {
    for (std::uint64_t i = 0; i < count; ++i) {
      batch.Delete(chunks_, chunk_key(id, static_cast<std::uint32_t>(i)));
    }
  } else {
    batch.DeleteRange(chunks_, chunk_key(id, 0), chunk_key(id + 1, 0));
  }
}

void Database::retire(rocksdb::WriteBatch& batch, const ObjectRecord& old) {
  if (pins_.contains(old.meta.version)) {
    // Still read: keep the chunks, remember to drop them at the last unpin, and persist that
    // intent so a crash before then still reclaims them.
    batch.Put(pending_, object_id_key(old.meta.version), old.meta.key);
    doomed_[old.meta.version] = old.chunk_count();
  } else {
    delete_chunks(batch, old.meta.version, old.chunk_count());
  }
}

Result<std::shared_ptr<LiveObject>> Database::begin(std::string key, ResponseHead head,
                                                    std::optional<std::uint64_t> size) {
  if (size && *size > options_.max_size_bytes) {
    return make_error(Errc::kNoSpace, "store: " + key + ": " + std::to_string(*size) +
                                          " bytes exceed the budget of " +
                                          std::to_string(options_.max_size_bytes));
  }
  {
    std::lock_guard lock(resume_mu_);
    if (needs_resume_) {
      // After ENOSPC RocksDB refuses writes until its background error is cleared: by itself
      // (its SstFileManager polls for free space after a failed flush) or by Resume(), which
      // fails while the disk is still full and says Busy while the automatic recovery runs.
      // Until one succeeds every begin() is kNoSpace: the proxy passes through uncached.
      rocksdb::Status s = db_->Resume();
      if (!s.ok()) {
        return make_error(Errc::kNoSpace, "store: recovering from a full disk: " + s.ToString());
      }
      needs_resume_ = false;
    }
  }
  if (auto r = check_free_space(); !r) return std::unexpected(r.error());
  std::lock_guard lock(mu_);
  if (live_.contains(key)) {
    return make_error(Errc::kInternal, "store: a write of " + key + " is already in progress");
  }
  std::uint64_t id = next_id_;
  rocksdb::WriteBatch batch;
  batch.Put(pending_, object_id_key(id), key);
  batch.Put(state_, kNextObjectIdKey, u64_value(id + 1));
  if (auto r = write(batch, "begin " + key); !r) return std::unexpected(r.error());
  ++next_id_;
  auto live = std::make_shared<LiveObject>(
      key, id, static_cast<std::uint32_t>(options_.chunk_size_bytes), std::move(head), size);
  live_.emplace(std::move(key), live);
  return live;
}

Result<void> Database::check_free_space() const {
  if (options_.min_free_disk_bytes == 0) return {};
  struct statvfs fs;
  if (::statvfs(options_.path.c_str(), &fs) != 0) return {};  // RocksDB reports real trouble
  std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes >= options_.min_free_disk_bytes) return {};
  return make_error(Errc::kNoSpace, "store: " + std::to_string(free_bytes) + " bytes free under " +
                                        options_.path + ", below the reserve of " +
                                        std::to_string(options_.min_free_disk_bytes));
}

bool Database::is_logged(std::uint32_t index) const {
  return static_cast<std::uint64_t>(index) * options_.chunk_size_bytes <
         options_.logged_bytes_per_object;
}

Result<void> Database::put_chunk(std::uint64_t id, std::uint32_t index, std::string_view bytes) {
  if (auto r = check_free_space(); !r) return r;
  rocksdb::WriteOptions wo;
  wo.disableWAL = !is_logged(index);
  rocksdb::Status s = db_->Put(wo, chunks_, chunk_key(id, index), slice(bytes));
  if (s.ok()) return {};
  note_status(s);
  return std::unexpected(to_error(s, "write chunk"));
}

Result<ObjectMeta> Database::commit(const std::shared_ptr<LiveObject>& live,
                                    std::uint32_t tail_index, std::string_view tail,
                                    std::uint64_t size, const Digest& digest) {
  SystemTime now = clock_.system_now();
  ObjectRecord rec;
  rec.meta.key = live->key();
  rec.meta.version = live->id();
  rec.meta.head = live->head();
  rec.meta.size_bytes = size;
  rec.meta.digest = digest;
  rec.meta.created = rec.meta.validated = rec.meta.last_access = now;
  rec.chunk_size_bytes = live->chunk_size_bytes();
  if (tail_index > 0 && !is_logged(tail_index - 1)) {
    // Some chunks skipped the WAL: make them durable before the meta record that points at
    // them can be. Outside mu_: other writers and readers go on meanwhile.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    rocksdb::Status s = db_->Flush(flush, chunks_);
    if (!s.ok()) {
      note_status(s);
      return std::unexpected(to_error(s, "flush chunks of " + rec.meta.key));
    }
  }
  bool over_budget = false;
  {
    std::lock_guard lock(mu_);
    auto old = get_record(rec.meta.key);
    if (!old) return std::unexpected(old.error());
    rocksdb::WriteBatch batch;
    if (!tail.empty()) batch.Put(chunks_, chunk_key(rec.meta.version, tail_index), slice(tail));
    batch.Put(meta_, rec.meta.key, encode(rec));
    batch.Put(lru_, lru_key(now, rec.meta.key), "");
    batch.SingleDelete(pending_, object_id_key(rec.meta.version));
    std::uint64_t charged = charged_bytes_ + charged_bytes(rec);
    std::uint64_t objects = objects_ + 1;
    if (*old) {
      batch.Delete(lru_, lru_key((*old)->meta.last_access, rec.meta.key));
      retire(batch, **old);
      charged -= std::min(charged, charged_bytes(**old));
      --objects;
    }
    put_counters(batch, charged, objects);
    HotObjects::Writing writing(hot_);
    bool was_hot = hot_.forget_record(rec.meta.key);
    auto written = *old ? write_dropping(batch, "commit " + rec.meta.key)
                        : write(batch, "commit " + rec.meta.key);
    if (!written) return std::unexpected(written.error());
    // A hot key stays hot across a refill (an index page whose max-age ran out).
    if (was_hot) hot_.restore_record(rec);
    charged_bytes_ = charged;
    objects_ = objects;
    ++commits_;
    if (auto it = live_.find(rec.meta.key); it != live_.end() && it->second == live) {
      live_.erase(it);
    }
    over_budget = charged_bytes_ > options_.max_size_bytes;
  }
  live->commit(size);
  if (over_budget) ignore_error(evict(), "store: eviction after commit; retried at next commit");
  return rec.meta;
}

void Database::abort(const std::shared_ptr<LiveObject>& live, std::uint32_t chunks_written,
                     Error reason) {
  {
    std::lock_guard lock(mu_);
    rocksdb::WriteBatch batch;
    delete_chunks(batch, live->id(), chunks_written);
    batch.SingleDelete(pending_, object_id_key(live->id()));
    ignore_error(write(batch, "abort " + live->key()),
                 "store: abort cleanup; the pending record makes the next open reclaim it");
    ++aborts_;
    if (auto it = live_.find(live->key()); it != live_.end() && it->second == live) {
      live_.erase(it);
    }
  }
  live->abort(std::move(reason));
}

Result<std::optional<ObjectRecord>> Database::read_record(std::string_view key,
                                                          HotObjects::RecordLookup& hot) {
  hot = hot_.find_record(key);
  if (hot.record) return std::optional<ObjectRecord>(*hot.record);
  auto rec = get_record(key);
  if (rec && *rec) hot_.insert_record(**rec, hot.generation);
  return rec;
}

Result<ObjectRecord> Database::lookup(std::string_view key) {
  // No lock: a Get sees one whole record, as does a hit (hot_objects.h: a cached record is the
  // one RocksDB holds), and nothing is pinned.
  HotObjects::RecordLookup hot;
  auto rec = read_record(key, hot);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec) return make_error(Errc::kNotFound, "store: " + std::string(key) + " not stored");
  return std::move(**rec);
}

Result<ObjectRecord> Database::open_committed(std::string_view key) {
  // The record is read outside mu_ (both event loops open readers for every hit), then pinned
  // under it if no version was dropped meanwhile; otherwise read again under the lock, since
  // the version read may be the one whose chunks were just deleted.
  //
  // From RocksDB: the record was current at the Get, which follows the load of `epoch`. A
  // version's chunks are deleted (or doomed) only by the write that stops every record from
  // pointing at it, or after it; that write is applied under mu_ and followed by a bump of
  // drop_epoch_ (write_dropping). If the Get saw the old record, the write landed after the
  // Get, so after the load, and so did its bump: we see a new epoch here and read again. An
  // unchanged epoch thus means the version was not dropped, and the pin now keeps it.
  // From hot_: the record was current at the hit (hot_objects.h: no stale record is ever
  // visible), so the same argument holds. The generation check makes that independent of how
  // writers order their Writing and their bump: any meta write that ended after the hit (each
  // ends its Writing before releasing mu_) sends us to RocksDB under mu_, where no meta write
  // is in progress and the record read is the current one.
  std::uint64_t epoch = drop_epoch_.load(std::memory_order_acquire);
  HotObjects::RecordLookup hot;
  auto rec = read_record(key, hot);
  if (!rec) return std::unexpected(rec.error());
  bool flush_due = false;
  Result<ObjectRecord> out;
  {
    std::lock_guard lock(mu_);
    if (drop_epoch_.load(std::memory_order_relaxed) != epoch ||
        (hot.record && hot_.generation() != hot.generation)) {
      rec = get_record(key);
      if (!rec) return std::unexpected(rec.error());
    }
    if (!*rec) return make_error(Errc::kNotFound, "store: " + std::string(key) + " not stored");
    ++pins_[(*rec)->meta.version];
    record_access((*rec)->meta.key);
    flush_due = access_flush_due();
    out = std::move(**rec);
  }
  if (flush_due) ignore_error(flush_access_times(), "store: access times are an LRU hint");
  return out;
}

Result<std::shared_ptr<LiveObject>> Database::join(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = live_.find(std::string(key));
  if (it == live_.end()) {
    return make_error(Errc::kNotFound, "store: no write of " + std::string(key) + " in progress");
  }
  ++pins_[it->second->id()];
  return it->second;
}

void Database::pin(std::uint64_t id) {
  std::lock_guard lock(mu_);
  ++pins_[id];
}

void Database::unpin(std::uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(id);
  if (it == pins_.end() || --it->second > 0) return;
  pins_.erase(it);
  auto doomed = doomed_.find(id);
  if (doomed == doomed_.end()) return;
  rocksdb::WriteBatch batch;
  delete_chunks(batch, id, doomed->second);
  batch.SingleDelete(pending_, object_id_key(id));
  ignore_error(write(batch, "drop replaced version"),
               "store: the pending record makes the next open reclaim it");
  doomed_.erase(doomed);
}

Result<void> Database::get_chunk(std::uint64_t id, std::uint32_t index, SharedBytes& out,
                                 bool verify_checksums) {
  // The value as RocksDB pinned it: a blob in the buffer it was read into (owned by the slice),
  // or a small inline value in a block-cache block, released into the cache when the last user
  // lets go, so the cache is kept alive with it (the database may be gone by then).
  struct Pinned {
    std::shared_ptr<rocksdb::Cache> cache;  // declared first: destroyed after the slice
    rocksdb::PinnableSlice slice;
  };
  auto value = std::make_shared<Pinned>();
  value->cache = block_cache_;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = options_.verify_chunk_checksums && verify_checksums;
  rocksdb::Status s = db_->Get(ro, chunks_, chunk_key(id, index), &value->slice);
  if (!s.ok()) return std::unexpected(to_error(s, "read chunk"));
  // Values below the blob threshold (the tail of a small body) are copied: cheaper than keeping
  // a whole cache block pinned while they are in flight.
  if (value->slice.size() < kMinBlobBytes) {
    out = std::string(value->slice.data(), value->slice.size());
    return {};
  }
  std::string_view bytes(value->slice.data(), value->slice.size());
  out = SharedBytes(std::move(value), bytes);
  return {};
}

Result<void> Database::get_committed_chunk(std::uint64_t id, std::uint32_t index,
                                           std::uint64_t size_bytes, std::uint32_t chunk_size,
                                           SharedBytes& out, bool verify_checksums) {
  std::uint64_t chunks = chunk_size == 0 ? 0 : (size_bytes + chunk_size - 1) / chunk_size;
  if (size_bytes == 0 || index >= chunks || chunks > kMaxHotChunks ||
      !hot_.is_body_cacheable(size_bytes)) {
    return get_chunk(id, index, out, verify_checksums);
  }
  // A chunk read without RocksDB's checksum is kept marked so: readers that want the checksum
  // do not take it, and replace it by one read with the check.
  bool checks = options_.verify_chunk_checksums && verify_checksums;
  auto key = hot_body_key(id, index);
  if (auto body = hot_.find_body(key, checks)) {
    out = std::move(*body);
    return {};
  }
  if (auto r = get_chunk(id, index, out, verify_checksums); !r) return r;
  // A mis-sized chunk is the reader's kCorrupt to report, not a body to keep.
  std::uint64_t expected =
      index + 1 < chunks ? chunk_size : size_bytes - std::uint64_t{index} * chunk_size;
  if (out.size() == expected)
    hot_.insert_body(key, out, checks || !options_.verify_chunk_checksums);
  return {};
}

void Database::record_access(const std::string& key) {
  if (access_.empty()) oldest_access_ = clock_.monotonic_now();
  access_[key] = clock_.system_now();
}

bool Database::access_flush_due() const {
  if (access_.empty()) return false;
  return access_.size() >= options_.access_batch_keys ||
         clock_.monotonic_now() - oldest_access_ >= options_.access_flush_interval;
}

Result<void> Database::flush_access_times() {
  std::lock_guard lock(mu_);
  return flush_access_times_locked();
}

Result<void> Database::flush_access_times_locked() {
  if (access_.empty()) return {};
  rocksdb::WriteBatch batch;
  std::vector<ObjectRecord> written;
  for (const auto& [key, when] : access_) {
    auto rec = get_record(key);
    if (!rec) return std::unexpected(rec.error());
    if (!*rec || to_micros(when) <= to_micros((*rec)->meta.last_access)) continue;
    batch.Delete(lru_, lru_key((*rec)->meta.last_access, key));
    batch.Put(lru_, lru_key(when, key), "");
    (*rec)->meta.last_access = when;
    batch.Put(meta_, key, encode(**rec));
    written.push_back(std::move(**rec));
  }
  // The keys flushed are the ones just read, i.e. the hot ones: restored at once, else every
  // flush (each 1024 distinct keys read, or a minute) would cost each of them a miss.
  HotObjects::Writing writing(hot_);
  std::vector<bool> was_hot(written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    was_hot[i] = hot_.forget_record(written[i].meta.key);
  }
  if (auto r = write(batch, "access times"); !r) return r;
  for (std::size_t i = 0; i < written.size(); ++i) {
    if (was_hot[i]) hot_.restore_record(std::move(written[i]));
  }
  access_.clear();
  return {};
}

Result<EvictionReport> Database::evict() {
  std::lock_guard lock(mu_);
  if (auto r = flush_access_times_locked(); !r) return std::unexpected(r.error());
  return evict_locked();
}

Result<EvictionReport> Database::evict_locked() {
  EvictionReport report;
  if (charged_bytes_ <= options_.max_size_bytes) return report;
  std::uint64_t charged = charged_bytes_;
  std::uint64_t objects = objects_;
  std::uint64_t min_id = std::numeric_limits<std::uint64_t>::max(), max_id = 0;
  rocksdb::WriteBatch batch;
  std::vector<std::string> batch_keys;
  auto flush_batch = [&]() -> Result<void> {
    put_counters(batch, charged, objects);
    HotObjects::Writing writing(hot_);
    for (const auto& key : batch_keys) hot_.forget_record(key);
    if (auto r = write_dropping(batch, "evict"); !r) return r;
    charged_bytes_ = charged;
    objects_ = objects;
    batch.Clear();
    batch_keys.clear();
    return {};
  };
  // The lru family is ordered oldest access first. Entries whose time differs from the meta
  // record's are leftovers of a crash between two batched updates: dropped on the way.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), lru_));
  for (it->SeekToFirst(); it->Valid() && charged > options_.max_size_bytes; it->Next()) {
    auto key = key_of_lru(view(it->key()));
    if (!key) {
      batch.Delete(lru_, it->key());
      continue;
    }
    auto rec = get_record(*key);
    if (!rec) return std::unexpected(rec.error());
    if (!*rec || lru_key((*rec)->meta.last_access, *key) != view(it->key())) {
      batch.Delete(lru_, it->key());
      continue;
    }
    const ObjectRecord& r = **rec;
    if (pins_.contains(r.meta.version)) continue;  // being read: never pulled from under it
    batch.Delete(meta_, r.meta.key);
    batch.Delete(lru_, it->key());
    delete_chunks(batch, r.meta.version, r.chunk_count());
    std::uint64_t freed = std::min(charged, charged_bytes(r));
    charged -= freed;
    --objects;
    report.objects++;
    report.bytes += freed;
    min_id = std::min(min_id, r.meta.version);
    max_id = std::max(max_id, r.meta.version);
    batch_keys.push_back(r.meta.key);
    if (batch_keys.size() >= kEvictBatchObjects) {
      if (auto w = flush_batch(); !w) return std::unexpected(w.error());
    }
  }
  if (!it->status().ok()) return std::unexpected(to_error(it->status(), "scan lru"));
  if (auto w = flush_batch(); !w) return std::unexpected(w.error());
  evicted_objects_ += report.objects;
  evicted_bytes_ += report.bytes;
  if (report.objects > 0) {
    // Ask for a background compaction of the chunks just deleted, so their blob files become
    // garbage and are deleted without waiting for write volume to trigger it.
    std::string from = chunk_key(min_id, 0), to = chunk_key(max_id + 1, 0);
    rocksdb::Slice b(from), e(to);
    rocksdb::Status s = rocksdb::experimental::SuggestCompactRange(db_.get(), chunks_, &b, &e);
    s.PermitUncheckedError();  // a hint; compact() or later compactions reclaim anyway
  }
  return report;
}

Result<void> Database::remove_locked(const ObjectRecord& r) {
  rocksdb::WriteBatch batch;
  batch.Delete(meta_, r.meta.key);
  batch.Delete(lru_, lru_key(r.meta.last_access, r.meta.key));
  retire(batch, r);
  std::uint64_t charged = charged_bytes_ - std::min(charged_bytes_, charged_bytes(r));
  put_counters(batch, charged, objects_ - 1);
  HotObjects::Writing writing(hot_);
  hot_.forget_record(r.meta.key);
  if (auto w = write_dropping(batch, "remove " + r.meta.key); !w) {
    doomed_.erase(r.meta.version);
    return w;
  }
  charged_bytes_ = charged;
  --objects_;
  return {};
}

Result<void> Database::remove(std::string_view key, std::optional<std::uint64_t> version) {
  std::lock_guard lock(mu_);
  auto rec = get_record(key);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec || (version && (*rec)->meta.version != *version)) {
    return make_error(Errc::kNotFound, "store: " + std::string(key) + " not stored");
  }
  return remove_locked(**rec);
}

Result<ObjectMeta> Database::update_head(std::string_view key, std::uint64_t version,
                                         ResponseHead head) {
  std::lock_guard lock(mu_);
  auto rec = get_record(key);
  if (!rec) return std::unexpected(rec.error());
  if (!*rec || (*rec)->meta.version != version) {
    return make_error(Errc::kNotFound, "store: " + std::string(key) + " version not stored");
  }
  ObjectRecord r = std::move(**rec);
  std::uint64_t charged = charged_bytes_ - std::min(charged_bytes_, charged_bytes(r));
  r.meta.head = std::move(head);
  r.meta.validated = clock_.system_now();
  charged += charged_bytes(r);
  rocksdb::WriteBatch batch;
  batch.Put(meta_, r.meta.key, encode(r));
  put_counters(batch, charged, objects_);
  HotObjects::Writing writing(hot_);
  bool was_hot = hot_.forget_record(r.meta.key);
  if (auto w = write(batch, "update head of " + r.meta.key); !w) return std::unexpected(w.error());
  charged_bytes_ = charged;
  // A 304 refreshes a page that is being served: keep serving it from memory.
  if (was_hot) hot_.restore_record(r);
  return r.meta;
}

Result<void> Database::for_each(const std::function<bool(const ObjectMeta&)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto rec = decode(view(it->key()), view(it->value()));
    if (!rec) continue;  // verify() reports and deletes undecodable records
    if (!visit(rec->meta)) break;
  }
  if (!it->status().ok()) return std::unexpected(to_error(it->status(), "scan meta"));
  return {};
}

Result<VerifyReport> Database::verify(const std::function<bool(const VerifyProgress&)>& progress) {
  // Progress within a large object too: a 1 GiB wheel takes seconds to re-hash.
  constexpr std::uint64_t kProgressBytes = 16 << 20;
  VerifyReport report;
  VerifyProgress at;
  {
    std::lock_guard lock(mu_);
    at.total = objects_;
  }
  const auto tell = [&] {
    at.checked = report.checked;
    at.corrupt = report.corrupt.size();
    return !progress || progress(at);
  };
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  SharedBytes chunk;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string key(view(it->key()));
    auto rec = decode(key, view(it->value()));
    ++report.checked;
    if (!rec) {
      // Nothing in it can be trusted, not even the size to uncharge: drop the record; its
      // chunks and LRU entry become unreachable and eviction's consistency check skips them.
      std::lock_guard lock(mu_);
      rocksdb::WriteBatch batch;
      batch.Delete(meta_, key);
      HotObjects::Writing writing(hot_);
      hot_.forget_record(key);  // cannot be cached (undecodable), but the protocol is uniform
      if (auto w = write(batch, "drop corrupt record"); !w) return std::unexpected(w.error());
      report.corrupt.push_back(key);
      if (!tell()) return report;
      continue;
    }
    pin(rec->meta.version);
    Blake2b256 hasher;
    std::uint64_t seen = 0;
    std::uint64_t told = 0;
    bool ok = true;
    for (std::uint64_t i = 0; ok && i < rec->chunk_count(); ++i) {
      auto got = get_chunk(rec->meta.version, static_cast<std::uint32_t>(i), chunk);
      if (!got) {
        if (got.error().code != Errc::kNotFound && got.error().code != Errc::kCorrupt) {
          unpin(rec->meta.version);
          return std::unexpected(got.error());
        }
        ok = false;
        break;
      }
      hasher.update(chunk.view());
      seen += chunk.size();
      at.bytes += chunk.size();
      // A mid-object report only informs (this object is not checked yet); a stop request
      // is honoured at the object's end, where tell() asks again.
      if (progress && seen - told >= kProgressBytes) {
        told = seen;
        at.checked = report.checked - 1;
        at.corrupt = report.corrupt.size();
        progress(at);
      }
    }
    unpin(rec->meta.version);
    ok = ok && seen == rec->meta.size_bytes && hasher.finish() == rec->meta.digest;
    if (!ok) {
      report.corrupt.push_back(key);
      std::lock_guard lock(mu_);
      auto current = get_record(key);
      if (!current) return std::unexpected(current.error());
      if (*current && (*current)->meta.version == rec->meta.version) {
        if (auto r = remove_locked(**current); !r) return std::unexpected(r.error());
      }
    }
    if (!tell()) return report;
  }
  if (!it->status().ok()) return std::unexpected(to_error(it->status(), "scan meta"));
  return report;
}

Result<void> Database::flush() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status s = db_->Flush(flush, handles_);
  if (!s.ok()) return std::unexpected(to_error(s, "flush"));
  s = db_->FlushWAL(true);
  if (!s.ok()) return std::unexpected(to_error(s, "sync WAL"));
  return {};
}

Result<void> Database::compact() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  rocksdb::Status s = db_->Flush(flush, handles_);
  if (!s.ok()) return std::unexpected(to_error(s, "flush"));
  rocksdb::CompactRangeOptions c;
  c.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  c.blob_garbage_collection_policy = rocksdb::BlobGarbageCollectionPolicy::kForce;
  c.blob_garbage_collection_age_cutoff = 1.0;
  for (auto* h : {chunks_, meta_, lru_, pending_}) {
    s = db_->CompactRange(c, h, nullptr, nullptr);
    if (!s.ok()) return std::unexpected(to_error(s, "compact"));
  }
  return {};
}

void Database::release_memory() {
  hot_.clear();
  // Blocks pinned by a reader or an open iterator stay; the rest is read again (from the page
  // cache, usually) when next needed.
  block_cache_->EraseUnRefEntries();
}

StoreStats Database::stats() {
  StoreStats st;
  {
    std::lock_guard lock(mu_);
    st.objects = objects_;
    st.charged_bytes = charged_bytes_;
    st.max_size_bytes = options_.max_size_bytes;
    st.live_writes = live_.size();
    st.pinned_objects = pins_.size();
    st.commits = commits_;
    st.aborts = aborts_;
    st.evicted_objects = evicted_objects_;
    st.evicted_bytes = evicted_bytes_;
    st.reclaimed_at_open = reclaimed_at_open_;
  }
  std::uint64_t v = 0;
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &v)) {
    st.sst_bytes = v;
  }
  if (db_->GetIntProperty(chunks_, rocksdb::DB::Properties::kTotalBlobFileSize, &v)) {
    st.blob_bytes = v;
  }
  HotObjects::Stats hot = hot_.stats();
  st.hot_record_hits = hot.record_hits;
  st.hot_record_misses = hot.record_misses;
  st.hot_body_hits = hot.body_hits;
  st.hot_body_misses = hot.body_misses;
  st.hot_bytes = hot.bytes;
  st.block_cache_bytes = block_cache_->GetUsage();
  auto t = [&](rocksdb::Tickers ticker) { return statistics_->getTickerCount(ticker); };
  st.block_cache_hits = t(rocksdb::BLOCK_CACHE_HIT);
  st.block_cache_misses = t(rocksdb::BLOCK_CACHE_MISS);
  st.bytes_written = t(rocksdb::BYTES_WRITTEN);
  st.bytes_read = t(rocksdb::BYTES_READ);
  st.blob_file_bytes_written = t(rocksdb::BLOB_DB_BLOB_FILE_BYTES_WRITTEN);
  st.blob_file_bytes_read = t(rocksdb::BLOB_DB_BLOB_FILE_BYTES_READ);
  st.compaction_bytes_written = t(rocksdb::COMPACT_WRITE_BYTES);
  st.write_stall_micros = t(rocksdb::STALL_MICROS);
  return st;
}

}  // namespace pipgate::store::internal
