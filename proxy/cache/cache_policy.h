// The cache's decisions, sans-IO: a request, what the store holds and the time in; what to ask
// upstream, what to store, and what to answer out. The I/O shell (CacheBackend) only carries
// these decisions out, so every rule here is table-tested without sockets or a store.
//
//   auto v = choose_variant(find_header(req.headers, "accept"));      // nullopt → 406
//   auto f = freshness(resource, stored.head, stored.validated, now, opts);
//   if (decide(resource, f, req, opts) == Action::kRevalidate) ... conditional GET upstream ...
//   AnswerPlan plan = plan_answer({req, resource, stored.head, size, etag, f.age, kHit});
//
// Freshness (RFC 9111 §4.2) for index pages: s-maxage, else max-age, else Expires - Date, else
// [cache] index_ttl; no-cache → 0; capped for 404/410 and redirects by negative_ttl and
// redirect_ttl. Files are immutable: their path names their content.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/config.h"
#include "proxy/cache/resource.h"
#include "proxy/request.h"

namespace pipgate::proxy::cache {

struct PolicyOptions {
  std::optional<std::chrono::seconds> max_stale;  // nullopt: unlimited
  std::chrono::seconds index_ttl{600};
  std::chrono::seconds negative_ttl{60};
  std::chrono::seconds redirect_ttl{600};
  bool honor_client_revalidate = false;
  static PolicyOptions from(const CacheConfig& c) {
    return {c.max_stale, c.index_ttl, c.negative_ttl, c.redirect_ttl, c.honor_client_revalidate};
  }
};

// ---- Content negotiation (PEP 691) ----

// The variant a client with this Accept field gets: the highest q among the three variants (the
// "latest" aliases count for their v1 type); ties go to text/html, then v1+html, then v1+json,
// as PyPI orders them. No Accept field: text/html. nullopt: nothing acceptable (406).
std::optional<Variant> choose_variant(std::optional<std::string_view> accept);
std::string_view media_type(Variant v);
// The variant a Content-Type names (parameters ignored), or nullopt.
std::optional<Variant> variant_of_content_type(std::string_view content_type);

// ---- Upstream ----

// The fields of a fill's upstream request, built from the client's cleaned fields (hop-by-hop,
// forwarding fields already removed): the client's own conditionals, Range and caching fields are
// replaced by the cache's: Accept naming `variant` exactly (index pages), Accept-Encoding gzip
// for index pages and identity for files, and the stored validators when revalidating.
struct Validators {
  std::optional<std::string> etag;
  std::optional<std::string> last_modified;
};
Headers fill_request_headers(const Headers& client_fields, const Resource& resource,
                             Variant variant, const Validators* revalidate);
Validators validators_of(const Headers& stored);

struct StoreDecision {
  bool store = false;
  std::string reason;  // when not stored: one line for the log
};
// Whether an upstream answer to a fill is kept: 200 (and 203) bodies, 404/410 and redirects;
// never no-store or private; never an index page whose Content-Type is not the variant asked
// for (it would be served to the wrong clients); never a partial (206) or a 5xx.
StoreDecision storable(const Resource& resource, Variant requested, const ResponseHead& upstream);

// The upstream fields worth keeping: drops hop-by-hop fields, Set-Cookie, CDN internals
// (Surrogate-*, X-Served-By, X-Cache, X-Cache-Hits, X-Timer, Fastly-*, CF-*, Via, Alt-Svc),
// Content-Length (the store knows the size) and Age (answers compute their own), and keeps the
// rest in order. `received_age`: the Age upstream sent, kept as x-pipgate-age so freshness
// can count it (RFC 9111 §4.2.3 corrected_initial_age, without response delay).
Headers headers_to_store(const Headers& upstream);

// RFC 9111 §4.3.4: a 304's fields replace the stored ones of the same name (except
// Content-Length and the CDN internals headers_to_store drops).
Headers merge_not_modified(const Headers& stored, const Headers& not_modified);

// ---- Freshness ----

struct Freshness {
  std::chrono::seconds age{0};       // current age (RFC 9111 §4.2.3)
  std::chrono::seconds lifetime{0};  // freshness lifetime
  bool immutable = false;            // files: always fresh
  bool fresh() const { return immutable || age < lifetime; }
  // How long past its lifetime it is (0 when fresh).
  std::chrono::seconds staleness() const {
    return fresh() ? std::chrono::seconds(0) : age - lifetime;
  }
};

Freshness freshness(const Resource& resource, const ResponseHead& stored, SystemTime validated,
                    SystemTime now, const PolicyOptions& opts);

enum class Action { kServe, kRevalidate };
// kServe while fresh; kRevalidate when stale, or (with honor_client_revalidate) when the client
// asks with no-cache / max-age=0 on an index page. Files are always served.
Action decide(const Resource& resource, const Freshness& f, const Headers& client_fields,
              const PolicyOptions& opts);

// After upstream failed (unreachable, timed out, 5xx): may the stored copy be served?
bool may_serve_stale(const Freshness& f, const PolicyOptions& opts);

// ---- Answers ----

enum class CacheStatus { kHit, kMiss, kRevalidated, kStale, kPass };
std::string_view to_string(CacheStatus s);

struct AnswerInput {
  const Request& request;
  const Resource& resource;
  const ResponseHead& stored;             // stored head (headers as headers_to_store left them)
  std::optional<std::uint64_t> size;      // body size, when known (always, once committed)
  std::optional<std::string> digest_hex;  // BLAKE2b-256 of the body, when known: ETag fallback
  std::chrono::seconds age{0};
  CacheStatus status = CacheStatus::kHit;
};

struct AnswerPlan {
  ResponseHead head;  // status, fields, content_length
  bool send_body = false;
  // Body bytes to send: [offset, offset + length) of the stored body; no length: to the end.
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  bool gunzip = false;  // stored gzip, client does not accept it: decode on the way out
};

// The answer to `request` from a stored (or filling) representation: 304 for a matching
// If-None-Match (or If-Modified-Since without it), 206/416 for a usable Range (only when the
// stored bytes are sent as they are, on a 200 of known size, honouring If-Range), HEAD without a
// body, gzip decoded for clients that do not accept it. Fields: the stored ones plus Age,
// X-Cache, Vary (Accept on index pages, Accept-Encoding when stored encoded), and on files
// Accept-Ranges and an ETag ("b2-<digest>") when upstream sent none.
AnswerPlan plan_answer(const AnswerInput& in);

// Whether a client may be sent gzip: only when it says so in Accept-Encoding (absent: no).
bool client_accepts_gzip(const Headers& request_fields);

// Vary for answers about `resource` (also uncached answers such as 406): "Accept,
// Accept-Encoding" for index pages, "Accept-Encoding" for the JSON API, empty for files.
std::string_view vary_for(const Resource& resource);

}  // namespace pipgate::proxy::cache
