// Streams one version of an object, chunk by chunk, over a byte range: either a committed
// version (Store::open_reader) or a write in progress (Store::join, ChunkWriter::open_reader),
// in which case bytes become readable as the writer stores whole chunks, and all of them at
// commit.
//
// Non-blocking use from an event loop (Boost.Asio or any other):
//   void pump() {
//     for (;;) {
//       auto n = reader.read(buf);
//       if (!n) return fail(n.error());            // writer aborted (its reason), kCorrupt, ...
//       if (*n > 0) { send(buf.first(*n)); continue; }
//       if (reader.is_done()) return finish();
//       reader.on_progress([&] { asio::post(strand, pump); });  // runs on the writer's thread
//       return;
//     }
//   }
// Blocking use (tests, tools): `while ((n = reader.read_wait(buf)) && *n > 0) ...`.
//
// The version read is pinned: eviction, replacement and remove() never delete it while the
// reader exists. Memory: one chunk (the current one), read from RocksDB, never shared with the
// writer, so a slow reader holds nothing else up; bytes from read_some() keep their chunk alive
// on their own, after the reader, the object and the store are gone.
//
// Threading: one thread at a time per reader; different readers are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "common/result.h"
#include "common/shared_bytes.h"
#include "store/digest.h"
#include "store/object_meta.h"

namespace pipgate::store {

namespace internal {
class Database;
class LiveObject;
struct ObjectRecord;
}  // namespace internal

// Bytes [offset, offset + length) of the body; no length means to the end. A length reaching
// past the end is cut at the end.
struct ByteRange {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
};

class ObjectReader {
 public:
  ObjectReader(ObjectReader&&) noexcept;
  ObjectReader& operator=(ObjectReader&&) noexcept;
  ~ObjectReader();  // unpins the version

  const ResponseHead& head() const;
  std::uint64_t version() const;
  // The body size: known for committed objects, and for live ones once committed or if the
  // writer was given an expected size (Content-Length).
  std::optional<std::uint64_t> size_bytes() const;
  bool is_live() const;            // reads a write that was in progress when the reader was made
  std::uint64_t position() const;  // absolute offset of the next byte read() returns

  // Copies up to out.size() bytes at position() into `out` without waiting and returns how many.
  // 0 means nothing readable now: the range is complete if is_done(), else more will come
  // (use on_progress or read_wait). Errors are sticky: the writer's abort reason, or kCorrupt
  // for a missing or mis-sized chunk.
  [[nodiscard]] Result<std::size_t> read(std::span<std::uint8_t> out);

  // Like read(), but returns at most `max` bytes (empty: nothing readable now) without copying
  // them: the stored chunk itself, or a slice of it, sharing the bytes RocksDB or the hot
  // cache hold (the bulk path of a download). Holding the result holds that chunk's memory.
  [[nodiscard]] Result<SharedBytes> read_some(std::size_t max);

  // Skips RocksDB's CRC of each chunk this reader reads (StoreOptions::verify_chunk_checksums),
  // for a body whose integrity is checked otherwise: a file whose name carries its digest was
  // hashed while it was written, the client checks the hash again, and `cache verify`
  // re-hashes the store. Debian's RocksDB computes the CRC in software, at about the speed of
  // serving the file.
  void skip_chunk_checksums();

  // True once every byte of the range has been returned (for a live reader: the write
  // committed and the range is complete).
  bool is_done() const;

  // Calls `callback` once, when read() may return something new (bytes, the end or an error):
  // immediately on this thread if that is already so, else later on the writer's thread. A
  // registered callback is called even if the reader is destroyed first: if the reader may be
  // gone by then, the callback must not touch it (post to your loop and check there).
  void on_progress(std::function<void()> callback);

  // For a live reader: the writer's hash state over the longest stored prefix of at most
  // position() bytes, and its length (a chunk boundary). After the write failed for lack of
  // space, whoever finishes the body from elsewhere (a range request upstream from that
  // offset) can still check the whole body against its digest. nullopt for committed readers.
  std::optional<std::pair<std::uint64_t, Blake2b256>> hashed_prefix() const;

  // Like read(), but waits (blocking this thread) until it has bytes, the range is done or the
  // writer failed.
  [[nodiscard]] Result<std::size_t> read_wait(std::span<std::uint8_t> out);

 private:
  friend class Store;
  friend class ChunkWriter;
  struct State;
  explicit ObjectReader(std::unique_ptr<State> state);
  // Both take over a pin the caller already holds on the version.
  static ObjectReader make_live(std::shared_ptr<internal::Database> db,
                                std::shared_ptr<internal::LiveObject> live, ByteRange range);
  [[nodiscard]] static Result<ObjectReader> make_committed(std::shared_ptr<internal::Database> db,
                                                           internal::ObjectRecord record,
                                                           ByteRange range);
  std::unique_ptr<State> s_;
};

}  // namespace pipgate::store
