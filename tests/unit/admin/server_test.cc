// admin::Server and admin::Client over a real unix socket in a temp data dir, with a real store.
#include "admin/server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <fstream>
#include <future>
#include <thread>

#include "admin/client.h"
#include "proxy/access_log.h"
#include "tests/unit/store/store_fixture.h"

namespace pipgate::admin {
namespace {

Request request(Command cmd, std::uint32_t top = 20, std::string pattern = {}, bool all = false) {
  Request r;
  r.cmd = cmd;
  r.top = top;
  r.pattern = std::move(pattern);
  r.all = all;
  return r;
}

namespace asio = boost::asio;
using store::testing::pattern;
using namespace std::chrono_literals;

class AdminServer : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    open();
    cfg.appliance.data_dir = dir.path();
    cfg.appliance.user = "pipgate-no-such-user";
  }
  void TearDown() override { shutdown(); }

  // Starts a server and runs its loop on a thread.
  void start(ServerLimits limits = {}) {
    server = std::make_unique<Server>(
        io, cfg, AdminContext{*store, clock, clock.monotonic_now(), figures}, limits);
    auto r = server->start();
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    loop = std::thread([this] { io.run(); });
  }
  void shutdown() {
    if (!loop.joinable()) return;
    std::promise<void> done;
    asio::post(io, [&] {
      server->stop();
      done.set_value();
    });
    done.get_future().wait();
    guard.reset();
    io.stop();
    loop.join();
    server.reset();
  }

  Result<std::string> call(const Request& req, std::vector<Progress>* progress = nullptr) {
    auto c = Client::connect(socket_path(cfg));
    if (!c) return std::unexpected(c.error());
    return c->call(req, [&](const Progress& p) {
      if (progress) progress->push_back(p);
    });
  }

  Config cfg;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::unique_ptr<Server> server;
  std::thread loop;
  std::function<AdminFigures()> figures = [] {
    return AdminFigures{{{"pipgate-dns", 4243, true, 2, "killed by signal 9"}}};
  };
};

TEST_F(AdminServer, SocketIsGroupOnlyAndGoneAfterStop) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path(cfg).c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_gid, 0u);  // no such user: root's group
  }
  shutdown();
  EXPECT_NE(::stat(socket_path(cfg).c_str(), &st), 0);
  auto c = Client::connect(socket_path(cfg));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Errc::kNotFound);
  EXPECT_EQ(c.error().detail, "is pipgate running? no admin socket at " + socket_path(cfg));
}

TEST_F(AdminServer, StatusReportsStoreClockUpstreamAndChildren) {
  put("pypi.org/simple/numpy/#html", pattern(1000, 1));
  proxy::note_upstream(true, clock.system_now());
  start();
  clock.advance(90s);
  auto json = call(request(Command::kStatus));
  ASSERT_TRUE(json.has_value()) << json.error().detail;
  auto s = decode_status(*json);
  ASSERT_TRUE(s.has_value()) << s.error().detail;
  EXPECT_EQ(s->pid, ::getpid());
  EXPECT_EQ(s->uptime_seconds, 90u);
  EXPECT_EQ(s->data_dir, dir.path());
  EXPECT_EQ(s->cache.objects, 1u);
  EXPECT_GE(s->cache.bytes, 1000u);
  EXPECT_EQ(s->cache.budget_bytes, options.max_size_bytes);
  EXPECT_EQ(s->upstream.state, "reachable");
  ASSERT_EQ(s->children.size(), 1u);
  EXPECT_EQ(s->children[0], (ChildInfo{"pipgate-dns", 4243, true, 2, "killed by signal 9"}));
}

TEST_F(AdminServer, StatsAreTheProxysPerProjectFigures) {
  proxy::project_stats().record("admin-test-project", true, 5000);
  proxy::project_stats().record("admin-test-project", false, 7000);
  start();
  auto json = call(request(Command::kCacheStats, 100000));
  ASSERT_TRUE(json.has_value()) << json.error().detail;
  auto s = decode_stats(*json);
  ASSERT_TRUE(s.has_value());
  bool found = false;
  for (const auto& p : s->projects)
    if (p.project == "admin-test-project") {
      found = true;
      EXPECT_EQ(p, (ProjectRow{"admin-test-project", 1, 1, 12000, 5000}));
    }
  EXPECT_TRUE(found);
}

