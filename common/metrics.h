// The process's metrics: counters, gauges and histograms that the hot path updates with one
// relaxed atomic operation, rendered on demand in the Prometheus text exposition format 0.0.4
// (what /metrics serves). Names live in common/metric_names.h so writers and readers agree.
//
//   // once, e.g. in a constructor: registration takes a mutex; the reference stays valid forever
//   Counter& hits = metrics().counter(kHttpRequestsTotal, kHttpRequestsHelp,
//                                     {{"host", "pypi.org"}, {"status", "200"}, {"cache", "hit"}});
//   hits.inc();                                    // per request: one atomic add
//   metrics().gauge_fn(kStoreBytes, kStoreBytesHelp, [&store] { return store.bytes(); });
//   std::string text = metrics().render();         // "# HELP pipgate_http_requests_total ..."
//
// Thread safety: every member may be called from any thread. Counter, Gauge and Histogram
// updates are lock-free; registration, lookups and render() take the registry's mutex. Objects
// are never removed, so returned references stay valid for the registry's lifetime (the process,
// for metrics()). Callers cache them instead of looking them up per event.
//
// Misuse is a bug and throws std::logic_error: a name or label name that Prometheus does not
// allow, one name registered as two types, or one histogram family with two bucket layouts.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pipgate {

// Label name/value pairs. Order does not matter: {a,b} and {b,a} name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic count (requests, bytes, failures).
class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (connections open, bytes stored).
class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, inclusive, strictly increasing; +Inf is
// implicit), with their sum and count. Each observe() is a few relaxed atomic operations; a
// scrape may see a count and a sum from slightly different moments, as Prometheus allows.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i], cumulative as exposed; i == bounds().size() is +Inf (= count).
  std::uint64_t cumulative_count(std::size_t i) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative; +Inf last
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series `name`{labels}, created at zero on first use; the same name and labels always give
  // the same object. `help` is kept from the family's first registration.
  Counter& counter(std::string_view name, std::string_view help, Labels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, Labels labels = {});
  // `buckets`: upper bounds, strictly increasing, finite (+Inf is added). Every series of one
  // family must use the same bounds.
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                       Labels labels = {});
  // A gauge computed at scrape time (store size, objects): `fn` runs on each render() and
  // gauge_value(), on the caller's thread, without the registry's lock held, so it may use the
  // registry. Registering the same name and labels again replaces the function. Whatever `fn`
  // captures must outlive the registration: call remove_gauge_fn first when it goes away.
  void gauge_fn(std::string_view name, std::string_view help, std::function<double()> fn,
                Labels labels = {});
  void remove_gauge_fn(std::string_view name, const Labels& labels = {});

  // Every family sorted by name, each with one HELP and one TYPE line, its series sorted by
  // labels; label values and help text escaped as the format requires. Families with no series
  // (only possible after remove_gauge_fn) are left out.
  std::string render() const;

  // A counter's value; 0 when it was never registered.
  std::uint64_t counter_value(std::string_view name, const Labels& labels = {}) const;
  // The sum of a counter family over every series whose labels include all of `match`.
  std::uint64_t counter_sum(std::string_view name, const Labels& match = {}) const;
  // A gauge's value (plain or computed); 0 when it was never registered.
  double gauge_value(std::string_view name, const Labels& labels = {}) const;

 private:
  struct Family;
  struct Series;
  Series& series(std::string_view name, std::string_view help, int type, Labels labels,
                 const std::vector<double>* buckets);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

// The process's registry, created on first use and never destroyed (so a late update from a
// thread that outlives main() is harmless).
MetricsRegistry& metrics();

// Label values and HELP text as the 0.0.4 format writes them: `\` → `\\`, newline → `\n`, and for
// label values also `"` → `\"`.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

}  // namespace pipgate
