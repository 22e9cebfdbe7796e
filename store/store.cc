#include "store/store.h"

#include "store/internal/database.h"

namespace pipgate::store {

Store::Store(std::shared_ptr<internal::Database> db) : db_(std::move(db)) {}

Result<Store> Store::open(StoreOptions options, const Clock& clock) {
  auto db = internal::Database::open(std::move(options), clock);
  if (!db) return std::unexpected(db.error());
  return Store(std::move(*db));
}

Result<ChunkWriter> Store::begin(std::string_view key, ResponseHead head,
                                 std::optional<std::uint64_t> expected_size) {
  auto live = db_->begin(std::string(key), std::move(head), expected_size);
  if (!live) return std::unexpected(live.error());
  return ChunkWriter::make(db_, std::move(*live));
}

Result<ObjectMeta> Store::lookup(std::string_view key) {
  auto rec = db_->lookup(key);
  if (!rec) return std::unexpected(rec.error());
  return std::move(rec->meta);
}

Result<ObjectReader> Store::open_reader(std::string_view key, ByteRange range) {
  auto rec = db_->open_committed(key);
  if (!rec) return std::unexpected(rec.error());
  return ObjectReader::make_committed(db_, std::move(*rec), range);
}

Result<ObjectReader> Store::join(std::string_view key, ByteRange range) {
  auto live = db_->join(key);
  if (!live) return std::unexpected(live.error());
  return ObjectReader::make_live(db_, std::move(*live), range);
}

Result<ObjectMeta> Store::update_head(std::string_view key, std::uint64_t version,
                                      ResponseHead head) {
  return db_->update_head(key, version, std::move(head));
}

Result<void> Store::remove(std::string_view key, std::optional<std::uint64_t> version) {
  return db_->remove(key, version);
}

Result<EvictionReport> Store::evict() { return db_->evict(); }

Result<void> Store::flush_access_times() { return db_->flush_access_times(); }

Result<VerifyReport> Store::verify() { return db_->verify({}); }

Result<VerifyReport> Store::verify(const std::function<bool(const VerifyProgress&)>& progress) {
  return db_->verify(progress);
}

Result<void> Store::for_each(const std::function<bool(const ObjectMeta&)>& visit) {
  return db_->for_each(visit);
}

Result<void> Store::compact() { return db_->compact(); }

Result<void> Store::flush() { return db_->flush(); }

void Store::release_memory() { db_->release_memory(); }

StoreStats Store::stats() const { return db_->stats(); }

}  // namespace pipgate::store
