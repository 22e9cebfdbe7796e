#include "app/supervisor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstring>

namespace pipgate::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Supervisor::Child {
  explicit Child(asio::io_context& io, ChildSpec s) : spec(std::move(s)), restart_timer(io) {}
  ChildSpec spec;
  pid_t pid = -1;
  MonotonicTime started{};
  int consecutive_failures = 0;
  int restarts = 0;
  std::string last_exit;
  asio::steady_timer restart_timer;
};

Supervisor::Supervisor(asio::io_context& io, const Clock& clock)
    : io_(io), clock_(clock), sigchld_(io, SIGCHLD) {}

Supervisor::~Supervisor() {
  // Never leave an orphan behind, even on an unclean exit path.
  for (auto& c : children_)
    if (c->pid > 0) ::kill(c->pid, SIGKILL);
}

void Supervisor::add(ChildSpec spec) {
  children_.push_back(std::make_unique<Child>(io_, std::move(spec)));
}

std::chrono::milliseconds Supervisor::backoff(int consecutive_failures) {
  // The first exit restarts at once: pipgate-dns answers the office's DNS, and a crash of a child
  // that was running must cost the clients as little as possible (the e2e crash test wants the
  // names back within a second). Only a child that keeps failing waits, 0.5 s doubling.
  if (consecutive_failures <= 1) return 0ms;
  std::chrono::milliseconds d = 500ms;
  for (int i = 2; i < consecutive_failures && d < 30s; ++i) d *= 2;
  return std::min<std::chrono::milliseconds>(d, 30s);
}

void Supervisor::start() {
  watch_sigchld();
  for (auto& c : children_) spawn(*c);
}

void Supervisor::spawn(Child& c) {
  std::vector<char*> argv;
  for (auto& a : c.spec.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("{}: fork failed: {}", c.spec.name, std::strerror(errno));
    return;
  }
  if (pid == 0) {
    // Child: the parent's signal mask/dispositions must not leak into it (Asio blocks none, but
    // restore defaults so SIGTERM stops the child as the supervisor expects).
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGHUP, SIG_DFL);
    ::signal(SIGCHLD, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Only stdin/out/err cross the exec: Asio's sockets are not close-on-exec, and a child
    // holding the proxy's :443 listener would take a share of SO_REUSEPORT connections it never
    // accepts once pipgate restarts.
    ::close_range(3, ~0U, 0);
    // A child whose supervisor died (kill -9) stops too, instead of holding :53 unsupervised.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(0);
    ::execv(argv[0], argv.data());
    fmt::print(stderr, "{}: cannot execute {}: {}\n", c.spec.name, argv[0], std::strerror(errno));
    ::_exit(127);
  }
  c.pid = pid;
  c.started = clock_.monotonic_now();
  spdlog::info("{}: started (pid {})", c.spec.name, pid);
}

void Supervisor::watch_sigchld() {
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reap();
    watch_sigchld();
  });
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& c : children_) {
      if (c->pid != pid) continue;
      c->pid = -1;
      std::string how = WIFEXITED(status)
                            ? fmt::format("exited with status {}", WEXITSTATUS(status))
                            : fmt::format("killed by signal {}", WTERMSIG(status));
      c->last_exit = how;
      if (stopping_) {
        spdlog::info("{}: stopped ({})", c->spec.name, how);
        continue;
      }
      bool was_stable = clock_.monotonic_now() - c->started > 60s;
      c->consecutive_failures = was_stable ? 1 : c->consecutive_failures + 1;
      auto delay = backoff(c->consecutive_failures);
      spdlog::warn("{}: {}; restarting in {} ms", c->spec.name, how, delay.count());
      c->restart_timer.expires_after(delay);
      c->restart_timer.async_wait([this, child = c.get()](const boost::system::error_code& ec) {
        if (ec || stopping_ || child->pid >= 0) return;
        ++child->restarts;
        spawn(*child);
      });
    }
  }
}

void Supervisor::signal_all(int sig) {
  for (auto& c : children_)
    if (c->pid > 0) ::kill(c->pid, sig);
}

std::vector<ChildStatus> Supervisor::status() const {
  std::vector<ChildStatus> out;
  out.reserve(children_.size());
  for (const auto& c : children_)
    out.push_back({c->spec.name, c->pid, c->pid > 0, c->restarts, c->last_exit});
  return out;
}

asio::awaitable<void> Supervisor::stop(std::chrono::milliseconds grace) {
  stopping_ = true;
  for (auto& c : children_) c->restart_timer.cancel();
  signal_all(SIGTERM);
  asio::steady_timer tick(io_);
  auto deadline = clock_.monotonic_now() + grace;
  for (;;) {
    reap();
    bool any = false;
    for (auto& c : children_) any = any || c->pid > 0;
    if (!any) break;
    if (clock_.monotonic_now() >= deadline) {
      for (auto& c : children_)
        if (c->pid > 0)
          spdlog::warn("{}: still running after {} ms; killing", c->spec.name, grace.count());
      signal_all(SIGKILL);
      deadline = clock_.monotonic_now() + 5s;
    }
    // SIGCHLD also wakes reap(); this short tick only bounds the wait for the last child.
    tick.expires_after(50ms);
    co_await tick.async_wait(asio::use_awaitable);
  }
  sigchld_.cancel();
}

}  // namespace pipgate::app
