#include "admin/protocol.h"

// Boost.JSON header-only: its definitions are compiled here, and only here, for the whole program.
#include <boost/json/src.hpp>

#include <fmt/format.h>

#include <cstdint>

#include "admin/glob.h"

namespace pipgate::admin {

namespace json = boost::json;

namespace {

struct CommandName {
  Command cmd;
  std::string_view name;
};
constexpr CommandName kCommands[] = {{Command::kStatus, "status"},
                                     {Command::kCacheStats, "cache.stats"},
                                     {Command::kCacheLs, "cache.ls"},
                                     {Command::kCachePurge, "cache.purge"},
                                     {Command::kCacheVerify, "cache.verify"}};

constexpr std::uint32_t kMaxTop = 100'000;

std::unexpected<Error> invalid(std::string detail) {
  return make_error(Errc::kInvalidInput, std::move(detail));
}

bool allowed_field(Command cmd, std::string_view field) {
  if (field == "cmd") return true;
  switch (cmd) {
    case Command::kCacheStats:
      return field == "top";
    case Command::kCacheLs:
      return field == "pattern";
    case Command::kCachePurge:
      return field == "pattern" || field == "all";
    case Command::kStatus:
    case Command::kCacheVerify:
      return false;
  }
  return false;
}

std::string line(const json::value& v) { return json::serialize(v) + "\n"; }

Result<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return invalid("not JSON: " + ec.message());
  return v;
}

// Typed field access with errors that name the field ("result.cache.bytes: expected ...").
class Fields {
 public:
  Fields(const json::object& o, std::string where) : o_(o), where_(std::move(where)) {}

  Result<const json::value*> get(std::string_view name) const {
    auto it = o_.find(json::string_view(name.data(), name.size()));
    if (it == o_.end()) return invalid(fmt::format("{}.{}: missing", where_, name));
    return &it->value();
  }
  Result<std::uint64_t> u64(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_uint64()) return (*v)->as_uint64();
    if ((*v)->is_int64() && (*v)->as_int64() >= 0)
      return static_cast<std::uint64_t>((*v)->as_int64());
    return wrong(name, "a non-negative integer");
  }
  Result<std::int64_t> i64(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_int64()) return (*v)->as_int64();
    if ((*v)->is_uint64() && (*v)->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      return static_cast<std::int64_t>((*v)->as_uint64());
    return wrong(name, "an integer");
  }
  Result<std::optional<std::int64_t>> optional_i64(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_null()) return std::optional<std::int64_t>{};
    auto i = i64(name);
    if (!i) return std::unexpected(i.error());
    return std::optional<std::int64_t>{*i};
  }
  Result<double> number(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_number()) return (*v)->to_number<double>();
    return wrong(name, "a number");
  }
  Result<bool> boolean(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_bool()) return (*v)->as_bool();
    return wrong(name, "true or false");
  }
  Result<std::string> string(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_string()) return std::string((*v)->as_string());
    return wrong(name, "a string");
  }
  Result<Fields> object(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_object()) return Fields((*v)->as_object(), where_ + "." + std::string(name));
    return wrong(name, "an object");
  }
  Result<const json::array*> array(std::string_view name) const {
    auto v = get(name);
    if (!v) return std::unexpected(v.error());
    if ((*v)->is_array()) return &(*v)->as_array();
    return wrong(name, "an array");
  }
  const std::string& where() const { return where_; }

 private:
  std::unexpected<Error> wrong(std::string_view name, std::string_view expected) const {
    return invalid(fmt::format("{}.{}: expected {}", where_, name, expected));
  }
  const json::object& o_;
  std::string where_;
};

// Assigns each field in turn; the first error wins. Keeps the decoders flat.
#define PIPGATE_FIELD(out, expr)                                 \
  do {                                                           \
    auto pipgate_f_ = (expr);                                    \
    if (!pipgate_f_) return std::unexpected(pipgate_f_.error()); \
    out = std::move(*pipgate_f_);                                \
  } while (0)

Result<Fields> result_fields(const json::value& v) {
  if (!v.is_object()) return invalid("result: expected an object");
  return Fields(v.as_object(), "result");
}

