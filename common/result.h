// Errors as values. Every module boundary returns Result<T>; the code says what the handler does,
// the detail is for people (it names the file/line/key, the peer, the object).
//
//   [[nodiscard]] Result<Leaf> issue(...);
//   auto leaf = issue(...);
//   if (!leaf) return std::unexpected(leaf.error());   // or PIPGATE_TRY(leaf, issue(...));
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace pipgate {

enum class Errc {
  kInvalidInput,  // the peer sent garbage: 400 / FORMERR to that peer only
  kUnavailable,   // upstream down or timed out: serve stale if we have it
  kCorrupt,       // failed BLAKE2b or checksum: discard; never commit or serve as success
  kNoSpace,       // store full after eviction: pass through uncached
  kNotFound,      // the thing asked for does not exist (a key, a file): the caller decides
  kConfig,        // refuse to start: "pipgate.toml:7: [cache] max_size: expected e.g. \"20GiB\""
  kInternal,      // a bug or an unexpected OS/library failure: log it, close this one, keep serving
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code;
  std::string detail;
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(Errc code, std::string detail) {
  return std::unexpected(Error{code, std::move(detail)});
}

// Human form: "config: pipgate.toml:7: ..." — used by logs and the CLI.
std::string to_string(const Error& e);

// The one way to drop an error on purpose: logs it at debug with the reason, so grep finds every
// place that swallows one.
void ignore_error(const Error& e, std::string_view why);
template <class T>
void ignore_error(const Result<T>& r, std::string_view why) {
  if (!r) ignore_error(r.error(), why);
}

}  // namespace pipgate
