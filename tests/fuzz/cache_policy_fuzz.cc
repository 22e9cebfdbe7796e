// Fuzz target for the cache's decisions (proxy/cache/cache_policy.h, resource.h): a request and
// a stored representation in, classify → choose_variant → freshness → decide → plan_answer, plus
// storable, headers_to_store, merge_not_modified and fill_request_headers on the same fields.
//
// Input layout: 8 parameter bytes, then text lines ('\n', a trailing '\r' dropped):
//   byte 0  bit 0: host files.pythonhosted.org (else pypi.org); bits 1-2: method GET, HEAD,
//           POST, GET; bits 3-5: stored status 200 203 404 410 301 302 307 308 (what storable()
//           keeps); bit 6: size known; bit 7: digest known
//   1-4     body size (little endian)
//   5-6     seconds since the stored copy was validated (little endian)
//   7       bits 0-2: cache status; bit 3: honor_client_revalidate; bit 4: max_stale 60 s;
//           bits 5-7: the upstream status storable() judges (200 203 206 304 404 302 500 503)
//   text    the path; the request's fields ("name: value") up to an empty line; the stored
//           fields after it (names lower-cased, as headers_to_store keeps them).
//
// Invariants: a file's digest is 64 lower-case hex digits; freshness is never negative and
// capped for 404/410 and redirects; stale means revalidate; a 206 plan only for a GET whose Range
// resolves to that non-empty range inside the body (never for an unsatisfiable one), with the
// matching Content-Range; 416 only for an unsatisfiable Range, without a body; 304 only for
// GET/HEAD of a stored 200/203; HEAD never sends a body; stored and upstream fields never carry
// hop-by-hop fields, Set-Cookie, Content-Length or Age.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/cache/cache_policy.h"
#include "proxy/cache/http_fields.h"
#include "proxy/cache/resource.h"
#include "proxy/header_hygiene.h"

