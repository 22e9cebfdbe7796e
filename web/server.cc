#include "web/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <functional>
#include <map>
#include <optional>

#include "common/asio_address.h"
#include "common/tcp_listener.h"
#include "web/ca_downloads.h"
#include "web/onboarding_page.h"
#include "web/site.h"

namespace pipgate::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "appliance";
  return name;
}

// Peer errors that deserve an answer before closing (the others: timeout, reset, EOF, just close).
std::optional<unsigned> status_for_read_error(const error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) return 400;
  return std::nullopt;
}

}  // namespace

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(asio::io_context& i, const MetricsRegistry& r) : io(i), registry(r) {}

  asio::io_context& io;
  const MetricsRegistry& registry;
  Config cfg;
  std::string ca_pem;
  FiguresFn figures;
  ServerLimits limits;
  std::unique_ptr<Site> site;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  struct Connection {
    IpAddress client;
    std::function<void()> close;
  };
  std::map<std::uint64_t, Connection> connections;
  std::map<IpAddress, std::uint32_t> per_client;
  std::uint64_t next_id = 0;
  bool stopping = false;

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        spdlog::warn("web: accept: {}", ec.message());
        continue;
      }
      error_code rec;
      auto remote = socket.remote_endpoint(rec);
      if (rec) continue;
      auto client = from_asio(remote.address());
      if (connections.size() >= limits.max_connections ||
          per_client[client] >= limits.max_connections_per_client) {
        spdlog::info("web: refusing connection from {}: {}", client.to_string(),
                     connections.size() >= limits.max_connections ? "too many connections"
                                                                  : "too many from this client");
        if (per_client[client] == 0) per_client.erase(client);
        socket.close(rec);
        continue;
      }
      auto id = ++next_id;
      connections[id] = Connection{client, [] {}};
      ++per_client[client];
      asio::co_spawn(io, serve(shared_from_this(), id, std::move(socket), client),
                     [id](std::exception_ptr e) {
                       if (!e) return;
                       try {
                         std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                         spdlog::error("web: conn {}: unexpected exception: {}", id, x.what());
                       }
                     });
    }
  }

  void forget(std::uint64_t id, const IpAddress& client) {
    connections.erase(id);
    if (auto it = per_client.find(client); it != per_client.end() && --it->second == 0)
      per_client.erase(it);
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, std::uint64_t id,
                                     tcp::socket socket, IpAddress client) {
    struct Guard {
      State* s;
      std::uint64_t id;
      IpAddress client;
      ~Guard() { s->forget(id, client); }
    } guard{self.get(), id, client};
    beast::tcp_stream stream(std::move(socket));
    self->connections[id].close = [&stream] {
      error_code ignored;
      stream.socket().close(ignored);
    };
    beast::flat_buffer buffer;
    const auto& limits = self->limits;
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(limits.header_limit_bytes);
      stream.expires_after(limits.request_timeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser,
                                                      asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (auto status = status_for_read_error(ec); status && !self->stopping) {
          spdlog::debug("web: conn {} {}: {}", id, client.to_string(), ec.message());
          Reply r{*status,
                  "text/plain; charset=utf-8",
                  *status == 431 ? "request head too large\n" : "bad request\n",
                  {}};
          co_await write(stream, std::move(r), 11, false, false, limits.write_timeout);
        }
        co_return;
      }
      const auto& req = parser.get();
      bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
      bool head = req.method() == http::verb::head;
      Reply reply = self->site->handle(req.method_string(), req.target(), has_body);
      spdlog::debug("web: conn {} {}: {} {} -> {}", id, client.to_string(),
                    std::string_view(req.method_string()), std::string_view(req.target()),
                    reply.status);
      // A body we did not read would be taken for the next request: close after answering.
      bool keep_alive = req.keep_alive() && !has_body && !self->stopping;
      if (!co_await write(stream, std::move(reply), req.version(), head, keep_alive,
                          limits.write_timeout) ||
          !keep_alive)
        co_return;
    }
  }

  // Writes `r`; HEAD gets the same head with no body. False when the write failed (the
  // connection is then closed).
  static asio::awaitable<bool> write(beast::tcp_stream& stream, Reply r, unsigned version,
                                     bool head, bool keep_alive,
                                     std::chrono::milliseconds timeout) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "pipgate");
    res.set(http::field::content_type, r.content_type);
    res.set("X-Content-Type-Options", "nosniff");
    for (auto& [k, v] : r.headers) res.set(k, v);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    stream.expires_after(timeout);
    error_code ec;
    if (head) {
      http::response<http::empty_body> h{std::move(res.base())};
      std::tie(ec, std::ignore) =
          co_await http::async_write(stream, h, asio::as_tuple(asio::use_awaitable));
    } else {
      std::tie(ec, std::ignore) =
          co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    }
    if (!ec && !keep_alive) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_return !ec;
  }
};

Server::Server(asio::io_context& io, const Config& cfg, std::string ca_pem, FiguresFn figures,
               ServerLimits limits, const MetricsRegistry& registry)
    : state_(std::make_shared<State>(io, registry)) {
  state_->cfg = cfg;
  state_->ca_pem = std::move(ca_pem);
  state_->figures = std::move(figures);
  state_->limits = limits;
}

Server::~Server() { stop(); }

Result<> Server::start() {
  auto& s = *state_;
  std::string name = host_name();
  auto ca = make_ca_downloads(s.ca_pem, name);
  if (!ca)
    return make_error(ca.error().code,
                      "web: the CA certificate does not parse: " + ca.error().detail);

  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (const auto& ep : s.cfg.web.listen) {
    auto a = listen_tcp(s.io, ep, {.config_key = "[web] listen"});
    if (!a) return std::unexpected(a.error());
    acceptors.push_back(std::move(*a));
  }
  // The page's commands name the port actually bound (a configured 0 is the kernel's choice).
  Config bound = s.cfg;
  for (std::size_t i = 0; i < acceptors.size(); ++i) {
    error_code ec;
    auto local = acceptors[i]->local_endpoint(ec);
    if (!ec) bound.web.listen[i].port = local.port();
  }
  s.site =
      std::make_unique<Site>(page_facts(bound, *ca, name), std::move(*ca), s.figures, s.registry);
  s.acceptors = std::move(acceptors);
  for (auto& a : s.acceptors) {
    asio::co_spawn(s.io, s.accept_loop(*a), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        spdlog::error("web: accept loop: unexpected exception: {}", x.what());
      }
    });
    auto local = a->local_endpoint();
    spdlog::info("web: onboarding page and /metrics on {}:{} (clients use {}/)",
                 local.address().to_string(), local.port(), s.site->facts().base_url);
  }
  return {};
}

void Server::stop() {
  auto& s = *state_;
  s.stopping = true;
  for (auto& a : s.acceptors) {
    error_code ignored;
    a->close(ignored);
  }
  for (auto& [id, c] : s.connections) c.close();
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

}  // namespace pipgate::web
