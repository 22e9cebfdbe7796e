// The c-ares forwarder on a real io_context against fake upstreams on loopback UDP sockets
// (each test < 1 s; waits are bounded run_for loops, never sleeps).
#include "dns/forwarder.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <set>

#include "common/asio_address.h"
#include "tests/unit/dns/packets.h"

namespace pipgate::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using namespace std::chrono_literals;

// A fake upstream: answers each query through `reply` (nullopt: stays silent).
class FakeUpstream {
 public:
  using Reply = std::function<std::optional<Bytes>(const Bytes& query)>;
  FakeUpstream(asio::io_context& io, Reply reply)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        reply_(std::move(reply)) {
    receive();
  }
  Endpoint endpoint() const {
    return Endpoint{from_asio(socket_.local_endpoint().address()), socket_.local_endpoint().port()};
  }
  std::vector<std::uint16_t> seen_ids;

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buf_), peer_, [this](auto ec, std::size_t n) {
      if (ec) return;
      Bytes q(buf_.begin(), buf_.begin() + n);
      seen_ids.push_back(static_cast<std::uint16_t>(q[0] << 8 | q[1]));
      if (auto r = reply_(q)) {
        boost::system::error_code ignored;
        socket_.send_to(asio::buffer(*r), peer_, 0, ignored);
      }
      receive();
    });
  }
  udp::socket socket_;
  Reply reply_;
  std::array<std::uint8_t, 4096> buf_{};
  udp::endpoint peer_;
};

std::optional<Bytes> answer_with(const Bytes& q, ldns_pkt_rcode rcode) {
  auto id = static_cast<std::uint16_t>(q[0] << 8 | q[1]);
  std::vector<std::string> rrs;
  if (rcode == LDNS_RCODE_NOERROR) rrs.push_back("www.example.com. 60 IN A 192.0.2.1");
  return testing::make_reply(q, rcode, rrs, {}, id);
}

struct Outcome {
  std::optional<Result<Bytes>> result;
  std::chrono::steady_clock::duration took{};
};

class ForwarderTest : public ::testing::Test {
 protected:
  asio::io_context io;
  SeededRandom random{42};
  const Bytes query = testing::make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = 0x1234});

  std::unique_ptr<Forwarder> forwarder(std::vector<Endpoint> upstream,
                                       std::chrono::milliseconds timeout = 100ms,
                                       std::uint32_t attempts = 1) {
    auto f = Forwarder::create(io, {std::move(upstream), timeout, attempts}, random);
    EXPECT_TRUE(f) << f.error().detail;
    return std::move(*f);
  }
  // Sends `n` queries and runs the loop until all are answered or 5 s pass.
  std::vector<Outcome> send(Forwarder& f, int n = 1) {
    std::vector<Outcome> out(n);
    const auto start = std::chrono::steady_clock::now();
    int done = 0;
    for (int i = 0; i < n; ++i) {
      f.send(query, [&, i](Result<Bytes> r) {
        out[i].result = std::move(r);
        out[i].took = std::chrono::steady_clock::now() - start;
        ++done;
      });
    }
    const auto deadline = start + 5s;
    while (done < n && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
    EXPECT_EQ(done, n) << "callbacks not called within 5 s";
    return out;
  }
};

TEST_F(ForwarderTest, RelaysTheUpstreamReplyUnderItsOwnIds) {
  FakeUpstream up(io, [](const Bytes& q) { return answer_with(q, LDNS_RCODE_NOERROR); });
  auto f = forwarder({up.endpoint()});
  auto out = send(*f, 3);  // three at once with the same client-side ID
  for (const auto& o : out) {
    ASSERT_TRUE(o.result && *o.result);
    auto p = testing::parse(**o.result);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(ldns_pkt_ancount(p.get()), 1);
  }
  ASSERT_EQ(up.seen_ids.size(), 3u);
  EXPECT_EQ(std::set(up.seen_ids.begin(), up.seen_ids.end()).size(), 3u);
  EXPECT_EQ(f->pending(), 0u);
}

TEST_F(ForwarderTest, MovesOnFromASilentOrFailingUpstream) {
  FakeUpstream silent(io, [](const Bytes&) { return std::nullopt; });
  FakeUpstream failing(io, [](const Bytes& q) { return answer_with(q, LDNS_RCODE_SERVFAIL); });
  FakeUpstream good(io, [](const Bytes& q) { return answer_with(q, LDNS_RCODE_NOERROR); });
  auto f = forwarder({silent.endpoint(), failing.endpoint(), good.endpoint()});
  auto out = send(*f);
  ASSERT_TRUE(out[0].result && *out[0].result);
  EXPECT_EQ(silent.seen_ids.size(), 1u);
  EXPECT_EQ(failing.seen_ids.size(), 1u);
  EXPECT_EQ(good.seen_ids.size(), 1u);
  EXPECT_GE(out[0].took, 100ms);  // the silent one had its timeout
}

