// Counters for metrics. A snapshot: values are read without stopping writers, so they are
// individually accurate but not mutually consistent to the byte.
#pragma once

#include <cstdint>

namespace pipgate::store {

struct StoreStats {
  // Accounting (persisted; never recomputed at open).
  std::uint64_t objects = 0;
  std::uint64_t charged_bytes = 0;  // what counts against max_size_bytes
  std::uint64_t max_size_bytes = 0;

  // This process's activity.
  std::uint64_t live_writes = 0;     // writers begun and neither committed nor aborted
  std::uint64_t pinned_objects = 0;  // committed versions with at least one reader
  std::uint64_t commits = 0;
  std::uint64_t aborts = 0;
  std::uint64_t evicted_objects = 0;
  std::uint64_t evicted_bytes = 0;
  std::uint64_t reclaimed_at_open = 0;  // unreferenced object ids cleaned when opening

  // Disk, from RocksDB properties.
  std::uint64_t sst_bytes = 0;
  std::uint64_t blob_bytes = 0;  // all blob files, including garbage not yet reclaimed

  // Memory (StoreOptions::hot_object_bytes): reads served without touching RocksDB. Misses
  // count only reads the cache could have served (records; bodies of small objects).
  std::uint64_t hot_record_hits = 0;
  std::uint64_t hot_record_misses = 0;
  std::uint64_t hot_body_hits = 0;
  std::uint64_t hot_body_misses = 0;
  std::uint64_t hot_bytes = 0;          // estimated, against hot_object_bytes
  std::uint64_t block_cache_bytes = 0;  // RocksDB's block cache usage

  // From rocksdb::Statistics.
  std::uint64_t block_cache_hits = 0;
  std::uint64_t block_cache_misses = 0;
  std::uint64_t bytes_written = 0;  // user bytes written (keys + values)
  std::uint64_t bytes_read = 0;
  std::uint64_t blob_file_bytes_written = 0;
  std::uint64_t blob_file_bytes_read = 0;
  std::uint64_t compaction_bytes_written = 0;
  std::uint64_t write_stall_micros = 0;
};

}  // namespace pipgate::store
