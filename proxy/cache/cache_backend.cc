#include "proxy/cache/cache_backend.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include "common/metric_names.h"
#include "common/metrics.h"
#include "proxy/access_log.h"
#include "proxy/cache/body_sources.h"
#include "proxy/cache/http_fields.h"
#include "proxy/header_hygiene.h"
#include "proxy/internal/spawn.h"

namespace pipgate::proxy::cache {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Store trouble is logged when it starts and when it ends, not once per request.
std::atomic<bool> g_store_failing{false};

void note_store_failure(const Error& e) {
  if (!g_store_failing.exchange(true))
    spdlog::error(
        "cache: the store refuses writes ({}); serving from upstream uncached "
        "(X-Cache: PASS) until it accepts them again",
        e.detail);
}

void note_store_ok() {
  if (g_store_failing.exchange(false)) spdlog::info("cache: the store accepts writes again");
}

std::optional<std::string> digest_hex_of(const store::ObjectMeta& meta) {
  return store::to_hex(meta.digest);
}

bool is_timeout(const Error& e) { return e.detail.find("timed out") != std::string::npos; }

Response error_response(asio::any_io_executor ex, const Error& e) {
  bool timed_out = is_timeout(e);
  auto r = text_response(
      ex, timed_out ? 504 : 502,
      std::string(timed_out ? "upstream timed out" : "upstream failed") + ": " + e.detail + "\n");
  r.cache_status = "MISS";
  r.head.headers.push_back({"x-cache", "MISS"});
  r.head.headers.push_back({"age", "0"});
  return r;
}

}  // namespace

store::ResponseHead to_store_head(int status, const Headers& headers) {
  store::ResponseHead h;
  h.status = status;
  h.headers.reserve(headers.size());
  for (const auto& f : headers) h.headers.emplace_back(f.name, f.value);
  return h;
}

ResponseHead from_store_head(const store::ResponseHead& head) {
  ResponseHead h;
  h.status = head.status;
  h.headers.reserve(head.headers.size());
  for (const auto& [n, v] : head.headers) h.headers.push_back({n, v});
  return h;
}

namespace {

// The cache's own GET upstream for `req` (a fill, or the rest of one): the client's request
// fields as the policy rewrites them for the cache.
Request fill_request(const Route& route, const Request& req, const Resource& resource,
                     Variant variant, const Validators* validators) {
  Request up;
  up.method = "GET";
  up.scheme = "https";
  up.authority = route.host;
  up.path = req.path;
  up.version = req.version;
  up.connection_id = req.connection_id;
  up.client_address = req.client_address;
  up.headers = fill_request_headers(upstream_request_headers(req), resource, variant, validators);
  return up;
}

}  // namespace

CacheBackend::CacheBackend(upstream::Client& client, store::Store& store, FillTable& fills,
                           const ProxyOptions& opts, const Clock& clock)
    : client_(client),
      store_(store),
      fills_(fills),
      opts_(opts),
      clock_(clock),
      pass_through_(client) {}

asio::awaitable<Response> CacheBackend::pass(const Route& route, Request req,
                                             std::shared_ptr<BodyPipe> body,
                                             const Resource& resource) {
  auto t0 = clock_.monotonic_now();
  auto r = co_await pass_through_.respond(route, std::move(req), std::move(body));
  note_upstream(r.head.status != 502 && r.head.status != 504, clock_.system_now());
  r.upstream_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monotonic_now() - t0);
  r.cache_status = "PASS";
  r.project = resource.project;
  // A whole file past the store (it failed) is still checked against the digest in its name.
  if (resource.digest_hex && r.head.status == 200 && r.body &&
      !find_header(r.head.headers, "content-encoding"))
    if (auto d = store::digest_from_hex(*resource.digest_hex))
      r.body =
          verify_digest(co_await asio::this_coro::executor, r.body, *d, opts_.body_buffer_bytes);
  r.head.headers.push_back({"x-cache", "PASS"});
  if (!find_header(r.head.headers, "age")) r.head.headers.push_back({"age", "0"});
  co_return r;
}