namespace {

using namespace pipgate;
using namespace pipgate::proxy;
using namespace pipgate::proxy::cache;
using std::chrono::seconds;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "name: value" → {lower(name), trimmed value}; lines without a colon are skipped.
void add_field(Headers& out, std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;
  out.push_back({lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
}

std::size_t count(const Headers& h, std::string_view name) {
  return std::count_if(h.begin(), h.end(), [&](const Header& f) { return f.name == name; });
}

void check_clean(const Headers& h, const char* what) {
  for (const auto& f : h) {
    check(!is_hop_by_hop(f.name), what);
    check(f.name != "set-cookie" && f.name != "content-length" && f.name != "age", what);
  }
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  static constexpr std::array<int, 8> kStatus = {200, 203, 404, 410, 301, 302, 307, 308};
  static constexpr std::array<const char*, 4> kMethod = {"GET", "HEAD", "POST", "GET"};
  const std::uint8_t b0 = data[0];
  const std::string_view host = (b0 & 1) ? "files.pythonhosted.org" : "pypi.org";
  const std::uint64_t body_size = std::uint64_t{data[1]} | std::uint64_t{data[2]} << 8 |
                                  std::uint64_t{data[3]} << 16 | std::uint64_t{data[4]} << 24;
  const seconds since_validated{data[5] | data[6] << 8};
  PolicyOptions opts;
  opts.honor_client_revalidate = (data[7] & 8) != 0;
  if (data[7] & 16) opts.max_stale = seconds(60);

  std::string_view text(reinterpret_cast<const char*>(data + 8), size - 8);
  Request req;
  req.method = kMethod[(b0 >> 1) & 3];
  req.authority = std::string(host);
  ResponseHead stored;
  stored.status = kStatus[(b0 >> 3) & 7];
  bool in_stored = false;
  bool first = true;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      req.path = std::string(line);
      first = false;
    } else if (line.empty() && !in_stored) {
      in_stored = true;
    } else {
      add_field(in_stored ? stored.headers : req.headers, line);
    }
  }

  // Resource
  Resource resource = classify(host, req.path);
  if (resource.digest_hex) {
    check(resource.kind == ResourceKind::kFile, "only files have a digest");
    check(resource.digest_hex->size() == 64 && is_lower_hex(*resource.digest_hex),
          "a digest is 64 lower-case hex digits");
  }
  check(normalize_project(resource.project) == resource.project, "project is normalized");
  if (resource.kind == ResourceKind::kUncached) check(!resource.digest_hex, "uncached: no digest");

  // Negotiation
  auto variant = choose_variant(find_header(req.headers, "accept"));
  if (!find_header(req.headers, "accept")) check(variant == Variant::kHtml, "no Accept: text/html");
  Variant v = resource.kind == ResourceKind::kSimpleIndex && variant ? *variant : Variant::kNone;
  std::string key = cache_key(host, req.path, v);
  check(key.starts_with(host) && key.size() >= host.size() + req.path.size(), "cache key");
  if (auto ct = find_header(stored.headers, "content-type")) (void)variant_of_content_type(*ct);

  // Upstream request
  Validators validators = validators_of(stored.headers);
  Headers up = fill_request_headers(req.headers, resource, v, &validators);
  check(count(up, "accept-encoding") == 1, "one Accept-Encoding upstream");
  check(count(up, "range") == 0 && count(up, "cookie") == 0 && count(up, "authorization") == 0,
        "no Range, Cookie or Authorization upstream");
  check(count(up, "if-none-match") == (validators.etag ? 1u : 0u), "stored ETag revalidates");

  // What is stored
  static constexpr std::array<int, 8> kUpstream = {200, 203, 206, 304, 404, 302, 500, 503};
  ResponseHead upstream = stored;
  upstream.status = kUpstream[data[7] >> 5];
  StoreDecision sd = storable(resource, v, upstream);
  if (sd.store) {
    check(resource.kind != ResourceKind::kUncached, "uncached paths are never stored");
    check(upstream.status != 206 && upstream.status != 304 && upstream.status < 500,
          "206, 304 and 5xx are never stored");
    auto cc = parse_cache_control(upstream.headers);
    check(!cc.no_store && !cc.is_private, "no-store and private are never stored");
  } else {
    check(!sd.reason.empty(), "a refusal to store says why");
  }
  Headers kept = headers_to_store(stored.headers);
  check_clean(kept, "headers_to_store drops hop-by-hop, Set-Cookie, Content-Length, Age");
  Headers merged = merge_not_modified(kept, req.headers);
  check_clean(merged, "merge_not_modified keeps the stored fields clean");
  stored.headers = kept;

  // Freshness
  const SystemTime now = SystemTime{} + std::chrono::hours(24 * 365 * 56);
  Freshness f = freshness(resource, stored, now - since_validated, now, opts);
  check(f.age >= seconds(0) && f.lifetime >= seconds(0), "age and lifetime are non-negative");
  check(f.age >= since_validated, "age counts the time since validation");
  if (f.immutable) {
    check(resource.kind == ResourceKind::kFile, "only files are immutable");
  } else if (stored.status == 404 || stored.status == 410) {
    check(f.lifetime <= opts.negative_ttl, "negative answers are capped");
  } else if (stored.status == 301 || stored.status == 302) {
    check(f.lifetime <= opts.redirect_ttl, "redirects are capped");
  }
  Action action = decide(resource, f, req.headers, opts);
  if (!f.fresh()) check(action == Action::kRevalidate, "stale → revalidate");
  if (f.immutable) check(action == Action::kServe, "files are served");
  if (may_serve_stale(f, opts) == false) check(opts.max_stale.has_value(), "max_stale limits");

  // The answer
  AnswerInput in{req, resource, stored, std::nullopt};
  if (b0 & 64) in.size = body_size;
  if (b0 & 128) in.digest_hex = std::string(64, 'a');
  in.age = f.age;
  in.status = static_cast<CacheStatus>(data[7] % 5);
  AnswerPlan plan = plan_answer(in);
  const Headers& h = plan.head.headers;
  check(count(h, "x-cache") == 1 && count(h, "age") == 1, "one X-Cache and one Age");
  if (req.method == "HEAD") check(!plan.send_body, "HEAD sends no body");
  auto range_field = find_header(req.headers, "range");
  switch (plan.head.status) {
    case 206: {
      check(req.method == "GET" && range_field && in.size, "206 only for a GET with Range");
      check(stored.status == 200 || stored.status == 203, "206 only from a stored 200/203");
      ResolvedRange r = resolve_range(parse_range(*range_field), *in.size);
      check(r.outcome == RangeOutcome::kPartial, "206 only for a satisfiable Range");
      check(plan.offset == r.offset && plan.length == r.length, "206 sends the resolved range");
      check(*plan.length > 0 && plan.offset < *in.size && *plan.length <= *in.size - plan.offset,
            "206 range lies inside the body");
      check(plan.head.content_length == plan.length, "206 Content-Length is the range's");
      check(count(h, "content-range") == 1 &&
                find_header(h, "content-range") == content_range(r, *in.size),
            "206 carries its Content-Range");
      check(plan.send_body, "206 sends a body");
      break;
    }
    case 416: {
      check(req.method == "GET" && range_field && in.size, "416 only for a GET with Range");
      ResolvedRange r = resolve_range(parse_range(*range_field), *in.size);
      check(r.outcome == RangeOutcome::kUnsatisfiable, "416 only for an unsatisfiable Range");
      check(!plan.send_body && plan.head.content_length == 0, "416 has an empty body");
      break;
    }
    case 304:
      check(req.method == "GET" || req.method == "HEAD", "304 only for GET/HEAD");
      check(stored.status == 200 || stored.status == 203, "304 only for a stored 200/203");
      check(!plan.send_body, "304 has no body");
      break;
    default:
      check(plan.head.status == stored.status, "otherwise the stored status");
      check(!plan.length && plan.offset == 0, "the whole body");
      if (plan.gunzip) check(!plan.head.content_length, "decoded bodies have no known length");
      if (!plan.gunzip && in.size) check(plan.head.content_length == in.size, "full length");
      break;
  }
  if (plan.gunzip) check(count(h, "content-encoding") == 0, "decoded: no Content-Encoding");
  return 0;
}