json::value opt(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

std::string socket_path(const Config& cfg) { return cfg.appliance.data_dir + "/admin.sock"; }

std::string_view command_name(Command cmd) {
  for (const auto& c : kCommands)
    if (c.cmd == cmd) return c.name;
  return "?";
}

std::string encode_request(const Request& req) {
  json::object o;
  o["cmd"] = json::string_view(command_name(req.cmd).data(), command_name(req.cmd).size());
  switch (req.cmd) {
    case Command::kCacheStats:
      o["top"] = req.top;
      break;
    case Command::kCacheLs:
      o["pattern"] = req.pattern;
      break;
    case Command::kCachePurge:
      if (req.all)
        o["all"] = true;
      else
        o["pattern"] = req.pattern;
      break;
    case Command::kStatus:
    case Command::kCacheVerify:
      break;
  }
  return line(o);
}

Result<Request> parse_request(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  if (!v->is_object()) return invalid("a request is a JSON object, e.g. {\"cmd\":\"status\"}");
  const auto& o = v->as_object();
  auto cmd_it = o.find("cmd");
  if (cmd_it == o.end() || !cmd_it->value().is_string())
    return invalid("a request needs \"cmd\": a string, e.g. {\"cmd\":\"status\"}");
  std::string_view name(cmd_it->value().as_string());
  Request req;
  const CommandName* found = nullptr;
  for (const auto& c : kCommands)
    if (c.name == name) found = &c;
  if (!found) {
    std::string known;
    for (const auto& c : kCommands) known += (known.empty() ? "" : ", ") + std::string(c.name);
    return invalid(fmt::format("unknown command \"{}\" (known: {})", name, known));
  }
  req.cmd = found->cmd;

  for (const auto& kv : o) {
    std::string_view key(kv.key());
    if (!allowed_field(req.cmd, key))
      return invalid(fmt::format("{}: unknown field \"{}\"", name, key));
  }
  Fields f(o, std::string(name));
  if (o.contains("top")) {
    auto top = f.u64("top");
    if (!top || *top < 1 || *top > kMaxTop)
      return invalid(fmt::format("{}: top: expected an integer from 1 to {}", name, kMaxTop));
    req.top = static_cast<std::uint32_t>(*top);
  }
  if (o.contains("pattern")) {
    auto p = f.string("pattern");
    if (!p) return std::unexpected(p.error());
    req.pattern = std::move(*p);
  }
  if (o.contains("all")) {
    auto a = f.boolean("all");
    if (!a) return std::unexpected(a.error());
    req.all = *a;
  }
  if (req.cmd == Command::kCacheLs && req.pattern.empty())
    return invalid("cache.ls: needs a non-empty \"pattern\" (a glob such as \"*numpy*\")");
  if (!req.pattern.empty())
    if (auto g = check_glob(req.pattern); !g)
      return invalid(fmt::format("{}: {}", name, g.error().detail));
  if (req.cmd == Command::kCachePurge) {
    if (req.all && o.contains("pattern"))
      return invalid("cache.purge: give either \"pattern\" or \"all\", not both");
    if (!req.all && req.pattern.empty())
      return invalid("cache.purge: needs a non-empty \"pattern\" or \"all\": true");
  }
  return req;
}

std::string encode_progress(const Progress& p) {
  json::object o{{"op", p.op},       {"phase", p.phase}, {"done", p.done},
                 {"total", p.total}, {"bytes", p.bytes}, {"found", p.found}};
  return line(json::object{{"progress", std::move(o)}});
}

std::string encode_error(std::string_view message) {
  return line(json::object{{"error", json::string_view(message.data(), message.size())}});
}

std::string encode_result(const StatusResult& r) {
  json::array children;
  for (const auto& c : r.children)
    children.push_back(json::object{{"name", c.name},
                                    {"pid", c.pid},
                                    {"running", c.running},
                                    {"restarts", c.restarts},
                                    {"last_exit", c.last_exit}});
  json::object o{{"version", r.version},
                 {"pid", r.pid},
                 {"started_at", r.started_at},
                 {"uptime_seconds", r.uptime_seconds},
                 {"data_dir", r.data_dir},
                 {"cache", json::object{{"bytes", r.cache.bytes},
                                        {"budget_bytes", r.cache.budget_bytes},
                                        {"objects", r.cache.objects}}},
                 {"traffic", json::object{{"lookups", r.traffic.lookups},
                                          {"hit_ratio", r.traffic.hit_ratio},
                                          {"bytes_saved", r.traffic.bytes_saved},
                                          {"bytes_from_upstream", r.traffic.bytes_from_upstream}}},
                 {"upstream", json::object{{"state", r.upstream.state},
                                           {"last_ok", opt(r.upstream.last_ok)},
                                           {"last_failure", opt(r.upstream.last_failure)},
                                           {"detail", r.upstream.detail}}},
                 {"children", std::move(children)}};
  return line(json::object{{"result", std::move(o)}});
}

std::string encode_result(const StatsResult& r) {
  json::array rows;
  for (const auto& p : r.projects)
    rows.push_back(json::object{{"project", p.project},
                                {"hits", p.hits},
                                {"misses", p.misses},
                                {"bytes_served", p.bytes_served},
                                {"bytes_saved", p.bytes_saved}});
  return line(
      json::object{{"result", json::object{{"since", r.since}, {"projects", std::move(rows)}}}});
}

std::string encode_result(const ListResult& r) {
  json::array rows;
  rows.reserve(r.objects.size());
  for (const auto& o : r.objects)
    rows.push_back(json::object{{"key", o.key},
                                {"size", o.size},
                                {"status", o.status},
                                {"created", o.created},
                                {"last_access", o.last_access}});
  return line(json::object{{"result", json::object{{"pattern", r.pattern},
                                                   {"matched", r.matched},
                                                   {"bytes", r.bytes},
                                                   {"truncated", r.truncated},
                                                   {"objects", std::move(rows)}}}});
}

std::string encode_result(const PurgeResult& r) {
  return line(json::object{{"result", json::object{{"pattern", r.pattern},
                                                   {"all", r.all},
                                                   {"matched", r.matched},
                                                   {"removed", r.removed},
                                                   {"bytes_freed", r.bytes_freed},
                                                   {"complete", r.complete}}}});
}

std::string encode_result(const VerifyResult& r) {
  json::array corrupt;
  for (const auto& k : r.corrupt) corrupt.push_back(json::value(k));
  return line(json::object{{"result", json::object{{"checked", r.checked},
                                                   {"total", r.total},
                                                   {"bytes", r.bytes},
                                                   {"corrupt", std::move(corrupt)},
                                                   {"complete", r.complete}}}});
}

Result<Reply> parse_reply(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  if (!v->is_object() || v->as_object().size() != 1)
    return invalid("a reply is an object with one of progress, result, error");
  const auto& [key, value] = *v->as_object().begin();
  Reply r;
  if (key == "result") {
    if (!value.is_object()) return invalid("result: expected an object");
    r.kind = Reply::Kind::kResult;
    r.result_json = json::serialize(value);
    return r;
  }
  if (key == "error") {
    if (!value.is_string()) return invalid("error: expected a string");
    r.kind = Reply::Kind::kError;
    r.error = std::string(value.as_string());
    return r;
  }
  if (key == "progress") {
    if (!value.is_object()) return invalid("progress: expected an object");
    Fields f(value.as_object(), "progress");
    r.kind = Reply::Kind::kProgress;
    PIPGATE_FIELD(r.progress.op, f.string("op"));
    PIPGATE_FIELD(r.progress.phase, f.string("phase"));
    PIPGATE_FIELD(r.progress.done, f.u64("done"));
    PIPGATE_FIELD(r.progress.total, f.u64("total"));
    PIPGATE_FIELD(r.progress.bytes, f.u64("bytes"));
    PIPGATE_FIELD(r.progress.found, f.u64("found"));
    return r;
  }
  return invalid(fmt::format("unknown reply \"{}\"", std::string_view(key)));
}

Result<StatusResult> decode_status(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  auto f = result_fields(*v);
  if (!f) return std::unexpected(f.error());
  StatusResult r;
  PIPGATE_FIELD(r.version, f->string("version"));
  PIPGATE_FIELD(r.pid, f->i64("pid"));
  PIPGATE_FIELD(r.started_at, f->i64("started_at"));
  PIPGATE_FIELD(r.uptime_seconds, f->u64("uptime_seconds"));
  PIPGATE_FIELD(r.data_dir, f->string("data_dir"));
  auto cache = f->object("cache");
  if (!cache) return std::unexpected(cache.error());
  PIPGATE_FIELD(r.cache.bytes, cache->u64("bytes"));
  PIPGATE_FIELD(r.cache.budget_bytes, cache->u64("budget_bytes"));
  PIPGATE_FIELD(r.cache.objects, cache->u64("objects"));
  auto traffic = f->object("traffic");
  if (!traffic) return std::unexpected(traffic.error());
  PIPGATE_FIELD(r.traffic.lookups, traffic->u64("lookups"));
  PIPGATE_FIELD(r.traffic.hit_ratio, traffic->number("hit_ratio"));
  PIPGATE_FIELD(r.traffic.bytes_saved, traffic->u64("bytes_saved"));
  PIPGATE_FIELD(r.traffic.bytes_from_upstream, traffic->u64("bytes_from_upstream"));
  auto up = f->object("upstream");
  if (!up) return std::unexpected(up.error());
  PIPGATE_FIELD(r.upstream.state, up->string("state"));
  PIPGATE_FIELD(r.upstream.last_ok, up->optional_i64("last_ok"));
  PIPGATE_FIELD(r.upstream.last_failure, up->optional_i64("last_failure"));
  PIPGATE_FIELD(r.upstream.detail, up->string("detail"));
  auto children = f->array("children");
  if (!children) return std::unexpected(children.error());
  for (const auto& c : **children) {
    if (!c.is_object()) return invalid("result.children: expected objects");
    Fields cf(c.as_object(), "result.children[]");
    ChildInfo info;
    PIPGATE_FIELD(info.name, cf.string("name"));
    PIPGATE_FIELD(info.pid, cf.i64("pid"));
    PIPGATE_FIELD(info.running, cf.boolean("running"));
    PIPGATE_FIELD(info.restarts, cf.i64("restarts"));
    PIPGATE_FIELD(info.last_exit, cf.string("last_exit"));
    r.children.push_back(std::move(info));
  }
  return r;
}

Result<StatsResult> decode_stats(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  auto f = result_fields(*v);
  if (!f) return std::unexpected(f.error());
  StatsResult r;
  PIPGATE_FIELD(r.since, f->i64("since"));
  auto rows = f->array("projects");
  if (!rows) return std::unexpected(rows.error());
  for (const auto& row : **rows) {
    if (!row.is_object()) return invalid("result.projects: expected objects");
    Fields pf(row.as_object(), "result.projects[]");
    ProjectRow p;
    PIPGATE_FIELD(p.project, pf.string("project"));
    PIPGATE_FIELD(p.hits, pf.u64("hits"));
    PIPGATE_FIELD(p.misses, pf.u64("misses"));
    PIPGATE_FIELD(p.bytes_served, pf.u64("bytes_served"));
    PIPGATE_FIELD(p.bytes_saved, pf.u64("bytes_saved"));
    r.projects.push_back(std::move(p));
  }
  return r;
}

Result<ListResult> decode_list(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  auto f = result_fields(*v);
  if (!f) return std::unexpected(f.error());
  ListResult r;
  PIPGATE_FIELD(r.pattern, f->string("pattern"));
  PIPGATE_FIELD(r.matched, f->u64("matched"));
  PIPGATE_FIELD(r.bytes, f->u64("bytes"));
  PIPGATE_FIELD(r.truncated, f->boolean("truncated"));
  auto rows = f->array("objects");
  if (!rows) return std::unexpected(rows.error());
  r.objects.reserve((*rows)->size());
  for (const auto& row : **rows) {
    if (!row.is_object()) return invalid("result.objects: expected objects");
    Fields of(row.as_object(), "result.objects[]");
    ObjectRow o;
    std::int64_t status = 0;
    PIPGATE_FIELD(o.key, of.string("key"));
    PIPGATE_FIELD(o.size, of.u64("size"));
    PIPGATE_FIELD(status, of.i64("status"));
    PIPGATE_FIELD(o.created, of.i64("created"));
    PIPGATE_FIELD(o.last_access, of.i64("last_access"));
    o.status = static_cast<int>(status);
    r.objects.push_back(std::move(o));
  }
  return r;
}

Result<PurgeResult> decode_purge(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  auto f = result_fields(*v);
  if (!f) return std::unexpected(f.error());
  PurgeResult r;
  PIPGATE_FIELD(r.pattern, f->string("pattern"));
  PIPGATE_FIELD(r.all, f->boolean("all"));
  PIPGATE_FIELD(r.matched, f->u64("matched"));
  PIPGATE_FIELD(r.removed, f->u64("removed"));
  PIPGATE_FIELD(r.bytes_freed, f->u64("bytes_freed"));
  PIPGATE_FIELD(r.complete, f->boolean("complete"));
  return r;
}

Result<VerifyResult> decode_verify(std::string_view text) {
  auto v = parse_json(text);
  if (!v) return std::unexpected(v.error());
  auto f = result_fields(*v);
  if (!f) return std::unexpected(f.error());
  VerifyResult r;
  PIPGATE_FIELD(r.checked, f->u64("checked"));
  PIPGATE_FIELD(r.total, f->u64("total"));
  PIPGATE_FIELD(r.bytes, f->u64("bytes"));
  PIPGATE_FIELD(r.complete, f->boolean("complete"));
  auto corrupt = f->array("corrupt");
  if (!corrupt) return std::unexpected(corrupt.error());
  for (const auto& k : **corrupt) {
    if (!k.is_string()) return invalid("result.corrupt: expected strings");
    r.corrupt.emplace_back(k.as_string());
  }
  return r;
}

void LineReader::append(std::string_view bytes) { buffer_.append(bytes); }

Result<std::optional<std::string>> LineReader::next() {
  auto nl = buffer_.find('\n');
  std::size_t length = nl == std::string::npos ? buffer_.size() : nl;
  if (length > 0 && nl != std::string::npos && buffer_[length - 1] == '\r') --length;
  // An unfinished line may end in the "\r" of its "\r\n": one byte of grace.
  if (length > max_ + (nl == std::string::npos ? 1 : 0))
    return invalid(fmt::format("line longer than {} bytes", max_));
  if (nl == std::string::npos) return std::optional<std::string>{};
  std::string out = buffer_.substr(0, length);
  buffer_.erase(0, nl + 1);
  return std::optional<std::string>{std::move(out)};
}

}  // namespace pipgate::admin