asio::awaitable<Response> CacheBackend::respond(const Route& route, Request req,
                                                std::shared_ptr<BodyPipe> body) {
  auto ex = co_await asio::this_coro::executor;
  // Read per request: a SIGHUP may change [cache] on this loop between requests.
  const PolicyOptions policy = PolicyOptions::from(opts_.cache);
  Resource resource = classify(route.host, req.path);
  bool get_or_head = req.method == "GET" || req.method == "HEAD";
  if (resource.kind == ResourceKind::kUncached || !get_or_head || body || req.has_body)
    co_return co_await pass(route, std::move(req), std::move(body), resource);

  Variant variant = Variant::kNone;
  if (resource.kind == ResourceKind::kSimpleIndex) {
    auto v = choose_variant(find_header(req.headers, "accept"));
    if (!v) {
      auto r = text_response(ex, 406,
                             "none of the simple API's types (application/vnd.pypi.simple.v1+json, "
                             "application/vnd.pypi.simple.v1+html, text/html) is acceptable\n");
      r.head.headers.push_back({"vary", "Accept, Accept-Encoding"});
      r.head.headers.push_back({"x-cache", "HIT"});
      r.head.headers.push_back({"age", "0"});
      r.cache_status = "HIT";
      r.project = resource.project;
      co_return r;
    }
    variant = *v;
  }
  const std::string key = cache_key(route.host, req.path, variant);

  // Serves the committed version `meta` (re-opened over the planned range).
  auto serve_committed = [&](const store::ObjectMeta& meta, CacheStatus status,
                             std::chrono::seconds age) -> std::optional<Response> {
    auto stored = from_store_head(meta.head);
    AnswerPlan plan =
        plan_answer({req, resource, stored, meta.size_bytes, digest_hex_of(meta), age, status});
    Response r;
    r.head = std::move(plan.head);
    r.cache_status = std::string(to_string(status));
    r.project = resource.project;
    if (!plan.send_body) return r;
    auto reader = store_.open_reader(key, {plan.offset, plan.length});
    if (!reader || reader->version() != meta.version) return std::nullopt;  // replaced: retry
    if (resource.digest_hex) reader->skip_chunk_checksums();  // hashed at fill, and by pip
    r.body = stream_object(ex, std::move(*reader), opts_.body_buffer_bytes);
    if (plan.gunzip) {
      if (auto decoded = gunzip_now(ex, r.body, opts_.body_buffer_bytes)) {
        r.body = std::move(decoded->body);
        r.head.content_length = decoded->size;
      } else {
        r.body = gunzip(ex, r.body, opts_.body_buffer_bytes);
      }
    }
    return r;
  };

  // Serves the fill in progress (a live reader), ranges included once the size is known.
  auto serve_live = [&](std::shared_ptr<Fill> fill) -> std::optional<Response> {
    auto reader = store_.join(key);
    if (!reader) return std::nullopt;  // committed (or aborted) meanwhile: look again
    auto stored = from_store_head(reader->head());
    auto age = freshness(resource, stored, clock_.system_now(), clock_.system_now(), policy).age;
    AnswerPlan plan = plan_answer({req, resource, stored, reader->size_bytes(), resource.digest_hex,
                                   age, CacheStatus::kMiss});
    Response r;
    r.head = std::move(plan.head);
    r.cache_status = "MISS";
    r.project = resource.project;
    if (!plan.send_body) return r;
    if (plan.offset != 0 || plan.length) {
      auto ranged = store_.join(key, {plan.offset, plan.length});
      if (!ranged) return std::nullopt;
      *reader = std::move(*ranged);
    }
    // Files only: their bytes from any offset are the same (immutable), so a fill the disk
    // cannot hold finishes for its readers by a range request upstream.
    if (resource.digest_hex) reader->skip_chunk_checksums();  // the writer checks the digest
    ResumeFn resume;
    if (resource.kind == ResourceKind::kFile && r.head.content_length) {
      auto end = plan.offset + *r.head.content_length;  // one past the last byte promised
      resume = [this, route, req, resource, end](std::uint64_t from) {
        return fetch_rest(route, req, resource, from, end);
      };
    }
    std::optional<store::Digest> digest;
    if (resource.digest_hex && plan.offset == 0 && !plan.length)
      digest = store::digest_from_hex(*resource.digest_hex);
    fill->readers.fetch_add(1);
    r.body = stream_object(
        ex, std::move(*reader), opts_.body_buffer_bytes, [fill] { fill->readers.fetch_sub(1); },
        std::move(resume), digest);
    if (plan.gunzip) r.body = gunzip(ex, r.body, opts_.body_buffer_bytes);
    return r;
  };

  // What this request's own wait on a fill found: the stored copy is then the answer, whatever
  // its freshness (a no-cache page is fresh for the request that fetched it).
  bool revalidated = false;
  bool filled = false;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto now = clock_.system_now();
    std::optional<store::ObjectMeta> meta;
    if (auto m = store_.lookup(key)) {
      meta = std::move(*m);
    } else if (m.error().code != Errc::kNotFound) {
      note_store_failure(m.error());
      co_return co_await pass(route, std::move(req), std::move(body), resource);
    }
    std::optional<Freshness> fresh;
    if (meta) {
      fresh = freshness(resource, from_store_head(meta->head), meta->validated, now, policy);
      // After this request's own revalidation or fill, what is stored is the answer.
      if (revalidated || filled ||
          decide(resource, *fresh, req.headers, policy) == Action::kServe) {
        auto status = filled        ? CacheStatus::kMiss
                      : revalidated ? CacheStatus::kRevalidated
                                    : CacheStatus::kHit;
        if (auto r = serve_committed(*meta, status, fresh->age)) co_return std::move(*r);
        continue;
      }
    }
    if (!meta && req.method == "HEAD") {
      // A HEAD miss is not worth a fill: ask upstream for the head alone.
      auto r = co_await pass(route, std::move(req), nullptr, resource);
      for (auto& h : r.head.headers)
        if (h.name == "x-cache") h.value = "MISS";
      r.cache_status = "MISS";
      co_return r;
    }

    auto claim = fills_.claim(key);
    if (claim.leader)
      asio::co_spawn(ex, run_fill(claim.fill, route, req, resource, variant, meta),
                     internal::log_exception("cache fill"));
    auto wait_limit = clock_.monotonic_now() + opts_.upstream_connect_timeout +
                      opts_.upstream_handshake_timeout + opts_.upstream_first_byte_timeout + 5s;
    auto outcome = co_await claim.fill->wait(wait_limit);
    switch (outcome) {
      case FillOutcome::kJoinable:
        if (auto r = serve_live(claim.fill)) {
          if (!claim.leader)
            metrics().counter(kCoalescedFollowersTotal, kCoalescedFollowersHelp).inc();
          co_return std::move(*r);
        }
        // No write to join: it committed or failed already. A failed fill is not fetched again
        // by its followers (a corrupt file must not turn into N more downloads).
        if (!co_await claim.fill->wait_complete(clock_.monotonic_now() + 10s) ||
            claim.fill->final_error()) {
          auto e = claim.fill->final_error().value_or(
              Error{Errc::kUnavailable, "the fill of " + key + " did not finish"});
          auto r = error_response(ex, e);
          r.project = resource.project;
          co_return r;
        }
        filled = true;
        continue;  // committed: the next lookup finds it
      case FillOutcome::kRevalidated:
        revalidated = true;
        continue;
      case FillOutcome::kUpstreamFailed: {
        auto error = claim.fill->error().value_or(Error{Errc::kUnavailable, "upstream failed"});
        if (meta && fresh && may_serve_stale(*fresh, policy)) {
          if (claim.leader && claim.fill->leader_response && claim.fill->leader_response->body)
            claim.fill->leader_response->body->cancel();  // the 5xx body goes unread
          spdlog::info("cache: {}: serving stale copy ({} s past fresh): {}", key,
                       fresh->staleness().count(), error.detail);
          if (auto r = serve_committed(*meta, CacheStatus::kStale, fresh->age))
            co_return std::move(*r);
          continue;
        }
        if (claim.leader && claim.fill->leader_response) {
          auto r = std::move(*claim.fill->leader_response);
          claim.fill->leader_response.reset();
          co_return r;
        }
        auto r = error_response(ex, error);
        r.project = resource.project;
        co_return r;
      }
      case FillOutcome::kNotStored:
        if (claim.leader && claim.fill->leader_response) {
          auto r = std::move(*claim.fill->leader_response);
          claim.fill->leader_response.reset();
          co_return r;
        }
        co_return co_await pass(route, std::move(req), nullptr, resource);
      case FillOutcome::kPending: {
        // Upstream is too slow to even answer: as good as down for a stored page.
        if (meta && fresh && may_serve_stale(*fresh, policy))
          if (auto r = serve_committed(*meta, CacheStatus::kStale, fresh->age))
            co_return std::move(*r);
        auto r = error_response(
            ex, Error{Errc::kUnavailable, "timed out waiting for the upstream answer of " + key});
        r.project = resource.project;
        co_return r;
      }
    }
  }
  // Replaced or evicted under us on every attempt: say so rather than loop (and never pass a
  // file through unverified).
  auto r = error_response(
      ex, Error{Errc::kUnavailable, "the cache entry " + key + " kept changing; try again"});
  r.project = resource.project;
  co_return r;
}

