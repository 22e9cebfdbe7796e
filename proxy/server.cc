#include "proxy/server.h"

#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <map>
#include <optional>

#include "certs/leaf_store.h"
#include "common/asio_address.h"
#include "common/tcp_listener.h"
#include "proxy/cache/cache_backend.h"
#include "proxy/flood_guard.h"
#include "proxy/h1_session.h"
#include "proxy/h2_session.h"
#include "proxy/internal/async_event.h"
#include "proxy/internal/spawn.h"
#include "proxy/pass_through.h"
#include "proxy/router.h"
#include "proxy/tls_acceptor.h"
#include "proxy/upstream/client.h"
#include "proxy/upstream/resolver.h"

namespace pipgate::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// What stop() needs of a live connection.
struct Connection {
  IpAddress client;
  std::function<void()> shutdown;  // empty until the session exists
  std::function<void()> close;
  int fd = -1;              // the socket's descriptor, for make_room()
  bool in_session = false;  // past the TLS handshake
  bool evicted = false;     // shut down by make_room(): ending
};

}  // namespace

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(asio::io_context& i, const certs::LeafStore& l, const Clock& c, SharedCache sc)
      : io(i), leaves(l), clock(c), shared_cache(sc), drained(i.get_executor()) {}

  asio::io_context& io;
  const certs::LeafStore& leaves;
  const Clock& clock;
  SharedCache shared_cache;
  std::optional<Error> options_error;
  ProxyOptions opts;
  std::unique_ptr<Router> router;
  std::unique_ptr<TlsAcceptor> tls;
  std::unique_ptr<upstream::Resolver> resolver;
  std::unique_ptr<upstream::Client> client;
  std::unique_ptr<Backend> backend;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::map<std::uint64_t, Connection> connections;
  std::map<IpAddress, std::uint32_t> per_client;
  std::uint64_t next_id = 0;
  FloodGuard eviction_log{1, 5, MonotonicTime{}};  // make_room()'s log lines: about 1/s
  bool stopping = false;
  internal::AsyncEvent drained;

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        spdlog::warn("proxy: accept: {}", ec.message());
        continue;  // EMFILE and friends: the connection stays in the backlog
      }
      error_code rec;
      auto remote = socket.remote_endpoint(rec);
      if (rec) continue;
      auto client = from_asio(remote.address());
      auto mine = per_client.find(client);
      bool client_full =
          mine != per_client.end() && mine->second >= opts.max_connections_per_client;
      if (client_full || (connections.size() >= opts.max_connections && !make_room(client))) {
        spdlog::warn("proxy: refusing connection from {}: {} (limit)", client.to_string(),
                     client_full ? "too many from this client" : "too many connections");
        socket.close(rec);
        continue;
      }
      auto id = ++next_id;
      connections[id] = Connection{client, {}, [] {}, socket.native_handle()};
      ++per_client[client];
      socket.set_option(tcp::no_delay(true), rec);
      asio::co_spawn(io, serve(shared_from_this(), id, std::move(socket), client, remote.port()),
                     [id](std::exception_ptr e) {
                       if (!e) return;
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         spdlog::error("conn {}: unexpected exception: {}", id, x.what());
                       }
                     });
    }
  }

  // At max_connections, a client holding more than its share gives way to one holding fewer
  // (thousands of idle connections from a few addresses must not lock the office out): the
  // heaviest client's oldest connection still in its TLS handshake, else its oldest, is shut
  // down, and the new one accepted. False when `client` is itself among the heaviest.
  bool make_room(const IpAddress& client) {
    const IpAddress* heaviest = nullptr;
    std::uint32_t most = 0;
    for (const auto& [address, n] : per_client) {
      if (n > most) {
        most = n;
        heaviest = &address;
      }
    }
    auto mine = per_client.find(client);
    std::uint32_t have = mine == per_client.end() ? 0 : mine->second;
    if (!heaviest || most <= have + 1) return false;
    Connection* victim = nullptr;
    for (auto& [id, c] : connections) {
      if (c.evicted || c.fd < 0 || c.client != *heaviest) continue;
      if (!victim) victim = &c;
      if (!c.in_session) {
        victim = &c;
        break;
      }
    }
    if (!victim) return false;
    victim->evicted = true;
    ::shutdown(victim->fd, SHUT_RDWR);  // its session ends on its own and is forgotten then
    if (eviction_log.allow(clock.monotonic_now()))
      spdlog::warn("proxy: at max_connections ({}): closing one of {}'s {} connections for {}",
                   opts.max_connections, heaviest->to_string(), most, client.to_string());
    return true;
  }

  void forget(std::uint64_t id, const IpAddress& client) {
    connections.erase(id);
    if (auto it = per_client.find(client); it != per_client.end() && --it->second == 0)
      per_client.erase(it);
    if (connections.empty()) drained.notify();
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, std::uint64_t id,
                                     tcp::socket socket, IpAddress client, std::uint16_t port) {
    struct Guard {
      State* s;
      std::uint64_t id;
      IpAddress client;
      ~Guard() { s->forget(id, client); }
    } guard{self.get(), id, client};
    auto tls = co_await self->tls->accept(
        std::move(socket), self->clock.monotonic_now() + self->opts.tls_handshake_timeout);
    if (!tls) {
      spdlog::info("conn {} {}: {}", id, client.to_string(), tls.error().detail);
      co_return;
    }
    if (self->stopping) co_return;
    ConnectionInfo info{id, client, port, (*tls)->server_name()};
    auto alpn = (*tls)->alpn();
    spdlog::debug("conn {} {}: TLS {} {}{}", id, client.to_string(), info.sni,
                  alpn.empty() ? "http/1.1 (no ALPN)" : alpn,
                  (*tls)->session_reused() ? " (resumed)" : "");
    auto& entry = self->connections[id];
    entry.in_session = true;
    if (alpn == "h2") {
      H2Session session(std::move(*tls), info, self->opts, *self->router, *self->backend,
                        self->clock);
      entry.shutdown = [&session] { session.shutdown(); };
      entry.close = [&session] { session.close(); };
      co_await session.run();
    } else {
      H1Session session(std::move(*tls), info, self->opts, *self->router, *self->backend,
                        self->clock);
      entry.shutdown = [&session] { session.shutdown(); };
      entry.close = [&session] { session.close(); };
      co_await session.run();
    }
    auto& e = self->connections[id];
    e.shutdown = {};
    e.close = [] {};
  }
};

