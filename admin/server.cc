#include "admin/server.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "admin/cache_commands.h"
#include "admin/status.h"
#include "common/metrics.h"
#include "proxy/access_log.h"
#include "web/live_figures.h"

namespace pipgate::admin {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using boost::system::error_code;

namespace {

std::int64_t unix_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The group the socket gets: `user`'s primary group, so the unprivileged appliance user (and
// only it besides root) may use the CLI; root's group when that user does not exist.
gid_t socket_group(const std::string& user) {
  if (user.empty()) return 0;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return 0;
  return found->pw_gid;
}

std::string group_name(gid_t gid) {
  group gr{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return std::to_string(gid);
  return found->gr_name;
}

enum class Liveness { kLive, kStale, kUnknown };

// Whether something listens on the unix socket at `path`. Non-blocking: a listener whose backlog
// is full (EAGAIN) is alive too.
Liveness probe_socket(const std::string& path, std::string& why) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    why = std::strerror(errno);
    return Liveness::kUnknown;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return Liveness::kLive;
  if (err == ECONNREFUSED) return Liveness::kStale;
  why = std::strerror(err);
  return Liveness::kUnknown;
}

struct Peer {
  std::int64_t uid = -1;
  std::int64_t pid = -1;
};

Peer peer_of(local::socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return {};
  return Peer{static_cast<std::int64_t>(cred.uid), static_cast<std::int64_t>(cred.pid)};
}

// One connection: the socket and a deadline that closes it (idle, or a write that hangs).
struct Connection {
  explicit Connection(local::socket s) : socket(std::move(s)), deadline(socket.get_executor()) {}

  void arm(std::chrono::milliseconds d) {
    auto gen = ++generation;
    deadline.expires_after(d);
    deadline.async_wait([this, gen](const error_code& ec) {
      if (!ec && gen == generation) close();
    });
  }
  void disarm() {
    ++generation;
    deadline.cancel();
  }
  void close() {
    error_code ignored;
    socket.close(ignored);
  }

  local::socket socket;
  asio::steady_timer deadline;
  std::uint64_t generation = 0;
};

// A long operation on its own thread. The worker leaves the latest progress and, at the end, the
// final line here and wakes the connection's coroutine through `wake` (posted to the loop).
struct Job {
  explicit Job(asio::io_context& io) : wake(io) {}

  void notify(const std::shared_ptr<Job>& self) {
    asio::post(wake.get_executor(), [self] { self->wake.cancel(); });
  }

