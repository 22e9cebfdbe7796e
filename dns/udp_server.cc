#include "dns/udp_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "common/asio_address.h"
#include "dns/forwarder.h"
#include "dns/log_throttle.h"
#include "dns/responder.h"

namespace pipgate::dns {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr std::size_t kMaxDatagram = 65535;
// Room for bursts while the loop is busy; the kernel caps it at net.core.rmem_max.
constexpr int kReceiveBufferBytes = 4 << 20;
// Datagrams handled per wake-up before other sockets and connections get their turn.
constexpr int kBatch = 64;

}  // namespace

struct UdpServer::State : std::enable_shared_from_this<UdpServer::State> {
  explicit State(asio::io_context& io) : io(io) {}
  asio::io_context& io;
  std::vector<std::unique_ptr<udp::socket>> sockets;
  Responder* responder = nullptr;
  Forwarder* forwarder = nullptr;
  const Clock* clock = nullptr;
  bool is_stopped = false;
  LogThrottle refusals;
  LogThrottle rate_limited;

  // Never blocks: the socket is non-blocking, and a datagram the kernel cannot take now is lost
  // like any UDP datagram (the client retries).
  static void send(udp::socket& sock, const udp::endpoint& peer, const Bytes& packet) {
    if (packet.empty() || !sock.is_open()) return;
    boost::system::error_code ec;
    sock.send_to(asio::buffer(packet), peer, 0, ec);
    if (ec && spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("udp: reply to {} lost: {}", peer.address().to_string(), ec.message());
    }
  }

  void carry_out(udp::socket& sock, const udp::endpoint& peer, const Client& client,
                 Outcome outcome) {
    if (auto* a = std::get_if<Answer>(&outcome)) {
      send(sock, peer, a->packet);
    } else if (auto* r = std::get_if<Refuse>(&outcome)) {
      // Once per client and episode, then every 10 s at most: no string work per packet.
      if (auto n = refusals.note(client.address, clock->monotonic_now())) {
        spdlog::info("udp: refused {} (not in [dns] allow): {} quer{} since the last line",
                     peer.address().to_string(), n, n == 1 ? "y" : "ies");
      }
      send(sock, peer, r->packet);
    } else if (auto* d = std::get_if<Drop>(&outcome); d && d->rate_limited) {
      if (auto n = rate_limited.note(client.address, clock->monotonic_now())) {
        spdlog::warn(
            "udp: rate-limiting {} (over [dns] rate_limit): {} quer{} dropped since the "
            "last line",
            peer.address().to_string(), n, n == 1 ? "y" : "ies");
      }
    } else if (auto* f = std::get_if<Forward>(&outcome)) {
      const Bytes upstream_query = f->upstream_query;
      forwarder->send(upstream_query, [self = shared_from_this(), &sock, peer,
                                       fwd = std::move(*f)](Result<Bytes> reply) {
        if (self->is_stopped) return;
        if (!reply && spdlog::should_log(spdlog::level::debug)) {
          spdlog::debug("udp: query from {} failed upstream: {}", peer.address().to_string(),
                        reply.error().detail);
        }
        Outcome done = self->responder->complete(fwd, reply, self->clock->monotonic_now());
        if (auto* a = std::get_if<Answer>(&done)) send(sock, peer, a->packet);
      });
    }
  }

  // Waits for readability, then drains up to kBatch datagrams with non-blocking reads: one
  // trip through the reactor per burst instead of per datagram.
  asio::awaitable<void> serve(udp::socket& sock) {
    auto self = shared_from_this();
    std::vector<std::uint8_t> buf(kMaxDatagram);
    udp::endpoint peer;
    for (;;) {
      auto [wait_ec] =
          co_await sock.async_wait(udp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
      if (is_stopped || !sock.is_open()) co_return;
      if (wait_ec) continue;
      for (int i = 0; i < kBatch; ++i) {
        boost::system::error_code ec;
        const std::size_t n = sock.receive_from(asio::buffer(buf), peer, 0, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) {
          spdlog::debug("udp: receive: {}", ec.message());  // e.g. ICMP errors reported late
          continue;
        }
        const Client client{from_asio(peer.address()), Transport::kUdp};
        carry_out(sock, peer, client,
                  responder->handle(std::span(buf.data(), n), client, clock->monotonic_now()));
        if (is_stopped) co_return;
      }
    }
  }
};

Result<std::unique_ptr<UdpServer>> UdpServer::bind(asio::io_context& io,
                                                   const std::vector<Endpoint>& listen) {
  auto state = std::make_shared<State>(io);
  for (const Endpoint& ep : listen) {
    udp::endpoint local(to_asio(ep.address), ep.port);
    auto sock = std::make_unique<udp::socket>(io);
    boost::system::error_code ec;
    sock->open(local.protocol(), ec);
    if (!ec && local.address().is_v6()) sock->set_option(asio::ip::v6_only(true), ec);
    if (!ec) {
      boost::system::error_code ignored;  // best effort: a smaller buffer still works
      sock->set_option(asio::socket_base::receive_buffer_size(kReceiveBufferBytes), ignored);
      sock->bind(local, ec);
    }
    if (!ec) sock->non_blocking(true, ec);
    if (ec) {
      return make_error(Errc::kUnavailable,
                        "cannot listen on " + ep.to_string() + "/udp: " + ec.message());
    }
    state->sockets.push_back(std::move(sock));
  }
  return std::unique_ptr<UdpServer>(new UdpServer(std::move(state)));
}

UdpServer::UdpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

UdpServer::~UdpServer() { stop(); }

void UdpServer::start(Responder& responder, Forwarder& forwarder, const Clock& clock) {
  state_->responder = &responder;
  state_->forwarder = &forwarder;
  state_->clock = &clock;
  for (auto& sock : state_->sockets) {
    asio::co_spawn(state_->io, state_->serve(*sock), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("udp: server loop ended: {}", ex.what());
      }
    });
  }
}

void UdpServer::stop() {
  state_->is_stopped = true;
  for (auto& sock : state_->sockets) {
    boost::system::error_code ec;
    sock->close(ec);
  }
}

std::vector<Endpoint> UdpServer::local_endpoints() const {
  std::vector<Endpoint> out;
  for (const auto& sock : state_->sockets) {
    boost::system::error_code ec;
    udp::endpoint ep = sock->local_endpoint(ec);
    if (!ec) out.push_back(Endpoint{from_asio(ep.address()), ep.port()});
  }
  return out;
}

}  // namespace pipgate::dns
