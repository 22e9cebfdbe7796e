#include "admin/render.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace pipgate::admin {

namespace {

std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "";
  auto pct = (part * 100 + whole / 2) / whole;
  if (part < whole) pct = std::min<std::uint64_t>(pct, 99);  // 100% only when it is
  return fmt::format(" ({}%)", pct);
}

std::string of_total(std::uint64_t done, std::uint64_t total) {
  // The total is a snapshot taken at the start; objects committed since can push past it.
  if (total == 0 || done > total) return std::to_string(done);
  return fmt::format("{}/{}", done, total);
}

std::string short_time(std::int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%d %H:%M}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

std::string objects(std::uint64_t n) { return fmt::format("{} object{}", n, n == 1 ? "" : "s"); }

}  // namespace

std::string human_size(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  // 3 significant digits: "1.2 GiB" would hide 50 MiB; "1.23 GiB" is noise for a person.
  if (v >= 99.95) return fmt::format("{:.0f} {}", v, kUnits[unit]);
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string human_duration(std::chrono::seconds d) {
  auto s = std::max<std::int64_t>(0, d.count());
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m {}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d {}h", s / 86400, s % 86400 / 3600);
}

std::string utc_time(std::int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                     fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right) {
  std::vector<std::size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      if (i > 0) line += "  ";
      bool last = i + 1 == width.size();
      bool align_right = i < right.size() && right[i];
      if (align_right)
        line += fmt::format("{:>{}}", row[i], width[i]);
      else if (last)
        line += row[i];
      else
        line += fmt::format("{:<{}}", row[i], width[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string render_status(const StatusResult& r, std::int64_t now_unix) {
  std::string out;
  out +=
      fmt::format("pipgate {}, pid {}, up {} (since {})\n", r.version, r.pid,
                  human_duration(std::chrono::seconds(r.uptime_seconds)), utc_time(r.started_at));
  out += fmt::format("data dir:   {}\n", r.data_dir);
  out += fmt::format("cache:      {} of {}{}, {}\n", human_size(r.cache.bytes),
                     human_size(r.cache.budget_bytes), percent(r.cache.bytes, r.cache.budget_bytes),
                     objects(r.cache.objects));
  if (r.traffic.lookups == 0) {
    out += "hit ratio:  - (no cacheable request since start)\n";
  } else {
    out += fmt::format("hit ratio:  {:.1f}% of {} cacheable requests\n", r.traffic.hit_ratio * 100,
                       r.traffic.lookups);
  }
  out += fmt::format("served:     {} from the cache, {} from upstream\n",
                     human_size(r.traffic.bytes_saved), human_size(r.traffic.bytes_from_upstream));
  const auto ago = [&](std::int64_t t) {
    return human_duration(std::chrono::seconds(now_unix - t)) + " ago";
  };
  const auto& u = r.upstream;
  if (u.state == "reachable") {
    out += fmt::format("upstream:   reachable (last answer {})\n", ago(*u.last_ok));
  } else if (u.state == "unreachable") {
    out += fmt::format("upstream:   UNREACHABLE since {}: {} (last answer: {})\n",
                       u.last_failure ? ago(*u.last_failure) : "?", u.detail,
                       u.last_ok ? ago(*u.last_ok) : "never");
  } else {
    out += "upstream:   unknown (nothing fetched from upstream since start)\n";
  }
  if (r.children.empty()) {
    out += "children:   none\n";
  } else {
    out += "children:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : r.children)
      rows.push_back({c.name, c.running ? std::to_string(c.pid) : "-",
                      c.running ? "running" : "STOPPED", std::to_string(c.restarts),
                      c.last_exit.empty() ? "-" : c.last_exit});
    auto table = render_table({"NAME", "PID", "STATE", "RESTARTS", "LAST EXIT"}, rows,
                              {false, true, false, true, false});
    std::size_t pos = 0;
    while (pos < table.size()) {
      auto nl = table.find('\n', pos);
      out += "  " + table.substr(pos, nl - pos + 1);
      pos = nl + 1;
    }
  }
  return out;
}

std::string render_stats(const StatsResult& r) {
  if (r.projects.empty()) return fmt::format("no cacheable requests since {}\n", utc_time(r.since));
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : r.projects) {
    auto requests = p.hits + p.misses;
    rows.push_back({p.project, std::to_string(requests), std::to_string(p.hits),
                    std::to_string(p.misses),
                    requests ? fmt::format("{}%", p.hits * 100 / requests) : "-",
                    human_size(p.bytes_served), human_size(p.bytes_saved)});
  }
  return render_table({"PROJECT", "REQUESTS", "HITS", "MISSES", "HIT%", "SERVED", "SAVED"}, rows,
                      {false, true, true, true, true, true, true}) +
         fmt::format("(since {}; SAVED: served from the cache, not downloaded again)\n",
                     utc_time(r.since));
}

std::string render_list(const ListResult& r) {
  if (r.matched == 0) return fmt::format("no object matches {}\n", r.pattern);
  std::vector<std::vector<std::string>> rows;
  rows.reserve(r.objects.size());
  for (const auto& o : r.objects)
    rows.push_back({human_size(o.size), std::to_string(o.status), short_time(o.created),
                    short_time(o.last_access), o.key});
  std::string out = render_table({"SIZE", "STATUS", "CREATED", "LAST ACCESS", "KEY"}, rows,
                                 {true, true, false, false, false});
  out += fmt::format("{}, {}", objects(r.matched), human_size(r.bytes));
  if (r.truncated) out += fmt::format(" (the first {} listed)", r.objects.size());
  return out + "\n";
}

std::string render_purge(const PurgeResult& r) {
  std::string out = fmt::format("removed {} of {} matching {}{}, {} freed\n", r.removed, r.matched,
                                r.matched == 1 ? "object" : "objects",
                                r.all ? "" : " (" + r.pattern + ")", human_size(r.bytes_freed));
  if (r.complete && r.removed < r.matched)
    out += fmt::format("{} were replaced or evicted meanwhile and left alone\n",
                       r.matched - r.removed);
  if (!r.complete) out += "stopped early: pipgate is shutting down; run it again\n";
  return out;
}

std::string render_verify(const VerifyResult& r) {
  std::string out = fmt::format("checked {} ({}): {} corrupt\n", objects(r.checked),
                                human_size(r.bytes), r.corrupt.size());
  if (!r.corrupt.empty()) {
    out += "removed (the next request fetches them again):\n";
    for (const auto& k : r.corrupt) out += "  " + k + "\n";
  }
  if (!r.complete) out += "stopped early: pipgate is shutting down; run it again\n";
  return out;
}

std::string render_progress(const Progress& p) {
  if (p.op == "verify")
    return fmt::format("verify: {} objects{}, {} re-hashed, {} corrupt", of_total(p.done, p.total),
                       percent(std::min(p.done, p.total), p.total), human_size(p.bytes), p.found);
  if (p.op == "purge" && p.phase == "purge")
    return fmt::format("purge: removed {} objects{}, {}", of_total(p.done, p.total),
                       percent(std::min(p.done, p.total), p.total), human_size(p.bytes));
  return fmt::format("{}: scanned {} objects{}, {} match", p.op, of_total(p.done, p.total),
                     percent(std::min(p.done, p.total), p.total), p.found);
}

}  // namespace pipgate::admin
