#include "dns/tcp_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <exception>
#include <list>

#include "common/asio_address.h"
#include "dns/forwarder.h"
#include "dns/log_throttle.h"
#include "dns/responder.h"

namespace pipgate::dns {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

void log_exception(std::string_view where, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("tcp: {}: {}", where, ex.what());
  }
}

}  // namespace

struct TcpServer::State : std::enable_shared_from_this<TcpServer::State> {
  State(asio::io_context& io, const TcpServerOptions& options) : io(io), options(options) {}

  // One client connection. Reading, writing and the idle watchdog are separate strands of work
  // on the one loop thread; the connection closes once the client stops sending (or idles) and
  // nothing is outstanding or unwritten.
  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(std::shared_ptr<State> server, tcp::socket sock)
        : server(std::move(server)),
          sock(std::move(sock)),
          idle(this->sock.get_executor()),
          resume(this->sock.get_executor()) {}

    std::shared_ptr<State> server;
    tcp::socket sock;
    asio::steady_timer idle;
    asio::steady_timer resume;  // wakes the reader when pipelined queries drain
    MonotonicTime deadline{};
    std::deque<Bytes> out;
    std::size_t outstanding = 0;
    bool is_writing = false;
    bool is_reading_done = false;
    bool is_closed = false;
    std::string peer;
    IpAddress address;

    void touch() { deadline = server->clock->monotonic_now() + server->options.idle_timeout; }

    void close() {
      if (is_closed) return;
      is_closed = true;
      boost::system::error_code ec;
      sock.shutdown(tcp::socket::shutdown_both, ec);
      sock.close(ec);
      idle.cancel();
      resume.cancel();
      server->connections.remove(this);
    }

    void maybe_close() {
      if (is_reading_done && outstanding == 0 && out.empty() && !is_writing) close();
    }

    void enqueue(const Bytes& packet) {
      if (is_closed || packet.empty()) return;
      Bytes framed;
      framed.reserve(packet.size() + 2);
      framed.push_back(static_cast<std::uint8_t>(packet.size() >> 8));
      framed.push_back(static_cast<std::uint8_t>(packet.size() & 0xff));
      framed.insert(framed.end(), packet.begin(), packet.end());
      out.push_back(std::move(framed));
      write_next();
    }

