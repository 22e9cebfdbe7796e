#include "proxy/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <optional>

namespace pipgate::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// BoringSSL runs on the socket itself, not through asio::ssl's memory BIO pair: records are
// sealed into `out` and handed to the kernel with one send() per SSL_write of up to 64 KiB (an
// h2 writer's batch: four records), and reads recv() straight into BoringSSL's record buffer. The
// memory BIO pair cost a copy each way, one send and one trip through the event loop per 16 KiB
// record (an epoll_wait per record in the bulk profile).
struct TlsStream::State : std::enable_shared_from_this<TlsStream::State> {
  State(tcp::socket s, SSL* ssl_) : socket(std::move(s)), ssl(ssl_), timer(socket.get_executor()) {}
  ~State() { SSL_free(ssl); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  tcp::socket socket;
  SSL* ssl;
  asio::steady_timer timer;
  bool timed_out = false;
  // The deadline in force, and when the timer's pending wait (if any) fires. Deadlines move at
  // every request and chunk; the timer is only re-armed when one comes earlier than the wait,
  // so an HTTP/1.1 keep-alive connection does not reschedule the loop's timer queue (and its
  // timerfd) twice per request. A wait that finds the deadline later re-arms for it.
  MonotonicTime deadline = MonotonicTime::max();
  std::optional<MonotonicTime> armed_for;

  // Encrypted bytes BoringSSL wrote that the kernel has not taken yet: out[out_sent, size).
  std::string out;
  std::size_t out_sent = 0;
  // What the last recv()/send() said when it failed, for the error message.
  bool peer_closed = false;  // recv() returned 0: TCP FIN
  int last_errno = 0;

  Error failure(std::string_view what, std::string detail) const {
    if (timed_out) return Error{Errc::kUnavailable, std::string(what) + ": timed out"};
    return Error{Errc::kUnavailable, std::string(what) + ": " + detail};
  }

  // Why a BoringSSL call failed: `ssl_error` from SSL_get_error, `queued` the error queue's
  // text, read at once (another coroutine on this thread may clear the queue meanwhile).
  Error ssl_failure(int ssl_error, const std::string& queued, std::string_view what) const {
    if (timed_out) return failure(what, "");
    if (!queued.empty()) return failure(what, queued);
    if (peer_closed) return failure(what, "connection closed without TLS close_notify");
    if (last_errno != 0) return failure(what, std::strerror(last_errno));
    return failure(what, "TLS error " + std::to_string(ssl_error));
  }

  void set_deadline(MonotonicTime at) {
    deadline = at;
    if (at == MonotonicTime::max() || (armed_for && *armed_for <= at)) return;
    arm(at);
  }

  void arm(MonotonicTime at) {
    armed_for = at;
    timer.expires_at(at);  // cancels a pending wait: its handler returns, this one takes over
    timer.async_wait([weak = weak_from_this(), at](const error_code& ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      self->armed_for.reset();
      if (self->deadline == MonotonicTime::max()) return;
      if (self->deadline > at) {  // moved later since: wait for it (no clock read: `at` passed)
        self->arm(self->deadline);
        return;
      }
      self->timed_out = true;
      error_code ignored;
      self->socket.close(ignored);
    });
  }

  // Hands `out` to the kernel, waiting while the socket buffer is full. A reader and a writer may
  // both flush (the reader after an alert or a post-handshake message): whoever runs drains what
  // is there; the other finds less or nothing left.
  asio::awaitable<Result<>> flush(std::string_view what) {
    auto self = shared_from_this();
    while (out_sent < out.size()) {
      ssize_t n = ::send(socket.native_handle(), out.data() + out_sent, out.size() - out_sent,
                         MSG_NOSIGNAL);
      if (n > 0) {
        out_sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        auto [ec] = co_await socket.async_wait(tcp::socket::wait_write, kTuple);
        if (ec) co_return std::unexpected(failure(what, ec.message()));
        continue;
      }
      last_errno = n < 0 ? errno : EPIPE;
      co_return std::unexpected(failure(what, std::strerror(last_errno)));
    }
    out.clear();
    out_sent = 0;
    co_return Result<>{};
  }

  // Runs one BoringSSL call to completion: sends what it wrote, waits for the socket when it
  // wants to read. > 0: the call's result; 0: the peer closed the TLS session (close_notify).
  template <class Call>
  asio::awaitable<Result<int>> drive(Call call, std::string_view what) {
    auto self = shared_from_this();
    for (;;) {
      ERR_clear_error();
      last_errno = 0;
      int ret = call();
      int err = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, ret);
      std::string queued;
      if (err == SSL_ERROR_SSL) {
        char buf[256];
        ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
        queued = buf;
      }
      if (out_sent < out.size()) {
        if (auto f = co_await flush(what); !f) co_return std::unexpected(f.error());
      }
      switch (err) {
        case SSL_ERROR_NONE:
          co_return ret;
        case SSL_ERROR_ZERO_RETURN:
          co_return 0;
        case SSL_ERROR_WANT_READ: {
          auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, kTuple);
          if (ec) co_return std::unexpected(failure(what, ec.message()));
          continue;
        }
        case SSL_ERROR_WANT_WRITE: {  // not from our BIO, which never blocks a write
          auto [ec] = co_await socket.async_wait(tcp::socket::wait_write, kTuple);
          if (ec) co_return std::unexpected(failure(what, ec.message()));
          continue;
        }
        default:
          co_return std::unexpected(ssl_failure(err, queued, what));
      }
    }
  }

  // The BIO under every TlsStream: writes append to State::out, reads recv() from the socket.
  static int bio_write(BIO* bio, const char* data, int len) {
    BIO_clear_retry_flags(bio);
    auto* st = static_cast<State*>(BIO_get_data(bio));
    st->out.append(data, static_cast<std::size_t>(len));
    return len;
  }

  static int bio_read(BIO* bio, char* data, int len) {
    BIO_clear_retry_flags(bio);
    auto* st = static_cast<State*>(BIO_get_data(bio));
    for (;;) {
      ssize_t n = ::recv(st->socket.native_handle(), data, static_cast<std::size_t>(len), 0);
      if (n > 0) return static_cast<int>(n);
      if (n == 0) {
        st->peer_closed = true;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        BIO_set_retry_read(bio);
        return -1;
      }
      st->last_errno = errno;
      return -1;
    }
  }

  static long bio_ctrl(BIO*, int cmd, long, void*) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // flushing is State::flush's job, after each call
  }

  static const BIO_METHOD* socket_bio_method() {
    static BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pipgate socket");
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      return m;
    }();
    return method;
  }
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
  BIO* bio = BIO_new(State::socket_bio_method());
  if (!bio) return make_error(Errc::kInternal, "BIO_new failed");
  BIO_set_data(bio, state.get());
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by the SSL from here
  return std::unique_ptr<TlsStream>(new TlsStream(std::move(state)));
}

