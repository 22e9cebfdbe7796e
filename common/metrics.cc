#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace pipgate {

namespace {

enum Type : int { kCounter, kGauge, kHistogram };

std::string_view type_name(int t) {
  switch (t) {
    case kCounter:
      return "counter";
    case kGauge:
      return "gauge";
    default:
      return "histogram";
  }
}

// Prometheus data model: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
// with the "__" prefix reserved.
bool valid_name(std::string_view s, bool colon_ok) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

Labels canonical(Labels labels, std::string_view metric, bool is_histogram) {
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto& name = labels[i].first;
    if (!valid_name(name, false) || name.starts_with("__") || (is_histogram && name == "le"))
      throw std::logic_error(fmt::format("metrics: {}: bad label name \"{}\"", metric, name));
    if (i > 0 && labels[i - 1].first == name)
      throw std::logic_error(fmt::format("metrics: {}: label \"{}\" given twice", metric, name));
  }
  return labels;
}

bool includes(const Labels& have, const Labels& match) {
  return std::all_of(match.begin(), match.end(), [&](const auto& m) {
    return std::find(have.begin(), have.end(), m) != have.end();
  });
}

// Go's strconv.ParseFloat reads these, and so does every Prometheus parser.
std::string format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void append_labels(std::string& out, const Labels& labels, const std::string* le = nullptr) {
  if (labels.empty() && !le) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (le) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double v) {
  // First bound >= v: Prometheus buckets are "less than or equal" (le).
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                    bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Histogram::cumulative_count(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= std::min(i, bounds_.size()); ++b)
    total += buckets_[b].load(std::memory_order_relaxed);
  return total;
}

struct MetricsRegistry::Series {
  Labels labels;
  std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>,
               std::function<double()>>
      value;
};

struct MetricsRegistry::Family {
  std::string help;
  int type = kCounter;
  std::vector<double> buckets;  // histograms only
  std::map<Labels, Series> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::series(std::string_view name, std::string_view help,
                                                 int type, Labels labels,
                                                 const std::vector<double>* buckets) {
  if (!valid_name(name, true))
    throw std::logic_error(fmt::format("metrics: bad metric name \"{}\"", name));
  labels = canonical(std::move(labels), name, type == kHistogram);
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto f = std::make_unique<Family>();
    f->help = std::string(help);
    f->type = type;
    if (buckets) f->buckets = *buckets;
    it = families_.emplace(std::string(name), std::move(f)).first;
  }
  Family& f = *it->second;
  if (f.type != type)
    throw std::logic_error(fmt::format("metrics: {} registered as {} and as {}", name,
                                       type_name(f.type), type_name(type)));
  if (buckets && f.buckets != *buckets)
    throw std::logic_error(fmt::format("metrics: {}: histogram buckets differ", name));
  auto [s, inserted] = f.series.try_emplace(labels);
  if (inserted) s->second.labels = std::move(labels);
  return s->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, kCounter, std::move(labels), nullptr);
  auto* p = std::get_if<std::unique_ptr<Counter>>(&s.value);
  if (!p || !*p) s.value = std::make_unique<Counter>();
  return *std::get<std::unique_ptr<Counter>>(s.value);
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, Labels labels) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, kGauge, std::move(labels), nullptr);
  auto* p = std::get_if<std::unique_ptr<Gauge>>(&s.value);
  if (p && *p) return **p;
  if (std::holds_alternative<std::function<double()>>(s.value) &&
      std::get<std::function<double()>>(s.value))
    throw std::logic_error(fmt::format("metrics: {} is already a computed gauge", name));
  s.value = std::make_unique<Gauge>();
  return *std::get<std::unique_ptr<Gauge>>(s.value);
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::vector<double> buckets, Labels labels) {
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
      throw std::logic_error(
          fmt::format("metrics: {}: buckets must be finite and strictly increasing", name));
  }
  std::lock_guard lock(mu_);
  auto& s = series(name, help, kHistogram, std::move(labels), &buckets);
  auto* p = std::get_if<std::unique_ptr<Histogram>>(&s.value);
  if (!p || !*p) s.value = std::make_unique<Histogram>(std::move(buckets));
  return *std::get<std::unique_ptr<Histogram>>(s.value);
}

void MetricsRegistry::gauge_fn(std::string_view name, std::string_view help,
                               std::function<double()> fn, Labels labels) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, kGauge, std::move(labels), nullptr);
  if (auto* g = std::get_if<std::unique_ptr<Gauge>>(&s.value); g && *g)
    throw std::logic_error(fmt::format("metrics: {} is already a plain gauge", name));
  s.value = std::move(fn);
}

void MetricsRegistry::remove_gauge_fn(std::string_view name, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  Labels key = labels;
  std::sort(key.begin(), key.end());
  auto s = it->second->series.find(key);
  if (s != it->second->series.end() &&
      std::holds_alternative<std::function<double()>>(s->second.value))
    it->second->series.erase(s);
}

