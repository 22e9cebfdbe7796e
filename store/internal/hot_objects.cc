#include "store/internal/hot_objects.h"

#include <utility>

namespace pipgate::store::internal {
namespace {

// Per entry beyond its payload: the list node, the map node and bucket, the shared_ptr's
// control block. An estimate: the bound is about RAM on a small VM, not an exact count.
constexpr std::size_t kEntryOverheadBytes = 160;

std::size_t record_bytes(const ObjectRecord& r) {
  std::size_t n = kEntryOverheadBytes + sizeof(ObjectRecord) + r.meta.key.size();
  for (const auto& [name, value] : r.meta.head.headers) {
    n += 2 * sizeof(std::string) + name.size() + value.size();
  }
  return n;
}

}  // namespace

HotObjects::HotObjects(std::size_t max_bytes, std::size_t max_body_bytes)
    : max_bytes_(max_bytes), max_body_bytes_(max_body_bytes) {}

HotObjects::RecordLookup HotObjects::find_record(std::string_view key) {
  if (max_bytes_ == 0) return {};
  std::lock_guard lock(mu_);
  RecordLookup out;
  out.generation = generation_.load(std::memory_order_relaxed);
  auto it = records_.find(key);
  if (it == records_.end()) {
    ++counts_.record_misses;
    return out;
  }
  ++counts_.record_hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  out.record = it->second->record;
  return out;
}

void HotObjects::insert_record(ObjectRecord record, std::uint64_t generation) {
  if (max_bytes_ == 0) return;
  Entry e;
  e.bytes = record_bytes(record);
  e.record = std::make_shared<const ObjectRecord>(std::move(record));
  std::lock_guard lock(mu_);
  // A write that began after `generation` was taken may have changed the record after the
  // caller read it; one in progress may be applied already or not. Either way the record
  // read proves nothing: drop it, the next miss reads again.
  if (writings_ > 0 || generation_.load(std::memory_order_relaxed) != generation) return;
  if (auto it = records_.find(e.record->meta.key); it != records_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);  // the same record, read by two readers
    return;
  }
  insert_locked(std::move(e));
}

HotObjects::Writing::Writing(HotObjects& hot) : hot_(hot) {
  if (hot_.max_bytes_ == 0) return;
  std::lock_guard lock(hot_.mu_);
  ++hot_.writings_;
}

HotObjects::Writing::~Writing() { hot_.end_writing(); }

void HotObjects::end_writing() {
  if (max_bytes_ == 0) return;
  std::lock_guard lock(mu_);
  --writings_;
  generation_.fetch_add(1, std::memory_order_release);
}

bool HotObjects::forget_record(std::string_view key) {
  if (max_bytes_ == 0) return false;
  std::lock_guard lock(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return false;
  erase_locked(it->second);
  return true;
}

void HotObjects::restore_record(ObjectRecord record) {
  if (max_bytes_ == 0) return;
  Entry e;
  e.bytes = record_bytes(record);
  e.record = std::make_shared<const ObjectRecord>(std::move(record));
  std::lock_guard lock(mu_);
  // The writer forgot the key under its Writing, which stops readers' inserts: still absent.
  if (records_.contains(e.record->meta.key)) return;
  insert_locked(std::move(e));
}

std::optional<SharedBytes> HotObjects::find_body(std::uint64_t id, bool need_checked) {
  if (max_bytes_ == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = bodies_.find(id);
  if (it == bodies_.end() || (need_checked && !it->second->is_checked)) {
    ++counts_.body_misses;
    return std::nullopt;
  }
  ++counts_.body_hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->body;
}

void HotObjects::insert_body(std::uint64_t id, SharedBytes body, bool is_checked) {
  if (!is_body_cacheable(body.size())) return;
  Entry e;
  e.id = id;
  e.is_checked = is_checked;
  e.bytes = kEntryOverheadBytes + sizeof(std::string) + body.size();
  e.body = std::move(body);
  std::lock_guard lock(mu_);
  if (auto it = bodies_.find(id); it != bodies_.end()) {
    if (it->second->is_checked || !is_checked) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    erase_locked(it->second);  // replaced by the same bytes, now known to pass the checksum
  }
  insert_locked(std::move(e));
}

void HotObjects::forget_body(std::uint64_t id) {
  if (max_bytes_ == 0) return;
  std::lock_guard lock(mu_);
  if (auto it = bodies_.find(id); it != bodies_.end()) erase_locked(it->second);
}

void HotObjects::clear() {
  if (max_bytes_ == 0) return;
  Lru dropped;
  {
    std::lock_guard lock(mu_);
    records_.clear();
    bodies_.clear();
    dropped.swap(lru_);
    bytes_ = 0;
  }
  // Freed here, outside the lock: up to max_bytes_ of records and bodies.
}

HotObjects::Stats HotObjects::stats() const {
  std::lock_guard lock(mu_);
  Stats s = counts_;
  s.bytes = bytes_;
  s.entries = lru_.size();
  return s;
}

void HotObjects::insert_locked(Entry entry) {
  if (entry.bytes > max_bytes_) return;
  while (bytes_ + entry.bytes > max_bytes_) erase_locked(std::prev(lru_.end()));
  bytes_ += entry.bytes;
  lru_.push_front(std::move(entry));
  const Entry& e = lru_.front();
  if (e.record) {
    records_.emplace(e.record->meta.key, lru_.begin());
  } else {
    bodies_.emplace(e.id, lru_.begin());
  }
}

void HotObjects::erase_locked(Lru::iterator it) {
  if (it->record) {
    records_.erase(it->record->meta.key);
  } else {
    bodies_.erase(it->id);
  }
  bytes_ -= it->bytes;
  lru_.erase(it);
}

}  // namespace pipgate::store::internal