TlsStream::TlsStream(std::shared_ptr<State> state) : state_(std::move(state)) {}

TlsStream::~TlsStream() {
  error_code ignored;
  state_->timer.cancel();
  state_->socket.close(ignored);
}

void TlsStream::set_deadline(MonotonicTime deadline) { state_->set_deadline(deadline); }

asio::awaitable<Result<>> TlsStream::accept(MonotonicTime deadline) {
  auto st = state_;
  set_deadline(deadline);
  error_code ec;
  st->socket.non_blocking(true, ec);
  SSL_set_accept_state(st->ssl);
  // (No co_await inside ?: here: g++ 12 destroys that temporary twice.)
  Result<int> r = std::unexpected(Error{});
  if (ec)
    r = std::unexpected(st->failure("TLS handshake", ec.message()));
  else
    r = co_await st->drive([ssl = st->ssl] { return SSL_do_handshake(ssl); }, "TLS handshake");
  set_deadline(MonotonicTime::max());
  if (!r || *r == 0) {
    auto e = r ? st->failure("TLS handshake", "connection closed") : r.error();
    e.code = Errc::kInvalidInput;
    co_return std::unexpected(e);
  }
  co_return Result<>{};
}

asio::awaitable<Result<>> TlsStream::connect(const tcp::endpoint& endpoint, std::string_view host,
                                             bool offer_h2, MonotonicTime deadline) {
  auto st = state_;
  set_deadline(deadline);
  auto [cec] = co_await st->socket.async_connect(endpoint, kTuple);
  if (cec) {
    set_deadline(MonotonicTime::max());
    auto where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    co_return std::unexpected(
        st->failure("connecting to " + std::string(host) + " at " + where, cec.message()));
  }
  error_code ignored;
  st->socket.set_option(tcp::no_delay(true), ignored);
  st->socket.non_blocking(true, ignored);
  SSL* ssl = st->ssl;
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
  SSL_set_connect_state(ssl);
  auto r =
      co_await st->drive([ssl] { return SSL_do_handshake(ssl); }, "TLS handshake with " + name);
  set_deadline(MonotonicTime::max());
  if (!r || *r == 0) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
      co_return make_error(Errc::kUnavailable, "TLS handshake with " + name +
                                                   ": certificate verify failed: " +
                                                   X509_verify_cert_error_string(verify));
    if (r)
      co_return std::unexpected(st->failure("TLS handshake with " + name, "connection closed"));
    co_return std::unexpected(r.error());
  }
  co_return Result<>{};
}