Server::Server(asio::io_context& io, const Config& cfg, const certs::LeafStore& leaves,
               const Clock& clock, SharedCache cache)
    : state_(std::make_shared<State>(io, leaves, clock, cache)) {
  auto opts = proxy_options_from(cfg, local_addresses());
  if (opts)
    state_->opts = std::move(*opts);
  else
    state_->options_error = opts.error();
}

Server::Server(asio::io_context& io, ProxyOptions opts, const certs::LeafStore& leaves,
               const Clock& clock, SharedCache cache)
    : state_(std::make_shared<State>(io, leaves, clock, cache)) {
  state_->opts = std::move(opts);
}

Server::~Server() {
  for (auto& a : state_->acceptors) {
    error_code ignored;
    a->close(ignored);
  }
}

Result<> Server::start() {
  auto& s = *state_;
  if (s.options_error) return std::unexpected(*s.options_error);
  std::vector<std::uint16_t> ports;
  for (const auto& ep : s.opts.listen) ports.push_back(ep.port);
  s.router = std::make_unique<Router>(s.opts.intercept, ports);
  auto tls = TlsAcceptor::create(s.leaves);
  if (!tls) return std::unexpected(tls.error());
  s.tls = std::move(*tls);
  auto upstream_tls = make_upstream_tls_context(s.opts.upstream_ca_file);
  if (!upstream_tls) return std::unexpected(upstream_tls.error());
  auto resolver = upstream::Resolver::create(s.io.get_executor(), s.opts, s.clock);
  if (!resolver) return std::unexpected(resolver.error());
  s.resolver = std::move(*resolver);
  s.client = std::make_unique<upstream::Client>(s.io.get_executor(), s.opts, *s.resolver,
                                                *upstream_tls, s.clock);
  if (s.shared_cache.store && s.shared_cache.fills)
    s.backend = std::make_unique<cache::CacheBackend>(*s.client, *s.shared_cache.store,
                                                      *s.shared_cache.fills, s.opts, s.clock);
  else
    s.backend = std::make_unique<PassThrough>(*s.client);

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (const auto& ep : s.opts.listen) {
    auto a = listen_tcp(s.io, ep, {.reuse_port = true, .config_key = "[proxy] listen"});
    if (!a) return std::unexpected(a.error());
    acceptors.push_back(std::move(*a));
  }
  s.acceptors = std::move(acceptors);
  for (auto& a : s.acceptors) {
    asio::co_spawn(s.io, s.accept_loop(*a), internal::log_exception("proxy accept loop"));
    auto local = a->local_endpoint();
    spdlog::info("proxy: listening on {}:{} for {}", local.address().to_string(), local.port(),
                 fmt::join(s.opts.intercept, ", "));
  }
  return {};
}

