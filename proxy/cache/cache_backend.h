// The Backend that answers from the store: GET/HEAD of cached paths (CachePolicy) are served
// from stored copies while fresh, revalidated upstream when stale, filled once per key on a miss
// (every client of the key streams the fill as it lands), and served stale when upstream is
// down. Everything else, and everything when the store fails, passes through to upstream.
//
//   cache::CacheBackend backend(client, store, fills, opts, clock);
//   H2Session session(..., router, backend, ...);
//
// One per event loop; `store` and `fills` are shared by all of them (both are thread-safe), so
// coalescing works across loops. Every answer carries X-Cache and Age.
#pragma once

#include <memory>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/cache/cache_policy.h"
#include "proxy/cache/fill_table.h"
#include "proxy/pass_through.h"
#include "proxy/proxy_options.h"
#include "proxy/upstream/client.h"
#include "store/store.h"

namespace pipgate::proxy::cache {

class CacheBackend final : public Backend {
 public:
  CacheBackend(upstream::Client& client, store::Store& store, FillTable& fills,
               const ProxyOptions& opts, const Clock& clock);
  boost::asio::awaitable<Response> respond(const Route& route, Request req,
                                           std::shared_ptr<BodyPipe> body) override;

 private:
  boost::asio::awaitable<Response> pass(const Route& route, Request req,
                                        std::shared_ptr<BodyPipe> body, const Resource& resource);
  // Bytes [from, end) of a file, straight from upstream (a Range request).
  boost::asio::awaitable<Result<std::shared_ptr<BodyPipe>>> fetch_rest(Route route, Request req,
                                                                       Resource resource,
                                                                       std::uint64_t from,
                                                                       std::uint64_t end);
  boost::asio::awaitable<void> run_fill(std::shared_ptr<Fill> fill, Route route, Request req,
                                        Resource resource, Variant variant,
                                        std::optional<store::ObjectMeta> stale);

  upstream::Client& client_;
  store::Store& store_;
  FillTable& fills_;
  const ProxyOptions& opts_;
  const Clock& clock_;
  PassThrough pass_through_;
};

// Conversions between the proxy's response head and the store's.
store::ResponseHead to_store_head(int status, const Headers& headers);
ResponseHead from_store_head(const store::ResponseHead& head);

}  // namespace pipgate::proxy::cache
