#include "proxy/cache/fill_table.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pipgate::proxy::cache {

namespace asio = boost::asio;

void Fill::publish(FillOutcome outcome, std::optional<Error> error) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mu_);
    if (outcome_ != FillOutcome::kPending) return;
    outcome_ = outcome;
    error_ = std::move(error);
    wake.swap(waiters_);
  }
  for (auto& w : wake) w();
}

void Fill::complete(std::optional<Error> error) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mu_);
    if (complete_) return;
    complete_ = true;
    final_error_ = std::move(error);
    wake.swap(waiters_);
  }
  for (auto& w : wake) w();
}

std::optional<Error> Fill::final_error() const {
  std::lock_guard lock(mu_);
  return final_error_;
}

asio::awaitable<bool> Fill::wait_complete(MonotonicTime deadline) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    auto timer = std::make_shared<asio::steady_timer>(ex, deadline);
    {
      std::lock_guard lock(mu_);
      if (complete_) co_return true;
      waiters_.push_back([ex, timer] { asio::post(ex, [timer] { timer->cancel(); }); });
    }
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) {  // the deadline, not a wake-up
      std::lock_guard lock(mu_);
      co_return complete_;
    }
  }
}

FillOutcome Fill::outcome() const {
  std::lock_guard lock(mu_);
  return outcome_;
}

std::optional<Error> Fill::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

asio::awaitable<FillOutcome> Fill::wait(MonotonicTime deadline) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, deadline);
  {
    std::lock_guard lock(mu_);
    if (outcome_ != FillOutcome::kPending) co_return outcome_;
    // The wake-up runs on the waiter's executor: the timer is only touched there. It cannot
    // run before the wait below has started, because this coroutine holds the executor until
    // it suspends in async_wait.
    waiters_.push_back([ex, timer] { asio::post(ex, [timer] { timer->cancel(); }); });
  }
  co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  co_return outcome();
}

FillTable::Claim FillTable::claim(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = fills_.find(key);
  if (it != fills_.end()) return {it->second, false};
  auto fill = std::make_shared<Fill>(key);
  fills_.emplace(key, fill);
  return {fill, true};
}

void FillTable::release(const std::shared_ptr<Fill>& fill) {
  std::lock_guard lock(mu_);
  auto it = fills_.find(fill->key());
  if (it != fills_.end() && it->second == fill) fills_.erase(it);
}

}  // namespace pipgate::proxy::cache
