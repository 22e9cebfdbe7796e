// The live figures the onboarding page shows (cache size, hit ratio, bytes saved, upstream state,
// top projects). The appliance supplies them through a FiguresFn; figures_from_metrics fills
// what the metrics registry knows, and the caller adds the rest.
//
//   web::FiguresFn figures = [&] {
//     auto f = web::figures_from_metrics(metrics());
//     f.upstream = web::UpstreamState::kReachable;   // from the upstream client
//     f.top_projects = store_top_projects(10);        // from the store
//     return f;
//   };
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/metrics.h"

namespace pipgate::web {

enum class UpstreamState { kUnknown, kReachable, kUnreachable };

struct TopProject {
  std::string name;            // normalised project name, e.g. "numpy"
  std::uint64_t requests = 0;  // what is counted is the supplier's choice; the page says "requests"
};

struct LiveFigures {
  std::uint64_t cache_bytes = 0;         // bytes the store holds
  std::uint64_t cache_budget_bytes = 0;  // [cache] max_size; 0: not known (no bar drawn)
  std::uint64_t objects = 0;             // objects the store holds
  // Cacheable requests answered (hit + revalidated + stale + miss) and the share of them served
  // from the cache; the ratio is shown only when cache_lookups > 0.
  std::uint64_t cache_lookups = 0;
  double hit_ratio = 0;
  std::uint64_t bytes_saved = 0;          // body bytes served from the cache (not downloaded again)
  std::uint64_t bytes_from_upstream = 0;  // body bytes that came from upstream
  UpstreamState upstream = UpstreamState::kUnknown;
  std::string upstream_detail;           // free text after the state, e.g. "last answer 3 s ago"
  std::vector<TopProject> top_projects;  // most requested first; the page shows at most 10
};

// Called on the web server's thread for each page view; must be thread-safe with respect to
// whatever it reads. An empty FiguresFn means figures_from_metrics(metrics()).
using FiguresFn = std::function<LiveFigures()>;

// Fills cache_bytes, cache_budget_bytes, objects (gauges kStoreBytes, kStoreBudgetBytes,
// kStoreObjects), cache_lookups and hit_ratio (kHttpRequestsTotal by its cache label) and the byte
// counts (kBytesServedTotal by source) from `registry`. Leaves upstream and top_projects empty.
LiveFigures figures_from_metrics(const MetricsRegistry& registry);

}  // namespace pipgate::web
