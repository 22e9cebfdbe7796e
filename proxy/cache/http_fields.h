// Parsers and matchers for the HTTP fields the cache decides on: Accept (with q-values),
// Accept-Encoding, Range, Cache-Control, HTTP-dates and entity tags. Pure functions of strings;
// lenient the way browsers and caches are (a malformed element is skipped, never an exception),
// because a client's odd header must not turn a cache hit into an error.
//
//   auto ranges = parse_accept("application/vnd.pypi.simple.v1+json, text/html;q=0.01");
//   double q = accept_quality(ranges, "text/html");                  // 0.01
//   auto cc = parse_cache_control(resp.headers);                     // max-age, no-store, ...
//   auto r = resolve_range(parse_range("bytes=-500"), 10'000);       // kPartial {9500, 500}
//
// References: RFC 9110 §12.5.1 (Accept), §12.5.3 (Accept-Encoding), §14 (Range), §5.6.7
// (HTTP-date), §8.8.3 (ETag), §13.1.2/§13.1.5 (If-None-Match, If-Range); RFC 9111 §5.2
// (Cache-Control).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "proxy/request.h"

namespace pipgate::proxy::cache {

// ---- Accept ----

// One element of an Accept field: "type/subtype;param=value;q=0.5". type and subtype lower case;
// "*" for wildcards. Parameters other than q are kept (lower-case names, unquoted values).
struct MediaRange {
  std::string type;
  std::string subtype;
  std::vector<std::pair<std::string, std::string>> params;
  double q = 1.0;  // clamped to [0, 1]; a malformed q makes the element ignored
};

// All elements of `value`, in order. Malformed elements are skipped.
std::vector<MediaRange> parse_accept(std::string_view value);

// The q-value `ranges` give `media_type` ("type/subtype", any case): the most specific matching
// range wins (type/subtype, then type/*, then */*; a range with parameters matches only if the
// media type is given the same parameters, which ours never are, so such ranges are skipped).
// 0 when nothing matches. An empty `ranges` (absent Accept field) accepts everything with q=1:
// the caller decides what an absent field means before calling. Of equally specific ranges the
// first listed wins; a `media_type` that is not a bare "token/token" gets 0.
double accept_quality(const std::vector<MediaRange>& ranges, std::string_view media_type);

// ---- Accept-Encoding ----

// The q-value of content coding `coding` ("gzip", "identity"; any case) under the Accept-Encoding
// field `value` (nullopt: the field is absent). RFC 9110 §12.5.3: an absent field accepts every
// coding; "identity" is acceptable unless given q=0 explicitly or by "*;q=0" without an identity
// element; "x-gzip" is "gzip".
double encoding_quality(std::optional<std::string_view> value, std::string_view coding);

// ---- Range ----

// One byte-range-spec: "first-last", "first-" or "-suffix".
struct RangeSpec {
  std::optional<std::uint64_t> first;   // absent for a suffix range
  std::optional<std::uint64_t> last;    // absent for "first-" and suffix ranges
  std::optional<std::uint64_t> suffix;  // "-n": the last n bytes
  bool operator==(const RangeSpec&) const = default;
};

// The specs of a Range field value "bytes=..." (unit case-insensitive, whitespace around commas
// allowed). nullopt when the field must be ignored: another unit, a syntax error, first > last,
// or more than 100 specs (RFC 9110 §14.2: a server may ignore a Range it cannot or will not
// satisfy; answering 200 with the whole object is always correct).
std::optional<std::vector<RangeSpec>> parse_range(std::string_view value);

enum class RangeOutcome {
  kFull,           // answer 200 with the whole object (no usable Range, or several ranges)
  kPartial,        // answer 206 with [offset, offset + length)
  kUnsatisfiable,  // answer 416 with Content-Range: bytes */size
};

struct ResolvedRange {
  RangeOutcome outcome = RangeOutcome::kFull;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;  // kPartial: > 0
};

// What to answer for `specs` (from parse_range; nullopt → kFull) on an object of `size` bytes.
// One spec: "a-b" with a < size → [a, min(b, size-1)]; "a-" → [a, size-1]; "-n" (n > 0) → the
// last min(n, size) bytes; a >= size, "-0", or any spec on an empty object → kUnsatisfiable.
// Several specs → kFull (multipart/byteranges is not served; 200 is correct and simpler for
// every client we serve).
ResolvedRange resolve_range(const std::optional<std::vector<RangeSpec>>& specs, std::uint64_t size);

// "bytes 9500-9999/10000" for kPartial; "bytes */10000" for kUnsatisfiable; "" for kFull.
std::string content_range(const ResolvedRange& range, std::uint64_t size);

// ---- Cache-Control ----

// The directives this cache acts on, from every Cache-Control field of a message (comma-joined,
// names case-insensitive, values possibly quoted). A directive given twice keeps its first
// value; a delta-seconds that is not a number makes that directive absent (RFC 9111 §4.2.1: for
// max-age that means "stale", which the policy gets from `invalid_max_age`).
struct CacheControl {
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
  std::optional<std::chrono::seconds> stale_if_error;
  std::optional<std::chrono::seconds> stale_while_revalidate;
  std::optional<std::chrono::seconds> min_fresh;  // request directive
  // Request "max-stale" (no value: any staleness; value: at most that).
  bool max_stale = false;
  std::optional<std::chrono::seconds> max_stale_value;
  bool invalid_max_age = false;  // max-age present but not a valid delta-seconds
  bool no_store = false;
  bool no_cache = false;  // with or without a field list: treated as plain no-cache
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool immutable = false;
  bool no_transform = false;
  bool only_if_cached = false;  // request directive
};

CacheControl parse_cache_control(const Headers& headers);

// ---- HTTP-date ----

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") or
// asctime ("Sun Nov  6 08:49:37 1994"). nullopt when not a valid date.
std::optional<SystemTime> parse_http_date(std::string_view value);
// IMF-fixdate, whole seconds.
std::string format_http_date(SystemTime t);

// ---- Entity tags ----

struct EntityTag {
  bool weak = false;
  std::string opaque;  // without the quotes
  bool operator==(const EntityTag&) const = default;
};

// `"xyz"` or `W/"xyz"`; nullopt when malformed.
std::optional<EntityTag> parse_etag(std::string_view value);

// If-None-Match `field` (a list of entity tags, or "*") against the stored ETag `etag` (nullopt:
// none stored): true when it matches by weak comparison (RFC 9110 §13.1.2), so a GET/HEAD is
// answered 304. "*" matches any stored representation, even one without an ETag (call this
// only when a representation is stored).
bool if_none_match_matches(std::string_view field, std::optional<std::string_view> etag);

// If-Range `field` against the stored ETag and Last-Modified: true when the Range may be
// honoured. An entity tag must match by strong comparison (neither weak); a date must equal
// Last-Modified exactly (RFC 9110 §13.1.5).
bool if_range_allows(std::string_view field, std::optional<std::string_view> etag,
                     std::optional<std::string_view> last_modified);

}  // namespace pipgate::proxy::cache
