#include "proxy/tls_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>

namespace pipgate::proxy {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string ssl_error_text(const error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<uint32_t>(ec.value()), buf, sizeof buf);
    return buf;
  }
  return ec.message();
}

}  // namespace

struct TlsStream::State : std::enable_shared_from_this<TlsStream::State> {
  State(tcp::socket socket, SSL* ssl)
      : stream(std::move(socket), ssl), timer(stream.get_executor()) {}
  ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  bool timed_out = false;

  Error io_error(const error_code& ec, std::string_view what) const {
    if (timed_out) return Error{Errc::kUnavailable, std::string(what) + ": timed out"};
    if (ec == ssl::error::stream_truncated)
      return Error{Errc::kUnavailable,
                   std::string(what) + ": connection closed without TLS close_notify"};
    return Error{Errc::kUnavailable, std::string(what) + ": " + ssl_error_text(ec)};
  }

  // Each set_deadline starts a new generation; a wait of an older one does nothing.
  void arm(std::uint64_t gen) {
    timer.async_wait([weak = weak_from_this(), gen](const error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || gen != self->generation) return;
      self->timed_out = true;
      error_code ignored;
      self->stream.lowest_layer().close(ignored);
    });
  }
  std::uint64_t generation = 0;
};

Result<SslContextPtr> make_upstream_tls_context(const std::string& ca_file) {
  SslContextPtr ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) return make_error(Errc::kInternal, "SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    ERR_clear_error();
    return make_error(Errc::kConfig,
                      "[proxy] upstream_ca_file: cannot load CA bundle \"" + ca_file + "\"");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

Result<std::unique_ptr<TlsStream>> TlsStream::make(tcp::socket socket, ssl_ctx_st* ctx) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return make_error(Errc::kInternal, "SSL_new failed");
  auto state = std::make_shared<State>(std::move(socket), ssl);
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(state)));
}

TlsStream::TlsStream(std::shared_ptr<State> state) : state_(std::move(state)) {}

TlsStream::~TlsStream() {
  error_code ignored;
  state_->timer.cancel();
  state_->stream.lowest_layer().close(ignored);
}

void TlsStream::set_deadline(MonotonicTime deadline) {
  ++state_->generation;
  state_->timer.expires_at(deadline);  // cancels the pending wait
  if (deadline != MonotonicTime::max()) state_->arm(state_->generation);
}

asio::awaitable<Result<>> TlsStream::accept(MonotonicTime deadline) {
  set_deadline(deadline);
  auto [ec] = co_await state_->stream.async_handshake(ssl::stream_base::server, kTuple);
  set_deadline(MonotonicTime::max());
  if (ec) {
    auto e = state_->io_error(ec, "TLS handshake");
    e.code = Errc::kInvalidInput;
    co_return std::unexpected(e);
  }
  co_return Result<>{};
}

asio::awaitable<Result<>> TlsStream::connect(const tcp::endpoint& endpoint, std::string_view host,
                                             bool offer_h2, MonotonicTime deadline) {
  set_deadline(deadline);
  auto [cec] = co_await state_->stream.lowest_layer().async_connect(endpoint, kTuple);
  if (cec) {
    set_deadline(MonotonicTime::max());
    auto where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    co_return std::unexpected(
        state_->io_error(cec, "connecting to " + std::string(host) + " at " + where));
  }
  error_code ignored;
  state_->stream.lowest_layer().set_option(tcp::no_delay(true), ignored);
  SSL* ssl = state_->stream.native_handle();
  std::string name(host);
  SSL_set_tlsext_host_name(ssl, name.c_str());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  X509_VERIFY_PARAM_set1_host(param, name.data(), name.size());
  static const unsigned char kH2AndH1[] = "\x02h2\x08http/1.1";
  static const unsigned char kH1[] = "\x08http/1.1";
  if (offer_h2)
    SSL_set_alpn_protos(ssl, kH2AndH1, sizeof kH2AndH1 - 1);
  else
    SSL_set_alpn_protos(ssl, kH1, sizeof kH1 - 1);
  auto [ec] = co_await state_->stream.async_handshake(ssl::stream_base::client, kTuple);
  set_deadline(MonotonicTime::max());
  if (ec) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      co_return make_error(Errc::kUnavailable, "TLS handshake with " + name +
                                                   ": certificate verify failed: " +
                                                   X509_verify_cert_error_string(verify));
    co_return std::unexpected(state_->io_error(ec, "TLS handshake with " + name));
  }
  co_return Result<>{};
}

asio::awaitable<Result<std::size_t>> TlsStream::read_some(std::span<char> out) {
  auto [ec, n] =
      co_await state_->stream.async_read_some(asio::buffer(out.data(), out.size()), kTuple);
  if (ec == asio::error::eof) co_return std::size_t{0};
  if (ec) co_return std::unexpected(state_->io_error(ec, "read"));
  co_return n;
}

asio::awaitable<Result<>> TlsStream::write(std::span<const asio::const_buffer> buffers) {
  auto [ec, n] = co_await asio::async_write(state_->stream, buffers, kTuple);
  if (ec) co_return std::unexpected(state_->io_error(ec, "write"));
  co_return Result<>{};
}

asio::awaitable<Result<>> TlsStream::write(std::string_view bytes) {
  asio::const_buffer b(bytes.data(), bytes.size());
  co_return co_await write(std::span<const asio::const_buffer>(&b, 1));
}

asio::awaitable<void> TlsStream::shutdown(MonotonicTime deadline) {
  if (!is_open()) co_return;
  set_deadline(deadline);
  co_await state_->stream.async_shutdown(kTuple);
  close();
}

void TlsStream::close() {
  error_code ignored;
  state_->timer.cancel();
  state_->stream.lowest_layer().close(ignored);
}

bool TlsStream::is_open() const { return state_->stream.lowest_layer().is_open(); }

std::string TlsStream::alpn() const {
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(state_->stream.native_handle(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string TlsStream::server_name() const {
  const char* name = SSL_get_servername(state_->stream.native_handle(), TLSEXT_NAMETYPE_host_name);
  std::string out = name ? name : "";
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool TlsStream::session_reused() const {
  return SSL_session_reused(state_->stream.native_handle()) == 1;
}

tcp::endpoint TlsStream::remote_endpoint() const {
  error_code ec;
  return state_->stream.lowest_layer().remote_endpoint(ec);
}

asio::any_io_executor TlsStream::get_executor() { return state_->stream.get_executor(); }

SSL* TlsStream::native_handle() { return state_->stream.native_handle(); }

}  // namespace pipgate::proxy
