#include "proxy/cache/http_fields.h"

#include <array>
#include <charconv>
#include <cstddef>
#include <limits>
#include <utility>

namespace pipgate::proxy::cache {

namespace {

// Every scanner below indexes only after checking against size(): these parse bytes straight
// off the network, and a fuzzer feeds them anything.

constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// ASCII only: HTTP field syntax is ASCII, and <cctype> would consult the locale.
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// tchar, RFC 9110 §5.6.2.
constexpr bool is_tchar(char c) {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// Takes the next `delim`-separated element off the front of `rest`, skipping delimiters inside
// quoted strings (no-cache="a, b" and Accept parameters may quote commas and semicolons). An
// unterminated quote runs to the end of the input.
std::string_view next_element(std::string_view& rest, char delim) {
  bool quoted = false;
  std::size_t i = 0;
  for (; i < rest.size(); ++i) {
    char c = rest[i];
    if (quoted) {
      if (c == '\\') {
        if (i + 1 < rest.size()) ++i;  // quoted-pair
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delim) {
      break;
    }
  }
  auto element = rest.substr(0, i);
  rest.remove_prefix(i < rest.size() ? i + 1 : rest.size());
  return element;
}

// A parameter or directive argument: token or quoted-string (RFC 9110 §5.6.4), unescaped.
std::optional<std::string> argument_value(std::string_view v) {
  if (v.empty() || v.front() != '"') {
    if (!is_token(v)) return std::nullopt;
    return std::string(v);
  }
  std::string out;
  for (std::size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\') {
      if (i + 1 >= v.size()) return std::nullopt;
      out.push_back(v[++i]);
    } else if (c == '"') {
      if (i + 1 != v.size()) return std::nullopt;  // text after the closing quote
      return out;
    } else {
      out.push_back(c);
    }
  }
  return std::nullopt;  // no closing quote
}

// Splits "name=value" (value optional); BWS around '=' is tolerated although RFC 9110 §5.6.6
// forbids sending it.
std::pair<std::string_view, std::optional<std::string_view>> split_name_value(std::string_view s) {
  auto eq = s.find('=');
  if (eq == std::string_view::npos) return {trim(s), std::nullopt};
  return {trim(s.substr(0, eq)), trim(s.substr(eq + 1))};
}

// A weight: RFC 9110 §12.4.2 allows "0" to "1" with at most three decimals. Tolerated beyond
// that: more decimals, values above 1 (clamped) and a missing leading zero (".2", which old Java
// clients send). Anything else (sign, exponent, "inf") is malformed.
std::optional<double> parse_qvalue(std::string_view v) {
  auto dot = v.find('.');
  auto whole = v.substr(0, dot);
  auto frac = dot == std::string_view::npos ? std::string_view{} : v.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  if (!whole.empty() && !all_digits(whole)) return std::nullopt;
  if (!frac.empty() && !all_digits(frac)) return std::nullopt;
  if (whole.find_first_not_of('0') != std::string_view::npos) return 1.0;  // >= 1: clamped
  // Nine digits fit an int64 exactly; later ones cannot change a weight that matters.
  std::int64_t num = 0;
  std::int64_t den = 1;
  for (std::size_t i = 0; i < frac.size() && i < 9; ++i) {
    num = num * 10 + (frac[i] - '0');
    den *= 10;
  }
  return static_cast<double>(num) / static_cast<double>(den);
}

// Parses one Accept element; nullopt when malformed.
std::optional<MediaRange> parse_media_range(std::string_view element) {
  auto range = trim(next_element(element, ';'));
  auto slash = range.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto type = range.substr(0, slash);
  auto subtype = range.substr(slash + 1);
  if (!is_token(type) || !is_token(subtype)) return std::nullopt;
  if (type == "*" && subtype != "*") return std::nullopt;
  MediaRange out;
  out.type = lowered(type);
  out.subtype = lowered(subtype);
  bool seen_q = false;
  while (!element.empty()) {
    auto param = trim(next_element(element, ';'));
    if (param.empty()) continue;  // RFC 9110 §5.6.6 allows empty parameters
    auto [name, value] = split_name_value(param);
    if (!is_token(name) || !value) return std::nullopt;
    auto unquoted = argument_value(*value);
    if (!unquoted) return std::nullopt;
    if (seen_q) continue;  // RFC 7231 accept-ext: after the weight, not media-type parameters
    if (iequals(name, "q")) {
      auto q = parse_qvalue(*unquoted);
      if (!q) return std::nullopt;
      out.q = *q;
      seen_q = true;
      continue;
    }
    out.params.emplace_back(lowered(name), std::move(*unquoted));
  }
  return out;
}

// Content codings and their aliases (RFC 9110 §8.4.1: "x-gzip" and "x-compress").
std::string canonical_coding(std::string_view coding) {
  auto c = lowered(trim(coding));
  if (c == "x-gzip") return "gzip";
  if (c == "x-compress") return "compress";
  return c;
}

// "123" → 123, saturating at UINT64_MAX: a position past any object is still a position
// (RFC 9110 §14.1.1: "a recipient ... must anticipate potentially large decimal numerals").
std::uint64_t saturating_u64(std::string_view digits) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::uint64_t>::max();
  return v;
}

// a > b for digit strings of any length, so "first > last" is exact even past 2^64.
bool digits_greater(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    auto nz = s.find_first_not_of('0');
    return nz == std::string_view::npos ? std::string_view{} : s.substr(nz);
  };
  a = strip(a);
  b = strip(b);
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

// delta-seconds (RFC 9111 §1.2.2): saturates at 2^31, "the greatest integer value" a cache must
// be able to represent. Token or quoted form (RFC 9111 §5.2: recipients accept both).
std::optional<std::chrono::seconds> parse_delta_seconds(std::optional<std::string_view> arg) {
  if (!arg) return std::nullopt;
  auto v = argument_value(*arg);
  if (!v || !all_digits(*v)) return std::nullopt;
  constexpr std::uint64_t kMax = std::uint64_t{1} << 31;
  auto n = saturating_u64(*v);
  return std::chrono::seconds(static_cast<std::int64_t>(n < kMax ? n : kMax));
}

// ---- dates ----

constexpr std::array<std::string_view, 7> kDayShort = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kDayLong = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                      "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A cursor over a date: each step checks bounds and advances only on success.
struct Cursor {
  std::string_view s;
  std::size_t pos = 0;

