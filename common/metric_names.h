// The names of pipgate's metrics, their help text and label vocabulary: the proxy increments
// them, the web page and /metrics read them, so both sides spell them from here.
//
//   metrics().counter(kHttpRequestsTotal, kHttpRequestsHelp,
//                     {{kLabelHost, "pypi.org"}, {kLabelStatus, "200"}, {kLabelCache, kCacheHit}});
//   metrics().histogram(kUpstreamLatencySeconds, kUpstreamLatencyHelp,
//                       {kLatencyBuckets.begin(), kLatencyBuckets.end()});
#pragma once

#include <array>
#include <string_view>

namespace pipgate {

// Client requests answered, labels host, status (HTTP code) and cache (a kCache* value).
inline constexpr std::string_view kHttpRequestsTotal = "pipgate_http_requests_total";
inline constexpr std::string_view kHttpRequestsHelp =
    "Client requests answered, by host, status and cache result.";
// Response body bytes sent to clients, label source = kSourceCache | kSourceUpstream.
inline constexpr std::string_view kBytesServedTotal = "pipgate_bytes_served_total";
inline constexpr std::string_view kBytesServedHelp =
    "Response body bytes sent to clients, by where they came from.";
// Histogram: upstream request sent to response head received, in seconds (kLatencyBuckets).
inline constexpr std::string_view kUpstreamLatencySeconds = "pipgate_upstream_latency_seconds";
inline constexpr std::string_view kUpstreamLatencyHelp =
    "Time from sending a request upstream to its response head.";
// Gauge: bytes the cache store holds (computed at scrape time).
inline constexpr std::string_view kStoreBytes = "pipgate_store_bytes";
inline constexpr std::string_view kStoreBytesHelp = "Bytes held by the cache store.";
// Gauge: objects the cache store holds (computed at scrape time).
inline constexpr std::string_view kStoreObjects = "pipgate_store_objects";
inline constexpr std::string_view kStoreObjectsHelp = "Objects held by the cache store.";
// Gauge: the store's byte budget ([cache] max_size).
inline constexpr std::string_view kStoreBudgetBytes = "pipgate_store_budget_bytes";
inline constexpr std::string_view kStoreBudgetBytesHelp =
    "Byte budget of the cache store ([cache] max_size).";
// Objects evicted to stay within [cache] max_size.
inline constexpr std::string_view kStoreEvictionsTotal = "pipgate_store_evictions_total";
inline constexpr std::string_view kStoreEvictionsHelp =
    "Objects evicted to keep the store within its budget.";
// DNS queries answered by pipgate-dns, label result (kDns* values). Lives in the pipgate-dns
// process: not exported by /metrics yet.
inline constexpr std::string_view kDnsQueriesTotal = "pipgate_dns_queries_total";
inline constexpr std::string_view kDnsQueriesHelp = "DNS queries, by result.";
// Requests that joined a fill already in progress instead of fetching upstream themselves.
inline constexpr std::string_view kCoalescedFollowersTotal = "pipgate_coalesced_followers_total";
inline constexpr std::string_view kCoalescedFollowersHelp =
    "Requests served from another request's upstream fetch.";
// Downloads whose BLAKE2b-256 did not match their URL (never committed, never served as a success).
inline constexpr std::string_view kIntegrityFailuresTotal = "pipgate_integrity_failures_total";
inline constexpr std::string_view kIntegrityFailuresHelp =
    "Upstream downloads discarded because their digest did not match.";

// Label names and values are char arrays, not string_views, so that they convert implicitly to
// the std::string of a Labels pair: {{kLabelCache, kCacheHit}}. Label names:
inline constexpr char kLabelHost[] = "host";
inline constexpr char kLabelStatus[] = "status";
inline constexpr char kLabelCache[] = "cache";
inline constexpr char kLabelSource[] = "source";
inline constexpr char kLabelResult[] = "result";

// Values of the `cache` label. The page's hit ratio is (hit + revalidated + stale) / (those +
// miss); pass (not cacheable, or refused) is left out.
inline constexpr char kCacheHit[] = "hit";                  // fresh copy served
inline constexpr char kCacheRevalidated[] = "revalidated";  // upstream said 304
inline constexpr char kCacheStale[] = "stale";              // upstream down, stale copy
inline constexpr char kCacheMiss[] = "miss";                // fetched upstream
inline constexpr char kCachePass[] = "pass";                // not cached at all

// Values of the `source` label.
inline constexpr char kSourceCache[] = "cache";
inline constexpr char kSourceUpstream[] = "upstream";

// Values of the `result` label of kDnsQueriesTotal.
inline constexpr char kDnsIntercepted[] = "intercepted";  // answered with our address
inline constexpr char kDnsForwarded[] = "forwarded";
inline constexpr char kDnsCached[] = "cached";    // forwarded name, from answer cache
inline constexpr char kDnsRefused[] = "refused";  // client outside [dns] allow
inline constexpr char kDnsRateLimited[] = "rate_limited";
inline constexpr char kDnsServfail[] = "servfail";  // every upstream failed

// Upper bounds of kUpstreamLatencySeconds: 5 ms (same-region CDN) to 30 s (first_byte_timeout).
inline constexpr std::array<double, 12> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5,   1,    2.5,   5,    10,  30};

}  // namespace pipgate