  std::mutex mu;
  std::optional<Progress> pending;        // guarded by mu
  std::optional<std::string> final_line;  // guarded by mu
  std::atomic<bool> stop{false};
  asio::steady_timer wake;  // loop thread only
  std::thread thread;       // loop thread only; joined before the Job is dropped
  bool exclusive = false;   // a purge or verify
};

void log_exception(std::string_view what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("admin: {}: unexpected exception: {}", what, x.what());
  }
}

}  // namespace

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(asio::io_context& i, AdminContext c) : io(i), ctx(std::move(c)) {}

  asio::io_context& io;
  AdminContext ctx;
  ServerLimits limits;
  std::string path;
  std::string data_dir;
  std::string user;
  std::unique_ptr<local::acceptor> acceptor;
  std::optional<std::pair<dev_t, ino_t>> bound;  // the socket file we made, to remove only it
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections;
  std::vector<std::shared_ptr<Job>> jobs;
  std::uint64_t next_id = 0;
  bool stopping = false;

  static asio::awaitable<void> accept_loop(std::shared_ptr<State> self) {
    for (;;) {
      auto [ec, socket] =
          co_await self->acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (self->stopping) co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        spdlog::warn("admin: accept: {}", ec.message());
        continue;
      }
      if (self->connections.size() >= self->limits.max_clients) {
        // Tell the client why, without waiting on it: the line fits any socket buffer.
        auto line = encode_error(fmt::format(
            "busy: {} admin clients are connected; try again shortly", self->connections.size()));
        error_code wec;
        socket.non_blocking(true, wec);
        asio::write(socket, asio::buffer(line), wec);
        socket.close(wec);
        continue;
      }
      auto id = ++self->next_id;
      auto peer = peer_of(socket);
      auto conn = std::make_shared<Connection>(std::move(socket));
      self->connections[id] = conn;
      asio::co_spawn(self->io, serve(self, id, conn, peer), [id](std::exception_ptr e) {
        log_exception(fmt::format("connection {}", id), e);
      });
    }
  }

  asio::awaitable<bool> write(const std::shared_ptr<Connection>& conn, std::string data) {
    conn->arm(limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(conn->socket, asio::buffer(data),
                                              asio::as_tuple(asio::use_awaitable));
    conn->disarm();
    co_return !ec;
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, std::uint64_t id,
                                     std::shared_ptr<Connection> conn, Peer peer) {
    struct Forget {
      State* s;
      std::uint64_t id;
      ~Forget() { s->connections.erase(id); }
    } forget{self.get(), id};
    LineReader lines(kMaxRequestBytes);
    std::array<char, 4096> buf;
    for (;;) {
      std::string line;
      for (;;) {
        auto next = lines.next();
        if (!next) {
          spdlog::info("admin: uid {} pid {}: {}; closing", peer.uid, peer.pid,
                       next.error().detail);
          co_await self->write(conn, encode_error("request " + next.error().detail));
          co_return;
        }
        if (*next) {
          line = std::move(**next);
          break;
        }
        conn->arm(self->limits.idle_timeout);
        auto [ec, n] = co_await conn->socket.async_read_some(asio::buffer(buf),
                                                             asio::as_tuple(asio::use_awaitable));
        conn->disarm();
        if (ec || self->stopping) co_return;  // EOF, closed by stop(), idle
        lines.append(std::string_view(buf.data(), n));
      }
      if (line.empty()) continue;
      auto req = parse_request(line);
      if (!req) {
        spdlog::info("admin: uid {} pid {}: bad request: {}", peer.uid, peer.pid,
                     req.error().detail);
        if (!co_await self->write(conn, encode_error(req.error().detail))) co_return;
        continue;
      }
      spdlog::info("admin: uid {} pid {}: {}{}{}{}", peer.uid, peer.pid, command_name(req->cmd),
                   req->all ? " --all" : "", req->pattern.empty() ? "" : " ", req->pattern);
      if (!co_await self->answer(conn, *req)) co_return;
    }
  }

  // Writes the replies to `req`; false when the connection is gone.
  asio::awaitable<bool> answer(const std::shared_ptr<Connection>& conn, const Request& req) {
    switch (req.cmd) {
      case Command::kStatus:
        co_return co_await write(conn, encode_result(status()));
      case Command::kCacheStats:
        co_return co_await write(conn, encode_result(stats(req.top)));
      case Command::kCacheLs:
      case Command::kCachePurge:
      case Command::kCacheVerify:
        co_return co_await run_job(conn, req);
    }
    co_return false;
  }

  StatusResult status() const {
    StatusResult r;
    r.version = PIPGATE_VERSION;
    r.pid = ::getpid();
    auto up =
        std::chrono::duration_cast<std::chrono::seconds>(ctx.clock.monotonic_now() - ctx.started);
    r.uptime_seconds = static_cast<std::uint64_t>(std::max<std::int64_t>(0, up.count()));
    r.started_at =
        unix_seconds(ctx.clock.system_now()) - static_cast<std::int64_t>(r.uptime_seconds);
    r.data_dir = data_dir;
    auto st = ctx.store.stats();
    r.cache = {st.charged_bytes, st.max_size_bytes, st.objects};
    auto f = web::figures_from_metrics(metrics());
    r.traffic = {f.cache_lookups, f.hit_ratio, f.bytes_saved, f.bytes_from_upstream};
    r.upstream = describe_upstream(proxy::upstream_health());
    if (ctx.figures) r.children = ctx.figures().children;
    return r;
  }

  StatsResult stats(std::uint32_t top) const {
    StatsResult r;
    r.since = status().started_at;
    for (const auto& p : proxy::project_stats().top(top))
      r.projects.push_back({p.project, p.hits, p.misses, p.bytes_served, p.bytes_saved});
    return r;
  }

  asio::awaitable<bool> run_job(const std::shared_ptr<Connection>& conn, const Request& req) {
    bool exclusive = req.cmd != Command::kCacheLs;
    if (exclusive) {
      for (const auto& j : jobs)
        if (j->exclusive)
          co_return co_await write(
              conn, encode_error("a cache purge or verify is already running; try again when it "
                                 "has finished"));
    }
    auto job = std::make_shared<Job>(io);
    job->exclusive = exclusive;
    jobs.push_back(job);
    // The worker uses the Job by pointer: jobs (and stop()) keep it alive until joined.
    job->thread = std::thread([job_ptr = job.get(), weak = std::weak_ptr<Job>(job), req,
                               &store = ctx.store, &clock = ctx.clock, limits = limits] {
      Job& j = *job_ptr;
      auto self = weak.lock();  // for the wake-up posts; the loop holds another reference
      bool first = true;
      MonotonicTime last{};
      ProgressFn progress = [&](const Progress& p) {
        auto now = clock.monotonic_now();
        if (!first && now - last < limits.progress_interval) return;
        first = false;
        last = now;
        {
          std::lock_guard lock(j.mu);
          j.pending = p;
        }
        j.notify(self);
      };
      std::string line = run_command(store, req, limits, progress, j.stop);
      {
        std::lock_guard lock(j.mu);
        j.final_line = std::move(line);
      }
      j.notify(self);
    });

    bool connected = true;
    for (;;) {
      std::optional<Progress> p;
      std::optional<std::string> fin;
      {
        std::lock_guard lock(job->mu);
        p.swap(job->pending);
        fin = job->final_line;
      }
      if (p && connected) {
        // Even right before the result: every long operation shows at least its first report.
        connected = co_await write(conn, encode_progress(*p));
        continue;  // the worker may have finished during the write: look again before waiting
      }
      if (fin) {
        if (connected) connected = co_await write(conn, *fin);
        break;
      }
      // A client that left (Ctrl-C) stops its operation at the next object.
      if (!connected || stopping) job->stop = true;
      // Single-threaded loop and no suspension since the look above: a wake posted after it
      // runs only once this wait is pending, so none is lost.
      job->wake.expires_at(asio::steady_timer::time_point::max());
      co_await job->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (job->thread.joinable()) job->thread.join();  // it has just posted its final line
    std::erase(jobs, job);
    co_return connected;
  }

  // Runs on the job's thread: the whole operation, as its final reply line.
  static std::string run_command(store::Store& store, const Request& req,
                                 const ServerLimits& limits, const ProgressFn& progress,
                                 const std::atomic<bool>& stop) {
    switch (req.cmd) {
      case Command::kCacheLs: {
        auto r = list_objects(store, req.pattern, limits.max_list_entries, progress, stop);
        if (!r) return encode_error("cache ls: " + r.error().detail);
        return encode_result(*r);
      }
      case Command::kCachePurge: {
        auto r = purge_objects(store, req.all ? std::nullopt : std::optional(req.pattern), progress,
                               stop);
        if (!r) {
          spdlog::error("admin: cache purge: {}", r.error().detail);
          return encode_error("cache purge: " + r.error().detail);
        }
        spdlog::info("admin: cache purge {}: removed {} of {} matching objects ({} bytes){}",
                     req.all ? "--all" : req.pattern, r->removed, r->matched, r->bytes_freed,
                     r->complete ? "" : "; stopped early");
        return encode_result(*r);
      }
      case Command::kCacheVerify: {
        auto r = verify_objects(store, progress, stop);
        if (!r) {
          spdlog::error("admin: cache verify: {}", r.error().detail);
          return encode_error("cache verify: " + r.error().detail);
        }
        for (const auto& key : r->corrupt)
          spdlog::warn("admin: cache verify: {} was corrupt; removed", key);
        spdlog::info("admin: cache verify: {} objects checked, {} corrupt{}", r->checked,
                     r->corrupt.size(), r->complete ? "" : "; stopped early");
        return encode_result(*r);
      }
      case Command::kStatus:
      case Command::kCacheStats:
        break;
    }
    return encode_error("internal: not a long operation");
  }
};

Server::Server(asio::io_context& io, const Config& cfg, AdminContext ctx, ServerLimits limits)
    : state_(std::make_shared<State>(io, std::move(ctx))) {
  state_->limits = limits;
  state_->path = socket_path(cfg);
  state_->data_dir = cfg.appliance.data_dir;
  state_->user = cfg.appliance.user;
}

Server::~Server() { stop(); }

Result<> Server::start() {
  auto& s = *state_;
  const std::string& path = s.path;
  std::string tmp = path + ".new";
  if (tmp.size() >= sizeof(sockaddr_un::sun_path))
    return make_error(Errc::kConfig,
                      fmt::format("admin socket {}: the path is too long for a unix socket ({} "
                                  "bytes at most); choose a shorter [appliance] data_dir",
                                  path, sizeof(sockaddr_un::sun_path) - 1 - 4));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return make_error(Errc::kConfig,
                        "admin socket " + path + " exists and is not a socket; move it away");
    std::string why;
    switch (probe_socket(path, why)) {
      case Liveness::kLive:
        return make_error(Errc::kUnavailable, "another pipgate is running on data dir " +
                                                  s.data_dir + " (its admin socket " + path +
                                                  " answers); stop it first");
      case Liveness::kUnknown:
        return make_error(Errc::kUnavailable,
                          "cannot tell whether the admin socket " + path + " is in use: " + why);
      case Liveness::kStale:
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
          return make_error(Errc::kUnavailable, "cannot remove the stale admin socket " + path +
                                                    ": " + std::strerror(errno));
        spdlog::info("admin: removed a stale socket left by an earlier run: {}", path);
        break;
    }
  }

  ::unlink(tmp.c_str());
  auto acceptor = std::make_unique<local::acceptor>(s.io);
  error_code ec;
  acceptor->open(local(), ec);
  if (!ec) acceptor->bind(local::endpoint(tmp), ec);
  if (ec)
    return make_error(Errc::kUnavailable,
                      "admin socket " + path + ": cannot bind: " + ec.message());
  const auto fail = [&](std::string what) {
    int err = errno;
    ::unlink(tmp.c_str());
    return make_error(Errc::kUnavailable,
                      "admin socket " + path + ": " + what + ": " + std::strerror(err));
  };
  if (::chmod(tmp.c_str(), 0660) != 0) return fail("chmod 0660");
  gid_t gid = socket_group(s.user);
  // Usually already so (run as that user, as under systemd, whose @privileged filter refuses
  // chown even to one's own group): only change what differs.
  if (::lstat(tmp.c_str(), &st) == 0 && st.st_gid != gid &&
      ::chown(tmp.c_str(), static_cast<uid_t>(-1), gid) != 0)
    spdlog::warn("admin: cannot give {} to group {}: {}; only its owner can use it", path,
                 group_name(gid), std::strerror(errno));
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    return make_error(Errc::kUnavailable, "admin socket " + path + ": listen: " + ec.message());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename into place");
  if (::lstat(path.c_str(), &st) == 0) s.bound = std::make_pair(st.st_dev, st.st_ino);
  s.acceptor = std::move(acceptor);
  s.stopping = false;
  asio::co_spawn(s.io, State::accept_loop(state_),
                 [](std::exception_ptr e) { log_exception("accept loop", e); });
  spdlog::info("admin: socket {} (mode 0660, group {}) for `pipgate status` and `pipgate cache`",
               path, group_name(s.bound ? st.st_gid : gid));
  return {};
}

void Server::stop() {
  auto& s = *state_;
  s.stopping = true;
  if (s.acceptor) {
    error_code ignored;
    s.acceptor->close(ignored);
  }
  for (auto& [id, c] : s.connections) c->close();
  for (auto& j : s.jobs) j->stop = true;
  // Joined here, not left to the connections: the store must not be used after stop() returns.
  for (auto& j : s.jobs)
    if (j->thread.joinable()) j->thread.join();
  s.jobs.clear();
  if (s.bound) {
    struct stat st {};
    if (::lstat(s.path.c_str(), &st) == 0 && st.st_dev == s.bound->first &&
        st.st_ino == s.bound->second)
      ::unlink(s.path.c_str());
    s.bound.reset();
  }
}

}  // namespace pipgate::admin
