#include "web/live_figures.h"

#include <cmath>

#include "common/metric_names.h"

namespace pipgate::web {

namespace {

std::uint64_t non_negative(double v) {
  return std::isfinite(v) && v > 0 ? static_cast<std::uint64_t>(v) : 0;
}

}  // namespace

LiveFigures figures_from_metrics(const MetricsRegistry& registry) {
  LiveFigures f;
  f.cache_bytes = non_negative(registry.gauge_value(kStoreBytes));
  f.cache_budget_bytes = non_negative(registry.gauge_value(kStoreBudgetBytes));
  f.objects = non_negative(registry.gauge_value(kStoreObjects));
  auto requests = [&](const char* cache) {
    return registry.counter_sum(kHttpRequestsTotal, {{kLabelCache, cache}});
  };
  // A revalidated answer (upstream 304) and a stale one still send the body from the cache.
  std::uint64_t served = requests(kCacheHit) + requests(kCacheRevalidated) + requests(kCacheStale);
  f.cache_lookups = served + requests(kCacheMiss);
  f.hit_ratio = f.cache_lookups ? static_cast<double>(served) / f.cache_lookups : 0.0;
  f.bytes_saved = registry.counter_sum(kBytesServedTotal, {{kLabelSource, kSourceCache}});
  f.bytes_from_upstream =
      registry.counter_sum(kBytesServedTotal, {{kLabelSource, kSourceUpstream}});
  return f;
}

}  // namespace pipgate::web
