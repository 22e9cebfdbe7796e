#include "proxy/body_pipe.h"

namespace pipgate::proxy {

namespace asio = boost::asio;

BodyPipe::BodyPipe(asio::any_io_executor ex, std::size_t limit_bytes)
    : limit_(limit_bytes), readable_(ex), writable_(ex) {}

void BodyPipe::push(SharedBytes chunk) {
  if (cancelled_ || is_done() || chunk.empty()) return;
  buffered_ += chunk.size();
  chunks_.push_back(std::move(chunk));
  readable_.notify();
}

asio::awaitable<bool> BodyPipe::write(SharedBytes chunk) {
  while (!cancelled_ && buffered_ >= limit_) co_await writable_.wait();
  if (cancelled_) co_return false;
  push(std::move(chunk));
  co_return true;
}

void BodyPipe::finish() {
  if (is_done()) return;
  finished_ = true;
  readable_.notify();
}

void BodyPipe::fail(Error error) {
  if (is_done()) return;
  failed_ = std::move(error);
  readable_.notify();
}

asio::awaitable<Result<std::optional<SharedBytes>>> BodyPipe::read(MonotonicTime deadline) {
  for (;;) {
    if (cancelled_) co_return make_error(Errc::kInternal, "body read after cancel");
    if (!chunks_.empty()) {
      SharedBytes chunk = std::move(chunks_.front());
      chunks_.pop_front();
      buffered_ -= chunk.size();
      consumed_ += chunk.size();
      writable_.notify();
      if (on_consumed_) on_consumed_(chunk.size());
      co_return std::optional<SharedBytes>(std::move(chunk));
    }
    if (failed_) co_return std::unexpected(*failed_);
    if (finished_) co_return std::optional<SharedBytes>();
    if (!co_await readable_.wait_until(deadline) && chunks_.empty() && !is_done()) {
      fail(Error{Errc::kUnavailable, "body timed out: no data"});
    }
  }
}

std::optional<SharedBytes> BodyPipe::try_read() {
  if (cancelled_ || chunks_.empty()) return std::nullopt;
  SharedBytes chunk = std::move(chunks_.front());
  chunks_.pop_front();
  buffered_ -= chunk.size();
  consumed_ += chunk.size();
  writable_.notify();
  if (on_consumed_) on_consumed_(chunk.size());
  return chunk;
}

void BodyPipe::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  // Dropped bytes count as consumed: an HTTP/2 producer must credit its flow-control window for
  // them, or the connection window shrinks with every abandoned body.
  if (on_consumed_ && buffered_ > 0) on_consumed_(buffered_);
  chunks_.clear();
  buffered_ = 0;
  writable_.notify();
  readable_.notify();
  if (auto f = std::move(on_cancel_)) f();
}

}  // namespace pipgate::proxy
