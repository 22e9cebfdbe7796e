#include "proxy/cache/cache_policy.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "proxy/cache/http_fields.h"
#include "proxy/header_hygiene.h"

namespace pipgate::proxy::cache {

namespace {

using std::chrono::seconds;

constexpr std::string_view kStoredAge = "x-pipgate-age";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<seconds> parse_seconds(std::string_view v) {
  v = trim(v);
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return seconds(std::min<std::uint64_t>(n, 1ull << 40));
}

bool is_index(const Resource& r) {
  return r.kind == ResourceKind::kSimpleIndex || r.kind == ResourceKind::kJsonApi;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 307 || status == 308;
}

bool is_negative(int status) { return status == 404 || status == 410; }

// Fields a cache must not replay to other clients, or that describe the upstream CDN's own
// cache rather than the resource.
bool is_private_or_cdn(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kExact = {"set-cookie",
                                                              "set-cookie2",
                                                              "x-served-by",
                                                              "x-cache",
                                                              "x-cache-hits",
                                                              "x-timer",
                                                              "via",
                                                              "alt-svc",
                                                              "age",
                                                              "content-length",
                                                              "strict-transport-security",
                                                              "x-pipgate-age"};
  for (auto e : kExact)
    if (name == e) return true;
  return name.starts_with("surrogate-") || name.starts_with("fastly-") || name.starts_with("cf-") ||
         name.starts_with("x-amz-cf-");
}

}  // namespace

// ---- Negotiation ----

std::string_view media_type(Variant v) {
  switch (v) {
    case Variant::kJson:
      return "application/vnd.pypi.simple.v1+json";
    case Variant::kHtmlV1:
      return "application/vnd.pypi.simple.v1+html";
    case Variant::kHtml:
      return "text/html";
    case Variant::kNone:
      break;
  }
  return {};
}

std::optional<Variant> choose_variant(std::optional<std::string_view> accept) {
  if (!accept || trim(*accept).empty()) return Variant::kHtml;
  auto ranges = parse_accept(*accept);
  if (ranges.empty()) return Variant::kHtml;  // nothing parseable: as if absent
  struct Offer {
    Variant variant;
    std::string_view alias;
  };
  // PyPI's offer order: ties go to the first.
  static constexpr std::array<Offer, 3> kOffers = {{
      {Variant::kHtml, ""},
      {Variant::kHtmlV1, "application/vnd.pypi.simple.latest+html"},
      {Variant::kJson, "application/vnd.pypi.simple.latest+json"},
  }};
  std::optional<Variant> best;
  double best_q = 0;
  for (const auto& o : kOffers) {
    double q = accept_quality(ranges, media_type(o.variant));
    if (!o.alias.empty()) q = std::max(q, accept_quality(ranges, o.alias));
    if (q > best_q) {
      best_q = q;
      best = o.variant;
    }
  }
  return best;
}

std::optional<Variant> variant_of_content_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto type = trim(content_type.substr(0, semi));
  for (auto v : {Variant::kJson, Variant::kHtmlV1, Variant::kHtml})
    if (iequals(type, media_type(v))) return v;
  return std::nullopt;
}

// ---- Upstream ----

Validators validators_of(const Headers& stored) {
  Validators v;
  if (auto e = find_header(stored, "etag")) v.etag = std::string(*e);
  if (auto l = find_header(stored, "last-modified")) v.last_modified = std::string(*l);
  return v;
}

Headers fill_request_headers(const Headers& client_fields, const Resource& resource,
                             Variant variant, const Validators* revalidate) {
  Headers out;
  for (const auto& h : client_fields) {
    const auto& n = h.name;
    if (n == "accept" || n == "accept-encoding" || n == "range" || n == "if-range" ||
        n.starts_with("if-") || n == "cache-control" || n == "pragma" || n == "cookie" ||
        n == "authorization" || n == "content-length" || n == "content-type")
      continue;
    out.push_back(h);
  }
  if (variant != Variant::kNone)
    out.push_back({"accept", std::string(media_type(variant))});
  else if (resource.kind == ResourceKind::kJsonApi)
    out.push_back({"accept", "application/json"});
  out.push_back({"accept-encoding", is_index(resource) ? "gzip" : "identity"});
  if (revalidate) {
    if (revalidate->etag) out.push_back({"if-none-match", *revalidate->etag});
    if (revalidate->last_modified) out.push_back({"if-modified-since", *revalidate->last_modified});
  }
  return out;
}

StoreDecision storable(const Resource& resource, Variant requested, const ResponseHead& upstream) {
  if (resource.kind == ResourceKind::kUncached) return {false, "not a cached path"};
  int s = upstream.status;
  if (s != 200 && s != 203 && !is_negative(s) && !is_redirect(s))
    return {false, "status " + std::to_string(s) + " is not stored"};
  auto cc = parse_cache_control(upstream.headers);
  if (cc.no_store) return {false, "upstream said no-store"};
  if (cc.is_private) return {false, "upstream said private"};
  if (find_header(upstream.headers, "content-range")) return {false, "a partial answer"};
  if (auto ce = find_header(upstream.headers, "content-encoding")) {
    auto c = trim(*ce);
    if (!iequals(c, "gzip") && !iequals(c, "identity"))
      return {false, "content-encoding " + std::string(c) + " is not stored"};
  }
  if (requested != Variant::kNone && s / 100 == 2) {
    auto ct = find_header(upstream.headers, "content-type");
    auto got = ct ? variant_of_content_type(*ct) : std::nullopt;
    if (got != requested)
      return {false, "upstream answered " + std::string(ct ? *ct : "no content-type") +
                         " for an Accept of " + std::string(media_type(requested))};
  }
  return {true, {}};
}

