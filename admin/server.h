// The admin socket: <data_dir>/admin.sock, a unix stream socket speaking admin/protocol.h, used by
// `pipgate status` and `pipgate cache ...`. Access is the file system's: the socket is mode 0660,
// owned by this process's user and by the group of `[appliance] user` (root's group when that
// user does not exist), inside the data directory (0700/0750). Each request is logged with the
// peer's uid and pid.
//
//   admin::Server admin(io, cfg, {*store, clock, started, [&] { return figures(); }});
//   if (auto r = admin.start(); !r) { spdlog::critical("admin: {}", r.error().detail); return 1; }
//   ... on SIGTERM: admin.stop();
//
// status and cache stats are answered on the event loop (they read counters). cache ls, purge and
// verify run on a std::thread of their own each, sending progress lines at most every
// progress_interval (the first one, with the total, always); one purge or verify at a time (a
// second is refused while one runs).
//
// Threading: runs on `io`, which must be run by exactly one thread; start() and stop() are called
// on that thread or before it runs. The figures function runs on that thread too.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "admin/protocol.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"
#include "store/store.h"

namespace pipgate::admin {

// What `status` needs that the admin module cannot read by itself.
struct AdminFigures {
  std::vector<ChildInfo> children;  // the supervised processes (Supervisor::status())
};

// What the server reads. Everything must outlive the server.
struct AdminContext {
  store::Store& store;
  const Clock& clock;
  MonotonicTime started;                  // when the appliance started, for the uptime
  std::function<AdminFigures()> figures;  // may be empty: no children shown
};

struct ServerLimits {
  // Clients connected at once; past it a new one gets an error line and is closed. Default 8:
  // an administrator and a few scripts.
  std::size_t max_clients = 8;
  // A connection with no request in progress is closed after this. Default 60 s.
  std::chrono::milliseconds idle_timeout{60'000};
  // A reply line must be written within this (a client that stops reading). Default 30 s.
  std::chrono::milliseconds write_timeout{30'000};
  // Least time between two progress lines of one operation. Default 250 ms.
  std::chrono::milliseconds progress_interval{250};
  // Most objects one `cache ls` lists (all are counted). Default kMaxListEntries.
  std::size_t max_list_entries = kMaxListEntries;
};

class Server {
 public:
  // Copies what it needs from `cfg` (data_dir, [appliance] user). Nothing happens until start().
  Server(boost::asio::io_context& io, const Config& cfg, AdminContext ctx,
         ServerLimits limits = {});
  // Calls stop().
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds socket_path(cfg), replacing a stale socket file left by a pipgate that died. Errors:
  // kUnavailable when another pipgate answers on it (two appliances on one data dir would share
  // the store) or binding fails; kConfig when the path is too long for a unix socket or is
  // something other than a socket. The socket appears complete (mode and group set) or not at
  // all: it is bound under a temporary name and renamed into place.
  [[nodiscard]] Result<> start();

  // Stops accepting, closes every connection, asks running operations to stop and waits for
  // their threads (each stops after its current object: a verify may take a moment on a large
  // wheel), then removes the socket file if it is still ours. Safe to call more than once, and
  // before start().
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace pipgate::admin