asio::awaitable<Result<std::size_t>> TlsStream::read_some(std::span<char> out) {
  auto st = state_;
  int len = static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX));
  auto r = co_await st->drive([&] { return SSL_read(st->ssl, out.data(), len); }, "read");
  if (!r) co_return std::unexpected(r.error());
  co_return static_cast<std::size_t>(*r);
}

asio::awaitable<Result<>> TlsStream::write(std::span<const asio::const_buffer> buffers) {
  // Sealed in pieces of up to 64 KiB (four records), each handed to the kernel by drive() with
  // one send. Small buffers (an HTTP/1.1 chunk's size line and CRLF) are joined first, so they
  // do not become records and sends of their own.
  constexpr std::size_t kPiece = 64 * 1024;
  auto st = state_;
  std::string joined;
  if (buffers.size() > 1 && asio::buffer_size(buffers) <= kPiece) {
    joined.reserve(asio::buffer_size(buffers));
    for (const auto& b : buffers) joined.append(static_cast<const char*>(b.data()), b.size());
  }
  asio::const_buffer one(joined.data(), joined.size());
  auto pieces = joined.empty() ? buffers : std::span<const asio::const_buffer>(&one, 1);
  for (const auto& b : pieces) {
    const char* p = static_cast<const char*>(b.data());
    std::size_t left = b.size();
    while (left > 0) {
      int len = static_cast<int>(std::min(left, kPiece));
      auto r = co_await st->drive([&] { return SSL_write(st->ssl, p, len); }, "write");
      if (!r) co_return std::unexpected(r.error());
      if (*r == 0) co_return std::unexpected(st->failure("write", "TLS session closed"));
      p += *r;
      left -= static_cast<std::size_t>(*r);
    }
  }
  // An idle connection keeps no send buffer (a bulk download's is ~64 KiB).
  if (st->out.capacity() > 16 * 1024) std::string().swap(st->out);
  co_return Result<>{};
}

asio::awaitable<Result<>> TlsStream::write(std::string_view bytes) {
  asio::const_buffer b(bytes.data(), bytes.size());
  co_return co_await write(std::span<const asio::const_buffer>(&b, 1));
}

asio::awaitable<void> TlsStream::shutdown(MonotonicTime deadline) {
  auto st = state_;
  if (!is_open()) co_return;
  set_deadline(deadline);
  // The first call sends close_notify (returning 0: the peer's is not in yet, reported as 2
  // here since 0 means an error to SSL_get_error); the second reads until the peer's arrives.
  // Either way the socket closes after: errors only end the wait early.
  auto shut = [ssl = st->ssl] {
    int r = SSL_shutdown(ssl);
    return r == 0 ? 2 : r;
  };
  auto sent = co_await st->drive(shut, "shutdown");
  if (sent && *sent == 2 && is_open()) (void)co_await st->drive(shut, "shutdown");
  close();
}

void TlsStream::close() {
  error_code ignored;
  state_->timer.cancel();
  state_->socket.close(ignored);
}

bool TlsStream::is_open() const { return state_->socket.is_open(); }

std::string TlsStream::alpn() const {
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(state_->ssl, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string TlsStream::server_name() const {
  const char* name = SSL_get_servername(state_->ssl, TLSEXT_NAMETYPE_host_name);
  std::string out = name ? name : "";
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool TlsStream::session_reused() const { return SSL_session_reused(state_->ssl) == 1; }

tcp::endpoint TlsStream::remote_endpoint() const {
  error_code ec;
  return state_->socket.remote_endpoint(ec);
}

asio::any_io_executor TlsStream::get_executor() { return state_->socket.get_executor(); }

SSL* TlsStream::native_handle() { return state_->ssl; }

}  // namespace pipgate::proxy
