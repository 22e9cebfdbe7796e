// RocksDB's info log ("LOG" files), sent to pipgate's log (spdlog → stderr/journald) instead
// of files in the data directory: they would compete for the very disk that may be full, and
// RocksDB 7.8 aborts (an assertion in WritableFileWriter) when it logs to a LOG file that has
// already failed a write — which is what ENOSPC does to it.
#pragma once

#include <memory>

namespace rocksdb {
class Logger;
}

namespace pipgate::store::internal {

// RocksDB's INFO lines go to debug (they are chatty: every flush and compaction), WARN to warn,
// ERROR and FATAL to error; each prefixed "rocksdb: ".
std::shared_ptr<rocksdb::Logger> make_info_log();

}  // namespace pipgate::store::internal
