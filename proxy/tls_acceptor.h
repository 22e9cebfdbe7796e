// Server side of TLS for client connections. The SNI picks the leaf: a name with no leaf in
// certs::LeafStore (not intercepted), or no SNI at all, fails the handshake with an
// unrecognized_name alert, so nothing else is ever served. ALPN offers h2 then http/1.1; a client
// offering neither (or no ALPN) gets HTTP/1.1. TLS 1.2 with ECDHE-ECDSA AEAD suites, or TLS 1.3.
// Session tickets resume across leaves; BoringSSL rotates the ticket keys itself (every 2 days).
//
// A renewed leaf is picked up by the next handshake: contexts are cached per Leaf object, and a
// new Leaf from LeafStore::current() gets a new context (the old one is dropped).
//
//   auto acceptor = TlsAcceptor::create(leaves);
//   auto tls = co_await (*acceptor)->accept(std::move(socket), deadline);
//   if (tls) dispatch on (*tls)->alpn() == "h2"
//
// Threads: accept() may run on several executors at once; `leaves` must outlive the acceptor.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "proxy/tls_stream.h"

namespace pipgate::certs {
class LeafStore;
}

namespace pipgate::proxy {

class TlsAcceptor {
 public:
  // kInternal when BoringSSL cannot make the context.
  [[nodiscard]] static Result<std::unique_ptr<TlsAcceptor>> create(const certs::LeafStore& leaves);
  ~TlsAcceptor();
  TlsAcceptor(const TlsAcceptor&) = delete;
  TlsAcceptor& operator=(const TlsAcceptor&) = delete;

  // Runs the handshake on `socket` by `deadline`. kInvalidInput with the reason when the client's
  // handshake fails (unknown name, no common version or suite, timeout).
  [[nodiscard]] boost::asio::awaitable<Result<std::unique_ptr<TlsStream>>> accept(
      boost::asio::ip::tcp::socket socket, MonotonicTime deadline);

 private:
  struct State;
  explicit TlsAcceptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace pipgate::proxy
