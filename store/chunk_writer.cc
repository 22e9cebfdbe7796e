#include "store/chunk_writer.h"

#include "store/internal/database.h"
#include "store/internal/live_object.h"

namespace pipgate::store {

struct ChunkWriter::State {
  std::shared_ptr<internal::Database> db;
  std::shared_ptr<internal::LiveObject> live;
  std::string buffer;  // the chunk being filled; never more than one chunk
  std::uint32_t next_index = 0;
  std::uint64_t bytes = 0;
  Blake2b256 hasher;
  bool is_finished = false;  // committed or aborted
};

ChunkWriter ChunkWriter::make(std::shared_ptr<internal::Database> db,
                              std::shared_ptr<internal::LiveObject> live) {
  auto s = std::make_unique<State>();
  s->db = std::move(db);
  s->live = std::move(live);
  return ChunkWriter(std::move(s));
}

ChunkWriter::ChunkWriter(std::unique_ptr<State> state) : s_(std::move(state)) {
  s_->buffer.reserve(s_->live->chunk_size_bytes());
}
ChunkWriter::ChunkWriter(ChunkWriter&&) noexcept = default;
ChunkWriter& ChunkWriter::operator=(ChunkWriter&& other) noexcept {
  if (this != &other) {
    if (s_ && !s_->is_finished) abort({Errc::kUnavailable, "store: writer dropped"});
    s_ = std::move(other.s_);
  }
  return *this;
}
ChunkWriter::~ChunkWriter() {
  if (s_ && !s_->is_finished) abort({Errc::kUnavailable, "store: writer dropped"});
}

const std::string& ChunkWriter::key() const { return s_->live->key(); }
std::uint64_t ChunkWriter::version() const { return s_->live->id(); }
std::uint64_t ChunkWriter::bytes_written() const { return s_->bytes; }

Result<void> ChunkWriter::append(std::string_view bytes) {
  return append(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

Result<void> ChunkWriter::append(std::span<const std::uint8_t> bytes) {
  if (s_->is_finished) {
    return make_error(Errc::kInternal, "store: append to a finished write of " + key());
  }
  if (s_->bytes + bytes.size() > s_->db->options().max_size_bytes) {
    Error e{Errc::kNoSpace, "store: " + key() + " grows past the budget of " +
                                std::to_string(s_->db->options().max_size_bytes) + " bytes"};
    abort(e);
    return std::unexpected(std::move(e));
  }
  s_->bytes += bytes.size();
  const std::size_t chunk = s_->live->chunk_size_bytes();
  while (!bytes.empty()) {
    std::size_t take = std::min(chunk - s_->buffer.size(), bytes.size());
    s_->hasher.update(bytes.first(take));  // per piece: the state at each chunk's end is kept
    s_->buffer.append(reinterpret_cast<const char*>(bytes.data()), take);
    bytes = bytes.subspan(take);
    if (s_->buffer.size() < chunk) break;
    if (auto r = s_->db->put_chunk(version(), s_->next_index, s_->buffer); !r) {
      abort(r.error());
      return r;
    }
    ++s_->next_index;
    s_->buffer.clear();
    s_->live->advance(static_cast<std::uint64_t>(s_->next_index) * chunk, s_->hasher);
  }
  return {};
}

Result<ObjectMeta> ChunkWriter::commit(const CommitCheck& check) {
  if (s_->is_finished) {
    return make_error(Errc::kInternal, "store: commit of a finished write of " + key());
  }
  Digest digest = s_->hasher.finish();
  std::optional<Error> failed;
  if (check.size_bytes && *check.size_bytes != s_->bytes) {
    failed = Error{Errc::kCorrupt, "store: " + key() + ": got " + std::to_string(s_->bytes) +
                                       " bytes, expected " + std::to_string(*check.size_bytes)};
  } else if (check.digest && *check.digest != digest) {
    failed = Error{Errc::kCorrupt, "store: " + key() + ": BLAKE2b-256 " + to_hex(digest) +
                                       ", expected " + to_hex(*check.digest)};
  }
  if (failed) {
    abort(*failed);
    return std::unexpected(std::move(*failed));
  }
  auto meta = s_->db->commit(s_->live, s_->next_index, s_->buffer, s_->bytes, digest);
  if (!meta) {
    abort(meta.error());
    return meta;
  }
  s_->is_finished = true;
  s_->buffer = std::string();
  return meta;
}

void ChunkWriter::abort(Error reason) {
  if (!s_ || s_->is_finished) return;
  s_->is_finished = true;
  s_->buffer = std::string();
  s_->db->abort(s_->live, s_->next_index, std::move(reason));
}

Result<ObjectReader> ChunkWriter::open_reader(ByteRange range) const {
  if (s_->is_finished) {
    return make_error(Errc::kNotFound, "store: the write of " + key() + " has ended");
  }
  s_->db->pin(version());
  return ObjectReader::make_live(s_->db, s_->live, range);
}

}  // namespace pipgate::store
