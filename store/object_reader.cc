#include "store/object_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "store/internal/database.h"
#include "store/internal/live_object.h"
#include "store/internal/meta_codec.h"

namespace pipgate::store {
namespace {

std::optional<std::uint64_t> range_end(const ByteRange& range) {
  if (!range.length) return std::nullopt;
  // Saturating: a length up to UINT64_MAX means "to the end".
  return range.offset +
         std::min(*range.length, std::numeric_limits<std::uint64_t>::max() - range.offset);
}

}  // namespace

struct ObjectReader::State {
  std::shared_ptr<internal::Database> db;
  std::shared_ptr<internal::LiveObject> live;  // null for a committed object
  std::uint64_t id = 0;
  std::uint32_t chunk_size = 0;
  ResponseHead head;
  std::optional<std::uint64_t> size;  // committed size (set for live ones once committed)
  std::uint64_t position = 0;
  std::optional<std::uint64_t> end;  // exclusive range end, before clamping to the size
  SharedBytes chunk;                 // the current chunk's bytes
  std::optional<std::uint32_t> chunk_index;
  std::optional<Error> error;
  bool verify_checksums = true;

  ~State() {
    if (db) db->unpin(id);
  }

  // Refreshes size/error from the live object; returns how many body bytes are readable.
  std::uint64_t readable() {
    if (!live) return *size;
    auto snap = live->snapshot();
    if (snap.phase == internal::LiveObject::Phase::kAborted) {
      if (!error) error = snap.error;
      return 0;
    }
    if (snap.final_size) size = snap.final_size;
    return snap.readable_bytes;
  }

  std::optional<std::uint64_t> stop() const {
    if (!size) return end;
    return end ? std::min(*end, *size) : *size;
  }