    void write_next() {
      if (is_writing || out.empty() || is_closed) return;
      is_writing = true;
      asio::async_write(sock, asio::buffer(out.front()),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          self->is_writing = false;
                          if (ec) {
                            self->close();
                            return;
                          }
                          self->out.pop_front();
                          self->resume.cancel();
                          self->touch();
                          self->write_next();
                          self->maybe_close();
                        });
    }

    void carry_out(Outcome outcome) {
      if (auto* a = std::get_if<Answer>(&outcome)) {
        enqueue(a->packet);
      } else if (auto* r = std::get_if<Refuse>(&outcome)) {
        if (auto n = server->refusals.note(address, server->clock->monotonic_now())) {
          spdlog::info("tcp: refused {} (not in [dns] allow): {} quer{} since the last line", peer,
                       n, n == 1 ? "y" : "ies");
        }
        enqueue(r->packet);
      } else if (auto* f = std::get_if<Forward>(&outcome)) {
        ++outstanding;
        const Bytes upstream_query = f->upstream_query;
        server->forwarder->send(
            upstream_query, [self = shared_from_this(), fwd = std::move(*f)](Result<Bytes> reply) {
              --self->outstanding;
              self->resume.cancel();
              if (self->is_closed) return;
              if (!reply) {
                spdlog::debug("tcp: query from {} failed upstream: {}", self->peer,
                              reply.error().detail);
              }
              Outcome done = self->server->responder->complete(
                  fwd, reply, self->server->clock->monotonic_now());
              if (auto* a = std::get_if<Answer>(&done)) self->enqueue(a->packet);
              self->touch();
              self->maybe_close();
            });
      }
    }

    asio::awaitable<void> read_loop() {
      auto self = shared_from_this();
      const Client client{address, Transport::kTcp};
      for (;;) {
        // Backpressure: stop reading while too many answers are pending or unsent (a client
        // that pipelines without reading must not grow our queues).
        while (outstanding + out.size() >= server->options.max_pipelined && !is_closed) {
          resume.expires_at(MonotonicTime::max());
          co_await resume.async_wait(kAwait);
        }
        std::uint8_t prefix[2];
        auto [ec, n] = co_await asio::async_read(sock, asio::buffer(prefix), kAwait);
        if (ec || is_closed) break;
        Bytes message(std::size_t{prefix[0]} << 8 | prefix[1]);
        auto [ec2, n2] = co_await asio::async_read(sock, asio::buffer(message), kAwait);
        if (ec2 || is_closed) break;
        touch();
        carry_out(server->responder->handle(message, client, server->clock->monotonic_now()));
      }
      is_reading_done = true;
      maybe_close();
    }

    asio::awaitable<void> watch_idle() {
      auto self = shared_from_this();
      while (!is_closed) {
        idle.expires_at(deadline);
        co_await idle.async_wait(kAwait);
        if (is_closed) break;
        if (server->clock->monotonic_now() < deadline) continue;
        // RFC 7766 §6.2.3: close when idle with nothing pending, or when a write has made no
        // progress for as long (a client that sends but never reads). Queries waiting for an
        // upstream keep the connection: the forwarder's timeouts bound them.
        if (outstanding == 0 || is_writing) {
          spdlog::debug("tcp: closing {} connection from {}", is_writing ? "stalled" : "idle",
                        peer);
          close();
          break;
        }
        touch();
      }
    }
  };

  asio::io_context& io;
  TcpServerOptions options;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::list<Connection*> connections;  // open ones; each removes itself on close
  Responder* responder = nullptr;
  Forwarder* forwarder = nullptr;
  const Clock* clock = nullptr;
  bool is_stopped = false;
  LogThrottle refusals;

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kAwait);
      if (is_stopped || !acceptor.is_open()) co_return;
      if (ec) {
        spdlog::debug("tcp: accept: {}", ec.message());  // e.g. EMFILE: keep serving
        continue;
      }
      if (connections.size() >= options.max_connections) {
        spdlog::debug("tcp: {} connections open: closing a new one", connections.size());
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      auto conn = std::make_shared<Connection>(self, std::move(sock));
      boost::system::error_code peer_ec;
      const tcp::endpoint remote = conn->sock.remote_endpoint(peer_ec);
      if (peer_ec) continue;  // already reset by the client
      conn->peer = remote.address().to_string();
      conn->address = from_asio(remote.address());
      connections.push_back(conn.get());
      conn->touch();
      asio::co_spawn(io, conn->read_loop(),
                     [](std::exception_ptr e) { log_exception("connection", e); });
      asio::co_spawn(io, conn->watch_idle(),
                     [](std::exception_ptr e) { log_exception("idle timer", e); });
    }
  }
};

TcpServerOptions TcpServerOptions::from(const Config& cfg) {
  TcpServerOptions o;
  o.idle_timeout = cfg.dns.tcp_idle_timeout;
  o.max_connections = cfg.dns.tcp_max_connections;
  return o;
}

Result<std::unique_ptr<TcpServer>> TcpServer::bind(asio::io_context& io,
                                                   const std::vector<Endpoint>& listen,
                                                   const TcpServerOptions& options) {
  auto state = std::make_shared<State>(io, options);
  for (const Endpoint& ep : listen) {
    tcp::endpoint local(to_asio(ep.address), ep.port);
    auto acceptor = std::make_unique<tcp::acceptor>(io);
    boost::system::error_code ec;
    acceptor->open(local.protocol(), ec);
    if (!ec && local.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(local, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return make_error(Errc::kUnavailable,
                        "cannot listen on " + ep.to_string() + "/tcp: " + ec.message());
    }
    state->acceptors.push_back(std::move(acceptor));
  }
  return std::unique_ptr<TcpServer>(new TcpServer(std::move(state)));
}

TcpServer::TcpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

TcpServer::~TcpServer() { stop(); }

void TcpServer::start(Responder& responder, Forwarder& forwarder, const Clock& clock) {
  state_->responder = &responder;
  state_->forwarder = &forwarder;
  state_->clock = &clock;
  for (auto& acceptor : state_->acceptors) {
    asio::co_spawn(state_->io, state_->accept_loop(*acceptor),
                   [](std::exception_ptr e) { log_exception("accept loop", e); });
  }
}

void TcpServer::stop() {
  state_->is_stopped = true;
  for (auto& acceptor : state_->acceptors) {
    boost::system::error_code ec;
    acceptor->close(ec);
  }
  while (!state_->connections.empty()) state_->connections.front()->close();
}

std::vector<Endpoint> TcpServer::local_endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& acceptor : state_->acceptors) {
    boost::system::error_code ec;
    tcp::endpoint ep = acceptor->local_endpoint(ec);
    if (!ec) out.push_back(Endpoint{from_asio(ep.address()), ep.port()});
  }
  return out;
}

std::size_t TcpServer::open_connections() const { return state_->connections.size(); }

}  // namespace pipgate::dns