TEST_F(AdminServer, LongOperationsSendProgressThenTheResult) {
  put("pypi.org/simple/numpy/#html", pattern(1000, 1));
  put("pypi.org/simple/numpy/#v1+json", pattern(2000, 2));
  put("pypi.org/simple/pip/#html", pattern(3000, 3));
  start();
  std::vector<Progress> progress;
  auto ls = call(request(Command::kCacheLs, 20, "*numpy*"), &progress);
  ASSERT_TRUE(ls.has_value()) << ls.error().detail;
  EXPECT_EQ(decode_list(*ls)->matched, 2u);
  ASSERT_FALSE(progress.empty());  // the first report always goes out
  EXPECT_EQ(progress.front().op, "ls");

  progress.clear();
  auto verify = call(request(Command::kCacheVerify), &progress);
  ASSERT_TRUE(verify.has_value()) << verify.error().detail;
  EXPECT_EQ(*decode_verify(*verify), (VerifyResult{3, 3, 6000, {}, true}));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front().op, "verify");

  auto purge = call(request(Command::kCachePurge, 20, "*numpy*"));
  ASSERT_TRUE(purge.has_value()) << purge.error().detail;
  EXPECT_EQ(*decode_purge(*purge), (PurgeResult{"*numpy*", false, 2, 2, 3000, true}));
  EXPECT_EQ(store->stats().objects, 1u);
  auto all = call(request(Command::kCachePurge, 20, "", true));
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(decode_purge(*all)->removed, 1u);
  EXPECT_EQ(store->stats().objects, 0u);
}

TEST_F(AdminServer, BadRequestsAreAnsweredAndTheConnectionStaysUsable) {
  start();
  auto c = Client::connect(socket_path(cfg));
  ASSERT_TRUE(c.has_value()) << c.error().detail;
  // The client never sends a bad request itself: write one by hand on a raw socket.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_path(cfg).c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto exchange = [&](const std::string& out) {
    EXPECT_EQ(::send(fd, out.data(), out.size(), MSG_NOSIGNAL), static_cast<ssize_t>(out.size()));
    std::string in;
    char buf[4096];
    while (in.find('\n') == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) break;
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
    return in;
  };
  EXPECT_EQ(exchange("{\"cmd\":\"reboot\"}\n"),
            "{\"error\":\"unknown command \\\"reboot\\\" (known: status, cache.stats, cache.ls, "
            "cache.purge, cache.verify)\"}\n");
  EXPECT_EQ(exchange("not json\n").rfind("{\"error\":\"not JSON", 0), 0u);
  EXPECT_EQ(exchange("{\"cmd\":\"status\"}\n").rfind("{\"result\":{\"version\"", 0), 0u);
  // Over 64 KiB without a newline: an error, then the connection closes.
  auto reply = exchange(std::string(kMaxRequestBytes + 100, 'x'));
  EXPECT_EQ(reply, "{\"error\":\"request line longer than 65536 bytes\"}\n");
  char byte;
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);
  ::close(fd);

  // The other client is unaffected, and may send several requests.
  for (int i = 0; i < 3; ++i) {
    auto r = c->call(request(Command::kStatus), {});
    EXPECT_TRUE(r.has_value()) << r.error().detail;
  }
  auto ls = c->call(request(Command::kCacheLs, 20, "*"), {});
  EXPECT_TRUE(ls.has_value());
}

TEST_F(AdminServer, ServerErrorsReachTheClientAsInvalidInput) {
  start();
  auto c = Client::connect(socket_path(cfg));
  ASSERT_TRUE(c.has_value());
  // A request the CLI would never build: an empty pattern.
  auto r = c->call(request(Command::kCacheLs, 20, ""), {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kInvalidInput);
  EXPECT_EQ(r.error().detail,
            "cache.ls: needs a non-empty \"pattern\" (a glob such as \"*numpy*\")");
}

TEST_F(AdminServer, ClientsPastTheLimitAreToldSo) {
  ServerLimits limits;
  limits.max_clients = 1;
  start(limits);
  auto first = Client::connect(socket_path(cfg));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->call(request(Command::kStatus), {}).has_value());  // accepted and counted
  auto second = call(request(Command::kStatus));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().detail, "busy: 1 admin clients are connected; try again shortly");
}

TEST_F(AdminServer, IdleConnectionsAreClosed) {
  ServerLimits limits;
  limits.idle_timeout = 100ms;
  start(limits);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_path(cfg).c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char byte;
  EXPECT_EQ(::recv(fd, &byte, 1, 0), 0);
  ::close(fd);
}

TEST_F(AdminServer, ReplacesAStaleSocketButNotALiveOne) {
  // A socket file nobody listens on, as a killed pipgate leaves behind.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_path(cfg).c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  auto stale = Client::connect(socket_path(cfg));
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, Errc::kUnavailable);
  EXPECT_NE(stale.error().detail.find("nothing answers"), std::string::npos);

  start();
  EXPECT_TRUE(call(request(Command::kStatus)).has_value());

  asio::io_context other_io;
  Server other(other_io, cfg, AdminContext{*store, clock, clock.monotonic_now(), {}});
  auto r = other.start();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  EXPECT_NE(r.error().detail.find("another pipgate is running"), std::string::npos)
      << r.error().detail;
  other.stop();  // must not remove the live server's socket
  EXPECT_TRUE(call(request(Command::kStatus)).has_value());
}

TEST_F(AdminServer, RefusesAPathThatIsNotASocket) {
  std::ofstream(socket_path(cfg)) << "not a socket";
  Server s(io, cfg, AdminContext{*store, clock, clock.monotonic_now(), {}});
  auto r = s.start();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_NE(r.error().detail.find("is not a socket"), std::string::npos);
}

}  // namespace
}  // namespace pipgate::admin
