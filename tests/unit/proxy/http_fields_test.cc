#include "proxy/cache/http_fields.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <sstream>

namespace pipgate::proxy::cache {
namespace {

using namespace std::chrono_literals;
using std::nullopt;
using std::optional;
using std::string;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();

SystemTime at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

// "text/html;level=1;q=0.5 | */*;q=1": one string to compare and to print on failure.
string describe(const std::vector<MediaRange>& ranges) {
  std::ostringstream out;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i) out << " | ";
    out << ranges[i].type << '/' << ranges[i].subtype;
    for (const auto& [k, v] : ranges[i].params) out << ';' << k << '=' << v;
    out << ";q=" << ranges[i].q;
  }
  return out.str();
}

// The non-default fields of a CacheControl, in declaration order.
string describe(const CacheControl& cc) {
  std::ostringstream out;
  auto delta = [&](const char* name, const optional<std::chrono::seconds>& v) {
    if (v) out << name << '=' << v->count() << ' ';
  };
  auto flag = [&](const char* name, bool v) {
    if (v) out << name << ' ';
  };
  delta("max-age", cc.max_age);
  delta("s-maxage", cc.s_maxage);
  delta("stale-if-error", cc.stale_if_error);
  delta("stale-while-revalidate", cc.stale_while_revalidate);
  delta("min-fresh", cc.min_fresh);
  flag("max-stale", cc.max_stale);
  delta("max-stale-value", cc.max_stale_value);
  flag("invalid-max-age", cc.invalid_max_age);
  flag("no-store", cc.no_store);
  flag("no-cache", cc.no_cache);
  flag("private", cc.is_private);
  flag("public", cc.is_public);
  flag("must-revalidate", cc.must_revalidate);
  flag("proxy-revalidate", cc.proxy_revalidate);
  flag("immutable", cc.immutable);
  flag("no-transform", cc.no_transform);
  flag("only-if-cached", cc.only_if_cached);
  auto s = out.str();
  if (!s.empty()) s.pop_back();
  return s;
}

string n_specs(int n) {
  string s = "bytes=";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(i) + "-" + std::to_string(i);
  return s;
}

// ---- Accept ----

