// The admin protocol between `pipgate <command>` and the running appliance, over the unix socket
// <data_dir>/admin.sock: JSON lines (one JSON object per line, "\n"-terminated). Sans-IO: values
// and lines in, values and lines out; the sockets are admin::Server's and admin::Client's.
//
// A client sends one request line and reads the replies; it may send another request on the same
// connection once the previous one has its final line:
//   → {"cmd":"status"}
//   → {"cmd":"cache.stats","top":20}
//   → {"cmd":"cache.ls","pattern":"*numpy*"}
//   → {"cmd":"cache.purge","pattern":"*numpy*"}      or {"cmd":"cache.purge","all":true}
//   → {"cmd":"cache.verify"}
//   ← zero or more {"progress":{"op":"verify","phase":"verify","done":120,"total":450,
//                               "bytes":1288490188,"found":0}}
//   ← then exactly one {"result":{...}} or {"error":"why, for people"}
// A request line is at most kMaxRequestBytes; unknown commands or fields are errors (answered,
// the connection stays usable). Result objects are what the encode_result overloads write; their
// fields are documented on the structs below and are a contract for `--json` users: add fields,
// never rename or remove them. Times are Unix seconds (UTC), sizes bytes.
//
//   auto req = parse_request(line);                    // server
//   if (!req) write(encode_error(req.error().detail));
//   LineReader lines(kMaxReplyLineBytes);              // client
//   lines.append(bytes); while (auto l = lines.next(); l && *l) { auto r = parse_reply(**l); }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace pipgate::admin {

// <data_dir>/admin.sock: where the appliance listens and the CLI connects.
std::string socket_path(const Config& cfg);

// Longest request line the server reads (without "\n"); a longer one is answered with an error
// and the connection closes. Requests are tiny; the cap stops a client from growing our memory.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;
// Longest reply line a client accepts: `cache ls` of a big store is one line (the server caps
// its entries; see ListResult).
inline constexpr std::size_t kMaxReplyLineBytes = 256u << 20;

enum class Command { kStatus, kCacheStats, kCacheLs, kCachePurge, kCacheVerify };

// "status", "cache.stats", "cache.ls", "cache.purge", "cache.verify".
std::string_view command_name(Command cmd);

struct Request {
  Command cmd = Command::kStatus;
  std::uint32_t top = 20;  // kCacheStats: rows wanted, 1..100000
  std::string pattern;     // kCacheLs, kCachePurge: a shell glob over store keys (admin/glob.h)
  bool all = false;        // kCachePurge: every object (then no pattern)
};

// The request as one line, "\n" included.
std::string encode_request(const Request& req);
// `line` without its "\n". kInvalidInput naming what is wrong: not JSON, no or unknown "cmd", an
// unknown field, a wrong type, a missing or empty pattern, purge with both or neither of pattern
// and all, top out of range.
[[nodiscard]] Result<Request> parse_request(std::string_view line);

// How far a long operation is. `op` is the command's short name ("ls", "purge", "verify");
// `phase` for purge is "scan" (matching keys) then "purge" (removing them).
struct Progress {
  std::string op;
  std::string phase;
  std::uint64_t done = 0;   // objects scanned / removed / verified
  std::uint64_t total = 0;  // objects expected (0: unknown); a snapshot, the store moves on
  std::uint64_t bytes = 0;  // bytes removed / re-hashed so far (0 for ls and purge's scan)
  std::uint64_t found = 0;  // keys matched (ls, purge scan), corrupt objects (verify)

  bool operator==(const Progress&) const = default;
};

// One child process of the appliance (pipgate-dns).
struct ChildInfo {
  std::string name;
  std::int64_t pid = -1;  // -1 while not running
  bool running = false;
  std::int64_t restarts = 0;
  std::string last_exit;  // "exited with status 1", "killed by signal 9"; empty: never ended

  bool operator==(const ChildInfo&) const = default;
};

// `status`.
struct StatusResult {
  std::string version;
  std::int64_t pid = 0;
  std::int64_t started_at = 0;  // Unix seconds
  std::uint64_t uptime_seconds = 0;
  std::string data_dir;
  struct Cache {
    std::uint64_t bytes = 0;         // charged against the budget
    std::uint64_t budget_bytes = 0;  // [cache] max_size
    std::uint64_t objects = 0;
    bool operator==(const Cache&) const = default;
  } cache;
  // Cacheable requests since start: hits (HIT, REVALIDATED, STALE) over hits and misses.
  struct Traffic {
    std::uint64_t lookups = 0;
    double hit_ratio = 0;  // 0..1; meaningless while lookups == 0
    std::uint64_t bytes_saved = 0;
    std::uint64_t bytes_from_upstream = 0;
    bool operator==(const Traffic&) const = default;
  } traffic;
  struct Upstream {
    std::string state = "unknown";        // "reachable", "unreachable", "unknown" (no request yet)
    std::optional<std::int64_t> last_ok;  // Unix seconds of the last upstream answer
    std::optional<std::int64_t> last_failure;  // and of the last failure
    std::string detail;                        // what the last failure was
    bool operator==(const Upstream&) const = default;
  } upstream;
  std::vector<ChildInfo> children;

