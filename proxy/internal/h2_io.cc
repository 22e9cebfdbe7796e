#include "proxy/internal/h2_io.h"
#include "proxy/internal/spawn.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <cstring>

namespace pipgate::proxy::internal {

namespace asio = boost::asio;

H2Io::H2Io(TlsStream& tls, nghttp2_session* session, const Clock& clock)
    : tls_(tls),
      clock_(clock),
      session_(session),
      write_event_(tls.get_executor()),
      writer_done_event_(tls.get_executor()) {}

void H2Io::close() {
  closed_ = true;
  tls_.close();
  write_event_.notify();
}

asio::awaitable<Result<>> H2Io::run() {
  asio::co_spawn(tls_.get_executor(), write_loop(), log_exception("h2 writer"));
  std::array<char, 16 * 1024> buf;
  bool flush = false;  // end after the writer sent what is queued (GOAWAY), rather than at once
  while (!closed_) {
    auto n = co_await tls_.read_some(buf);
    if (!n) {
      if (!closed_) error_ = n.error();
      break;
    }
    if (*n == 0) break;  // the peer closed
    auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf.data()), *n);
    if (rv < 0) {
      // A protocol or flood error: nghttp2 queued GOAWAY; flush it, then end.
      error_ = Error{Errc::kInvalidInput,
                     std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv))};
      // nghttp2 queued GOAWAY itself for most protocol errors; for floods it leaves that to us.
      bool flood = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
      nghttp2_session_terminate_session(session_,
                                        flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
      flush = true;
      break;
    }
    kick();
    if (nghttp2_session_want_read(session_) == 0) {
      flush = true;
      break;
    }
  }
  if (flush && !closed_) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);  // no-op if GOAWAY is queued
    kick();
    auto deadline = clock_.monotonic_now() + std::chrono::seconds(1);
    while (!writer_done_ && co_await writer_done_event_.wait_until(deadline)) {
    }
  }
  closed_ = true;
  tls_.close();
  write_event_.notify();
  while (!writer_done_) co_await writer_done_event_.wait();
  if (error_) co_return std::unexpected(*error_);
  co_return Result<>{};
}

asio::awaitable<void> H2Io::write_loop() {
  std::string& out = out_;
  while (!closed_) {
    out.clear();
    while (out.size() < 64 * 1024) {
      const uint8_t* data = nullptr;
      auto n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        if (!error_)
          error_ = Error{Errc::kInternal, std::string("nghttp2_session_mem_send: ") +
                                              nghttp2_strerror(static_cast<int>(n))};
        break;
      }
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out.empty()) {
      if (auto r = co_await tls_.write(out); !r) {
        if (!closed_ && !error_) error_ = r.error();
        break;
      }
      continue;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
    co_await write_event_.wait();
  }
  closed_ = true;
  tls_.close();  // wakes the reader if it still waits
  writer_done_ = true;
  writer_done_event_.notify();
}

void H2Outgoing::push(SharedBytes chunk) {
  if (chunk.empty()) return;
  pending_bytes += chunk.size();
  chunks.push_back(std::move(chunk));
}

namespace {

// Passes the next `n` <= out.pending() bytes to `sink`, piece by piece, and drops them.
template <class Sink>
void drain(H2Outgoing& out, std::size_t n, Sink&& sink) {
  while (n > 0) {
    std::string_view front = out.chunks.front().view();
    std::size_t k = std::min(n, front.size() - out.offset);
    sink(front.substr(out.offset, k));
    out.offset += k;
    n -= k;
    out.pending_bytes -= k;
    if (out.offset == front.size()) {
      out.chunks.pop_front();
      out.offset = 0;
    }
  }
}

}  // namespace

void H2Outgoing::take(std::size_t n, std::string& to) {
  drain(*this, n, [&](std::string_view piece) { to.append(piece); });
}

void H2Outgoing::take(std::size_t n, std::uint8_t* dst) {
  drain(*this, n, [&](std::string_view piece) {
    std::memcpy(dst, piece.data(), piece.size());
    dst += piece.size();
  });
}

namespace {

// How much of `len` a read callback takes now, and the flags/deferral that go with it.
long outgoing_size(const H2Outgoing& out, std::size_t len, std::uint32_t* flags) {
  std::size_t n = std::min(len, out.pending());
  if (n == out.pending() && out.eof) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<long>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<long>(n);
}

}  // namespace

long h2_read_outgoing(H2Outgoing& out, std::uint8_t* dst, std::size_t len, std::uint32_t* flags) {
  long n = outgoing_size(out, len, flags);
  if (n > 0) {
    out.take(static_cast<std::size_t>(n), dst);
    out.drained.notify();
  }
  return n;
}

long h2_read_outgoing_no_copy(H2Outgoing& out, std::size_t len, std::uint32_t* flags) {
  long n = outgoing_size(out, len, flags);
  // Even an empty last frame (END_STREAM alone) goes through send_data_callback.
  if (n >= 0) *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  return n;
}

void h2_send_outgoing(H2Outgoing& out, const std::uint8_t* framehd, std::size_t length,
                      std::size_t padlen, std::string& to) {
  to.append(reinterpret_cast<const char*>(framehd), 9);
  // padlen counts the Pad Length octet itself; pipgate sets no padding, but honour it.
  if (padlen > 0) to.push_back(static_cast<char>(padlen - 1));
  if (length > 0) {
    out.take(length, to);
    out.drained.notify();
  }
  if (padlen > 1) to.append(padlen - 1, '\0');
}

asio::awaitable<Result<>> pump_body(BodyPipe& body, H2Outgoing& out, const Clock& clock,
                                    std::size_t high_water, std::chrono::milliseconds read_timeout,
                                    const std::function<void()>& resume,
                                    const std::function<bool()>& is_closed) {
  for (;;) {
    // The peer's flow control holds the bytes here; a peer that takes none for read_timeout is
    // stalling on purpose or gone (slow-read), and gives up its stream.
    while (!is_closed() && out.pending() >= high_water) {
      if (!co_await out.drained.wait_until(clock.monotonic_now() + read_timeout) &&
          out.pending() >= high_water && !is_closed())
        co_return make_error(
            Errc::kUnavailable,
            "peer took no data for " + std::to_string(read_timeout.count()) + " ms (timed out)");
    }
    if (is_closed()) co_return Result<>{};
    auto chunk = co_await body.read(clock.monotonic_now() + read_timeout);
    if (is_closed()) co_return Result<>{};
    if (!chunk) co_return std::unexpected(chunk.error());
    if (!*chunk) {
      out.eof = true;
      resume();
      co_return Result<>{};
    }
    out.push(std::move(**chunk));
    resume();
  }
}

}  // namespace pipgate::proxy::internal