TEST(HttpFieldsTest, ParseAccept) {
  struct Case {
    const char* name;
    string value;
    const char* want;
  };
  const Case cases[] = {
      {"empty", "", ""},
      {"only commas and spaces", " , ,, ", ""},
      {"one type", "text/html", "text/html;q=1"},
      {"pip's PEP 691 header",
       "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
       "text/html; q=0.01",
       "application/vnd.pypi.simple.v1+json;q=1 | application/vnd.pypi.simple.v1+html;q=0.1 | "
       "text/html;q=0.01"},
      {"case folded", "TEXT/HTML;Q=0.5", "text/html;q=0.5"},
      {"param name lowered, value kept", "text/html;Charset=UTF-8", "text/html;charset=UTF-8;q=1"},
      {"whitespace around separators", "  text/html \t; q=0.5  ,\t*/*  ",
       "text/html;q=0.5 | */*;q=1"},
      {"BWS around '=' tolerated", "text/html;q = 0.5", "text/html;q=0.5"},
      {"empty list elements", ",,text/html,,", "text/html;q=1"},
      {"params before q kept", "text/html;level=1;q=0.3", "text/html;level=1;q=0.3"},
      {"params after q are accept-ext, dropped", "text/html;q=0.3;ext=1", "text/html;q=0.3"},
      {"second q is accept-ext", "text/html;q=0.5;q=0.9", "text/html;q=0.5"},
      {"empty parameter", "text/html;;charset=utf-8", "text/html;charset=utf-8;q=1"},
      {"quoted value unquoted", "text/html;charset=\"utf-8\"", "text/html;charset=utf-8;q=1"},
      {"quoted comma and semicolon", "text/html;x=\"a,b;c\", */*",
       "text/html;x=a,b;c;q=1 | */*;q=1"},
      {"quoted-pair", "text/html;x=\"a\\\"b\"", "text/html;x=a\"b;q=1"},
      {"quoted q", "text/html;q=\"0.5\"", "text/html;q=0.5"},
      {"unterminated quote skips the rest", "text/html;x=\"abc, */*", ""},
      {"text after quoted value", "text/html;x=\"a\"b, */*", "*/*;q=1"},
      {"type wildcard", "text/*;q=0.2", "text/*;q=0.2"},
      {"q=0", "text/html;q=0", "text/html;q=0"},
      {"q=1.000", "text/html;q=1.000", "text/html;q=1"},
      {"q=0.001", "text/html;q=0.001", "text/html;q=0.001"},
      {"more than three decimals", "text/html;q=0.0001", "text/html;q=0.0001"},
      {"q above 1 clamped", "text/html;q=2", "text/html;q=1"},
      {"q=1.5 clamped", "text/html;q=1.5", "text/html;q=1"},
      {"q with leading dot (old Java)", "text/*;q=.2", "text/*;q=0.2"},
      {"q with trailing dot", "text/html;q=0.", "text/html;q=0"},
      {"huge q clamped", "text/html;q=99999999999999999999999", "text/html;q=1"},
      {"q=abc skipped", "text/html;q=abc, */*", "*/*;q=1"},
      {"negative q skipped", "text/html;q=-0.5, */*", "*/*;q=1"},
      {"empty q skipped", "text/html;q=, */*", "*/*;q=1"},
      {"bare q skipped", "text/html;q, */*", "*/*;q=1"},
      {"lone dot q skipped", "text/html;q=., */*", "*/*;q=1"},
      {"exponent q skipped", "text/html;q=1e-1, */*", "*/*;q=1"},
      {"inf q skipped", "text/html;q=inf, */*", "*/*;q=1"},
      {"nan q skipped", "text/html;q=nan, */*", "*/*;q=1"},
      {"q with trailing junk skipped", "text/html;q=0.5x, */*", "*/*;q=1"},
      {"q with two dots skipped", "text/html;q=0.5.1, */*", "*/*;q=1"},
      {"no slash skipped", "text, */*", "*/*;q=1"},
      {"bare star skipped", "*, */*;q=0.2", "*/*;q=0.2"},
      {"*/subtype skipped", "*/html, */*", "*/*;q=1"},
      {"empty subtype skipped", "text/, */*", "*/*;q=1"},
      {"empty type skipped", "/html, */*", "*/*;q=1"},
      {"space inside type skipped", "te xt/html, */*", "*/*;q=1"},
      {"two slashes skipped", "text/html/x, */*", "*/*;q=1"},
      {"param without value skipped", "text/html;level, */*", "*/*;q=1"},
      {"param with empty value skipped", "text/html;charset=, */*", "*/*;q=1"},
      {"param with empty name skipped", "text/html;=x, */*", "*/*;q=1"},
      {"non-token param value skipped", "text/html;a=b c, */*", "*/*;q=1"},
      {"non-ASCII skipped", "text/h\xfftml, */*", "*/*;q=1"},
      {"control char skipped", string("text/ht\0ml, */*", 15), "*/*;q=1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(describe(parse_accept(c.value)), c.want);
  }
}

TEST(HttpFieldsTest, AcceptQuality) {
  const string pip =
      "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
      "text/html; q=0.01";
  const string ladder = "*/*;q=0.1, text/*;q=0.5, text/html;q=0.9";
  const string ladder_reversed = "text/html;q=0.9, text/*;q=0.5, */*;q=0.1";
  struct Case {
    const char* name;
    string accept;
    const char* media_type;
    double want;
  };
  const Case cases[] = {
      {"absent field accepts all", "", "text/html", 1.0},
      {"all elements malformed: as if absent", "text, */html", "image/png", 1.0},
      {"pip: json", pip, "application/vnd.pypi.simple.v1+json", 1.0},
      {"pip: simple html", pip, "application/vnd.pypi.simple.v1+html", 0.1},
      {"pip: text/html", pip, "text/html", 0.01},
      {"pip: not listed", pip, "application/json", 0.0},
      {"exact beats type/*", ladder, "text/html", 0.9},
      {"type/* beats */*", ladder, "text/plain", 0.5},
      {"*/* last", ladder, "image/png", 0.1},
      {"order does not matter: exact", ladder_reversed, "text/html", 0.9},
      {"order does not matter: type/*", ladder_reversed, "text/plain", 0.5},
      {"order does not matter: */*", ladder_reversed, "image/png", 0.1},
      {"specific q=0 refuses despite */*", "text/html;q=0, */*", "text/html", 0.0},
      {"type/*;q=0 refuses despite */*", "text/*;q=0, */*", "text/plain", 0.0},
      {"*/* alone", "*/*", "application/octet-stream", 1.0},
      {"query case-insensitive", "text/html", "Text/HTML", 1.0},
      {"range case-insensitive", "TEXT/Html", "text/html", 1.0},
      {"range with params skipped", "text/html;level=1", "text/html", 0.0},
      {"range with params skipped, falls back", "text/html;level=1, text/*;q=0.3", "text/html",
       0.3},
      {"duplicate: first wins", "text/html;q=0.2, text/html;q=0.8", "text/html", 0.2},
      {"subtype must match", "text/plain", "text/html", 0.0},
      {"type must match", "image/*", "text/html", 0.0},
      {"prefix is no match", "text/htm", "text/html", 0.0},
      {"media type without slash", "*/*", "html", 0.0},
      {"media type with params", "*/*", "text/html;charset=utf-8", 0.0},
      {"empty media type", "*/*", "", 0.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_DOUBLE_EQ(accept_quality(parse_accept(c.accept), c.media_type), c.want);
  }
}

// ---- Accept-Encoding ----

TEST(HttpFieldsTest, EncodingQuality) {
  struct Case {
    const char* name;
    optional<string> value;
    const char* coding;
    double want;
  };
  const Case cases[] = {
      {"absent: gzip", nullopt, "gzip", 1.0},
      {"absent: identity", nullopt, "identity", 1.0},
      {"absent: br", nullopt, "br", 1.0},
      {"empty: identity only", "", "identity", 1.0},
      {"empty: no gzip", "", "gzip", 0.0},
      {"only commas: identity", " , ,", "identity", 1.0},
      {"only commas: no gzip", " , ,", "gzip", 0.0},
      {"listed", "gzip", "gzip", 1.0},
      {"not listed", "gzip", "br", 0.0},
      {"identity implicit", "gzip, br", "identity", 1.0},
      {"weight", "gzip;q=0.5, br", "gzip", 0.5},
      {"whitespace and case", "  GZIP ; Q=0.5 ,BR", "gzip", 0.5},
      {"query case-insensitive", "gzip", "GZip", 1.0},
      {"x-gzip listed means gzip", "x-gzip", "gzip", 1.0},
      {"asking x-gzip means gzip", "gzip;q=0.4", "x-gzip", 0.4},
      {"x-compress", "x-compress", "compress", 1.0},
      {"gzip q=0", "gzip;q=0", "gzip", 0.0},
      {"gzip q=0 beats *", "gzip;q=0, *", "gzip", 0.0},
      {"* covers unlisted", "gzip;q=0, *", "br", 1.0},
      {"* weight", "*;q=0.3", "br", 0.3},
      {"* weight applies to identity", "*;q=0.3", "identity", 0.3},
      {"identity q=0", "identity;q=0", "identity", 0.0},
      {"identity q=0 beats *", "identity;q=0, *", "identity", 0.0},
      {"*;q=0 refuses identity", "*;q=0", "identity", 0.0},
      {"*;q=0 refuses gzip", "*;q=0", "gzip", 0.0},
      {"*;q=0 with identity element", "*;q=0, identity", "identity", 1.0},
      {"*;q=0 with weighted identity", "*;q=0, identity;q=0.5", "identity", 0.5},
      {"duplicate: first wins", "gzip, gzip;q=0", "gzip", 1.0},
      {"duplicate alias: first wins", "x-gzip;q=0.2, gzip", "gzip", 0.2},
      {"duplicate *: first wins", "*;q=0.2, *;q=0.9", "br", 0.2},
      {"malformed q ignores element", "gzip;q=abc", "gzip", 0.0},
      {"malformed q on identity;q=0 ignored", "identity;q=-1", "identity", 1.0},
      {"malformed *;q ignored", "*;q=zero", "identity", 1.0},
      {"bare q ignores element", "gzip;q", "gzip", 0.0},
      {"q clamped", "gzip;q=1.5", "gzip", 1.0},
      {"other parameters ignored", "gzip;level=9", "gzip", 1.0},
      {"second q ignored", "gzip;q=0.5;q=0", "gzip", 0.5},
      {"three decimals", "identity;q=0.001", "identity", 0.001},
      {"non-token coding skipped", "gz ip, br", "gzip", 0.0},
      {"non-token coding skipped, identity stays", "gz ip;q=0", "identity", 1.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    optional<std::string_view> v;
    if (c.value) v = *c.value;
    EXPECT_DOUBLE_EQ(encoding_quality(v, c.coding), c.want);
  }
}

// ---- Range ----

RangeSpec span(std::uint64_t first, std::uint64_t last) { return {first, last, nullopt}; }
RangeSpec from(std::uint64_t first) { return {first, nullopt, nullopt}; }
RangeSpec suffix(std::uint64_t n) { return {nullopt, nullopt, n}; }

TEST(HttpFieldsTest, ParseRange) {
  using Specs = std::vector<RangeSpec>;
  struct Case {
    const char* name;
    string value;
    optional<Specs> want;
  };
  Specs hundred;
  for (std::uint64_t i = 0; i < 100; ++i) hundred.push_back(span(i, i));
  const Case cases[] = {
      {"first-last", "bytes=0-499", Specs{span(0, 499)}},
      {"first-", "bytes=500-", Specs{from(500)}},
      {"suffix", "bytes=-500", Specs{suffix(500)}},
      {"-0 parses (unsatisfiable later)", "bytes=-0", Specs{suffix(0)}},
      {"0-0", "bytes=0-0", Specs{span(0, 0)}},
      {"unit case-insensitive", "BYTES=0-1", Specs{span(0, 1)}},
      {"unit mixed case", "Bytes=0-1", Specs{span(0, 1)}},
      {"several", "bytes=0-1,5-6,-3,9-", Specs{span(0, 1), span(5, 6), suffix(3), from(9)}},
      {"whitespace around commas", "bytes=0-1 ,\t5-6 ,  -3",
       Specs{span(0, 1), span(5, 6), suffix(3)}},
      {"surrounding whitespace", "  bytes=0-1  ", Specs{span(0, 1)}},
      {"empty elements", "bytes=,0-1,,2-3,", Specs{span(0, 1), span(2, 3)}},
      {"leading zeros", "bytes=0000000000000000000000005-0006", Specs{span(5, 6)}},
      {"first huge saturates", "bytes=99999999999999999999999-", Specs{from(kMax64)}},
      {"last huge saturates", "bytes=0-99999999999999999999999", Specs{span(0, kMax64)}},
      {"suffix huge saturates", "bytes=-99999999999999999999999", Specs{suffix(kMax64)}},
      {"2^64-1 exactly", "bytes=18446744073709551615-18446744073709551615",
       Specs{span(kMax64, kMax64)}},
      {"both huge, equal", "bytes=99999999999999999999-99999999999999999999",
       Specs{span(kMax64, kMax64)}},
      {"100 specs", n_specs(100), hundred},
      {"100 specs and empty elements", n_specs(100) + ",,,", hundred},
      {"101 specs", n_specs(101), nullopt},
      {"first > last", "bytes=5-4", nullopt},
      {"one bad spec voids all", "bytes=0-1, 5-4", nullopt},
      {"first > last past 2^64", "bytes=99999999999999999999-99999999999999999998", nullopt},
      {"first > last, leading zeros", "bytes=10-000000000000000000000009", nullopt},
      {"empty", "", nullopt},
      {"no set", "bytes=", nullopt},
      {"only commas", "bytes= , ,", nullopt},
      {"no '='", "bytes", nullopt},
      {"no unit", "=0-1", nullopt},
      {"other unit", "items=0-1", nullopt},
      {"unit prefix", "bytesx=0-1", nullopt},
      {"space before '='", "bytes =0-1", nullopt},
      {"no dash", "bytes=1", nullopt},
      {"lone dash", "bytes=-", nullopt},
      {"double dash", "bytes=--1", nullopt},
      {"three parts", "bytes=1-2-3", nullopt},
      {"suffix with dash", "bytes=-1-", nullopt},
      {"letters", "bytes=a-b", nullopt},
      {"plus sign", "bytes=+1-2", nullopt},
      {"negative last", "bytes=1--2", nullopt},
      {"space inside spec", "bytes=1- 2", nullopt},
      {"hex", "bytes=0x10-", nullopt},
      {"semicolon", "bytes=0-1;x", nullopt},
      {"non-ASCII digit", "bytes=\xd9\xa1-2", nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parse_range(c.value), c.want);
  }
}

TEST(HttpFieldsTest, ResolveRangeAndContentRange) {
  using Specs = std::vector<RangeSpec>;
  struct Case {
    const char* name;
    optional<Specs> specs;
    std::uint64_t size;
    RangeOutcome outcome;
    std::uint64_t offset;
    std::uint64_t length;
    const char* content_range;
  };
  constexpr auto kFull = RangeOutcome::kFull;
  constexpr auto kPartial = RangeOutcome::kPartial;
  constexpr auto kUnsat = RangeOutcome::kUnsatisfiable;
  const Case cases[] = {
      {"no Range", nullopt, 100, kFull, 0, 0, ""},
      {"first-last", Specs{span(0, 499)}, 10'000, kPartial, 0, 500, "bytes 0-499/10000"},
      {"suffix (header example)", Specs{suffix(500)}, 10'000, kPartial, 9500, 500,
       "bytes 9500-9999/10000"},
      {"first-", Specs{from(9500)}, 10'000, kPartial, 9500, 500, "bytes 9500-9999/10000"},
      {"last past end clamped", Specs{span(100, 99'999)}, 10'000, kPartial, 100, 9900,
       "bytes 100-9999/10000"},
      {"last byte", Specs{from(9999)}, 10'000, kPartial, 9999, 1, "bytes 9999-9999/10000"},
      {"one-byte object", Specs{span(0, 0)}, 1, kPartial, 0, 1, "bytes 0-0/1"},
      {"single middle byte", Specs{span(5, 5)}, 10, kPartial, 5, 1, "bytes 5-5/10"},
      {"first == size", Specs{from(10'000)}, 10'000, kUnsat, 0, 0, "bytes */10000"},
      {"first past size", Specs{span(20'000, 30'000)}, 10'000, kUnsat, 0, 0, "bytes */10000"},
      {"suffix larger than size", Specs{suffix(20'000)}, 10'000, kPartial, 0, 10'000,
       "bytes 0-9999/10000"},
      {"suffix equal to size", Specs{suffix(10'000)}, 10'000, kPartial, 0, 10'000,
       "bytes 0-9999/10000"},
      {"-0", Specs{suffix(0)}, 10'000, kUnsat, 0, 0, "bytes */10000"},
      {"empty object: first-last", Specs{span(0, 0)}, 0, kUnsat, 0, 0, "bytes */0"},
      {"empty object: first-", Specs{from(0)}, 0, kUnsat, 0, 0, "bytes */0"},
      {"empty object: suffix", Specs{suffix(5)}, 0, kUnsat, 0, 0, "bytes */0"},
      {"empty object: -0", Specs{suffix(0)}, 0, kUnsat, 0, 0, "bytes */0"},
      {"empty object: no Range", nullopt, 0, kFull, 0, 0, ""},
      {"several ranges: whole object", Specs{span(0, 1), span(5, 6)}, 100, kFull, 0, 0, ""},
      {"several ranges on empty object: whole (empty) object", Specs{span(0, 1), suffix(1)}, 0,
       kFull, 0, 0, ""},
      {"huge first", Specs{from(kMax64)}, 10'000, kUnsat, 0, 0, "bytes */10000"},
      {"huge suffix", Specs{suffix(kMax64)}, 10'000, kPartial, 0, 10'000, "bytes 0-9999/10000"},
      {"huge size, whole", Specs{span(0, kMax64)}, kMax64, kPartial, 0, kMax64,
       "bytes 0-18446744073709551614/18446744073709551615"},
      {"huge size, last byte", Specs{suffix(1)}, kMax64, kPartial, kMax64 - 1, 1,
       "bytes 18446744073709551614-18446744073709551614/18446744073709551615"},
      {"hand-built: empty list", Specs{}, 100, kFull, 0, 0, ""},
      {"hand-built: no fields", Specs{RangeSpec{}}, 100, kFull, 0, 0, ""},
      {"hand-built: first > last", Specs{span(5, 2)}, 100, kFull, 0, 0, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = resolve_range(c.specs, c.size);
    EXPECT_EQ(r.outcome, c.outcome);
    EXPECT_EQ(r.offset, c.offset);
    EXPECT_EQ(r.length, c.length);
    EXPECT_EQ(content_range(r, c.size), c.content_range);
  }
}

TEST(HttpFieldsTest, RangeEndToEnd) {
  auto r = resolve_range(parse_range("bytes=-500"), 10'000);
  EXPECT_EQ(r.outcome, RangeOutcome::kPartial);
  EXPECT_EQ(r.offset, 9500u);
  EXPECT_EQ(r.length, 500u);
  EXPECT_EQ(resolve_range(parse_range("bytes=99999999999999999999999-"), 10'000).outcome,
            RangeOutcome::kUnsatisfiable);
  EXPECT_EQ(resolve_range(parse_range("bytes=5-4"), 10'000).outcome, RangeOutcome::kFull);
  EXPECT_EQ(resolve_range(parse_range(n_specs(101)), 10'000).outcome, RangeOutcome::kFull);
  EXPECT_EQ(content_range(ResolvedRange{RangeOutcome::kPartial, 0, 0}, 10), "");
}

// ---- Cache-Control ----

TEST(HttpFieldsTest, ParseCacheControl) {
  struct Case {
    const char* name;
    Headers headers;
    const char* want;
  };
  auto cc = [](string v) { return Headers{{"cache-control", std::move(v)}}; };
  const Case cases[] = {
      {"no field", {}, ""},
      {"empty field", cc(""), ""},
      {"other fields ignored",
       {{"pragma", "no-cache"}, {"x-cache-control", "no-store"}, {"expires", "0"}},
       ""},
      {"max-age", cc("max-age=600"), "max-age=600"},
      {"max-age=0", cc("max-age=0"), "max-age=0"},
      {"case-insensitive names", cc("MAX-AGE=600, Public"), "max-age=600 public"},
      {"quoted max-age accepted", cc("max-age=\"600\""), "max-age=600"},
      {"BWS around '=' tolerated", cc("max-age = 60"), "max-age=60"},
      {"max-age not a number", cc("max-age=abc"), "invalid-max-age"},
      {"max-age without value", cc("max-age"), "invalid-max-age"},
      {"max-age empty", cc("max-age="), "invalid-max-age"},
      {"max-age negative", cc("max-age=-1"), "invalid-max-age"},
      {"max-age fraction", cc("max-age=1.5"), "invalid-max-age"},
      {"max-age with unit", cc("max-age=60s"), "invalid-max-age"},
      {"max-age with space inside", cc("max-age=5 6"), "invalid-max-age"},
      {"max-age unterminated quote", cc("max-age=\"60"), "invalid-max-age"},
      {"max-age 2^31-1", cc("max-age=2147483647"), "max-age=2147483647"},
      {"max-age 2^31", cc("max-age=2147483648"), "max-age=2147483648"},
      {"max-age above 2^31 saturates", cc("max-age=2147483649"), "max-age=2147483648"},
      {"max-age huge saturates", cc("max-age=99999999999999999999999"), "max-age=2147483648"},
      {"duplicate: first kept", cc("max-age=60, max-age=0"), "max-age=60"},
      {"duplicate: invalid first kept", cc("max-age=abc, max-age=60"), "invalid-max-age"},
      {"duplicate: valid first kept", cc("max-age=60, max-age=abc"), "max-age=60"},
      {"two fields joined",
       {{"cache-control", "max-age=60"}, {"cache-control", "no-store"}},
       "max-age=60 no-store"},
      {"duplicate across fields: first kept",
       {{"cache-control", "max-age=60"}, {"etag", "\"x\""}, {"cache-control", "max-age=0"}},
       "max-age=60"},
      {"upper-case field name", {{"Cache-Control", "no-store"}}, "no-store"},
      {"other deltas", cc("s-maxage=10, stale-if-error=20, stale-while-revalidate=30, min-fresh=5"),
       "s-maxage=10 stale-if-error=20 stale-while-revalidate=30 min-fresh=5"},
      {"invalid s-maxage absent", cc("s-maxage=x, stale-if-error"), ""},
      {"duplicate s-maxage", cc("s-maxage=10, s-maxage=20"), "s-maxage=10"},
      {"max-stale without value", cc("max-stale"), "max-stale"},
      {"max-stale with value", cc("max-stale=30"), "max-stale max-stale-value=30"},
      {"max-stale invalid: absent", cc("max-stale=abc"), ""},
      {"max-stale duplicate: first", cc("max-stale, max-stale=5"), "max-stale"},
      {"max-stale duplicate invalid first", cc("max-stale=x, max-stale=5"), ""},
      {"all flags",
       cc("no-store, no-cache, private, public, must-revalidate, proxy-revalidate, immutable, "
          "no-transform, only-if-cached"),
       "no-store no-cache private public must-revalidate proxy-revalidate immutable "
       "no-transform only-if-cached"},
      {"no-cache with field list", cc("no-cache=\"set-cookie\""), "no-cache"},
      {"quoted commas do not split", cc("no-cache=\"no-store, max-age=5\", private=\"a,b\""),
       "no-cache private"},
      {"unterminated quote swallows the rest", cc("no-cache=\"x, no-store"), "no-cache"},
      {"flag with a value still counts", cc("no-store=1"), "no-store"},
      {"empty elements", cc(" , ,max-age=5,, ,"), "max-age=5"},
      {"unknown directives ignored", cc("foo, bar=\"baz\", max-age=5, community=\"UCI\""),
       "max-age=5"},
      {"quoted name ignored", cc("\"max-age=5\""), ""},
      {"name with space ignored", cc("max age=5, no-store"), "no-store"},
      {"tabs", cc("\tmax-age=5\t,\tno-cache\t"), "max-age=5 no-cache"},
      {"prefix of a name is not the name", cc("no-stor, max-ag=5"), ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(describe(parse_cache_control(c.headers)), c.want);
  }
}

// ---- HTTP-date ----

TEST(HttpFieldsTest, ParseHttpDate) {
  using namespace std::chrono;
  const SystemTime rfc = at(1994, 11, 6, 8, 49, 37);
  const SystemTime max_s{floor<seconds>(SystemTime::duration::max())};
  const SystemTime min_s{ceil<seconds>(SystemTime::duration::min())};
  struct Case {
    const char* name;
    string value;
    optional<SystemTime> want;
  };
  const Case cases[] = {
      {"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", rfc},
      {"RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", rfc},
      {"asctime", "Sun Nov  6 08:49:37 1994", rfc},
      {"asctime two-digit day", "Sun Nov 06 08:49:37 1994", rfc},
      {"asctime day 16", "Wed Nov 16 08:49:37 1994", at(1994, 11, 16, 8, 49, 37)},
      {"surrounding whitespace", " \tSun, 06 Nov 1994 08:49:37 GMT  ", rfc},
      {"names case-insensitive", "sun, 06 nov 1994 08:49:37 gmt", rfc},
      {"weekday not cross-checked", "Mon, 06 Nov 1994 08:49:37 GMT", rfc},
      {"epoch", "Thu, 01 Jan 1970 00:00:00 GMT", SystemTime{}},
      {"before epoch", "Wed, 31 Dec 1969 23:59:59 GMT", SystemTime{} - 1s},
      {"leap day", "Thu, 29 Feb 2024 12:00:00 GMT", at(2024, 2, 29, 12)},
      {"2000 leap day", "Tue, 29 Feb 2000 00:00:00 GMT", at(2000, 2, 29)},
      {"end of year", "Tue, 31 Dec 2024 23:59:59 GMT", at(2024, 12, 31, 23, 59, 59)},
      {"every month: Jan", "Mon, 15 Jan 2024 00:00:00 GMT", at(2024, 1, 15)},
      {"every month: Mar", "Fri, 15 Mar 2024 00:00:00 GMT", at(2024, 3, 15)},
      {"every month: Apr", "Mon, 15 Apr 2024 00:00:00 GMT", at(2024, 4, 15)},
      {"every month: May", "Wed, 15 May 2024 00:00:00 GMT", at(2024, 5, 15)},
      {"every month: Jun", "Sat, 15 Jun 2024 00:00:00 GMT", at(2024, 6, 15)},
      {"every month: Jul", "Mon, 15 Jul 2024 00:00:00 GMT", at(2024, 7, 15)},
      {"every month: Aug", "Thu, 15 Aug 2024 00:00:00 GMT", at(2024, 8, 15)},
      {"every month: Sep", "Sun, 15 Sep 2024 00:00:00 GMT", at(2024, 9, 15)},
      {"every month: Oct", "Tue, 15 Oct 2024 00:00:00 GMT", at(2024, 10, 15)},
      {"every month: Dec", "Sun, 15 Dec 2024 00:00:00 GMT", at(2024, 12, 15)},
      {"RFC 850 year 70", "Thursday, 01-Jan-70 00:00:00 GMT", SystemTime{}},
      {"RFC 850 year 69 is 1969", "Wednesday, 01-Jan-69 00:00:00 GMT", at(1969, 1, 1)},
      {"RFC 850 year 68 is 2068", "Sunday, 01-Jan-68 00:00:00 GMT", at(2068, 1, 1)},
      {"RFC 850 year 00 is 2000", "Saturday, 01-Jan-00 00:00:00 GMT", at(2000, 1, 1)},
      {"RFC 850 every day name", "Wednesday, 09-Nov-94 08:49:37 GMT", at(1994, 11, 9, 8, 49, 37)},
      {"leap second rolls over", "Sat, 31 Dec 2016 23:59:60 GMT", at(2017, 1, 1)},
      {"year 9999 clamps to the latest time", "Fri, 31 Dec 9999 23:59:59 GMT", max_s},
      {"year 2263 clamps", "Mon, 01 Jan 2263 00:00:00 GMT", max_s},
      {"year 0001 clamps to the earliest time", "Mon, 01 Jan 0001 00:00:00 GMT", min_s},
      {"no leap day in 2023", "Wed, 29 Feb 2023 00:00:00 GMT", nullopt},
      {"no leap day in 1900", "Thu, 29 Feb 1900 00:00:00 GMT", nullopt},
      {"31 April", "Tue, 31 Apr 2024 00:00:00 GMT", nullopt},
      {"day 00", "Sun, 00 Nov 1994 08:49:37 GMT", nullopt},
      {"day 32", "Sun, 32 Oct 1994 08:49:37 GMT", nullopt},
      {"hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", nullopt},
      {"minute 60", "Sun, 06 Nov 1994 08:60:00 GMT", nullopt},
      {"second 61", "Sun, 06 Nov 1994 08:49:61 GMT", nullopt},
      {"UTC is not GMT", "Sun, 06 Nov 1994 08:49:37 UTC", nullopt},
      {"numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000", nullopt},
      {"no zone", "Sun, 06 Nov 1994 08:49:37", nullopt},
      {"trailing junk", "Sun, 06 Nov 1994 08:49:37 GMTx", nullopt},
      {"trailing word", "Sun, 06 Nov 1994 08:49:37 GMT x", nullopt},
      {"one-digit day", "Sun, 6 Nov 1994 08:49:37 GMT", nullopt},
      {"two-digit year in IMF", "Sun, 06 Nov 94 08:49:37 GMT", nullopt},
      {"one-digit hour", "Sun, 06 Nov 1994 8:49:37 GMT", nullopt},
      {"bad month", "Sun, 06 Foo 1994 08:49:37 GMT", nullopt},
      {"bad day name", "Sux, 06 Nov 1994 08:49:37 GMT", nullopt},
      {"no space after comma", "Sun,06 Nov 1994 08:49:37 GMT", nullopt},
      {"double space", "Sun, 06  Nov 1994 08:49:37 GMT", nullopt},
      {"long day name in IMF", "Sunday, 06 Nov 1994 08:49:37 GMT", nullopt},
      {"short day name in RFC 850", "Sun, 06-Nov-94 08:49:37 GMT", nullopt},
      {"four-digit year in RFC 850", "Sunday, 06-Nov-1994 08:49:37 GMT", nullopt},
      {"long day name in asctime", "Sunday Nov  6 08:49:37 1994", nullopt},
      {"asctime one space one digit", "Sun Nov 6 08:49:37 1994", nullopt},
      {"asctime with zone", "Sun Nov  6 08:49:37 1994 GMT", nullopt},
      {"asctime two-digit year", "Sun Nov  6 08:49:37 94", nullopt},
      {"ISO 8601", "1994-11-06T08:49:37Z", nullopt},
      {"delta-seconds", "0", nullopt},
      {"-1 (Expires: -1)", "-1", nullopt},
      {"empty", "", nullopt},
      {"signs in number", "Sun, +6 Nov 1994 08:49:37 GMT", nullopt},
      {"NUL inside", string("Sun, 06 Nov 1994 08:49:37 GMT\0", 30), nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parse_http_date(c.value), c.want);
  }
}

TEST(HttpFieldsTest, FormatHttpDate) {
  using namespace std::chrono;
  struct Case {
    const char* name;
    SystemTime t;
    const char* want;
  };
  const Case cases[] = {
      {"RFC example", at(1994, 11, 6, 8, 49, 37), "Sun, 06 Nov 1994 08:49:37 GMT"},
      {"epoch", SystemTime{}, "Thu, 01 Jan 1970 00:00:00 GMT"},
      {"second before epoch", SystemTime{} - 1s, "Wed, 31 Dec 1969 23:59:59 GMT"},
      {"nanosecond before epoch floors", SystemTime{} - 1ns, "Wed, 31 Dec 1969 23:59:59 GMT"},
      {"fraction floors", at(1994, 11, 6, 8, 49, 37) + 999ms, "Sun, 06 Nov 1994 08:49:37 GMT"},
      {"leap day", at(2024, 2, 29, 23, 59, 59), "Thu, 29 Feb 2024 23:59:59 GMT"},
      {"Y2K", at(2000, 1, 1), "Sat, 01 Jan 2000 00:00:00 GMT"},
      {"Monday", at(2024, 1, 1), "Mon, 01 Jan 2024 00:00:00 GMT"},
      {"Tuesday", at(2024, 1, 2), "Tue, 02 Jan 2024 00:00:00 GMT"},
      {"Wednesday", at(2024, 1, 3), "Wed, 03 Jan 2024 00:00:00 GMT"},
      {"Thursday", at(2024, 1, 4), "Thu, 04 Jan 2024 00:00:00 GMT"},
      {"Friday", at(2024, 1, 5), "Fri, 05 Jan 2024 00:00:00 GMT"},
      {"Saturday", at(2024, 1, 6), "Sat, 06 Jan 2024 00:00:00 GMT"},
      {"Sunday", at(2024, 1, 7), "Sun, 07 Jan 2024 00:00:00 GMT"},
      {"latest time", SystemTime::max(), "Fri, 11 Apr 2262 23:47:16 GMT"},
      {"earliest time", SystemTime::min(), "Tue, 21 Sep 1677 00:12:43 GMT"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(format_http_date(c.t), c.want);
  }
}

TEST(HttpFieldsTest, HttpDateRoundTrips) {
  using namespace std::chrono;
  // Every 7th day and a varying second from 1800 to 2200: format then parse gives the time back.
  for (auto t = at(1800, 1, 1); t < at(2200, 1, 1); t += days{7} + 3'607s) {
    auto s = format_http_date(t);
    ASSERT_EQ(s.size(), 29u) << s;
    ASSERT_EQ(parse_http_date(s), t) << s;
  }
}

// ---- Entity tags ----

TEST(HttpFieldsTest, ParseEtag) {
  struct Case {
    const char* name;
    string value;
    optional<EntityTag> want;
  };
  const Case cases[] = {
      {"strong", "\"xyz\"", EntityTag{false, "xyz"}},
      {"weak", "W/\"xyz\"", EntityTag{true, "xyz"}},
      {"empty opaque", "\"\"", EntityTag{false, ""}},
      {"weak empty", "W/\"\"", EntityTag{true, ""}},
      {"surrounding whitespace", " \t\"a\" ", EntityTag{false, "a"}},
      {"comma inside", "\"a,b\"", EntityTag{false, "a,b"}},
      {"backslash is plain", "\"a\\\"", EntityTag{false, "a\\"}},
      {"obs-text", "\"\xc3\xa9\"", EntityTag{false, "\xc3\xa9"}},
      {"PyPI-style", "\"Ab12-_/+=\"", EntityTag{false, "Ab12-_/+="}},
      {"lower-case w/", "w/\"xyz\"", nullopt},
      {"unquoted", "xyz", nullopt},
      {"weak unquoted", "W/xyz", nullopt},
      {"prefix only", "W/", nullopt},
      {"space inside prefix", "W /\"a\"", nullopt},
      {"no closing quote", "\"xyz", nullopt},
      {"no opening quote", "xyz\"", nullopt},
      {"lone quote", "\"", nullopt},
      {"text after", "\"a\"b", nullopt},
      {"two tags", "\"a\" \"b\"", nullopt},
      {"list", "\"a\", \"b\"", nullopt},
      {"space inside", "\"a b\"", nullopt},
      {"tab inside", "\"a\tb\"", nullopt},
      {"DEL inside", "\"a\x7f\"", nullopt},
      {"NUL inside", string("\"a\0\"", 4), nullopt},
      {"star", "*", nullopt},
      {"empty", "", nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parse_etag(c.value), c.want);
  }
}

TEST(HttpFieldsTest, IfNoneMatch) {
  struct Case {
    const char* name;
    const char* field;
    optional<std::string_view> etag;
    bool want;
  };
  const Case cases[] = {
      {"same", "\"v1\"", "\"v1\"", true},
      {"different", "\"v1\"", "\"v2\"", false},
      {"weak field matches strong stored", "W/\"v1\"", "\"v1\"", true},
      {"strong field matches weak stored", "\"v1\"", "W/\"v1\"", true},
      {"both weak", "W/\"v1\"", "W/\"v1\"", true},
      {"in a list", "\"v0\", \"v1\"", "\"v1\"", true},
      {"list without spaces", "\"v0\",\"v1\",\"v2\"", "\"v1\"", true},
      {"list with OWS and weak", " \"v0\" ,\t W/\"v1\" ", "\"v1\"", true},
      {"none in the list", "\"v0\", \"v2\"", "\"v1\"", false},
      {"empty list elements", ",, \"v1\" ,,", "\"v1\"", true},
      {"star", "*", "\"v1\"", true},
      {"star without stored etag", "*", nullopt, true},
      {"star with whitespace", " * ", "\"v1\"", true},
      {"no stored etag", "\"v1\"", nullopt, false},
      {"star inside a list is malformed", "\"v0\", *", "\"v1\"", false},
      {"opaque is case-sensitive", "\"V1\"", "\"v1\"", false},
      {"unquoted field", "v1", "\"v1\"", false},
      {"malformed stored etag", "\"v1\"", "v1", false},
      {"malformed element skipped", "bogus, \"v1\"", "\"v1\"", true},
      {"bad etagc element skipped", "\"a b\", \"v1\"", "\"v1\"", true},
      {"junk after tag", "\"v1\"junk", "\"v1\"", false},
      {"junk after tag, next ok", "\"v0\"junk, \"v1\"", "\"v1\"", true},
      {"comma inside opaque", "\"a,b\"", "\"a,b\"", true},
      {"comma inside opaque is not a separator", "\"a,b\"", "\"a\"", false},
      {"unterminated", "\"v1", "\"v1\"", false},
      {"empty opaque", "\"\"", "\"\"", true},
      {"empty field", "", "\"v1\"", false},
      {"only commas", ",,,", "\"v1\"", false},
      {"lower-case w/ is malformed", "w/\"v1\"", "\"v1\"", false},
      {"stored etag with whitespace", "\"v1\"", " \"v1\" ", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(if_none_match_matches(c.field, c.etag), c.want);
  }
}

TEST(HttpFieldsTest, IfRange) {
  const char* lm = "Sun, 06 Nov 1994 08:49:37 GMT";
  struct Case {
    const char* name;
    const char* field;
    optional<std::string_view> etag;
    optional<std::string_view> last_modified;
    bool want;
  };
  const Case cases[] = {
      {"strong etag matches", "\"v1\"", "\"v1\"", lm, true},
      {"etag with whitespace", " \"v1\" ", "\"v1\"", nullopt, true},
      {"etag differs", "\"v1\"", "\"v2\"", lm, false},
      {"weak field never matches", "W/\"v1\"", "\"v1\"", lm, false},
      {"weak stored never matches", "\"v1\"", "W/\"v1\"", lm, false},
      {"both weak", "W/\"v1\"", "W/\"v1\"", lm, false},
      {"no stored etag", "\"v1\"", nullopt, lm, false},
      {"etag field is not compared with the date", "\"Sun, 06 Nov 1994 08:49:37 GMT\"", nullopt, lm,
       false},
      {"list is not allowed", "\"v1\", \"v2\"", "\"v1\"", lm, false},
      {"malformed etag", "\"v1", "\"v1\"", lm, false},
      {"malformed weak", "W/garbage", "\"v1\"", lm, false},
      {"date equals", lm, "\"v1\"", lm, true},
      {"date equals, other format", "Sunday, 06-Nov-94 08:49:37 GMT", nullopt, lm, true},
      {"date equals, asctime stored", lm, nullopt, "Sun Nov  6 08:49:37 1994", true},
      {"date one second later", "Sun, 06 Nov 1994 08:49:38 GMT", nullopt, lm, false},
      {"date one second earlier", "Sun, 06 Nov 1994 08:49:36 GMT", nullopt, lm, false},
      {"date without stored Last-Modified", lm, "\"v1\"", nullopt, false},
      {"date with malformed Last-Modified", lm, nullopt, "yesterday", false},
      {"malformed date", "yesterday", nullopt, lm, false},
      {"empty field", "", "\"v1\"", lm, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(if_range_allows(c.field, c.etag, c.last_modified), c.want);
  }
}

// ---- robustness ----

// Every prefix of every input, copied into a buffer of exactly its size (so ASan catches any
// read past the end), plus seeded random bytes: no crash, and the results keep their invariants.
TEST(HttpFieldsTest, SurvivesTruncationAndGarbage) {
  std::vector<string> inputs = {
      "application/vnd.pypi.simple.v1+json, text/html;q=0.01;x=\"a,\\\"b\"",
      "gzip;q=0.5, *;q=0, identity",
      "bytes=0-1, -5, 9-, 99999999999999999999999-",
      "max-age=60, no-cache=\"a, b\", max-stale=\"5\"",
      "Sun, 06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37 GMT",
      "Sun Nov  6 08:49:37 1994",
      "W/\"v1\", \"v2\", *",
  };
  std::mt19937 rng(20240229);
  const char alphabet[] = "\"\\,;=-/ \t*Ww0123456789qGMTSunNovbytes.\x80\xff";
  for (int i = 0; i < 2000; ++i) {
    string s(rng() % 48, ' ');
    for (auto& ch : s) ch = alphabet[rng() % (sizeof(alphabet) - 1)];
    inputs.push_back(std::move(s));
  }
  for (const auto& in : inputs) {
    for (std::size_t n = 0; n <= in.size(); ++n) {
      auto buf = std::make_unique<char[]>(n == 0 ? 1 : n);
      std::memcpy(buf.get(), in.data(), n);
      std::string_view v(buf.get(), n);
      for (const auto& r : parse_accept(v)) {
        EXPECT_GE(r.q, 0.0);
        EXPECT_LE(r.q, 1.0);
      }
      double q = encoding_quality(v, "gzip");
      EXPECT_TRUE(q >= 0.0 && q <= 1.0);
      auto specs = parse_range(v);
      if (specs) {
        EXPECT_LE(specs->size(), 100u);
      }
      for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{10'000}}) {
        auto r = resolve_range(specs, size);
        if (r.outcome == RangeOutcome::kPartial) {
          EXPECT_GT(r.length, 0u);
          EXPECT_LE(r.offset + r.length, size);
        }
      }
      parse_cache_control({{"cache-control", string(v)}});
      if (auto t = parse_http_date(v)) {
        EXPECT_EQ(format_http_date(*t).size(), 29u);
      }
      parse_etag(v);
      if_none_match_matches(v, "\"v1\"");
      if_range_allows(v, "\"v1\"", "Sun, 06 Nov 1994 08:49:37 GMT");
    }
  }
}

}  // namespace
}  // namespace pipgate::proxy::cache
