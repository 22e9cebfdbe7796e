#include "store/internal/live_object.h"

#include <algorithm>
#include <iterator>

namespace pipgate::store::internal {

LiveObject::Snapshot LiveObject::snapshot() const {
  std::lock_guard lock(mu_);
  return state_;
}

void LiveObject::advance(std::uint64_t readable_bytes, const Blake2b256& hashed) {
  std::unique_lock lock(mu_);
  state_.readable_bytes = readable_bytes;
  hashed_.emplace_back(readable_bytes, hashed);
  notify(std::move(lock));
}

std::pair<std::uint64_t, Blake2b256> LiveObject::hashed_prefix(std::uint64_t position) const {
  std::lock_guard lock(mu_);
  auto it = std::upper_bound(hashed_.begin(), hashed_.end(), position,
                             [](std::uint64_t p, const auto& h) { return p < h.first; });
  if (it == hashed_.begin()) return {0, Blake2b256()};
  return *std::prev(it);
}

void LiveObject::commit(std::uint64_t final_size) {
  std::unique_lock lock(mu_);
  state_.phase = Phase::kCommitted;
  state_.readable_bytes = final_size;
  state_.final_size = final_size;
  notify(std::move(lock));
}

void LiveObject::abort(Error error) {
  std::unique_lock lock(mu_);
  state_.phase = Phase::kAborted;
  state_.error = std::move(error);
  notify(std::move(lock));
}

bool LiveObject::ready(std::uint64_t position) const {
  return state_.phase != Phase::kWriting || state_.readable_bytes > position;
}

void LiveObject::notify(std::unique_lock<std::mutex> lock) {
  std::vector<std::function<void()>> callbacks;
  std::erase_if(callbacks_, [&](auto& entry) {
    if (!ready(entry.first)) return false;
    callbacks.push_back(std::move(entry.second));
    return true;
  });
  lock.unlock();
  cv_.notify_all();
  // Outside the lock: a callback may read, register again or drop its reader.
  for (auto& cb : callbacks) cb();
}

void LiveObject::on_progress(std::uint64_t position, std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (!ready(position)) {
      callbacks_.emplace_back(position, std::move(callback));
      return;
    }
  }
  callback();
}

LiveObject::Snapshot LiveObject::wait(std::uint64_t position) const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return ready(position); });
  return state_;
}

}  // namespace pipgate::store::internal
