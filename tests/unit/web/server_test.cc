#include "web/server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <thread>

#include "web_test_support.h"

namespace pipgate::web {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A web::Server on 127.0.0.1:<ephemeral> with its io_context on a thread; the test talks to it
// with blocking sockets.
class ServerTest : public ::testing::Test {
 protected:
  void start(ServerLimits limits = {}) {
    Config cfg;
    cfg.appliance.address = *parse_ip("127.0.0.1");
    cfg.web.listen = {Endpoint{*parse_ip("127.0.0.1"), 0}};
    registry_.counter("pipgate_test_total", "Test.").inc(3);
    server_ = std::make_unique<Server>(io_, cfg, authority_.certificate_pem(), FiguresFn{}, limits,
                                       registry_);
    auto r = server_->start();
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(server_->local_endpoints().size(), 1u);
    port_ = server_->local_endpoints().front().port;
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] { server_->stop(); });
      thread_.join();
    }
  }

  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    return s;
  }

  static http::response<http::string_body> read_response(tcp::socket& s,
                                                         boost::beast::flat_buffer& buf,
                                                         bool head = false) {
    http::response_parser<http::string_body> p;
    p.skip(head);
    boost::beast::error_code ec;
    http::read(s, buf, p, ec);
    EXPECT_FALSE(ec) << ec.message();
    return p.release();
  }

  // True when the server has closed the connection (read gives EOF or reset, with no data).
  static bool closed_by_server(tcp::socket& s) {
    char c;
    boost::system::error_code ec;
    auto n = s.read_some(asio::buffer(&c, 1), ec);
    return n == 0 && ec;
  }

  testing::TempDir dir_;
  certs::Authority authority_ = testing::make_ca(dir_);
  MetricsRegistry registry_;
  asio::io_context io_{1};
  asio::io_context client_io_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  auto s = connect();
  boost::beast::flat_buffer buf;
  asio::write(s, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "GET /ca.pem HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto a = read_response(s, buf);
  EXPECT_EQ(a.result_int(), 200);
  EXPECT_EQ(a.body(), "ok");
  EXPECT_TRUE(a.keep_alive());
  auto b = read_response(s, buf);
  EXPECT_EQ(b.body(), authority_.certificate_pem());
  EXPECT_EQ(b[http::field::content_type], "application/x-pem-file");
  asio::write(s, asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto c = read_response(s, buf);
  EXPECT_NE(c.body().find("pipgate_test_total 3\n"), std::string::npos);
  EXPECT_EQ(c[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(ServerTest, HeadHasGetsLengthAndNoBody) {
  start();
  auto s = connect();
  boost::beast::flat_buffer buf;
  asio::write(s, asio::buffer(std::string("HEAD /ca.der HTTP/1.1\r\nHost: x\r\n\r\n"
                                          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto h = read_response(s, buf, true);
  EXPECT_EQ(h.result_int(), 200);
  EXPECT_EQ(h[http::field::content_length], std::to_string(authority_.certificate_der().size()));
  EXPECT_TRUE(h.body().empty());
  // The next response starts right after the head: no stray body bytes.
  auto g = read_response(s, buf);
  EXPECT_EQ(g.body(), "ok");
}

TEST_F(ServerTest, RefusesBodiesOtherMethodsAndLargeHeads) {
  start();
  {
    auto s = connect();
    boost::beast::flat_buffer buf;
    asio::write(s, asio::buffer(
                       std::string("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")));
    auto r = read_response(s, buf);
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(closed_by_server(s));
  }
  {
    auto s = connect();
    boost::beast::flat_buffer buf;
    asio::write(s, asio::buffer(std::string("DELETE /ca.pem HTTP/1.1\r\nHost: x\r\n\r\n")));
    auto r = read_response(s, buf);
    EXPECT_EQ(r.result_int(), 405);
    EXPECT_EQ(r[http::field::allow], "GET, HEAD");
  }
  {
    auto s = connect();
    boost::beast::flat_buffer buf;
    std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
    boost::system::error_code ec;
    asio::write(s, asio::buffer(big), ec);  // the server may close before reading it all
    auto r = read_response(s, buf);
    EXPECT_EQ(r.result_int(), 431);
    EXPECT_TRUE(closed_by_server(s));
  }
  {
    auto s = connect();
    boost::beast::flat_buffer buf;
    asio::write(s, asio::buffer(std::string("GET / HTTP/1.1\r\nHost x\r\n\r\n")));
    auto r = read_response(s, buf);
    EXPECT_EQ(r.result_int(), 400);
  }
}

TEST_F(ServerTest, ClosesIdleConnections) {
  ServerLimits limits;
  limits.request_timeout = 200ms;
  start(limits);
  auto s = connect();
  EXPECT_TRUE(closed_by_server(s));  // returns once the server gives up on the request head
}

TEST_F(ServerTest, CapsConnectionsPerClient) {
  ServerLimits limits;
  limits.max_connections_per_client = 2;
  start(limits);
  boost::beast::flat_buffer buf1, buf2;
  auto a = connect();
  auto b = connect();
  // Both served (so both are counted) before the third arrives.
  asio::write(a, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_EQ(read_response(a, buf1).result_int(), 200);
  asio::write(b, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  EXPECT_EQ(read_response(b, buf2).result_int(), 200);
  auto c = connect();
  EXPECT_TRUE(closed_by_server(c));
  // Closing one makes room again.
  a.close();
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto d = connect();
    boost::system::error_code ec;
    asio::write(d, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), ec);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(d, buf, res, ec);
    served = !ec && res.result_int() == 200;
    if (!served) std::this_thread::sleep_for(20ms);  // the server has not seen the close yet
  }
  EXPECT_TRUE(served);
}

TEST_F(ServerTest, BindFailureNamesTheAddress) {
  start();
  Config cfg;
  cfg.web.listen = {Endpoint{*parse_ip("127.0.0.1"), port_}};
  asio::io_context io;
  Server second(io, cfg, authority_.certificate_pem());
  auto r = second.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnavailable);
  EXPECT_NE(r.error().detail.find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << r.error().detail;
}

TEST_F(ServerTest, BadCaAndNoListenAddresses) {
  asio::io_context io;
  Config cfg;
  cfg.web.listen = {};
  Server bad(io, cfg, "not a certificate");
  auto r = bad.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kCorrupt);
  Server off(io, cfg, authority_.certificate_pem());
  EXPECT_TRUE(off.start());
  EXPECT_TRUE(off.local_endpoints().empty());
}

}  // namespace
}  // namespace pipgate::web
