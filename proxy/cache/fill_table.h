// The fills in progress, across every event loop of the process: concurrent misses for one key
// share one upstream transfer. The first request for a key becomes the leader and starts the
// fill; everyone (the leader included) then waits for the fill's first outcome and acts on it:
// join the store's live object and stream it as it arrives, serve the revalidated or stale
// stored copy, or fetch on its own when the answer was not stored.
//
//   auto claim = fills.claim(key);
//   if (claim.leader) co_spawn(ex, run_fill(claim.fill, ...), detached);
//   switch (co_await claim.fill->wait(deadline)) { case FillOutcome::kJoinable: store.join(key) ...
//
// Thread-safe. A waiter is woken on its own executor.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "proxy/backend.h"

namespace pipgate::proxy::cache {

enum class FillOutcome {
  kPending,         // no outcome yet (a wait that timed out sees this)
  kJoinable,        // the body is being written: Store::join (or open_reader once committed)
  kRevalidated,     // upstream said 304: the stored copy is fresh again
  kUpstreamFailed,  // unreachable, timed out or 5xx: serve stale, or fail
  kNotStored,       // upstream answered something the cache does not keep (or the store refused)
};

class Fill {
 public:
  explicit Fill(std::string key) : key_(std::move(key)) {}
  const std::string& key() const { return key_; }

  // Sets the outcome (once; later calls are ignored) and wakes every waiter.
  void publish(FillOutcome outcome, std::optional<Error> error = std::nullopt);
  // The outcome, waiting on the caller's executor until there is one or `deadline` passes.
  boost::asio::awaitable<FillOutcome> wait(MonotonicTime deadline);
  FillOutcome outcome() const;
  std::optional<Error> error() const;

  // The fill is over: committed (no error) or aborted with `error`. Set by the leader's fill
  // before it leaves the table, so a client that found no write to join can tell "committed,
  // look it up" from "failed, do not fetch it again".
  void complete(std::optional<Error> error);
  // Waits until complete() (true), or `deadline` (false).
  boost::asio::awaitable<bool> wait_complete(MonotonicTime deadline);
  std::optional<Error> final_error() const;

  // The upstream answer for the leader when it was not stored (kNotStored, kUpstreamFailed with
  // a 5xx): its body can be read once, by the leader, on the fill's executor.
  std::optional<Response> leader_response;

  // Clients reading this fill from the store, for [cache] fill_without_clients.
  std::atomic<int> readers{0};

 private:
  std::string key_;
  mutable std::mutex mu_;
  FillOutcome outcome_ = FillOutcome::kPending;
  std::optional<Error> error_;
  bool complete_ = false;
  std::optional<Error> final_error_;
  std::vector<std::function<void()>> waiters_;
};

class FillTable {
 public:
  struct Claim {
    std::shared_ptr<Fill> fill;
    bool leader = false;
  };
  // The fill of `key` in progress, or a new one whose leader is the caller.
  Claim claim(const std::string& key);
  // The leader is done with the fill (committed, aborted, or answered without storing): later
  // requests start from the store again.
  void release(const std::shared_ptr<Fill>& fill);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Fill>, std::less<>> fills_;
};

}  // namespace pipgate::proxy::cache
