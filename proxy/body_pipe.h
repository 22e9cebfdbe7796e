// A body in transit between one producer and one consumer on one executor: an upstream response
// read by a client session, or a client's request body sent upstream. Bounded: write() waits while
// `limit` bytes are buffered, which is how a slow reader stops a fast writer (backpressure).
//
// Producers with their own flow control (HTTP/2 DATA, bounded by the window we grant) use push(),
// which never waits, and grant more window from on_consumed. The consumer ends the transfer early
// with cancel(): writes then fail and on_cancel tells the producer to stop (RST_STREAM, close).
//
//   auto pipe = std::make_shared<BodyPipe>(ex, 256 * 1024);
//   producer: if (!co_await pipe->write(chunk)) co_return;  ...  pipe->finish();  // or fail(err)
//   consumer: for (;;) { auto c = co_await pipe->read(deadline); if (!c) → error; if (!*c) → end; }
//
// Not thread-safe: producer and consumer run on the executor given at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "common/shared_bytes.h"
#include "proxy/internal/async_event.h"

namespace pipgate::proxy {

class BodyPipe {
 public:
  BodyPipe(boost::asio::any_io_executor ex, std::size_t limit_bytes);
  BodyPipe(const BodyPipe&) = delete;
  BodyPipe& operator=(const BodyPipe&) = delete;

  // --- producer ---
  // Appends `chunk` (empty chunks are ignored) without waiting. No effect after cancel().
  void push(SharedBytes chunk);
  // Appends `chunk` once fewer than `limit` bytes are buffered. False when the consumer cancelled
  // (the producer stops and releases its source).
  boost::asio::awaitable<bool> write(SharedBytes chunk);
  // The body is complete. Further writes are bugs and are ignored.
  void finish();
  // The body cannot be completed (upstream died, timed out): the consumer sees `error` after the
  // bytes already buffered, and must not present the body as complete.
  void fail(Error error);
  // Called synchronously with the size of each chunk the consumer took (from read()), and with
  // the bytes dropped by cancel().
  void on_consumed(std::function<void(std::size_t)> f) { on_consumed_ = std::move(f); }
  // Called once, synchronously, from cancel().
  void on_cancel(std::function<void()> f) { on_cancel_ = std::move(f); }

  // --- consumer ---
  // The next chunk; nullopt when the body ended; kUnavailable after fail(), or when no byte came
  // before `deadline` (the pipe is then failed), or kInternal after cancel().
  [[nodiscard]] boost::asio::awaitable<Result<std::optional<SharedBytes>>> read(
      MonotonicTime deadline);
  // The next chunk if one is buffered now, else nullopt (the body may still continue: use read()).
  std::optional<SharedBytes> try_read();
  // The consumer will read no more: drops the buffer, fails pending and later writes.
  void cancel();

  bool is_cancelled() const { return cancelled_; }
  bool is_done() const { return finished_ || failed_.has_value(); }
  // finish() was called: every byte of the body is buffered or already read.
  bool is_finished() const { return finished_; }
  std::size_t buffered_bytes() const { return buffered_; }
  // Bytes the consumer has taken so far (for the access log).
  std::uint64_t consumed_bytes() const { return consumed_; }

 private:
  std::size_t limit_;
  std::deque<SharedBytes> chunks_;
  std::size_t buffered_ = 0;
  std::uint64_t consumed_ = 0;
  bool finished_ = false;
  bool cancelled_ = false;
  std::optional<Error> failed_;
  internal::AsyncEvent readable_;
  internal::AsyncEvent writable_;
  std::function<void(std::size_t)> on_consumed_;
  std::function<void()> on_cancel_;
};

}  // namespace pipgate::proxy
