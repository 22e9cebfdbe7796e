// Serves DNS over UDP on every listen address: one coroutine per socket receives a datagram,
// asks the Responder, and sends its answer (or hands a Forward to the Forwarder and sends the
// completed answer later). A thin shell: every DNS rule lives in the Responder.
//
//   auto udp = UdpServer::bind(io, cfg.dns.listen);        // as root, before dropping privileges
//   (*udp)->start(responder, forwarder, clock);            // then io.run()
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "common/net.h"
#include "common/result.h"

namespace pipgate::dns {

class Responder;
class Forwarder;

class UdpServer {
 public:
  // Opens and binds one UDP socket per endpoint (IPv6 ones v6-only, so "0.0.0.0:53" and
  // "[::]:53" can both be listed). kUnavailable naming the endpoint when one cannot be bound.
  [[nodiscard]] static Result<std::unique_ptr<UdpServer>> bind(boost::asio::io_context& io,
                                                               const std::vector<Endpoint>& listen);
  ~UdpServer();

  // Starts receiving. `responder`, `forwarder` and `clock` must outlive the io_context's run,
  // or stop() must be called first. Call once, on the io_context's thread.
  void start(Responder& responder, Forwarder& forwarder, const Clock& clock);
  // Closes the sockets; in-flight forwarded queries are answered nowhere.
  void stop();

  // The bound addresses (with the port the kernel picked for port 0).
  std::vector<Endpoint> local_endpoints() const;

 private:
  struct State;
  explicit UdpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::dns