  bool literal(std::string_view lit) {
    if (s.size() - pos < lit.size() || !iequals(s.substr(pos, lit.size()), lit)) return false;
    pos += lit.size();
    return true;
  }
  bool number(std::size_t width, int& out) {
    if (s.size() - pos < width) return false;
    int v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      char c = s[pos + i];
      if (!is_digit(c)) return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    pos += width;
    return true;
  }
  bool month(unsigned& out) {
    for (std::size_t i = 0; i < kMonths.size(); ++i) {
      if (literal(kMonths[i])) {
        out = static_cast<unsigned>(i + 1);
        return true;
      }
    }
    return false;
  }
  // "08:49:37"
  bool time(int& h, int& m, int& sec) {
    return number(2, h) && literal(":") && number(2, m) && literal(":") && number(2, sec);
  }
  bool done() const { return pos == s.size(); }
};

std::optional<SystemTime> make_time(int year, unsigned month, int day, int h, int m, int s) {
  using namespace std::chrono;
  // Second 60 is a leap second (RFC 9110 §5.6.7); it counts as the next minute's first.
  if (h > 23 || m > 59 || s > 60) return std::nullopt;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  // Years 0000-9999 fit int64 seconds easily; SystemTime (int64 ns) covers only ~1677-2262, so
  // clamp instead of overflowing: "Expires: ... 9999" still means "far future".
  std::int64_t secs = std::int64_t{sys_days{ymd}.time_since_epoch().count()} * 86400 +
                      std::int64_t{h} * 3600 + std::int64_t{m} * 60 + s;
  constexpr auto kMax = floor<seconds>(SystemTime::duration::max()).count();
  constexpr auto kMin = ceil<seconds>(SystemTime::duration::min()).count();
  if (secs > kMax) secs = kMax;
  if (secs < kMin) secs = kMin;
  return SystemTime(duration_cast<SystemTime::duration>(seconds(secs)));
}

// Reads a day name at the front; `is_long` tells "Sunday" from "Sun".
bool day_name(Cursor& c, bool& is_long) {
  for (auto d : kDayLong) {
    if (c.literal(d)) {
      is_long = true;
      return true;
    }
  }
  for (auto d : kDayShort) {
    if (c.literal(d)) {
      is_long = false;
      return true;
    }
  }
  return false;
}

// ---- entity tags ----

// etagc, RFC 9110 §8.8.3: '!', '#'..'~', obs-text.
constexpr bool is_etagc(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x7E) || u >= 0x80;
}

// Reads an entity tag at `pos` and moves past it; nullopt (pos unchanged) when malformed. No
// escapes: a backslash is an ordinary etagc.
std::optional<EntityTag> scan_etag(std::string_view s, std::size_t& pos) {
  std::size_t i = pos;
  EntityTag tag;
  if (s.size() - i >= 2 && s[i] == 'W' && s[i + 1] == '/') {  // %s"W/": case-sensitive
    tag.weak = true;
    i += 2;
  }
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  auto close = s.find('"', i + 1);
  if (close == std::string_view::npos) return std::nullopt;
  auto opaque = s.substr(i + 1, close - i - 1);
  for (char c : opaque) {
    if (!is_etagc(c)) return std::nullopt;
  }
  tag.opaque = std::string(opaque);
  pos = close + 1;
  return tag;
}

}  // namespace