asio::awaitable<Result<std::shared_ptr<BodyPipe>>> CacheBackend::fetch_rest(
    Route route, Request req, Resource resource, std::uint64_t from, std::uint64_t end) {
  if (from >= end) {
    auto done = std::make_shared<BodyPipe>(co_await asio::this_coro::executor, 1);
    done->finish();
    co_return done;
  }
  Request up = fill_request(route, req, resource, Variant::kNone, nullptr);
  up.headers.push_back({"range", "bytes=" + std::to_string(from) + "-" + std::to_string(end - 1)});
  auto r = co_await client_.fetch(route.host, up, nullptr);
  if (!r) co_return std::unexpected(r.error());
  if (r->head.status != 206 || r->head.content_length != end - from) {
    if (r->body) r->body->cancel();
    co_return make_error(Errc::kUnavailable, "upstream answered " + std::to_string(r->head.status) +
                                                 " to the range request for the rest of " +
                                                 req.path);
  }
  co_return r->body;
}

asio::awaitable<void> CacheBackend::run_fill(std::shared_ptr<Fill> fill, Route route, Request req,
                                             Resource resource, Variant variant,
                                             std::optional<store::ObjectMeta> stale) {
  struct Release {
    FillTable& table;
    std::shared_ptr<Fill> fill;
    std::optional<Error> final_error;
    ~Release() {
      // Whatever happened, nobody may wait forever.
      fill->publish(FillOutcome::kUpstreamFailed, Error{Errc::kInternal, "fill ended"});
      fill->complete(final_error);
      table.release(fill);
    }
  } release{fills_, fill, std::nullopt};
  const std::string& key = fill->key();
  auto ex = co_await asio::this_coro::executor;

  std::optional<Validators> validators;
  if (stale) validators = validators_of(from_store_head(stale->head).headers);
  Request up = fill_request(route, req, resource, variant, validators ? &*validators : nullptr);

  auto t0 = clock_.monotonic_now();
  auto fetched = co_await client_.fetch(route.host, up, nullptr);
  auto upstream_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.monotonic_now() - t0);
  note_upstream(
      fetched && fetched->head.status < 500, clock_.system_now(),
      fetched ? "answered " + std::to_string(fetched->head.status) : fetched.error().detail);
  if (!fetched) {
    spdlog::warn("cache: {}: upstream: {}", key, fetched.error().detail);
    fill->publish(FillOutcome::kUpstreamFailed, fetched.error());
    co_return;
  }
  Response& r = *fetched;
  auto for_client = [&](std::string_view x_cache) {
    Response out = std::move(r);
    out.head.headers = client_response_headers(out.head.headers, out.from);
    out.head.headers.push_back({"x-cache", std::string(x_cache)});
    if (!find_header(out.head.headers, "age")) out.head.headers.push_back({"age", "0"});
    out.cache_status = std::string(x_cache);
    out.upstream_time = upstream_time;
    out.project = resource.project;
    // The cache asked for gzip; a client that did not gets it decoded.
    if (auto ce = find_header(out.head.headers, "content-encoding");
        ce && *ce == "gzip" && out.body && !client_accepts_gzip(req.headers)) {
      std::erase_if(out.head.headers, [](const Header& h) {
        return h.name == "content-encoding" || h.name == "content-length";
      });
      out.head.content_length.reset();
      out.body = gunzip(ex, out.body, opts_.body_buffer_bytes);
    }
    return out;
  };

  int status = r.head.status;
  if (status >= 500) {
    spdlog::warn("cache: {}: upstream answered {}", key, status);
    fill->leader_response = for_client("MISS");
    fill->publish(FillOutcome::kUpstreamFailed,
                  Error{Errc::kUnavailable, "upstream answered " + std::to_string(status)});
    co_return;
  }
  if (stale && status == 304) {
    if (r.body) r.body->cancel();
    auto merged = merge_not_modified(from_store_head(stale->head).headers, r.head.headers);
    auto updated =
        store_.update_head(key, stale->version, to_store_head(stale->head.status, merged));
    if (!updated) {
      // Replaced or evicted meanwhile: the next lookup decides again.
      spdlog::debug("cache: {}: 304 for a version no longer stored: {}", key,
                    updated.error().detail);
    }
    fill->publish(FillOutcome::kRevalidated);
    co_return;
  }
  auto decision = storable(resource, variant, r.head);
  if (!decision.store) {
    spdlog::debug("cache: {}: not stored: {}", key, decision.reason);
    fill->leader_response = for_client("PASS");
    fill->publish(FillOutcome::kNotStored);
    co_return;
  }
  std::optional<store::Digest> expected_digest;
  if (resource.digest_hex && status == 200)
    if (auto d = store::digest_from_hex(*resource.digest_hex)) expected_digest = *d;
  auto writer = store_.begin(key, to_store_head(status, headers_to_store(r.head.headers)),
                             r.head.content_length);
  if (!writer) {
    note_store_failure(writer.error());
    fill->leader_response = for_client("PASS");
    // Past the store, so its digest check too: the relay checks it instead.
    if (expected_digest && fill->leader_response->body)
      fill->leader_response->body =
          verify_digest(ex, fill->leader_response->body, *expected_digest, opts_.body_buffer_bytes);
    fill->publish(FillOutcome::kNotStored);
    co_return;
  }
  note_store_ok();
  fill->publish(FillOutcome::kJoinable);
  bool abandoned = false;
  if (r.body) {
    for (;;) {
      auto chunk = co_await r.body->read(clock_.monotonic_now() + opts_.upstream_read_timeout);
      if (!chunk) {
        spdlog::warn("cache: {}: upstream body failed after {} bytes: {}", key,
                     writer->bytes_written(), chunk.error().detail);
        release.final_error = chunk.error();
        writer->abort(chunk.error());
        co_return;
      }
      if (!*chunk) break;
      if (auto a = writer->append((*chunk)->view()); !a) {
        release.final_error = a.error();
        note_store_failure(a.error());
        r.body->cancel();
        co_return;  // the writer aborted itself; its readers got the error
      }
      if (!opts_.cache.fill_without_clients && fill->readers.load() == 0 &&
          writer->bytes_written() > 0) {
        abandoned = true;
        break;
      }
    }
  }
  if (abandoned) {
    release.final_error = Error{Errc::kUnavailable, "every client left the fill"};
    r.body->cancel();
    writer->abort(Error{Errc::kUnavailable, "every client left the fill"});
    co_return;
  }
  auto committed = writer->commit({.size_bytes = r.head.content_length, .digest = expected_digest});
  if (!committed) {
    release.final_error = committed.error();
    if (committed.error().code == Errc::kCorrupt) {
      metrics().counter(kIntegrityFailuresTotal, kIntegrityFailuresHelp).inc();
      spdlog::error("cache: {}: integrity failure, not stored and not served: {}", key,
                    committed.error().detail);
    } else {
      spdlog::warn("cache: {}: not committed: {}", key, committed.error().detail);
    }
    co_return;
  }
  spdlog::debug("cache: {}: stored {} bytes in {} ms", key, committed->size_bytes,
                upstream_time.count());
}

}  // namespace pipgate::proxy::cache
