#include "proxy/upstream/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <vector>

#include "common/asio_address.h"
#include "proxy/internal/spawn.h"
#include "proxy/upstream/h1_connection.h"
#include "proxy/upstream/h2_connection.h"

namespace pipgate::proxy::upstream {

namespace asio = boost::asio;

namespace {

enum class Protocol { kUnknown, kH2, kH1 };

struct HostState {
  Protocol protocol = Protocol::kUnknown;
  std::vector<std::shared_ptr<H2Connection>> h2;
  std::vector<std::shared_ptr<H1Connection>> idle_h1;
};

}  // namespace

struct Client::State {
  asio::any_io_executor ex;
  const ProxyOptions& opts;
  Resolver& resolver;
  SslContextPtr tls_context;
  const Clock& clock;
  std::map<std::string, HostState> hosts;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  bool is_own(const asio::ip::address& a) const {
    auto ip = from_asio(a);
    if (ip.is_unspecified()) return true;
    return std::find(opts.own_addresses.begin(), opts.own_addresses.end(), ip) !=
           opts.own_addresses.end();
  }

  asio::awaitable<Result<std::unique_ptr<TlsStream>>> connect(const std::string& host,
                                                              bool offer_h2) {
    auto addrs = co_await resolver.lookup(host);
    if (!addrs) co_return std::unexpected(addrs.error());
    std::optional<Error> last;
    for (const auto& a : *addrs) {
      if (is_own(a)) {
        last = Error{Errc::kUnavailable,
                     "refusing to connect to " + a.to_string() + " for " + host +
                         ": it is this appliance (the upstream resolver answers with our own "
                         "address; check [dns] upstream)"};
        spdlog::debug("upstream: {}", last->detail);  // logged by the caller with the request
        continue;
      }
      auto tls = TlsStream::make(asio::ip::tcp::socket(ex), tls_context.get());
      if (!tls) co_return std::unexpected(tls.error());
      auto deadline =
          clock.monotonic_now() + opts.upstream_connect_timeout + opts.upstream_handshake_timeout;
      auto r = co_await (*tls)->connect(asio::ip::tcp::endpoint(a, opts.upstream_port), host,
                                        offer_h2, deadline);
      if (r) co_return std::move(*tls);
      last = r.error();
      spdlog::debug("upstream: {}", last->detail);  // the last one is logged with the request
    }
    co_return std::unexpected(
        last.value_or(Error{Errc::kUnavailable, "no usable address for " + host}));
  }

  // One attempt; `fresh` forbids reusing a pooled connection.
  asio::awaitable<Result<Response>> attempt(const std::string& host, const Request& req,
                                            std::shared_ptr<BodyPipe> body, bool fresh,
                                            bool& retryable) {
    retryable = true;
    auto& hs = hosts[host];
    std::erase_if(hs.h2, [](const auto& c) { return c->is_closed(); });
    if (!fresh) {
      for (auto& c : hs.h2)
        if (c->can_open_stream()) co_return co_await c->fetch(req, body, retryable);
      auto now = clock.monotonic_now();
      while (!hs.idle_h1.empty()) {
        auto c = hs.idle_h1.back();
        hs.idle_h1.pop_back();
        if (!c->is_open() || now - c->idle_since() > opts.upstream_idle_timeout) {
          c->close();
          continue;
        }
        co_return co_await c->fetch(req, body, retryable, idle_callback(host));
      }
    }
    auto tls = co_await connect(host, hs.protocol != Protocol::kH1);
    if (!tls) {
      // Resolving or connecting afresh failed: every address was tried, and the same again at
      // once would only double the client's wait (twice the resolver's timeout when the
      // upstream DNS is down). The retry is for stale pooled connections.
      retryable = false;
      co_return std::unexpected(tls.error());
    }
    auto& hs2 = hosts[host];  // the map may have changed while connecting
    if ((*tls)->alpn() == "h2") {
      hs2.protocol = Protocol::kH2;
      auto c = H2Connection::start(std::move(*tls), host, opts, clock);
      hs2.h2.push_back(c);
      co_return co_await c->fetch(req, body, retryable);
    }
    if (hs2.protocol != Protocol::kH1)
      spdlog::info("upstream {}: no h2 by ALPN; using HTTP/1.1 from now on", host);
    hs2.protocol = Protocol::kH1;
    auto c = std::make_shared<H1Connection>(std::move(*tls), host, opts, clock);
    co_return co_await c->fetch(req, body, retryable, idle_callback(host));
  }

  std::function<void(std::shared_ptr<H1Connection>)> idle_callback(const std::string& host) {
    std::weak_ptr<bool> weak = alive;
    return [this, weak, host](std::shared_ptr<H1Connection> c) {
      if (weak.expired()) return c->close();
      auto& pool = hosts[host].idle_h1;
      if (pool.size() >= opts.upstream_h1_pool_size) return c->close();
      pool.push_back(std::move(c));
    };
  }
};

namespace {

// Closes pooled HTTP/1.1 connections idle for longer than upstream_idle_timeout, so idle sockets
// do not wait for the next request to be noticed. Ends when `timer` is cancelled (~Client).
asio::awaitable<void> sweep_idle(std::shared_ptr<asio::steady_timer> timer,
                                 std::function<void()> sweep, std::chrono::milliseconds period) {
  for (;;) {
    timer->expires_after(period);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // the client is gone: touch nothing of it
    sweep();
  }
}

}  // namespace

Client::Client(asio::any_io_executor ex, const ProxyOptions& opts, Resolver& resolver,
               SslContextPtr tls_context, const Clock& clock)
    : state_(new State{ex, opts, resolver, std::move(tls_context), clock, {}}),
      sweep_timer_(std::make_shared<asio::steady_timer>(ex)) {
  auto* s = state_.get();
  std::weak_ptr<bool> alive = state_->alive;  // a wait that completed before cancel() may still run
  asio::co_spawn(ex,
                 sweep_idle(
                     sweep_timer_,
                     [s, alive] {
                       if (alive.expired()) return;
                       auto now = s->clock.monotonic_now();
                       for (auto& [host, hs] : s->hosts)
                         std::erase_if(hs.idle_h1, [&](const auto& c) {
                           bool stale = !c->is_open() ||
                                        now - c->idle_since() > s->opts.upstream_idle_timeout;
                           if (stale) c->close();
                           return stale;
                         });
                     },
                     std::max<std::chrono::milliseconds>(opts.upstream_idle_timeout / 2,
                                                         std::chrono::milliseconds(100))),
                 internal::log_exception("upstream idle sweep"));
}

Client::~Client() {
  sweep_timer_->cancel();
  close_all();
}

void Client::close_all() {
  for (auto& [host, hs] : state_->hosts) {
    for (auto& c : hs.h2) c->close();
    for (auto& c : hs.idle_h1) c->close();
    hs.h2.clear();
    hs.idle_h1.clear();
  }
}

asio::awaitable<Result<Response>> Client::fetch(const std::string& host, const Request& req,
                                                std::shared_ptr<BodyPipe> body) {
  bool retryable = false;
  auto r = co_await state_->attempt(host, req, body, false, retryable);
  bool idempotent = req.method == "GET" || req.method == "HEAD";
  if (!r && retryable && idempotent && !body) {
    spdlog::info(
        "upstream {}: {} {} failed before any response byte ({}); retrying once on a "
        "new connection",
        host, req.method, req.path, r.error().detail);
    r = co_await state_->attempt(host, req, body, true, retryable);
  }
  co_return r;
}

}  // namespace pipgate::proxy::upstream