// ---- Accept ----

std::vector<MediaRange> parse_accept(std::string_view value) {
  std::vector<MediaRange> out;
  while (!value.empty()) {
    auto element = trim(next_element(value, ','));
    if (element.empty()) continue;
    if (auto r = parse_media_range(element)) out.push_back(std::move(*r));
  }
  return out;
}

double accept_quality(const std::vector<MediaRange>& ranges, std::string_view media_type) {
  if (ranges.empty()) return 1.0;
  auto slash = media_type.find('/');
  if (slash == std::string_view::npos) return 0.0;
  auto type = media_type.substr(0, slash);
  auto subtype = media_type.substr(slash + 1);
  if (!is_token(type) || !is_token(subtype)) return 0.0;
  // Specificity 3: type/subtype, 2: type/*, 1: */*. Among equally specific ranges the first
  // listed wins, as the list is in the client's order.
  const MediaRange* best = nullptr;
  int best_rank = 0;
  for (const auto& r : ranges) {
    if (!r.params.empty()) continue;
    int rank = 0;
    if (r.type == "*" && r.subtype == "*") {
      rank = 1;
    } else if (iequals(r.type, type) && r.subtype == "*") {
      rank = 2;
    } else if (iequals(r.type, type) && iequals(r.subtype, subtype)) {
      rank = 3;
    }
    if (rank > best_rank) {
      best = &r;
      best_rank = rank;
    }
  }
  return best ? best->q : 0.0;
}

// ---- Accept-Encoding ----

double encoding_quality(std::optional<std::string_view> value, std::string_view coding) {
  if (!value) return 1.0;
  auto want = canonical_coding(coding);
  std::optional<double> exact;
  std::optional<double> star;
  std::string_view rest = *value;
  while (!rest.empty()) {
    auto element = trim(next_element(rest, ','));
    if (element.empty()) continue;
    auto name = trim(next_element(element, ';'));
    if (!is_token(name)) continue;
    double q = 1.0;
    bool valid = true;
    bool seen_q = false;
    while (!element.empty()) {
      auto param = trim(next_element(element, ';'));
      if (param.empty()) continue;
      auto [pname, pvalue] = split_name_value(param);
      if (seen_q || !iequals(pname, "q")) continue;  // codings take no other parameters
      seen_q = true;
      auto parsed = pvalue ? argument_value(*pvalue) : std::nullopt;
      auto weight = parsed ? parse_qvalue(*parsed) : std::nullopt;
      if (!weight) {
        valid = false;
        break;
      }
      q = *weight;
    }
    if (!valid) continue;
    if (name == "*") {
      if (!star) star = q;
    } else if (canonical_coding(name) == want) {
      if (!exact) exact = q;
    }
  }
  if (exact) return *exact;
  if (star) return *star;
  // RFC 9110 §12.5.3: identity stays acceptable unless excluded; an empty field value means
  // "identity only".
  return want == "identity" ? 1.0 : 0.0;
}

// ---- Range ----

std::optional<std::vector<RangeSpec>> parse_range(std::string_view value) {
  constexpr std::size_t kMaxSpecs = 100;
  value = trim(value);
  auto eq = value.find('=');
  if (eq == std::string_view::npos || !iequals(value.substr(0, eq), "bytes")) return std::nullopt;
  std::string_view set = value.substr(eq + 1);
  std::vector<RangeSpec> specs;
  while (!set.empty()) {
    auto comma = set.find(',');
    auto element = trim(set.substr(0, comma));
    set.remove_prefix(comma == std::string_view::npos ? set.size() : comma + 1);
    if (element.empty()) continue;  // RFC 9110 §5.6.1: empty list elements are allowed
    if (specs.size() == kMaxSpecs) return std::nullopt;
    auto dash = element.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto a = element.substr(0, dash);
    auto b = element.substr(dash + 1);
    RangeSpec spec;
    if (a.empty()) {
      if (!all_digits(b)) return std::nullopt;
      spec.suffix = saturating_u64(b);
    } else {
      if (!all_digits(a)) return std::nullopt;
      spec.first = saturating_u64(a);
      if (!b.empty()) {
        if (!all_digits(b) || digits_greater(a, b)) return std::nullopt;
        spec.last = saturating_u64(b);
      }
    }
    specs.push_back(spec);
  }
  if (specs.empty()) return std::nullopt;
  return specs;
}