  bool operator==(const StatusResult&) const = default;
};

// `cache stats`: per project since the appliance started, most requested first.
struct ProjectRow {
  std::string project;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t bytes_served = 0;
  std::uint64_t bytes_saved = 0;  // served from the cache, not downloaded again
  bool operator==(const ProjectRow&) const = default;
};
struct StatsResult {
  std::int64_t since = 0;  // Unix seconds: when counting began (the appliance's start)
  std::vector<ProjectRow> projects;
  bool operator==(const StatsResult&) const = default;
};

// `cache ls`: matching objects in key order.
struct ObjectRow {
  std::string key;
  std::uint64_t size = 0;
  int status = 0;  // HTTP status of the stored answer (200, or a cached 404 / redirect)
  std::int64_t created = 0;
  std::int64_t last_access = 0;
  bool operator==(const ObjectRow&) const = default;
};
struct ListResult {
  std::string pattern;
  std::uint64_t matched = 0;  // all matching objects, even past the cap
  std::uint64_t bytes = 0;    // their total size
  bool truncated = false;     // objects holds only the first kMaxListEntries
  std::vector<ObjectRow> objects;
  bool operator==(const ListResult&) const = default;
};
inline constexpr std::size_t kMaxListEntries = 100'000;

// `cache purge`.
struct PurgeResult {
  std::string pattern;  // empty with all
  bool all = false;
  std::uint64_t matched = 0;
  std::uint64_t removed = 0;  // matched minus those replaced or evicted meanwhile
  std::uint64_t bytes_freed = 0;
  bool complete = true;  // false: stopped early (the appliance is shutting down)
  bool operator==(const PurgeResult&) const = default;
};

// `cache verify`.
struct VerifyResult {
  std::uint64_t checked = 0;
  std::uint64_t total = 0;
  std::uint64_t bytes = 0;           // body bytes re-hashed
  std::vector<std::string> corrupt;  // keys found corrupt; they have been removed
  bool complete = true;              // false: stopped early (the appliance is shutting down)
  bool operator==(const VerifyResult&) const = default;
};

// Reply lines, "\n" included.
std::string encode_progress(const Progress& p);
std::string encode_error(std::string_view message);
std::string encode_result(const StatusResult& r);
std::string encode_result(const StatsResult& r);
std::string encode_result(const ListResult& r);
std::string encode_result(const PurgeResult& r);
std::string encode_result(const VerifyResult& r);

// A reply line as the client sees it.
struct Reply {
  enum class Kind { kProgress, kResult, kError };
  Kind kind = Kind::kError;
  Progress progress;        // kProgress
  std::string result_json;  // kResult: the result object, serialized (what `--json` prints)
  std::string error;        // kError
};
// `line` without its "\n". kInvalidInput when it is not one of the three forms.
[[nodiscard]] Result<Reply> parse_reply(std::string_view line);

// A result object (Reply::result_json) as the struct of its command. kInvalidInput when a field
// is missing or of the wrong type (a server of another version).
[[nodiscard]] Result<StatusResult> decode_status(std::string_view result_json);
[[nodiscard]] Result<StatsResult> decode_stats(std::string_view result_json);
[[nodiscard]] Result<ListResult> decode_list(std::string_view result_json);
[[nodiscard]] Result<PurgeResult> decode_purge(std::string_view result_json);
[[nodiscard]] Result<VerifyResult> decode_verify(std::string_view result_json);

// Splits a byte stream into lines. Bytes go in as they arrive; complete lines come out without
// their "\n" (a "\r" before it is dropped too).
//   LineReader r(kMaxRequestBytes);
//   r.append("{\"cmd\":\"sta"); r.next();   // ok, nullopt: no complete line yet
//   r.append("tus\"}\n");       r.next();   // ok, "{\"cmd\":\"status\"}"
class LineReader {
 public:
  explicit LineReader(std::size_t max_line_bytes) : max_(max_line_bytes) {}
  void append(std::string_view bytes);
  // The next complete line; nullopt until one is complete. kInvalidInput once a line is longer
  // than the limit (with or without its "\n" yet): the stream cannot be resynchronized, so the
  // caller closes it.
  [[nodiscard]] Result<std::optional<std::string>> next();
  // Bytes of an unfinished line are held (at end of stream: a truncated line).
  bool has_partial() const { return !buffer_.empty(); }

 private:
  std::size_t max_;
  std::string buffer_;
};

}  // namespace pipgate::admin
