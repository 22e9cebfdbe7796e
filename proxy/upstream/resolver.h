// Name resolution for the upstream client: c-ares asking only the configured upstream resolvers
// ([dns] upstream), never the system resolver nor /etc/hosts (the system resolver may be this
// appliance, which answers its own address for the intercepted names: a loop). Answers are
// cached for their TTL, clamped to [dns_min_ttl, dns_max_ttl].
//
// c-ares runs on the caller's executor, with no thread of its own: it names the sockets to watch
// (ARES_OPT_SOCK_STATE_CB), readiness calls ares_process_fd, and one timer follows ares_timeout.
//
//   auto resolver = upstream::Resolver::create(io.get_executor(), opts, clock);
//   auto addrs = co_await (*resolver)->lookup("pypi.org");   // A and AAAA, IPv4 first if asked
//
// Not thread-safe: one executor. The resolver must outlive every lookup it started.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "proxy/proxy_options.h"

namespace pipgate::proxy::upstream {

class Resolver {
 public:
  // kInternal when c-ares cannot start; kConfig when a resolver address is unusable.
  [[nodiscard]] static Result<std::unique_ptr<Resolver>> create(boost::asio::any_io_executor ex,
                                                                const ProxyOptions& opts,
                                                                const Clock& clock);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The addresses of `host`, IPv4 before IPv6 when opts.upstream_ipv4_first (else IPv6 first),
  // in the resolver's order within a family. kUnavailable naming the host and the c-ares status
  // when the resolvers fail or time out, or the name has no address.
  [[nodiscard]] boost::asio::awaitable<Result<std::vector<boost::asio::ip::address>>> lookup(
      std::string host);

 private:
  struct State;
  explicit Resolver(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::proxy::upstream