ResolvedRange resolve_range(const std::optional<std::vector<RangeSpec>>& specs,
                            std::uint64_t size) {
  constexpr ResolvedRange kFull{};
  constexpr ResolvedRange kUnsatisfiable{RangeOutcome::kUnsatisfiable, 0, 0};
  if (!specs || specs->size() != 1) return kFull;
  const auto& spec = specs->front();
  if (spec.suffix) {
    if (*spec.suffix == 0 || size == 0) return kUnsatisfiable;
    auto length = *spec.suffix < size ? *spec.suffix : size;
    return {RangeOutcome::kPartial, size - length, length};
  }
  // A spec not from parse_range (no first, or first > last) is ignored like a bad field.
  if (!spec.first || (spec.last && *spec.last < *spec.first)) return kFull;
  if (*spec.first >= size) return kUnsatisfiable;
  auto last = spec.last && *spec.last < size - 1 ? *spec.last : size - 1;
  return {RangeOutcome::kPartial, *spec.first, last - *spec.first + 1};
}

std::string content_range(const ResolvedRange& range, std::uint64_t size) {
  switch (range.outcome) {
    case RangeOutcome::kPartial:
      if (range.length == 0) return {};
      return "bytes " + std::to_string(range.offset) + "-" +
             std::to_string(range.offset + (range.length - 1)) + "/" + std::to_string(size);
    case RangeOutcome::kUnsatisfiable:
      return "bytes */" + std::to_string(size);
    case RangeOutcome::kFull:
      break;
  }
  return {};
}

// ---- Cache-Control ----

// Flags ignore any argument: a malformed no-cache="..." is still no-cache, the safe reading.
CacheControl parse_cache_control(const Headers& headers) {
  CacheControl cc;
  // RFC 9111 §4.2.1: of a directive given twice, the first occurrence is used.
  bool seen_max_age = false, seen_s_maxage = false, seen_sie = false, seen_swr = false;
  bool seen_min_fresh = false, seen_max_stale = false;
  auto first_delta = [](std::optional<std::chrono::seconds>& out, bool& seen,
                        std::optional<std::string_view> arg) {
    if (seen) return;
    seen = true;
    out = parse_delta_seconds(arg);
  };
  for (const auto& h : headers) {
    if (!iequals(h.name, "cache-control")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      auto element = trim(next_element(rest, ','));
      if (element.empty()) continue;
      auto [raw_name, arg] = split_name_value(element);
      if (!is_token(raw_name)) continue;
      auto name = lowered(raw_name);
      if (name == "max-age") {
        if (!seen_max_age) {
          first_delta(cc.max_age, seen_max_age, arg);
          cc.invalid_max_age = !cc.max_age;
        }
      } else if (name == "s-maxage") {
        first_delta(cc.s_maxage, seen_s_maxage, arg);
      } else if (name == "stale-if-error") {
        first_delta(cc.stale_if_error, seen_sie, arg);
      } else if (name == "stale-while-revalidate") {
        first_delta(cc.stale_while_revalidate, seen_swr, arg);
      } else if (name == "min-fresh") {
        first_delta(cc.min_fresh, seen_min_fresh, arg);
      } else if (name == "max-stale") {
        if (seen_max_stale) continue;
        seen_max_stale = true;
        if (!arg) {
          cc.max_stale = true;
        } else if (auto v = parse_delta_seconds(arg)) {
          cc.max_stale = true;
          cc.max_stale_value = v;
        }
      } else if (name == "no-store") {
        cc.no_store = true;
      } else if (name == "no-cache") {
        cc.no_cache = true;
      } else if (name == "private") {
        cc.is_private = true;
      } else if (name == "public") {
        cc.is_public = true;
      } else if (name == "must-revalidate") {
        cc.must_revalidate = true;
      } else if (name == "proxy-revalidate") {
        cc.proxy_revalidate = true;
      } else if (name == "immutable") {
        cc.immutable = true;
      } else if (name == "no-transform") {
        cc.no_transform = true;
      } else if (name == "only-if-cached") {
        cc.only_if_cached = true;
      }
    }
  }
  return cc;
}

// ---- HTTP-date ----

