#include "dns/forwarder.h"

#include <ares.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace pipgate::dns {

namespace asio = boost::asio;

namespace {

// One socket c-ares asked us to watch. The descriptor is released, never closed, by us:
// c-ares owns the file descriptor.
struct Watch {
  Watch(asio::io_context& io, ares_socket_t fd) : descriptor(io, fd) {}
  asio::posix::stream_descriptor descriptor;
  bool wants_read = false;
  bool wants_write = false;
  bool is_reading = false;
  bool is_writing = false;
  bool is_closed = false;
};

}  // namespace

struct Forwarder::State : std::enable_shared_from_this<Forwarder::State> {
  State(asio::io_context& io, Random& random) : io(io), random(random), timer(io) {}

  asio::io_context& io;
  Random& random;
  std::unordered_set<std::uint16_t> ids_in_flight;
  bool has_servers = false;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::unordered_map<ares_socket_t, std::shared_ptr<Watch>> watches;
  std::size_t pending = 0;

  struct Request {
    std::shared_ptr<State> state;
    Callback done;
    std::uint16_t id;
  };

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<State*>(data)->socket_state(fd, readable != 0, writable != 0);
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<Request> req(static_cast<Request*>(arg));
    --req->state->pending;
    req->state->ids_in_flight.erase(req->id);
    // ARES_EDESTRUCTION: the Forwarder is going away; its users are too (see the header).
    if (status == ARES_EDESTRUCTION) return;
    if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
      req->done(Bytes(abuf, abuf + alen));
    } else {
      req->done(make_error(Errc::kUnavailable,
                           std::string("upstream resolvers: ") + ares_strerror(status)));
    }
  }

  void socket_state(ares_socket_t fd, bool readable, bool writable) {
    auto it = watches.find(fd);
    if (!readable && !writable) {  // c-ares is about to close fd
      if (it != watches.end()) {
        it->second->is_closed = true;
        boost::system::error_code ec;
        it->second->descriptor.cancel(ec);
        it->second->descriptor.release();
        watches.erase(it);
      }
      return;
    }
    if (it == watches.end()) it = watches.emplace(fd, std::make_shared<Watch>(io, fd)).first;
    it->second->wants_read = readable;
    it->second->wants_write = writable;
    arm(fd, it->second);
  }

  void arm(ares_socket_t fd, const std::shared_ptr<Watch>& w) {
    if (w->is_closed) return;
    if (w->wants_read && !w->is_reading) {
      w->is_reading = true;
      w->descriptor.async_wait(
          asio::posix::stream_descriptor::wait_read,
          [self = shared_from_this(), fd, w](const boost::system::error_code& ec) {
            w->is_reading = false;
            if (ec || w->is_closed || self->channel == nullptr) return;
            ares_process_fd(self->channel, fd, ARES_SOCKET_BAD);
            self->arm(fd, w);
            self->rearm_timer();
          });
    }
    if (w->wants_write && !w->is_writing) {
      w->is_writing = true;
      w->descriptor.async_wait(
          asio::posix::stream_descriptor::wait_write,
          [self = shared_from_this(), fd, w](const boost::system::error_code& ec) {
            w->is_writing = false;
            if (ec || w->is_closed || self->channel == nullptr) return;
            ares_process_fd(self->channel, ARES_SOCKET_BAD, fd);
            self->arm(fd, w);
            self->rearm_timer();
          });
    }
  }

  // One timer for all queries, due when c-ares next needs to time one out.
  void rearm_timer() {
    if (channel == nullptr) return;
    timeval tv{};
    timeval* next = ares_timeout(channel, nullptr, &tv);
    if (next == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(next->tv_sec) +
                        std::chrono::microseconds(next->tv_usec));
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->channel == nullptr) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->rearm_timer();
    });
  }

  void shutdown() {
    if (channel == nullptr) return;
    ares_channel c = std::exchange(channel, nullptr);
    ares_destroy(c);  // closes its sockets (releasing our watches) and ends pending queries
    for (auto& [fd, w] : watches) {
      w->is_closed = true;
      boost::system::error_code ec;
      w->descriptor.cancel(ec);
      w->descriptor.release();
    }
    watches.clear();
    timer.cancel();
  }
};