TEST_F(ForwarderTest, AllFailingIsUnavailableWithinTheTimeouts) {
  FakeUpstream silent(io, [](const Bytes&) { return std::nullopt; });
  FakeUpstream failing(io, [](const Bytes& q) { return answer_with(q, LDNS_RCODE_REFUSED); });
  auto f = forwarder({silent.endpoint(), failing.endpoint()}, 100ms, 2);
  auto out = send(*f);
  ASSERT_TRUE(out[0].result);
  ASSERT_FALSE(*out[0].result);
  EXPECT_EQ(out[0].result->error().code, Errc::kUnavailable);
  EXPECT_EQ(silent.seen_ids.size(), 2u);  // two rounds
  // c-ares doubles the timeout in the second round: 100 ms + 200 ms, plus slack.
  EXPECT_LT(out[0].took, 2s);
}

TEST_F(ForwarderTest, UdpAnswersUpToTheEdnsSizeNeedNoTcp) {
  // The fake has no TCP listener: a retry over TCP would fail the query.
  FakeUpstream up(io, [](const Bytes& q) {
    std::vector<std::string> rrs;
    for (int i = 0; i < 15; ++i) {
      rrs.push_back("www.example.com. 60 IN TXT \"" + std::string(50, 'a' + i) + "\"");
    }
    return testing::make_reply(q, LDNS_RCODE_NOERROR, rrs, {},
                               static_cast<std::uint16_t>(q[0] << 8 | q[1]));
  });
  auto f = forwarder({up.endpoint()});
  const Bytes edns_query =
      testing::make_query("www.example.com.", LDNS_RR_TYPE_TXT, {.has_edns = true});
  std::optional<Result<Bytes>> got;
  f->send(edns_query, [&](Result<Bytes> r) { got = std::move(r); });
  for (int i = 0; i < 50 && !got; ++i) io.run_one_for(100ms);
  ASSERT_TRUE(got && *got);
  EXPECT_GT((*got)->size(), 512u);
  EXPECT_LE((*got)->size(), 1232u);
  EXPECT_EQ(up.seen_ids.size(), 1u);
}

TEST_F(ForwarderTest, FallsBackToNoEdnsOnFormerrWithoutOpt) {
  std::vector<std::uint16_t> arcounts;
  FakeUpstream up(io, [&](const Bytes& q) {
    arcounts.push_back(static_cast<std::uint16_t>(q[10] << 8 | q[11]));
    if (arcounts.back() == 0) return answer_with(q, LDNS_RCODE_NOERROR);
    Bytes formerr(q.begin(), q.end() - 11);  // an old server: the question, no OPT
    formerr[2] |= 0x80;
    formerr[3] = (formerr[3] & 0xf0) | LDNS_RCODE_FORMERR;
    formerr[11] = 0;  // ARCOUNT
    return std::optional<Bytes>(formerr);
  });
  auto f = forwarder({up.endpoint()});
  const Bytes edns_query =
      testing::make_query("www.example.com.", LDNS_RR_TYPE_A, {.has_edns = true});
  std::optional<Result<Bytes>> got;
  f->send(edns_query, [&](Result<Bytes> r) { got = std::move(r); });
  for (int i = 0; i < 50 && !got; ++i) io.run_one_for(100ms);
  ASSERT_TRUE(got);
  EXPECT_EQ(arcounts, (std::vector<std::uint16_t>{1, 0}));
}

TEST_F(ForwarderTest, NoUpstreamFailsAtOnce) {
  auto f = forwarder({});
  auto out = send(*f);
  ASSERT_TRUE(out[0].result);
  EXPECT_FALSE(*out[0].result);
}

TEST_F(ForwarderTest, DestroyingDropsPendingQueriesSilently) {
  FakeUpstream silent(io, [](const Bytes&) { return std::nullopt; });
  auto f = forwarder({silent.endpoint()}, 1000ms);
  bool called = false;
  f->send(query, [&](Result<Bytes>) { called = true; });
  io.run_for(50ms);
  EXPECT_EQ(f->pending(), 1u);
  f.reset();
  io.run_for(50ms);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace pipgate::dns
