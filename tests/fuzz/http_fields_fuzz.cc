// Fuzz target for the HTTP field parsers of proxy/cache/http_fields.h: Accept, Accept-Encoding,
// Range (+ resolve_range, content_range), Cache-Control, HTTP-date, entity tags, If-None-Match
// and If-Range. Every parser gets the same value.
//
// Input layout: byte 0 picks the object size resolve_range works on (0, 1, 2, 100, 10'000,
// 2^40, 2^64-1, or bytes 1..8 as a little-endian size); the rest is the field value.
//
// Invariants: q-values lie in [0, 1]; a parsed Range has at most 100 specs, each either
// "first[-last]" with first <= last or "-suffix"; a resolved 206 range is non-empty and lies
// inside the object; 416 only for one spec; Content-Range says exactly the resolved range; an
// HTTP-date survives format → parse; a parsed ETag survives serialize → parse; every
// Cache-Control duration is non-negative.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "proxy/cache/http_fields.h"

namespace {

using namespace pipgate;
using namespace pipgate::proxy;
using namespace pipgate::proxy::cache;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void check_q(double q, const char* what) { check(q >= 0.0 && q <= 1.0, what); }

std::uint64_t pick_size(std::uint8_t mode, std::string_view rest) {
  switch (mode % 9) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return 2;
    case 3:
      return 100;
    case 4:
      return 10'000;
    case 5:
      return std::uint64_t{1} << 40;
    case 6:
      return std::numeric_limits<std::uint64_t>::max();
    default: {
      std::uint64_t v = 0;
      std::memcpy(&v, rest.data(), std::min<std::size_t>(8, rest.size()));
      return mode % 9 == 7 ? v : v % 65536;
    }
  }
}

void check_range(std::string_view value, std::uint64_t size) {
  auto specs = parse_range(value);
  if (specs) {
    check(!specs->empty() && specs->size() <= 100, "Range has 1..100 specs");
    for (const RangeSpec& s : *specs) {
      if (s.suffix) {
        check(!s.first && !s.last, "suffix spec has no first/last");
      } else {
        check(s.first.has_value(), "non-suffix spec has a first");
        if (s.last) check(*s.first <= *s.last, "first <= last");
      }
    }
  }
  ResolvedRange r = resolve_range(specs, size);
  std::string cr = content_range(r, size);
  switch (r.outcome) {
    case RangeOutcome::kFull:
      check(cr.empty(), "no Content-Range for 200");
      break;
    case RangeOutcome::kPartial: {
      check(specs && specs->size() == 1, "206 only for one spec");
      check(r.length > 0, "206 range is non-empty");
      check(r.offset < size && r.length <= size - r.offset, "206 range lies inside the object");
      std::string want = "bytes " + std::to_string(r.offset) + "-" +
                         std::to_string(r.offset + r.length - 1) + "/" + std::to_string(size);
      check(cr == want, "Content-Range names the resolved range");
      break;
    }
    case RangeOutcome::kUnsatisfiable:
      check(specs && specs->size() == 1, "416 only for one spec");
      check(cr == "bytes */" + std::to_string(size), "Content-Range for 416");
      break;
  }
}

void check_cache_control(std::string_view value) {
  CacheControl cc = parse_cache_control(Headers{{"cache-control", std::string(value)}});
  for (const auto* d : {&cc.max_age, &cc.s_maxage, &cc.stale_if_error, &cc.stale_while_revalidate,
                        &cc.min_fresh, &cc.max_stale_value}) {
    if (*d) check(d->value().count() >= 0, "Cache-Control durations are non-negative");
  }
  if (cc.max_stale_value) check(cc.max_stale, "max-stale=N implies max_stale");
  if (cc.invalid_max_age) check(!cc.max_age, "an invalid max-age is absent");
}

void check_date(std::string_view value) {
  auto t = parse_http_date(value);
  if (!t) return;
  std::string formatted = format_http_date(*t);
  check(formatted.size() == 29, "IMF-fixdate is 29 characters");
  auto again = parse_http_date(formatted);
  check(again && *again == *t, "HTTP-date survives format → parse");
}

void check_etag(std::string_view value) {
  auto tag = parse_etag(value);
  if (tag) {
    std::string s = (tag->weak ? "W/\"" : "\"") + tag->opaque + "\"";
    auto again = parse_etag(s);
    check(again && *again == *tag, "ETag survives serialize → parse");
    check(if_none_match_matches(s, s), "an ETag matches itself (weak comparison)");
    check(if_range_allows(s, s, std::nullopt) == !tag->weak,
          "If-Range: a strong ETag matches itself, a weak one never");
    check(if_none_match_matches("*", s), "* matches any stored ETag");
  }
  (void)if_none_match_matches(value, "\"abc\"");
  (void)if_none_match_matches(value, std::nullopt);
  (void)if_none_match_matches(value, value);
  (void)if_range_allows(value, "\"abc\"", "Sun, 06 Nov 1994 08:49:37 GMT");
  (void)if_range_allows(value, std::nullopt, value);
  (void)if_range_allows("\"abc\"", value, value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);

  auto ranges = parse_accept(value);
  for (const MediaRange& m : ranges) {
    check_q(m.q, "Accept q in [0, 1]");
    check(!m.type.empty() && !m.subtype.empty(), "media range has type and subtype");
  }
  for (std::string_view t : {"text/html", "application/vnd.pypi.simple.v1+json", "*/*", "x"}) {
    check_q(accept_quality(ranges, t), "accept_quality in [0, 1]");
  }
  check_q(accept_quality(ranges, value), "accept_quality(any media type) in [0, 1]");
  for (std::string_view coding : {"gzip", "identity", "br"}) {
    check_q(encoding_quality(value, coding), "encoding_quality in [0, 1]");
  }
  check_q(encoding_quality("gzip, identity;q=0.5", value), "encoding_quality(any coding)");

  check_range(value, pick_size(data[0], value));
  check_cache_control(value);
  check_date(value);
  check_etag(value);
  return 0;
}
