#include "admin/cache_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "admin/glob.h"

namespace pipgate::admin {

namespace {

std::int64_t unix_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void tell(const ProgressFn& progress, const Progress& p) {
  if (progress) progress(p);
}

}  // namespace

Result<ListResult> list_objects(store::Store& store, std::string_view pattern,
                                std::size_t max_entries, const ProgressFn& progress,
                                const std::atomic<bool>& stop) {
  ListResult out;
  out.pattern = std::string(pattern);
  Progress p{"ls", "scan", 0, store.stats().objects, 0, 0};
  tell(progress, p);
  auto scan = store.for_each([&](const store::ObjectMeta& m) {
    ++p.done;
    if (glob_match(pattern, m.key)) {
      ++out.matched;
      out.bytes += m.size_bytes;
      if (out.objects.size() < max_entries) {
        out.objects.push_back({m.key, m.size_bytes, m.head.status, unix_seconds(m.created),
                               unix_seconds(m.last_access)});
      } else {
        out.truncated = true;
      }
    }
    p.found = out.matched;
    tell(progress, p);
    return !stop.load(std::memory_order_relaxed);
  });
  if (!scan) return std::unexpected(scan.error());
  return out;
}

Result<PurgeResult> purge_objects(store::Store& store, const std::optional<std::string>& pattern,
                                  const ProgressFn& progress, const std::atomic<bool>& stop) {
  struct Candidate {
    std::string key;
    std::uint64_t version;
    std::uint64_t size;
  };
  PurgeResult out;
  out.all = !pattern;
  out.pattern = pattern.value_or("");
  std::vector<Candidate> matched;
  Progress p{"purge", "scan", 0, store.stats().objects, 0, 0};
  tell(progress, p);
  auto scan = store.for_each([&](const store::ObjectMeta& m) {
    ++p.done;
    if (!pattern || glob_match(*pattern, m.key))
      matched.push_back({m.key, m.version, m.size_bytes});
    p.found = matched.size();
    tell(progress, p);
    return !stop.load(std::memory_order_relaxed);
  });
  if (!scan) return std::unexpected(scan.error());
  out.matched = matched.size();
  if (stop.load()) {
    out.complete = false;
    return out;
  }

  p = Progress{"purge", "purge", 0, matched.size(), 0, matched.size()};
  tell(progress, p);
  for (const auto& c : matched) {
    if (stop.load(std::memory_order_relaxed)) {
      out.complete = false;
      break;
    }
    // Only the version seen while scanning: a newer commit of the key arrived after the
    // purge was asked for, and is kept.
    auto r = store.remove(c.key, c.version);
    if (r) {
      ++out.removed;
      out.bytes_freed += c.size;
    } else if (r.error().code != Errc::kNotFound) {
      return make_error(r.error().code,
                        fmt::format("removing {} failed after {} of {} objects: {}", c.key,
                                    out.removed, out.matched, r.error().detail));
    }
    ++p.done;
    p.bytes = out.bytes_freed;
    tell(progress, p);
  }
  return out;
}

Result<VerifyResult> verify_objects(store::Store& store, const ProgressFn& progress,
                                    const std::atomic<bool>& stop) {
  VerifyResult out;
  Progress p{"verify", "verify", 0, store.stats().objects, 0, 0};
  tell(progress, p);
  bool stopped = false;
  auto report = store.verify([&](const store::VerifyProgress& v) {
    p.done = v.checked;
    p.total = v.total;
    p.bytes = v.bytes;
    p.found = v.corrupt;
    out.total = v.total;
    out.bytes = v.bytes;
    tell(progress, p);
    stopped = stop.load(std::memory_order_relaxed);
    return !stopped;
  });
  if (!report) return std::unexpected(report.error());
  out.checked = report->checked;
  out.corrupt = std::move(report->corrupt);
  out.total = std::max(out.total, out.checked);
  out.complete = !stopped;
  return out;
}

}  // namespace pipgate::admin