Headers headers_to_store(const Headers& upstream) {
  Headers out;
  for (const auto& h : upstream) {
    if (h.name == "age") {
      if (auto a = parse_seconds(h.value))
        out.push_back({std::string(kStoredAge), std::to_string(a->count())});
      continue;
    }
    if (is_hop_by_hop(h.name) || is_private_or_cdn(h.name)) continue;
    out.push_back(h);
  }
  return out;
}

Headers merge_not_modified(const Headers& stored, const Headers& not_modified) {
  Headers fresh = headers_to_store(not_modified);
  Headers out;
  for (const auto& h : stored) {
    if (h.name == kStoredAge) continue;  // the 304's Age (or none) counts now
    bool replaced =
        std::any_of(fresh.begin(), fresh.end(), [&](const Header& f) { return f.name == h.name; });
    // RFC 9111 §4.3.4: validators and representation metadata of the stored body stay unless
    // the 304 sends new ones; Content-Encoding/Type of the body never change by a 304.
    if (replaced && h.name != "content-encoding" && h.name != "content-type") continue;
    out.push_back(h);
  }
  for (const auto& f : fresh)
    if (f.name != "content-encoding" && f.name != "content-type") out.push_back(f);
  return out;
}

// ---- Freshness ----

Freshness freshness(const Resource& resource, const ResponseHead& stored, SystemTime validated,
                    SystemTime now, const PolicyOptions& opts) {
  Freshness f;
  seconds received_age{0};
  if (auto a = find_header(stored.headers, kStoredAge))
    received_age = parse_seconds(*a).value_or(seconds(0));
  auto resident = std::chrono::duration_cast<seconds>(now - validated);
  f.age = received_age + std::max(resident, seconds(0));
  int s = stored.status;
  if (resource.kind == ResourceKind::kFile && (s == 200 || s == 203)) {
    f.immutable = true;
    return f;
  }
  auto cc = parse_cache_control(stored.headers);
  std::optional<seconds> lifetime;
  if (cc.no_cache) {
    lifetime = seconds(0);
  } else if (cc.s_maxage) {
    lifetime = cc.s_maxage;
  } else if (cc.invalid_max_age) {
    lifetime = seconds(0);
  } else if (cc.max_age) {
    lifetime = cc.max_age;
  } else if (auto exp = find_header(stored.headers, "expires")) {
    auto e = parse_http_date(*exp);
    auto d = find_header(stored.headers, "date");
    auto date = d ? parse_http_date(*d) : std::nullopt;
    // An invalid Expires means "already expired" (RFC 9111 §5.3). The difference is taken in
    // seconds: dates clamp to SystemTime's range (years 1677-2262, int64 nanoseconds), and
    // "Expires: ... 0001" minus a 2025 Date overflows nanoseconds (it wrapped to ~234 years of
    // freshness).
    auto secs = [](SystemTime t) { return std::chrono::floor<seconds>(t.time_since_epoch()); };
    lifetime = e && date ? std::max(seconds(0), secs(*e) - secs(*date)) : seconds(0);
  }
  if (!lifetime) lifetime = opts.index_ttl;
  if (is_negative(s)) lifetime = std::min(*lifetime, opts.negative_ttl);
  if (is_redirect(s)) lifetime = std::min(*lifetime, opts.redirect_ttl);
  f.lifetime = *lifetime;
  return f;
}

Action decide(const Resource& resource, const Freshness& f, const Headers& client_fields,
              const PolicyOptions& opts) {
  if (!f.fresh()) return Action::kRevalidate;
  if (f.immutable) return Action::kServe;
  if (opts.honor_client_revalidate && is_index(resource)) {
    auto cc = parse_cache_control(client_fields);
    bool pragma_no_cache = false;
    if (auto p = find_header(client_fields, "pragma"))
      pragma_no_cache = trim(*p).find("no-cache") != std::string_view::npos;
    if (cc.no_cache || (cc.max_age && *cc.max_age <= f.age) || cc.invalid_max_age ||
        (!find_header(client_fields, "cache-control") && pragma_no_cache))
      return Action::kRevalidate;
  }
  return Action::kServe;
}

bool may_serve_stale(const Freshness& f, const PolicyOptions& opts) {
  return !opts.max_stale || f.staleness() <= *opts.max_stale;
}

// ---- Answers ----

std::string_view to_string(CacheStatus s) {
  switch (s) {
    case CacheStatus::kHit:
      return "HIT";
    case CacheStatus::kMiss:
      return "MISS";
    case CacheStatus::kRevalidated:
      return "REVALIDATED";
    case CacheStatus::kStale:
      return "STALE";
    case CacheStatus::kPass:
      return "PASS";
  }
  return "PASS";
}

