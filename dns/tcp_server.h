// Serves DNS over TCP on every listen address (RFC 7766): two-byte length prefix, several
// queries per connection answered as they complete (possibly out of order, §6.2.1.1), an idle
// timeout, and a bound on open connections (past it new connections are closed at once).
// A thin shell: every DNS rule lives in the Responder.
//
//   auto tcp = TcpServer::bind(io, cfg.dns.listen, TcpServerOptions::from(cfg));
//   (*tcp)->start(responder, forwarder, clock);
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/config.h"
#include "common/net.h"
#include "common/result.h"

namespace pipgate::dns {

class Responder;
class Forwarder;

struct TcpServerOptions {
  // Closes a connection with no query outstanding after this long without traffic, or whose
  // client has not read an answer for this long.
  std::chrono::seconds idle_timeout{10};
  std::uint32_t max_connections = 256;
  // Answers of one connection pending (upstream) or unsent at once; reading pauses past it.
  // TODO(#3): [dns] tcp_max_pipelined config key.
  std::uint32_t max_pipelined = 64;

  static TcpServerOptions from(const Config& cfg);
};

class TcpServer {
 public:
  // Opens, binds and listens on each endpoint. kUnavailable naming the endpoint on failure.
  [[nodiscard]] static Result<std::unique_ptr<TcpServer>> bind(boost::asio::io_context& io,
                                                               const std::vector<Endpoint>& listen,
                                                               const TcpServerOptions& options);
  ~TcpServer();

  // Starts accepting. Same lifetime rules as UdpServer::start.
  void start(Responder& responder, Forwarder& forwarder, const Clock& clock);
  // Closes the listening sockets and every open connection.
  void stop();

  std::vector<Endpoint> local_endpoints() const;
  std::size_t open_connections() const;

 private:
  struct State;
  explicit TcpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::dns
