// Keeps child processes (pipgate-dns) running beside the proxy: starts them, restarts one that
// exits with a growing backoff, and stops them all with SIGTERM, then SIGKILL after a deadline.
// Runs on the caller's io_context; reaps children on SIGCHLD (no thread, no polling).
//
//   Supervisor sup(io, clock);
//   sup.add({"pipgate-dns", {"/usr/bin/pipgate-dns", "--config", path}});
//   sup.start();  ...  co_await sup.stop(5s);
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"

namespace pipgate::app {

struct ChildSpec {
  std::string name;               // for logs: "pipgate-dns"
  std::vector<std::string> argv;  // argv[0] is the executable path
};

// One child as `pipgate status` shows it.
struct ChildStatus {
  std::string name;
  pid_t pid = -1;        // -1 while not running
  bool running = false;  // started and not yet reaped
  int restarts = 0;      // starts after the first (each one followed an unexpected exit)
  // How the last run ended, e.g. "exited with status 1" or "killed by signal 9"; empty if it
  // never ended.
  std::string last_exit;
};

class Supervisor {
 public:
  Supervisor(boost::asio::io_context& io, const Clock& clock);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  void add(ChildSpec spec);
  // Starts every child and begins watching SIGCHLD.
  void start();
  // SIGTERM to every child, SIGKILL to those still alive after `grace`; completes when all have
  // been reaped. No restarts after this is called.
  boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);
  // Sends `sig` to every running child (SIGHUP for reload).
  void signal_all(int sig);
  // Every added child, in the order added. Call on the io_context's thread.
  std::vector<ChildStatus> status() const;

  // Restart delay after the n-th consecutive quick failure: none for the first, then 0.5 s
  // doubling up to 30 s. A child that stayed up for a minute starts over (restarted at once).
  // Pure, for tests.
  static std::chrono::milliseconds backoff(int consecutive_failures);

 private:
  struct Child;
  void spawn(Child& c);
  void watch_sigchld();
  void reap();

  boost::asio::io_context& io_;
  const Clock& clock_;
  boost::asio::signal_set sigchld_;
  std::vector<std::unique_ptr<Child>> children_;
  bool stopping_ = false;
};

}  // namespace pipgate::app