std::optional<SystemTime> parse_http_date(std::string_view value) {
  Cursor c{trim(value)};
  bool is_long = false;
  if (!day_name(c, is_long)) return std::nullopt;
  int day = 0, year = 0, h = 0, m = 0, s = 0;
  unsigned month = 0;
  if (!is_long && c.literal(", ")) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (!(c.number(2, day) && c.literal(" ") && c.month(month) && c.literal(" ") &&
          c.number(4, year) && c.literal(" ") && c.time(h, m, s) && c.literal(" GMT") && c.done()))
      return std::nullopt;
  } else if (is_long && c.literal(", ")) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". The two-digit year follows POSIX strptime's
    // %y (69-99 → 19xx, 00-68 → 20xx): RFC 9110's "not more than 50 years in the future" rule
    // needs a `now` this pure parser does not take, and the two agree until 2069.
    if (!(c.number(2, day) && c.literal("-") && c.month(month) && c.literal("-") &&
          c.number(2, year) && c.literal(" ") && c.time(h, m, s) && c.literal(" GMT") && c.done()))
      return std::nullopt;
    year += year >= 69 ? 1900 : 2000;
  } else if (!is_long && c.literal(" ")) {
    // asctime: "Sun Nov  6 08:49:37 1994" (day is 2DIGIT or SP DIGIT)
    if (!(c.month(month) && c.literal(" "))) return std::nullopt;
    if (!(c.literal(" ") ? c.number(1, day) : c.number(2, day))) return std::nullopt;
    if (!(c.literal(" ") && c.time(h, m, s) && c.literal(" ") && c.number(4, year) && c.done()))
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  return make_time(year, month, day, h, m, s);
}

std::string format_http_date(SystemTime t) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto day_start = floor<days>(secs);
  year_month_day ymd{day_start};
  hh_mm_ss hms{secs - day_start};
  unsigned wd = weekday{day_start}.iso_encoding();  // 1 = Monday
  auto two = [](std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10 % 10));
    out.push_back(static_cast<char>('0' + v % 10));
  };
  // SystemTime spans years 1677-2262, so the year always has four digits.
  auto year = static_cast<unsigned>(static_cast<int>(ymd.year()));
  std::string out;
  out.reserve(29);
  out += kDayShort[wd - 1];
  out += ", ";
  two(out, static_cast<unsigned>(ymd.day()));
  out += ' ';
  out += kMonths[static_cast<unsigned>(ymd.month()) - 1];
  out += ' ';
  two(out, year / 100);
  two(out, year % 100);
  out += ' ';
  two(out, static_cast<unsigned>(hms.hours().count()));
  out += ':';
  two(out, static_cast<unsigned>(hms.minutes().count()));
  out += ':';
  two(out, static_cast<unsigned>(hms.seconds().count()));
  out += " GMT";
  return out;
}

// ---- Entity tags ----

std::optional<EntityTag> parse_etag(std::string_view value) {
  value = trim(value);
  std::size_t pos = 0;
  auto tag = scan_etag(value, pos);
  if (!tag || pos != value.size()) return std::nullopt;
  return tag;
}

bool if_none_match_matches(std::string_view field, std::optional<std::string_view> etag) {
  field = trim(field);
  if (field == "*") return true;
  auto stored = etag ? parse_etag(*etag) : std::nullopt;
  if (!stored) return false;
  std::size_t pos = 0;
  while (pos < field.size()) {
    if (is_ows(field[pos]) || field[pos] == ',') {
      ++pos;
      continue;
    }
    auto tag = scan_etag(field, pos);
    std::size_t after = pos;
    while (after < field.size() && is_ows(field[after])) ++after;
    if (!tag || (after < field.size() && field[after] != ',')) {
      // A malformed element: skip to the next comma and go on with the rest of the list.
      auto comma = field.find(',', pos + 1);
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
      continue;
    }
    if (tag->opaque == stored->opaque) return true;  // weak comparison: flags do not matter
    pos = after;
  }
  return false;
}

bool if_range_allows(std::string_view field, std::optional<std::string_view> etag,
                     std::optional<std::string_view> last_modified) {
  field = trim(field);
  // RFC 9110 §13.1.5: an entity tag is told from a date by its DQUOTE (or weak prefix).
  if (field.starts_with('"') || field.starts_with("W/")) {
    auto tag = parse_etag(field);
    auto stored = etag ? parse_etag(*etag) : std::nullopt;
    return tag && stored && !tag->weak && !stored->weak && tag->opaque == stored->opaque;
  }
  auto date = parse_http_date(field);
  auto modified = last_modified ? parse_http_date(*last_modified) : std::nullopt;
  return date && modified && *date == *modified;
}

}  // namespace pipgate::proxy::cache
