// A level-checked wake-up for a coroutine on one executor: the waiter loops on its own condition
// and waits here between checks; notify() wakes it. One waiter at a time (a second wait() would
// re-arm the timer and wake the first spuriously). Not thread-safe: one executor only.
// Because check-then-wait cannot interleave with notify() on one thread, no wake-up is lost.
//
//   while (!ready_) co_await event.wait();        // elsewhere: ready_ = true; event.notify();
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/clock.h"

namespace pipgate::proxy::internal {

class AsyncEvent {
 public:
  explicit AsyncEvent(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

  void notify() { timer_.cancel(); }

  // Returns after notify() (or a spurious wake-up: re-check the condition).
  boost::asio::awaitable<void> wait() {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  // As wait(), but returns false when `deadline` passed first.
  boost::asio::awaitable<bool> wait_until(MonotonicTime deadline) {
    timer_.expires_at(deadline);
    auto [ec] = co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return static_cast<bool>(ec);
  }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace pipgate::proxy::internal
