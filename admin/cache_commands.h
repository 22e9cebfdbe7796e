// The work behind `pipgate cache ls | purge | verify`: whole-store scans that can take minutes on a
// big store. Each runs on the calling thread (admin::Server gives each its own std::thread, never
// the event loop), reports through `progress` and stops early once `stop` becomes true.
//
//   std::atomic<bool> stop{false};
//   auto r = purge_objects(store, "*numpy*", [&](const Progress& p) { show(p); }, stop);
//
// `progress` is called on the calling thread for every object (the caller throttles what it
// sends on); it must not throw. The store is used concurrently with the proxy: objects committed,
// evicted or replaced meanwhile may or may not be counted.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "admin/protocol.h"
#include "common/result.h"
#include "store/store.h"

namespace pipgate::admin {

using ProgressFn = std::function<void(const Progress&)>;

// Objects whose key matches the glob `pattern`, in key order; at most `max_entries` listed, all
// counted. Progress: op "ls", phase "scan", done = objects scanned, found = matched.
[[nodiscard]] Result<ListResult> list_objects(store::Store& store, std::string_view pattern,
                                              std::size_t max_entries, const ProgressFn& progress,
                                              const std::atomic<bool>& stop);

// Removes the objects matching `pattern`, or every object when it is nullopt. Matches are
// collected first (phase "scan"), then removed one by one (phase "purge": done = removed,
// bytes = their size); an object replaced or evicted in between is left alone (not counted as
// removed). Readers already streaming a removed object finish; new requests are misses.
// Errors: what Store::remove reports, other than kNotFound (the detail says how far it got).
[[nodiscard]] Result<PurgeResult> purge_objects(store::Store& store,
                                                const std::optional<std::string>& pattern,
                                                const ProgressFn& progress,
                                                const std::atomic<bool>& stop);

// Store::verify with progress (op "verify": done = objects checked, bytes = re-hashed, found =
// corrupt). Corrupt objects are removed by the store.
[[nodiscard]] Result<VerifyResult> verify_objects(store::Store& store, const ProgressFn& progress,
                                                  const std::atomic<bool>& stop);

}  // namespace pipgate::admin
