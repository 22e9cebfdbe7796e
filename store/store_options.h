// Tuning of the store, sized for the appliance's small VM (1–2 vCPU, 1–2 GiB RAM). Every field
// has a default chosen for that machine; tests shrink the sizes to keep data small.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config.h"

namespace rocksdb {
class Env;
}

namespace pipgate::store {

struct StoreOptions {
  // Directory of the RocksDB database; created when missing.
  std::string path;

  // Byte budget for committed objects (bodies plus keys and stored heads). Past it, commit evicts
  // the least recently used objects that nobody is reading. Default: [cache] max_size.
  std::uint64_t max_size_bytes = CacheConfig{}.max_size_bytes;

  // Body bytes per chunk record. Each reader pins at most one chunk and each writer buffers at
  // most one, so 100 concurrent streams cost ~25 MiB; a range read of a wheel's central directory
  // (pip, uv) reads at most one or two chunks; a 1 GiB wheel is 4096 records, whose index
  // overhead is negligible; a joining reader of a live fill lags the writer by at most one chunk.
  // 1 MiB would quadruple per-stream memory, 64 KiB would quadruple records and write calls.
  // Default: 256 KiB. Recorded per object, so changing it affects only new objects.
  std::size_t chunk_size_bytes = 256 << 10;

  // LRU block cache for SST blocks: index/filter blocks, meta records, small (inline) bodies.
  // Large chunks live in blob files and are not cached here: the OS page cache already holds
  // the hot ones and double caching would cost RAM the VM does not have. Default: 32 MiB.
  std::size_t block_cache_bytes = 32 << 20;

  // Memory for the most recently read meta records (decoded) and the chunks of bodies of at
  // most 1 MiB, so a hit on a hot index page does no RocksDB read, no CRC and no decode (those
  // were ~18% of the CPU serving one small page at 40k req/s, half of it for a 440 KiB page).
  // Least recently used out first; the block cache above still holds small records and bodies
  // that fall out. Store::release_memory() empties it. Default: 8 MiB: ~4000 small index pages
  // (~2 KiB each, record and body), or a dozen large ones. 0: off.
  std::size_t hot_object_bytes = 8 << 20;

  // Memtable size of the chunk column family (bodies pass through it before reaching blob
  // files); up to 3 may exist while flushing, so the worst case is 3x. Default: 16 MiB, enough
  // for sequential 256 KiB chunks to be flushed in large sequential writes, small enough that
  // 48 MiB of write buffers fit a 1 GiB VM.
  std::size_t chunk_write_buffer_bytes = 16 << 20;

  // Body bytes of an object written through the WAL. Chunks past this offset skip the WAL and
  // commit() flushes them to their blob file instead, so a large wheel is written to disk once
  // instead of twice (WAL, then blob file), while small objects, whose flush would make tiny
  // files, stay on the cheap WAL path. A crash loses unlogged chunks, but those belong to a
  // write that had not committed, which recovery discards anyway. Default: 8 MiB.
  std::uint64_t logged_bytes_per_object = 8 << 20;

  // Check RocksDB's CRC32C of every chunk read. Debian's librocksdb computes it in software
  // (~1.3 GB/s on the build VM), which halves warm-cache read throughput; that is still several
  // times a 1 Gbit/s LAN, and it stops bit rot from being served as a success (index pages
  // carry no hash a client could check). Default: true.
  bool verify_chunk_checksums = true;

  // Target size of a blob file. Eviction frees a blob file once every chunk in it is evicted
  // (or blob GC has moved the survivors), so smaller files give disk back sooner at the price of
  // more files. Default: 64 MiB (RocksDB: 256 MiB).
  std::uint64_t blob_file_bytes = 64 << 20;

  // Free space the store leaves on its file system: begin() and every chunk write fail with
  // kNoSpace (the write aborts cleanly) once less is free. RocksDB 7.8 cannot always resume
  // in-process after its WAL hit ENOSPC (the store then answers kNoSpace until reopened), so
  // the store stops before that, leaving room for flushes and compactions in flight.
  // Default: 256 MiB (about 2x the memtables and WAL the store may have to write out). 0: off.
  std::uint64_t min_free_disk_bytes = 256 << 20;

  // Access times of read objects are kept in memory and written in batches: when this many
  // distinct keys are pending, or when the oldest pending one is older than the interval
  // below, or on evict()/flush_access_times()/close. A crash loses at most that much LRU
  // precision, never data. Default: 1024 keys, 60 s.
  std::size_t access_batch_keys = 1024;
  std::chrono::seconds access_flush_interval{60};

  // For tests (fault injection). Not owned; must outlive the store. Default: rocksdb's default.
  rocksdb::Env* env = nullptr;

  // The appliance's store: `path` is Config::cache_dir().
  static StoreOptions from(const CacheConfig& cache, std::string path) {
    StoreOptions o;
    o.path = std::move(path);
    o.max_size_bytes = cache.max_size_bytes;
    return o;
  }
};

}  // namespace pipgate::store