asio::awaitable<void> Server::stop(std::chrono::milliseconds grace) {
  auto s = state_;
  s->stopping = true;
  for (auto& a : s->acceptors) {
    error_code ignored;
    a->close(ignored);
  }
  spdlog::info("proxy: stopping; {} connection(s) get {} ms to finish", s->connections.size(),
               grace.count());
  for (auto& [id, c] : s->connections)
    if (c.shutdown) c.shutdown();
  auto deadline = s->clock.monotonic_now() + grace;
  while (!s->connections.empty())
    if (!co_await s->drained.wait_until(deadline)) break;
  if (!s->connections.empty()) {
    spdlog::info("proxy: closing {} connection(s) still open", s->connections.size());
    for (auto& [id, c] : s->connections) c.close();
    auto hard = s->clock.monotonic_now() + std::chrono::seconds(2);
    while (!s->connections.empty())
      if (!co_await s->drained.wait_until(hard)) break;
  }
  if (s->client) s->client->close_all();
}

void Server::reconfigure(const Config& cfg) {
  asio::post(state_->io, [s = state_, proxy = cfg.proxy, cache = cfg.cache] {
    // Listeners, names, resolvers and the store stay as started: only these fields change, on
    // the loop that reads them, between two requests.
    auto& o = s->opts;
    o.max_connections = proxy.max_connections;
    o.max_connections_per_client = proxy.max_connections_per_client;
    o.tls_handshake_timeout = proxy.tls_handshake_timeout;
    o.header_timeout = proxy.header_timeout;
    o.client_idle_timeout = proxy.client_idle_timeout;
    o.header_limit_bytes = proxy.header_limit_bytes;
    o.h2_max_concurrent_streams = proxy.h2_max_concurrent_streams;
    o.upstream_connect_timeout = proxy.upstream_connect_timeout;
    o.upstream_first_byte_timeout = proxy.upstream_first_byte_timeout;
    o.upstream_read_timeout = proxy.upstream_read_timeout;
    o.upstream_idle_timeout = proxy.upstream_idle_timeout;
    auto max_size = o.cache.max_size_bytes;  // the store's budget is fixed at open
    o.cache = cache;
    o.cache.max_size_bytes = max_size;
  });
}

std::vector<Endpoint> Server::local_endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& a : state_->acceptors) {
    error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) out.push_back(Endpoint{from_asio(ep.address()), ep.port()});
  }
  return out;
}

}  // namespace pipgate::proxy
