// One TLS connection over a TCP socket (BoringSSL underneath, hidden here), for both directions:
// clients' connections after TlsAcceptor, and the upstream client's connections to the real hosts.
// Byte-oriented: the HTTP layers (Beast's parser/serializer, nghttp2's mem_recv/mem_send) sit on
// read_some/write.
//
//   auto tls = TlsStream::make(std::move(socket), ctx.get());
//   if (auto r = co_await (*tls)->connect("pypi.org", true, deadline); !r) → 502, log r.error()
//   (*tls)->alpn() == "h2"
//
// One read and one write may be in flight at once (full duplex); not thread-safe otherwise. The
// deadline (set_deadline) closes the socket when it passes, failing every pending operation with
// kUnavailable "timed out", so a stalled peer never holds a coroutine forever.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/clock.h"
#include "common/result.h"

struct ssl_ctx_st;  // BoringSSL's SSL_CTX
struct ssl_st;      // BoringSSL's SSL

namespace pipgate::proxy {

// An SSL_CTX with shared ownership (SSL_CTX_free on last release).
using SslContextPtr = std::shared_ptr<ssl_ctx_st>;

// The context for upstream connections: TLS 1.2+, peer verification against the PEM bundle
// `ca_file`, ALPN set per connection. kConfig when the bundle cannot be read.
[[nodiscard]] Result<SslContextPtr> make_upstream_tls_context(const std::string& ca_file);

class TlsStream {
 public:
  // Wraps `socket` with a new SSL made from `ctx`. kInternal if BoringSSL cannot allocate it.
  [[nodiscard]] static Result<std::unique_ptr<TlsStream>> make(boost::asio::ip::tcp::socket socket,
                                                               ssl_ctx_st* ctx);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Server handshake (the context's callbacks pick the certificate and ALPN). kInvalidInput when
  // the client's handshake failed (the detail says why: unknown SNI, no shared protocol...).
  [[nodiscard]] boost::asio::awaitable<Result<>> accept(MonotonicTime deadline);
  // TCP connect to `endpoint` (the socket given to make() must be unopened), then the client
  // handshake for `host`: SNI, certificate verified for `host` against the context's CAs, ALPN
  // offering h2 (when `offer_h2`) and http/1.1. kUnavailable with the connect, verification or
  // I/O failure in the detail ("certificate verify failed: Hostname mismatch").
  [[nodiscard]] boost::asio::awaitable<Result<>> connect(
      const boost::asio::ip::tcp::endpoint& endpoint, std::string_view host, bool offer_h2,
      MonotonicTime deadline);

  // Reads at least one byte into `out`; 0 when the peer closed the TLS session cleanly.
  // kUnavailable on errors, truncation (TCP close without close_notify) and deadline.
  [[nodiscard]] boost::asio::awaitable<Result<std::size_t>> read_some(std::span<char> out);
  // Writes all of `buffers`. kUnavailable on errors and deadline.
  [[nodiscard]] boost::asio::awaitable<Result<>> write(
      std::span<const boost::asio::const_buffer> buffers);
  [[nodiscard]] boost::asio::awaitable<Result<>> write(std::string_view bytes);
  // Sends close_notify, waits for the peer's until `deadline`, and closes the socket.
  boost::asio::awaitable<void> shutdown(MonotonicTime deadline);
  // Closes the socket now; pending operations fail.
  void close();
  bool is_open() const;

  // Pending and later operations fail once `deadline` passes. MonotonicTime::max() disarms.
  void set_deadline(MonotonicTime deadline);

  std::string alpn() const;         // negotiated protocol, "" when none
  std::string server_name() const;  // SNI the client sent (server side), lower case
  bool session_reused() const;
  boost::asio::ip::tcp::endpoint remote_endpoint() const;
  boost::asio::any_io_executor get_executor();
  // The BoringSSL connection, for the TLS layer's own callbacks (TlsAcceptor). Owned here.
  ssl_st* native_handle();

 private:
  struct State;
  explicit TlsStream(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::proxy
