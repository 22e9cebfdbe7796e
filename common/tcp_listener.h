// Opening a TCP listener the way every server of the appliance does: SO_REUSEADDR (a restart
// rebinds at once), IPv6 sockets v6-only (a "[::]" listener never takes the IPv4 port another
// entry names), and optionally SO_REUSEPORT (one listener per event loop on the same address).
// Header-only: Asio is header-only too, and both executables' servers use it.
//
//   auto a = listen_tcp(io, ep, {.reuse_port = true, .config_key = "[proxy] listen"});
//   if (!a) return std::unexpected(a.error());   // "[proxy] listen 0.0.0.0:443: cannot listen: …"
#pragma once

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <memory>
#include <string_view>

#include "common/asio_address.h"
#include "common/net.h"
#include "common/result.h"

namespace pipgate {

struct ListenOptions {
  bool reuse_port = false;
  std::string_view config_key;  // for the error: "[web] listen"
};

inline Result<std::unique_ptr<boost::asio::ip::tcp::acceptor>> listen_tcp(
    boost::asio::io_context& io, const Endpoint& ep, ListenOptions options) {
  namespace asio = boost::asio;
  using asio::ip::tcp;
  using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  tcp::endpoint endpoint(to_asio(ep.address), ep.port);
  auto a = std::make_unique<tcp::acceptor>(io);
  boost::system::error_code ec;
  a->open(endpoint.protocol(), ec);
  if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && options.reuse_port) a->set_option(ReusePort(true), ec);
  if (!ec && endpoint.address().is_v6()) a->set_option(asio::ip::v6_only(true), ec);
  if (!ec) a->bind(endpoint, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(Errc::kUnavailable, std::string(options.config_key) + " " + ep.to_string() +
                                              ": cannot listen: " + ec.message());
  return a;
}

}  // namespace pipgate
