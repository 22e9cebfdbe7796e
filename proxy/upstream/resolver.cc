#include "proxy/upstream/resolver.h"

#include <ares.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <map>

#include "proxy/internal/async_event.h"

namespace pipgate::proxy::upstream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

struct CacheEntry {
  std::vector<asio::ip::address> addresses;
  MonotonicTime expires;
};

// One lookup in flight: c-ares' callback fills it and wakes the coroutine that waits on it.
struct Pending {
  explicit Pending(asio::any_io_executor ex) : done_event(ex) {}
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<asio::ip::address> addresses;
  int min_ttl = 0;
  internal::AsyncEvent done_event;
};

}  // namespace

struct Resolver::State : std::enable_shared_from_this<Resolver::State> {
  State(asio::any_io_executor ex, const ProxyOptions& o, const Clock& c)
      : executor(ex), opts(o), clock(c), timer(ex) {}
  ~State() {
    for (auto& [fd, w] : watches) w->descriptor.release();
    watches.clear();
    if (channel) ares_destroy(channel);
  }

  struct Watch {
    explicit Watch(asio::any_io_executor ex, int fd) : descriptor(ex, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false, want_write = false, reading = false, writing = false;
  };

  asio::any_io_executor executor;
  const ProxyOptions& opts;
  const Clock& clock;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::map<int, std::shared_ptr<Watch>> watches;
  std::map<std::string, CacheEntry> cache;

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<State*>(data);
    if (!readable && !writable) {
      if (auto it = self->watches.find(fd); it != self->watches.end()) {
        it->second->descriptor.release();  // c-ares closes its own sockets
        self->watches.erase(it);
      }
      return;
    }
    auto& w = self->watches[fd];
    if (!w) w = std::make_shared<Watch>(self->executor, fd);
    w->want_read = readable;
    w->want_write = writable;
    self->arm(fd, w);
  }

  void arm(int fd, const std::shared_ptr<Watch>& w) {
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                               [self = shared_from_this(), fd, w](const error_code& ec) {
                                 w->reading = false;
                                 if (ec || self->watches.count(fd) == 0) return;
                                 ares_process_fd(self->channel, fd, ARES_SOCKET_BAD);
                                 self->after_process(fd);
                               });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                               [self = shared_from_this(), fd, w](const error_code& ec) {
                                 w->writing = false;
                                 if (ec || self->watches.count(fd) == 0) return;
                                 ares_process_fd(self->channel, ARES_SOCKET_BAD, fd);
                                 self->after_process(fd);
                               });
    }
  }

  void after_process(int fd) {
    if (auto it = watches.find(fd); it != watches.end()) arm(fd, it->second);
    arm_timer();
  }

  void arm_timer() {
    timeval tv{};
    if (!ares_timeout(channel, nullptr, &tv)) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    timer.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->arm_timer();
    });
  }

  static void on_result(void* arg, int status, int, ares_addrinfo* result) {
    auto* holder = static_cast<std::shared_ptr<Pending>*>(arg);
    auto pending = std::move(*holder);
    delete holder;
    pending->status = status;
    if (status == ARES_SUCCESS && result) {
      bool first = true;
      for (auto* n = result->nodes; n; n = n->ai_next) {
        if (n->ai_family == AF_INET) {
          auto* sa = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
          asio::ip::address_v4::bytes_type b;
          std::memcpy(b.data(), &sa->sin_addr, 4);
          pending->addresses.emplace_back(asio::ip::address_v4(b));
        } else if (n->ai_family == AF_INET6) {
          auto* sa = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
          asio::ip::address_v6::bytes_type b;
          std::memcpy(b.data(), &sa->sin6_addr, 16);
          pending->addresses.emplace_back(asio::ip::address_v6(b));
        } else {
          continue;
        }
        pending->min_ttl = first ? n->ai_ttl : std::min(pending->min_ttl, n->ai_ttl);
        first = false;
      }
    }
    if (result) ares_freeaddrinfo(result);
    pending->done = true;
    pending->done_event.notify();
  }
};

Result<std::unique_ptr<Resolver>> Resolver::create(asio::any_io_executor ex,
                                                   const ProxyOptions& opts, const Clock& clock) {
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  if (init != ARES_SUCCESS) return make_error(Errc::kInternal, "ares_library_init failed");
  auto state = std::make_shared<State>(ex, opts, clock);
  ares_options o{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
             ARES_OPT_TRIES;
  o.sock_state_cb = &State::on_sock_state;
  o.sock_state_cb_data = state.get();
  char lookups[] = "b";  // DNS only: never /etc/hosts
  o.lookups = lookups;
  o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  o.timeout = static_cast<int>(opts.dns_timeout.count());
  o.tries = 2;
  if (int rc = ares_init_options(&state->channel, &o, mask); rc != ARES_SUCCESS)
    return make_error(Errc::kInternal, std::string("ares_init_options: ") + ares_strerror(rc));
  std::string servers;
  for (const auto& ep : opts.dns_upstream) {
    if (!servers.empty()) servers += ',';
    servers += ep.to_string();
  }
  if (int rc = ares_set_servers_ports_csv(state->channel, servers.c_str()); rc != ARES_SUCCESS)
    return make_error(Errc::kConfig, "[dns] upstream \"" + servers + "\": " + ares_strerror(rc));
  return std::unique_ptr<Resolver>(new Resolver(std::move(state)));
}

Resolver::Resolver(std::shared_ptr<State> state) : state_(std::move(state)) {}

Resolver::~Resolver() {
  state_->timer.cancel();
  // Fails the lookups in flight (their callbacks run with ARES_EDESTRUCTION) and closes sockets.
  for (auto& [fd, w] : state_->watches) w->descriptor.release();
  state_->watches.clear();
  if (state_->channel) ares_destroy(state_->channel);
  state_->channel = nullptr;
}

asio::awaitable<Result<std::vector<asio::ip::address>>> Resolver::lookup(std::string host) {
  auto state = state_;
  auto now = state->clock.monotonic_now();
  if (auto it = state->cache.find(host); it != state->cache.end()) {
    if (it->second.expires > now) co_return it->second.addresses;
    state->cache.erase(it);
  }
  auto pending = std::make_shared<Pending>(state->executor);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(state->channel, host.c_str(), nullptr, &hints, &State::on_result,
                   new std::shared_ptr<Pending>(pending));
  state->arm_timer();
  while (!pending->done) co_await pending->done_event.wait();
  if (pending->status != ARES_SUCCESS || pending->addresses.empty())
    co_return make_error(
        Errc::kUnavailable,
        "resolving " + host + " via [dns] upstream: " +
            (pending->status != ARES_SUCCESS ? ares_strerror(pending->status) : "no address"));
  auto addrs = std::move(pending->addresses);
  bool v4_first = state->opts.upstream_ipv4_first;
  std::stable_partition(addrs.begin(), addrs.end(),
                        [&](const auto& a) { return a.is_v4() == v4_first; });
  auto ttl = std::clamp<std::chrono::seconds>(std::chrono::seconds(pending->min_ttl),
                                              state->opts.dns_min_ttl, state->opts.dns_max_ttl);
  state->cache[host] = CacheEntry{addrs, state->clock.monotonic_now() + ttl};
  co_return addrs;
}

}  // namespace pipgate::proxy::upstream