std::string MetricsRegistry::render() const {
  // What render needs of one series once the lock is released: computed gauges run unlocked.
  struct Line {
    Labels labels;  // a copy: remove_gauge_fn may erase the series meanwhile
    std::function<double()> fn;
    std::variant<std::monostate, std::uint64_t, std::int64_t, const Histogram*> value;
  };
  struct Block {
    std::string_view name;
    const Family* family;
    std::vector<Line> lines;
  };
  std::vector<Block> blocks;
  {
    std::lock_guard lock(mu_);
    blocks.reserve(families_.size());
    for (const auto& [name, f] : families_) {
      Block b{name, f.get(), {}};
      for (const auto& [key, s] : f->series) {
        Line line{s.labels, {}, std::monostate{}};
        if (auto* c = std::get_if<std::unique_ptr<Counter>>(&s.value); c && *c)
          line.value = (*c)->value();
        else if (auto* g = std::get_if<std::unique_ptr<Gauge>>(&s.value); g && *g)
          line.value = (*g)->value();
        else if (auto* h = std::get_if<std::unique_ptr<Histogram>>(&s.value); h && *h)
          line.value = h->get();
        else if (auto* fn = std::get_if<std::function<double()>>(&s.value); fn && *fn)
          line.fn = *fn;
        else
          continue;
        b.lines.push_back(std::move(line));
      }
      if (!b.lines.empty()) blocks.push_back(std::move(b));
    }
  }
  // Families and Histograms are never destroyed while the registry lives, so the pointers taken
  // above stay valid; remove_gauge_fn erases only computed gauges, whose Lines hold copies.
  std::string out;
  for (const auto& b : blocks) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", b.name,
                   escape_help(b.family->help), b.name, type_name(b.family->type));
    for (const auto& line : b.lines) {
      if (const auto* h = std::get_if<const Histogram*>(&line.value)) {
        const auto& bounds = (*h)->bounds();
        std::string bucket = std::string(b.name) + "_bucket";
        std::uint64_t running = 0;
        for (std::size_t i = 0; i <= bounds.size(); ++i) {
          // Cumulative counts read bucket by bucket stay monotonic even while observe() runs.
          running = std::max(running, (*h)->cumulative_count(i));
          std::string le = i < bounds.size() ? format_double(bounds[i]) : "+Inf";
          out += bucket;
          append_labels(out, line.labels, &le);
          fmt::format_to(std::back_inserter(out), " {}\n", running);
        }
        out += b.name;
        out += "_sum";
        append_labels(out, line.labels);
        fmt::format_to(std::back_inserter(out), " {}\n", format_double((*h)->sum()));
        out += b.name;
        out += "_count";
        append_labels(out, line.labels);
        // The +Inf bucket and _count must agree (the format requires it).
        fmt::format_to(std::back_inserter(out), " {}\n", running);
        continue;
      }
      out += b.name;
      append_labels(out, line.labels);
      if (const auto* u = std::get_if<std::uint64_t>(&line.value))
        fmt::format_to(std::back_inserter(out), " {}\n", *u);
      else if (const auto* i = std::get_if<std::int64_t>(&line.value))
        fmt::format_to(std::back_inserter(out), " {}\n", *i);
      else
        fmt::format_to(std::back_inserter(out), " {}\n", format_double(line.fn()));
    }
  }
  return out;
}

std::uint64_t MetricsRegistry::counter_value(std::string_view name, const Labels& labels) const {
  Labels key = labels;
  std::sort(key.begin(), key.end());
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second->type != kCounter) return 0;
  auto s = it->second->series.find(key);
  if (s == it->second->series.end()) return 0;
  auto* c = std::get_if<std::unique_ptr<Counter>>(&s->second.value);
  return c && *c ? (*c)->value() : 0;
}

std::uint64_t MetricsRegistry::counter_sum(std::string_view name, const Labels& match) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second->type != kCounter) return 0;
  std::uint64_t total = 0;
  for (const auto& [key, s] : it->second->series) {
    auto* c = std::get_if<std::unique_ptr<Counter>>(&s.value);
    if (c && *c && includes(s.labels, match)) total += (*c)->value();
  }
  return total;
}

double MetricsRegistry::gauge_value(std::string_view name, const Labels& labels) const {
  Labels key = labels;
  std::sort(key.begin(), key.end());
  std::function<double()> fn;
  {
    std::lock_guard lock(mu_);
    auto it = families_.find(name);
    if (it == families_.end() || it->second->type != kGauge) return 0;
    auto s = it->second->series.find(key);
    if (s == it->second->series.end()) return 0;
    if (auto* g = std::get_if<std::unique_ptr<Gauge>>(&s->second.value); g && *g)
      return static_cast<double>((*g)->value());
    if (auto* f = std::get_if<std::function<double()>>(&s->second.value)) fn = *f;
  }
  return fn ? fn() : 0;
}

MetricsRegistry& metrics() {
  static auto* registry = new MetricsRegistry();
  return *registry;
}

}  // namespace pipgate