bool client_accepts_gzip(const Headers& request_fields) {
  // RFC 9110 §12.5.3 lets an absent field mean "anything", but clients that send none (curl
  // without --compressed, scripts) cannot decode gzip; servers and CDNs send identity then.
  auto ae = find_header(request_fields, "accept-encoding");
  return ae && encoding_quality(*ae, "gzip") > 0;
}

std::string_view vary_for(const Resource& resource) {
  switch (resource.kind) {
    case ResourceKind::kSimpleIndex:
      return "Accept, Accept-Encoding";
    case ResourceKind::kJsonApi:
      return "Accept-Encoding";
    default:
      return {};
  }
}

AnswerPlan plan_answer(const AnswerInput& in) {
  AnswerPlan plan;
  const auto& req = in.request;
  const auto& stored = in.stored;
  bool head = req.method == "HEAD";
  bool is_file = in.resource.kind == ResourceKind::kFile;
  bool ok200 = stored.status == 200 || stored.status == 203;

  auto etag = find_header(stored.headers, "etag");
  std::string synthesized_etag;
  if (!etag && is_file && ok200 && in.digest_hex) {
    synthesized_etag = "\"b2-" + *in.digest_hex + "\"";
    etag = synthesized_etag;
  }
  auto last_modified = find_header(stored.headers, "last-modified");

  // Encoding: the stored bytes as they are, or decoded for a client that refuses gzip.
  bool stored_gzip = false;
  if (auto ce = find_header(stored.headers, "content-encoding"))
    stored_gzip = iequals(trim(*ce), "gzip");
  plan.gunzip = stored_gzip && !client_accepts_gzip(req.headers);

  Headers& h = plan.head.headers;
  for (const auto& f : stored.headers) {
    if (f.name == kStoredAge || f.name == "vary" || f.name == "accept-ranges" ||
        f.name == "content-range")
      continue;
    if (plan.gunzip && f.name == "content-encoding") continue;
    h.push_back(f);
  }
  if (!synthesized_etag.empty()) h.push_back({"etag", synthesized_etag});
  h.push_back({"age", std::to_string(in.age.count())});
  h.push_back({"x-cache", std::string(to_string(in.status))});
  std::string vary(vary_for(in.resource));
  if (stored_gzip && vary.find("Accept-Encoding") == std::string::npos)
    vary = vary.empty() ? "Accept-Encoding" : vary + ", Accept-Encoding";
  if (!vary.empty()) h.push_back({"vary", vary});
  bool ranges_ok = is_file && ok200 && in.size && !plan.gunzip;
  if (ranges_ok) h.push_back({"accept-ranges", "bytes"});

  // Client conditionals (RFC 9110 §13.2.2): If-None-Match, else If-Modified-Since; GET/HEAD.
  bool not_modified = false;
  if (ok200 && (req.method == "GET" || req.method == "HEAD")) {
    if (auto inm = find_header(req.headers, "if-none-match")) {
      not_modified = if_none_match_matches(*inm, etag);
    } else if (auto ims = find_header(req.headers, "if-modified-since"); ims && last_modified) {
      auto since = parse_http_date(*ims);
      auto lm = parse_http_date(*last_modified);
      not_modified = since && lm && *lm <= *since;
    }
  }
  if (not_modified) {
    plan.head.status = 304;
    // RFC 9110 §15.4.5: a 304 carries the fields a 200 would, minus the representation ones.
    std::erase_if(h, [](const Header& f) {
      return f.name == "content-type" || f.name == "content-encoding" ||
             f.name == "content-language" || f.name == "accept-ranges";
    });
    return plan;
  }

  plan.head.status = stored.status;
  std::optional<std::uint64_t> length = plan.gunzip ? std::nullopt : in.size;
  if (ranges_ok) {
    auto range_field = find_header(req.headers, "range");
    bool use_range = range_field && req.method == "GET";
    if (use_range) {
      if (auto ir = find_header(req.headers, "if-range"))
        use_range = if_range_allows(*ir, etag, last_modified);
    }
    if (use_range) {
      auto r = resolve_range(parse_range(*range_field), *in.size);
      if (r.outcome == RangeOutcome::kUnsatisfiable) {
        plan.head.status = 416;
        std::erase_if(h, [](const Header& f) {
          return f.name == "content-type" || f.name == "content-encoding" || f.name == "etag" ||
                 f.name == "last-modified";
        });
        h.push_back({"content-range", content_range(r, *in.size)});
        h.push_back({"content-type", "text/plain"});
        plan.head.content_length = 0;
        return plan;
      }
      if (r.outcome == RangeOutcome::kPartial) {
        plan.head.status = 206;
        h.push_back({"content-range", content_range(r, *in.size)});
        plan.offset = r.offset;
        plan.length = r.length;
        length = r.length;
      }
    }
  }
  plan.head.content_length = length;
  plan.send_body = !head && (!length || *length > 0);
  return plan;
}

}  // namespace pipgate::proxy::cache