  // Reads chunk `index` into `out` and checks its size; errors are made sticky.
  Result<void> fetch(std::uint32_t index, SharedBytes& out) {
    // Committed: a small body may come from memory (Database::get_committed_chunk).
    auto r = live ? db->get_chunk(id, index, out, verify_checksums)
                  : db->get_committed_chunk(id, index, *size, chunk_size, out, verify_checksums);
    if (!r) {
      // A live write that aborted deleted its chunks: report the writer's reason.
      readable();
      if (!error) {
        error = r.error();
        if (error->code == Errc::kNotFound) {
          error = Error{Errc::kCorrupt, "store: chunk " + std::to_string(index) + " of version " +
                                            std::to_string(id) + " is missing"};
        }
      }
      return std::unexpected(*error);
    }
    // Every chunk but the last is full; the last holds the rest. Only whole chunks are
    // readable before commit, so the caller's limit tells which case applies.
    std::uint64_t chunk_start = static_cast<std::uint64_t>(index) * chunk_size;
    std::uint64_t expected = chunk_size;
    if (size) expected = std::min<std::uint64_t>(chunk_size, *size - chunk_start);
    if (out.size() != expected) {
      error = Error{Errc::kCorrupt, "store: chunk " + std::to_string(index) + " of version " +
                                        std::to_string(id) + " has " + std::to_string(out.size()) +
                                        " bytes, expected " + std::to_string(expected)};
      return std::unexpected(*error);
    }
    return {};
  }
};

ObjectReader::ObjectReader(std::unique_ptr<State> state) : s_(std::move(state)) {}
ObjectReader::ObjectReader(ObjectReader&&) noexcept = default;
ObjectReader& ObjectReader::operator=(ObjectReader&&) noexcept = default;
ObjectReader::~ObjectReader() = default;

ObjectReader ObjectReader::make_live(std::shared_ptr<internal::Database> db,
                                     std::shared_ptr<internal::LiveObject> live, ByteRange range) {
  auto s = std::make_unique<State>();
  s->db = std::move(db);
  s->id = live->id();
  s->chunk_size = live->chunk_size_bytes();
  s->head = live->head();
  s->position = range.offset;
  s->end = range_end(range);
  s->live = std::move(live);
  return ObjectReader(std::move(s));
}

Result<ObjectReader> ObjectReader::make_committed(std::shared_ptr<internal::Database> db,
                                                  internal::ObjectRecord record, ByteRange range) {
  auto s = std::make_unique<State>();
  s->db = std::move(db);  // from here on the State owns the pin, also on the error path
  s->id = record.meta.version;
  s->chunk_size = record.chunk_size_bytes;
  s->head = std::move(record.meta.head);
  s->size = record.meta.size_bytes;
  if (range.offset > record.meta.size_bytes) {
    return make_error(Errc::kInvalidInput,
                      "store: range starts at " + std::to_string(range.offset) + " past the " +
                          std::to_string(record.meta.size_bytes) + " bytes of " + record.meta.key);
  }
  s->position = range.offset;
  s->end = range_end(range);
  return ObjectReader(std::move(s));
}

const ResponseHead& ObjectReader::head() const { return s_->head; }
std::uint64_t ObjectReader::version() const { return s_->id; }
bool ObjectReader::is_live() const { return s_->live != nullptr; }
std::uint64_t ObjectReader::position() const { return s_->position; }

std::optional<std::uint64_t> ObjectReader::size_bytes() const {
  if (s_->size) return s_->size;
  if (!s_->live) return std::nullopt;
  auto snap = s_->live->snapshot();
  if (snap.final_size) return snap.final_size;
  return s_->live->expected_size();
}

bool ObjectReader::is_done() const {
  if (s_->end && s_->position >= *s_->end) return true;
  std::optional<std::uint64_t> size = s_->size;
  if (!size && s_->live) size = s_->live->snapshot().final_size;
  if (!size) return false;
  std::uint64_t stop = s_->end ? std::min(*s_->end, *size) : *size;
  return s_->position >= stop;
}

Result<std::size_t> ObjectReader::read(std::span<std::uint8_t> out) {
  State& s = *s_;
  if (s.error) return std::unexpected(*s.error);
  std::uint64_t limit = s.readable();
  if (s.error) return std::unexpected(*s.error);
  if (auto stop = s.stop()) limit = std::min(limit, *stop);
  if (s.position >= limit || out.empty()) return 0;

  auto index = static_cast<std::uint32_t>(s.position / s.chunk_size);
  std::uint64_t chunk_start = static_cast<std::uint64_t>(index) * s.chunk_size;
  if (s.chunk_index != index) {
    s.chunk_index.reset();
    if (auto r = s.fetch(index, s.chunk); !r) return std::unexpected(r.error());
    s.chunk_index = index;
  }
  std::uint64_t offset = s.position - chunk_start;
  std::size_t n = static_cast<std::size_t>(
      std::min<std::uint64_t>({out.size(), limit - s.position, s.chunk.size() - offset}));
  std::memcpy(out.data(), s.chunk.data() + offset, n);
  s.position += n;
  return n;
}

Result<SharedBytes> ObjectReader::read_some(std::size_t max) {
  State& s = *s_;
  if (s.error) return std::unexpected(*s.error);
  std::uint64_t limit = s.readable();
  if (s.error) return std::unexpected(*s.error);
  if (auto stop = s.stop()) limit = std::min(limit, *stop);
  if (s.position >= limit || max == 0) return SharedBytes();

  auto index = static_cast<std::uint32_t>(s.position / s.chunk_size);
  std::uint64_t chunk_start = static_cast<std::uint64_t>(index) * s.chunk_size;
  std::uint64_t chunk_end = chunk_start + s.chunk_size;
  if (s.size) chunk_end = std::min(chunk_end, *s.size);
  if (s.position == chunk_start && s.chunk_index != index && chunk_end <= limit &&
      chunk_end - chunk_start <= max) {
    SharedBytes whole;
    if (auto r = s.fetch(index, whole); !r) return std::unexpected(r.error());
    s.position = chunk_end;
    return whole;
  }
  // Part of a chunk (a range, or a live chunk's readable part): a slice of the chunk, shared.
  if (s.chunk_index != index) {
    s.chunk_index.reset();
    if (auto r = s.fetch(index, s.chunk); !r) return std::unexpected(r.error());
    s.chunk_index = index;
  }
  std::uint64_t offset = s.position - chunk_start;
  auto n = static_cast<std::size_t>(
      std::min<std::uint64_t>({max, limit - s.position, s.chunk.size() - offset}));
  s.position += n;
  return s.chunk.substr(static_cast<std::size_t>(offset), n);
}

std::optional<std::pair<std::uint64_t, Blake2b256>> ObjectReader::hashed_prefix() const {
  if (!s_->live) return std::nullopt;
  return s_->live->hashed_prefix(s_->position);
}

void ObjectReader::skip_chunk_checksums() { s_->verify_checksums = false; }

void ObjectReader::on_progress(std::function<void()> callback) {
  if (!s_->live || s_->error) {
    callback();
    return;
  }
  s_->live->on_progress(s_->position, std::move(callback));
}

Result<std::size_t> ObjectReader::read_wait(std::span<std::uint8_t> out) {
  for (;;) {
    auto n = read(out);
    if (!n || *n > 0 || out.empty() || is_done() || !s_->live) return n;
    s_->live->wait(s_->position);
  }
}

}  // namespace pipgate::store
