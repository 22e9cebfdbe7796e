#include "proxy/access_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

#include "common/metric_names.h"
#include "common/metrics.h"

namespace pipgate::proxy {

namespace {

std::mutex g_health_mu;
UpstreamHealth g_health;

const char* cache_label(std::string_view x_cache) {
  if (x_cache == "HIT") return kCacheHit;
  if (x_cache == "REVALIDATED") return kCacheRevalidated;
  if (x_cache == "STALE") return kCacheStale;
  if (x_cache == "MISS") return kCacheMiss;
  return kCachePass;
}

bool from_cache(std::string_view x_cache) {
  return x_cache == "HIT" || x_cache == "REVALIDATED" || x_cache == "STALE";
}

// The requests counter of one label set. Registry lookups take its lock and build label strings;
// a loop answers thousands of requests a second, so each thread keeps the handles it has used
// (the registry never moves a series). Label sets are few: hosts x statuses x cache results.
Counter& request_counter(const std::string& host, int status, const char* cache) {
  thread_local std::unordered_map<std::string, Counter*> handles;
  std::string key = host + '|' + std::to_string(status) + '|' + cache;
  auto [it, added] = handles.try_emplace(std::move(key), nullptr);
  if (added)
    it->second = &metrics().counter(
        kHttpRequestsTotal, kHttpRequestsHelp,
        {{kLabelHost, host}, {kLabelStatus, std::to_string(status)}, {kLabelCache, cache}});
  return *it->second;
}

const std::string kOther = "(other)";

}  // namespace

void ProjectStats::record(const std::string& project, bool cached, std::uint64_t bytes) {
  // Bounded: project names come from request paths, which any client chooses. PyPI has ~600k
  // projects; an office uses a few thousand. Past the bound, new names count as "(other)".
  constexpr std::size_t kMaxProjects = 20'000;
  std::lock_guard lock(mu_);
  const std::string& name =
      by_project_.size() < kMaxProjects || by_project_.contains(project) ? project : kOther;
  auto& f = by_project_[name];
  f.project = name;
  (cached ? f.hits : f.misses) += 1;
  f.bytes_served += bytes;
  if (cached) f.bytes_saved += bytes;
}

std::vector<ProjectFigures> ProjectStats::top(std::size_t n) const {
  std::vector<ProjectFigures> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(by_project_.size());
    for (const auto& [_, f] : by_project_) all.push_back(f);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    auto ra = a.hits + a.misses, rb = b.hits + b.misses;
    return ra != rb ? ra > rb : a.project < b.project;
  });
  if (all.size() > n) all.resize(n);
  return all;
}

ProjectStats& project_stats() {
  static ProjectStats stats;
  return stats;
}

UpstreamHealth upstream_health() {
  std::lock_guard lock(g_health_mu);
  return g_health;
}

void note_upstream(bool ok, SystemTime when, std::string detail) {
  std::lock_guard lock(g_health_mu);
  if (ok) {
    g_health.last_ok = when;
  } else {
    g_health.last_failure = when;
    g_health.last_failure_detail = std::move(detail);
  }
}

namespace {
std::atomic<std::uint64_t> answered{0};
}  // namespace

std::uint64_t requests_answered() { return answered.load(std::memory_order_relaxed); }

void record_access(const AccessRecord& r) {
  answered.fetch_add(1, std::memory_order_relaxed);
  const auto& resp = r.response;
  std::string_view x_cache = resp.cache_status;
  // The name without a port: metrics are per host, whatever port a client named.
  std::string host = r.request.authority.empty() ? r.conn.sni : r.request.authority;
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == host.npos)
    host.resize(colon);
  std::string up = resp.upstream_time ? std::to_string(resp.upstream_time->count()) + "ms" : "-";
  spdlog::info("access: {} {} {} {} {} {} {} {} up={} total={}ms {}",
               r.conn.client_address.to_string(), r.request.method, host, r.request.path,
               resp.head.status, r.body_bytes, x_cache.empty() ? "-" : x_cache,
               r.complete ? "complete" : "incomplete", up, r.elapsed.count(),
               r.request.version == HttpVersion::kHttp2 ? "h2" : "h1");

  auto& m = metrics();
  // Only routed requests (an intercepted name) get their host as a label: a refused request's
  // authority is whatever the client sent, and must not grow the registry without bound.
  request_counter(resp.cache_status.empty() ? std::string("refused") : host, resp.head.status,
                  x_cache.empty() ? kCachePass : cache_label(x_cache))
      .inc();
  if (r.body_bytes > 0)
    m.counter(kBytesServedTotal, kBytesServedHelp,
              {{kLabelSource, from_cache(x_cache) ? kSourceCache : kSourceUpstream}})
        .inc(r.body_bytes);
  if (resp.upstream_time)
    m.histogram(kUpstreamLatencySeconds, kUpstreamLatencyHelp,
                {kLatencyBuckets.begin(), kLatencyBuckets.end()})
        .observe(std::chrono::duration<double>(*resp.upstream_time).count());
  if (!resp.project.empty() && !x_cache.empty() && x_cache != "PASS")
    project_stats().record(resp.project, from_cache(x_cache), r.body_bytes);
}

}  // namespace pipgate::proxy
