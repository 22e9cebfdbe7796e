// Writes one new version of an object, chunk by chunk, as the body arrives from upstream.
//
//   auto w = store.begin(key, head, content_length);
//   if (!w) ...;                                    // kNoSpace: pass through uncached
//   for (each body piece) if (auto r = w->append(piece); !r) ...;   // the writer has aborted
//   auto meta = w->commit({.size_bytes = content_length, .digest = expected});
//
// Memory: at most one chunk (StoreOptions::chunk_size_bytes) is buffered; each full chunk is
// written to RocksDB (WAL, no fsync) and readers that joined are woken. Nothing becomes visible
// to open_reader() before commit().
//
// Threading: one thread at a time. Live readers' on_progress callbacks run on the thread that
// calls append()/commit()/abort() (or destroys the writer), after the bytes are in the database
// and with no store lock held; they must not block.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/digest.h"
#include "store/object_meta.h"
#include "store/object_reader.h"

namespace pipgate::store {

namespace internal {
class Database;
class LiveObject;
}  // namespace internal

// What commit() checks before making the object visible. Unset fields are not checked.
struct CommitCheck {
  std::optional<std::uint64_t> size_bytes;  // e.g. Content-Length
  std::optional<Digest> digest;             // e.g. the BLAKE2b-256 in a /packages/ path
};

class ChunkWriter {
 public:
  ChunkWriter(ChunkWriter&&) noexcept;
  ChunkWriter& operator=(ChunkWriter&&) noexcept;
  // Aborts the write (kUnavailable, "writer dropped") if neither committed nor aborted.
  ~ChunkWriter();

  const std::string& key() const;
  std::uint64_t version() const;        // the version commit() will create
  std::uint64_t bytes_written() const;  // appended so far

  // Adds body bytes (copied; `bytes` may be reused on return). On error the write is aborted
  // (its readers get the error): kNoSpace when the disk is full, kInternal after commit/abort.
  [[nodiscard]] Result<void> append(std::span<const std::uint8_t> bytes);
  [[nodiscard]] Result<void> append(std::string_view bytes);

  // Makes the object visible atomically, replacing any committed version of the key; then
  // wakes live readers and evicts if over budget. A size or digest that differs from `check`
  // aborts with kCorrupt; a failed write aborts with its error. Either way readers get the
  // error and nothing is visible.
  [[nodiscard]] Result<ObjectMeta> commit(const CommitCheck& check = {});

  // Discards the write; live readers get `reason`. No-op after commit/abort.
  void abort(Error reason = {Errc::kUnavailable, "store: write aborted"});

  // A reader of this write, as Store::join() gives.
  [[nodiscard]] Result<ObjectReader> open_reader(ByteRange range = {}) const;

 private:
  friend class Store;
  struct State;
  explicit ChunkWriter(std::unique_ptr<State> state);
  static ChunkWriter make(std::shared_ptr<internal::Database> db,
                          std::shared_ptr<internal::LiveObject> live);
  std::unique_ptr<State> s_;
};

}  // namespace pipgate::store