ForwarderOptions ForwarderOptions::from(const Config& cfg) {
  return ForwarderOptions{cfg.dns.upstream, cfg.dns.upstream_timeout, cfg.dns.upstream_attempts,
                          cfg.dns.max_udp_size};
}

Result<std::unique_ptr<Forwarder>> Forwarder::create(asio::io_context& io,
                                                     const ForwarderOptions& options,
                                                     Random& random) {
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
    return make_error(Errc::kInternal, std::string("c-ares init: ") + ares_strerror(rc));
  }
  auto state = std::make_shared<State>(io, random);
  ares_options opts{};
  // EDNS: c-ares 1.18 takes any UDP answer longer than 512 bytes for truncated unless it knows
  // the size we advertised (ares_process.c, process_answer).
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
  opts.ednspsz = std::max<int>(options.edns_udp_size, 512);
  opts.timeout = static_cast<int>(std::max<std::int64_t>(options.timeout.count(), 1));
  opts.tries = static_cast<int>(std::max<std::uint32_t>(options.attempts, 1));
  opts.sock_state_cb = &State::on_socket_state;
  opts.sock_state_cb_data = state.get();
  const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
                   ARES_OPT_EDNSPSZ;
  if (int rc = ares_init_options(&state->channel, &opts, mask); rc != ARES_SUCCESS) {
    return make_error(Errc::kInternal, std::string("c-ares: ") + ares_strerror(rc));
  }
  // Exactly the configured resolvers, never what /etc/resolv.conf says (it may name us).
  std::vector<ares_addr_port_node> nodes(options.upstream.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Endpoint& ep = options.upstream[i];
    ares_addr_port_node& n = nodes[i];
    n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
    n.family = ep.address.is_v4() ? AF_INET : AF_INET6;
    if (ep.address.is_v4()) {
      std::memcpy(&n.addr.addr4, ep.address.bytes.data(), 4);
    } else {
      std::memcpy(&n.addr.addr6, ep.address.bytes.data(), 16);
    }
    n.udp_port = ep.port;
    n.tcp_port = ep.port;
  }
  if (int rc = ares_set_servers_ports(state->channel, nodes.empty() ? nullptr : nodes.data());
      rc != ARES_SUCCESS) {
    state->shutdown();
    return make_error(Errc::kInternal, std::string("c-ares servers: ") + ares_strerror(rc));
  }
  state->has_servers = !nodes.empty();
  return std::unique_ptr<Forwarder>(new Forwarder(std::move(state)));
}

Forwarder::Forwarder(std::shared_ptr<State> state) : state_(std::move(state)) {}

Forwarder::~Forwarder() { state_->shutdown(); }

void Forwarder::send(std::span<const std::uint8_t> query, Callback done) {
  if (state_->channel == nullptr) {
    done(make_error(Errc::kUnavailable, "forwarder stopped"));
    return;
  }
  // Without resolvers c-ares 1.18 fails the query at once but leaks its copy; don't ask it.
  if (!state_->has_servers) {
    done(make_error(Errc::kUnavailable, "no [dns] upstream configured"));
    return;
  }
  if (query.size() < 12 || state_->ids_in_flight.size() >= 0xffff) {
    done(make_error(Errc::kUnavailable, "no query ID free"));
    return;
  }
  // A fresh unpredictable ID per upstream query (RFC 5452 §9.2): with c-ares 1.18 reusing one
  // UDP socket per resolver, the ID is most of what stands against spoofed answers.
  std::uint16_t id = 0;
  do {
    id = static_cast<std::uint16_t>(state_->random.next_u64());
  } while (state_->ids_in_flight.contains(id));
  state_->ids_in_flight.insert(id);
  Bytes wire(query.begin(), query.end());
  wire[0] = static_cast<std::uint8_t>(id >> 8);
  wire[1] = static_cast<std::uint8_t>(id & 0xff);
  ++state_->pending;
  auto* req = new State::Request{state_, std::move(done), id};
  ares_send(state_->channel, wire.data(), static_cast<int>(wire.size()), &State::on_answer, req);
  state_->rearm_timer();
}

std::size_t Forwarder::pending() const { return state_->pending; }

}  // namespace pipgate::dns
