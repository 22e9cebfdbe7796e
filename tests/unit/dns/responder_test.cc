#include "dns/responder.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/clock.h"
#include "tests/unit/dns/packets.h"

namespace pipgate::dns {
namespace {

using namespace std::chrono_literals;
using testing::make_query;
using testing::make_reply;
using testing::parse;
using testing::QueryOptions;

ResponderOptions test_options() {
  ResponderOptions o;
  o.address = *parse_ip("10.0.0.5");
  o.ttl = 60s;
  o.allow = {*parse_cidr("10.0.0.0/8"), *parse_cidr("fd00::/8")};
  o.rate_limit.rate_per_second = 0;
  return o;
}

const Client kUdpClient{*parse_ip("10.1.2.3"), Transport::kUdp};
const Client kTcpClient{*parse_ip("10.1.2.3"), Transport::kTcp};

class ResponderTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Responder responder{test_options()};

  Outcome handle(const Bytes& q, const Client& c = kUdpClient) {
    return responder.handle(q, c, clock.monotonic_now());
  }
  // The answer packet, failing the test for any other outcome.
  testing::Packet answer(const Outcome& o) {
    const Answer* a = std::get_if<Answer>(&o);
    if (a == nullptr) {
      ADD_FAILURE() << "expected an Answer, got outcome #" << o.index();
      return nullptr;
    }
    auto p = parse(a->packet);
    EXPECT_NE(p, nullptr) << "answer does not parse";
    return p;
  }
  // Forwards `q` and completes it with `reply`.
  Outcome forward_and_complete(const Bytes& q, const Result<Bytes>& reply,
                               const Client& c = kUdpClient) {
    Outcome o = handle(q, c);
    const Forward* f = std::get_if<Forward>(&o);
    EXPECT_NE(f, nullptr) << "expected Forward, got outcome #" << o.index();
    if (f == nullptr) return o;
    return responder.complete(*f, reply, clock.monotonic_now());
  }
};

TEST_F(ResponderTest, InterceptedNamesAnswerTheApplianceAddressEchoingCase) {
  struct Case {
    const char* name;
    QueryOptions opts;
  };
  const Case cases[] = {{"pypi.org.", {}},
                        {"PyPI.ORG.", {.id = 7}},
                        {"fIlEs.PyThOnHoStEd.OrG.", {.id = 0xffff}},
                        {"pypi.org.", {.has_edns = true, .dnssec_ok = true}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes q = make_query(c.name, LDNS_RR_TYPE_A, c.opts);
    auto r = answer(handle(q));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(ldns_pkt_id(r.get()), c.opts.id);
    EXPECT_TRUE(ldns_pkt_qr(r.get()));
    EXPECT_TRUE(ldns_pkt_aa(r.get()));
    EXPECT_TRUE(ldns_pkt_rd(r.get()));
    EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
    // 0x20: the question comes back byte for byte, and so does the answer's owner.
    EXPECT_EQ(testing::question_name_bytes(r.get()), testing::question_name_bytes(parse(q).get()));
    ASSERT_EQ(ldns_pkt_ancount(r.get()), 1);
    EXPECT_EQ(testing::rr_text(ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0)),
              std::string(c.name) + "\t60\tIN\tA\t10.0.0.5");
    EXPECT_EQ(ldns_pkt_edns(r.get()), c.opts.has_edns);
    EXPECT_EQ(ldns_pkt_edns_do(r.get()), c.opts.dnssec_ok);
  }
}

TEST_F(ResponderTest, InterceptedTypesTable) {
  struct Case {
    const char* what;
    ldns_rr_type type;
    bool has_address6;
    const char* want_answer;  // nullptr: NODATA with SOA in authority
  };
  const Case cases[] = {
      {"AAAA without address6", LDNS_RR_TYPE_AAAA, false, nullptr},
      {"AAAA with address6", LDNS_RR_TYPE_AAAA, true, "pypi.org.\t60\tIN\tAAAA\tfd00::5"},
      {"HTTPS", LDNS_RR_TYPE_HTTPS, true, nullptr},
      {"SVCB", LDNS_RR_TYPE_SVCB, false, nullptr},
      {"ANY (RFC 8482: the A RRset)", LDNS_RR_TYPE_ANY, true, "pypi.org.\t60\tIN\tA\t10.0.0.5"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ResponderOptions o = test_options();
    if (c.has_address6) o.address6 = *parse_ip("fd00::5");
    Responder r6{o};
    auto r = answer(r6.handle(make_query("pypi.org.", c.type), kUdpClient, clock.monotonic_now()));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_NOERROR);
    EXPECT_TRUE(ldns_pkt_aa(r.get()));
    if (c.want_answer != nullptr) {
      ASSERT_EQ(ldns_pkt_ancount(r.get()), 1);
      EXPECT_EQ(testing::rr_text(ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0)), c.want_answer);
    } else {
      EXPECT_EQ(ldns_pkt_ancount(r.get()), 0);
      ASSERT_EQ(ldns_pkt_nscount(r.get()), 1);
      const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(r.get()), 0);
      EXPECT_EQ(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
      EXPECT_EQ(ldns_rr_ttl(soa), 60u);
      EXPECT_EQ(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 60u);  // negative TTL = [dns] ttl
    }
  }
}

TEST_F(ResponderTest, OtherTypesSubdomainsAndOtherNamesAreForwarded) {
  const std::pair<const char*, ldns_rr_type> cases[] = {
      {"pypi.org.", LDNS_RR_TYPE_TXT},       {"pypi.org.", LDNS_RR_TYPE_MX},
      {"pypi.org.", LDNS_RR_TYPE_CAA},       {"pypi.org.", LDNS_RR_TYPE_NS},
      {"pypi.org.", LDNS_RR_TYPE_SOA},       {"upload.pypi.org.", LDNS_RR_TYPE_A},
      {"test.pypi.org.", LDNS_RR_TYPE_AAAA}, {"pythonhosted.org.", LDNS_RR_TYPE_A},
      {"example.com.", LDNS_RR_TYPE_A},      {"xpypi.org.", LDNS_RR_TYPE_A},
  };
  for (const auto& [name, type] : cases) {
    SCOPED_TRACE(name);
    Outcome o = handle(make_query(name, type));
    EXPECT_TRUE(std::holds_alternative<Forward>(o)) << "outcome #" << o.index();
  }
}

TEST_F(ResponderTest, ForwardedQueryKeepsQuestionCaseDoAndCdWithOurEdns) {
  const Bytes q = make_query(
      "WwW.Example.COM.", LDNS_RR_TYPE_A,
      {.id = 99, .has_edns = true, .dnssec_ok = true, .udp_size = 4096, .checking_disabled = true});
  Outcome o = handle(q);
  const Forward* f = std::get_if<Forward>(&o);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->client_query, q);
  auto up = parse(f->upstream_query);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(testing::question_name_bytes(up.get()), testing::question_name_bytes(parse(q).get()));
  EXPECT_TRUE(ldns_pkt_edns(up.get()));
  EXPECT_TRUE(ldns_pkt_edns_do(up.get()));
  EXPECT_TRUE(ldns_pkt_cd(up.get()));
  EXPECT_TRUE(ldns_pkt_rd(up.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(up.get()), 1232);

  auto plain =
      parse(std::get<Forward>(handle(make_query("a.example.", LDNS_RR_TYPE_A))).upstream_query);
  EXPECT_TRUE(ldns_pkt_edns(plain.get()));  // always EDNS upstream: big answers stay on UDP
  EXPECT_FALSE(ldns_pkt_edns_do(plain.get()));
}

TEST_F(ResponderTest, CompleteRestoresClientIdCaseAndEdns) {
  const Bytes q = make_query("WwW.Example.COM.", LDNS_RR_TYPE_A,
                             {.id = 4321, .has_edns = true, .dnssec_ok = true});
  Outcome o = handle(q);
  const Forward& f = std::get<Forward>(o);
  const Bytes reply = make_reply(f.upstream_query, LDNS_RCODE_NOERROR,
                                 {"www.example.com. 300 IN A 192.0.2.80"}, {}, 0xbeef);
  auto r = answer(responder.complete(f, reply, clock.monotonic_now()));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(ldns_pkt_id(r.get()), 4321);
  EXPECT_EQ(testing::question_name_bytes(r.get()), testing::question_name_bytes(parse(q).get()));
  ASSERT_EQ(ldns_pkt_ancount(r.get()), 1);
  EXPECT_EQ(testing::rr_text(ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0)),
            "WwW.Example.COM.\t300\tIN\tA\t192.0.2.80");
  EXPECT_TRUE(ldns_pkt_edns_do(r.get()));
  EXPECT_FALSE(ldns_pkt_aa(r.get()));
}

TEST_F(ResponderTest, UpstreamFailureGivesServfail) {
  const Bytes q = make_query("example.com.", LDNS_RR_TYPE_A, {.id = 5});
  struct Case {
    const char* what;
    Result<Bytes> reply;
  };
  const Case cases[] = {
      {"all upstreams failed", make_error(Errc::kUnavailable, "timeout")},
      {"garbage reply", Bytes{1, 2, 3}},
      {"a query instead of a reply", q},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto r = answer(forward_and_complete(q, c.reply));
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(ldns_pkt_get_rcode(r.get()), LDNS_RCODE_SERVFAIL);
    EXPECT_EQ(ldns_pkt_id(r.get()), 5);
    EXPECT_EQ(ldns_pkt_qdcount(r.get()), 1);
  }
  EXPECT_EQ(responder.stats().upstream_failures, 3u);
}

TEST_F(ResponderTest, InterceptedNamesNeedNoUpstream) {
  // Every upstream down: forwarded names fail, intercepted ones still answer, in any order.
  auto fail = forward_and_complete(make_query("example.com.", LDNS_RR_TYPE_A),
                                   make_error(Errc::kUnavailable, "down"));
  EXPECT_EQ(ldns_pkt_get_rcode(answer(fail).get()), LDNS_RCODE_SERVFAIL);
  auto ok = answer(handle(make_query("pypi.org.", LDNS_RR_TYPE_A)));
  EXPECT_EQ(ldns_pkt_ancount(ok.get()), 1);
}

Bytes big_reply(const Bytes& upstream_query, int records) {
  std::vector<std::string> rrs;
  for (int i = 0; i < records; ++i) {
    rrs.push_back("big.example. 300 IN TXT \"" + std::string(40, 'a' + i % 26) + "\"");
  }
  return make_reply(upstream_query, LDNS_RCODE_NOERROR, rrs);
}

TEST_F(ResponderTest, TruncatesPastTheClientsUdpSize) {
  struct Case {
    const char* what;
    QueryOptions opts;
    Client client;
    int records;
    bool want_tc;
    std::size_t max_size;
  };
  const Case cases[] = {
      {"no EDNS, fits 512", {}, kUdpClient, 5, false, 512},
      {"no EDNS, past 512", {}, kUdpClient, 20, true, 512},
      {"EDNS 1232, fits", {.has_edns = true, .udp_size = 1232}, kUdpClient, 20, false, 1232},
      {"EDNS 4096 capped at 1232",
       {.has_edns = true, .udp_size = 4096},
       kUdpClient,
       40,
       true,
       1232},
      {"EDNS 100 counts as 512", {.has_edns = true, .udp_size = 100}, kUdpClient, 20, true, 512},
      {"TCP: never truncated", {}, kTcpClient, 40, false, 65535},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Responder fresh{test_options()};  // no cache between cases
    const Bytes q = make_query("big.example.", LDNS_RR_TYPE_TXT, c.opts);
    Outcome o = fresh.handle(q, c.client, clock.monotonic_now());
    const Forward& f = std::get<Forward>(o);
    Outcome done = fresh.complete(f, big_reply(f.upstream_query, c.records), clock.monotonic_now());
    const Bytes& wire = std::get<Answer>(done).packet;
    EXPECT_LE(wire.size(), c.max_size);
    auto r = parse(wire);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(ldns_pkt_tc(r.get()), c.want_tc);
    EXPECT_EQ(ldns_pkt_ancount(r.get()), c.want_tc ? 0 : c.records);
    EXPECT_EQ(ldns_pkt_qdcount(r.get()), 1);
    EXPECT_EQ(ldns_pkt_edns(r.get()), c.opts.has_edns);  // OPT kept when truncated
  }
}

TEST_F(ResponderTest, ClientsOutsideAllowAreRefusedForEveryName) {
  const Client outsiders[] = {{*parse_ip("192.0.2.7"), Transport::kUdp},
                              {*parse_ip("192.0.2.7"), Transport::kTcp},
                              {*parse_ip("2001:db8::1"), Transport::kUdp}};
  for (const Client& c : outsiders) {
    for (const char* name : {"pypi.org.", "example.com."}) {
      SCOPED_TRACE(name);
      Outcome o = handle(make_query(name, LDNS_RR_TYPE_A, {.id = 77, .has_edns = true}), c);
      const Refuse* r = std::get_if<Refuse>(&o);
      ASSERT_NE(r, nullptr);
      auto p = parse(r->packet);
      EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_REFUSED);
      EXPECT_EQ(ldns_pkt_id(p.get()), 77);
      EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
      EXPECT_EQ(ldns_pkt_qdcount(p.get()), 1);
    }
  }
  EXPECT_TRUE(std::holds_alternative<Answer>(
      handle(make_query("pypi.org.", LDNS_RR_TYPE_A), {*parse_ip("fd12::1"), Transport::kUdp})));
}

TEST_F(ResponderTest, RateLimitPerClientUnderManualClock) {
  ResponderOptions o = test_options();
  o.rate_limit = {.rate_per_second = 2, .burst = 3};
  Responder limited{o};
  const Bytes q = make_query("pypi.org.", LDNS_RR_TYPE_A);
  const Client other{*parse_ip("10.9.9.9"), Transport::kUdp};
  auto outcome = [&](const Client& c) { return limited.handle(q, c, clock.monotonic_now()); };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::holds_alternative<Answer>(outcome(kUdpClient)));
  auto dropped = outcome(kUdpClient);
  ASSERT_TRUE(std::holds_alternative<Drop>(dropped));
  EXPECT_TRUE(std::get<Drop>(dropped).rate_limited);            // the servers log it (LogThrottle)
  EXPECT_TRUE(std::holds_alternative<Answer>(outcome(other)));  // buckets are per client
  EXPECT_TRUE(std::holds_alternative<Answer>(outcome(kTcpClient)));  // TCP is not limited
  clock.advance(500ms);                                              // one token back
  EXPECT_TRUE(std::holds_alternative<Answer>(outcome(kUdpClient)));
  EXPECT_TRUE(std::holds_alternative<Drop>(outcome(kUdpClient)));
  clock.advance(10s);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::holds_alternative<Answer>(outcome(kUdpClient)));
  EXPECT_EQ(limited.stats().rate_limited, 2u);
  // Refusals cost tokens too: REFUSED floods must not amplify either.
  const Client outsider{*parse_ip("192.0.2.1"), Transport::kUdp};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::holds_alternative<Refuse>(outcome(outsider)));
  EXPECT_TRUE(std::holds_alternative<Drop>(outcome(outsider)));
}

TEST_F(ResponderTest, CachedAnswersAgeAndExpire) {
  const Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = 1});
  Outcome first = handle(q);
  const Forward& f = std::get<Forward>(first);
  answer(responder.complete(
      f, make_reply(f.upstream_query, LDNS_RCODE_NOERROR, {"www.example.com. 60 IN A 192.0.2.1"}),
      clock.monotonic_now()));

  clock.advance(30s);
  const Bytes again = make_query("WWW.example.COM.", LDNS_RR_TYPE_A, {.id = 2});
  auto hit = answer(handle(again));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(ldns_pkt_id(hit.get()), 2);
  EXPECT_EQ(testing::rr_text(ldns_rr_list_rr(ldns_pkt_answer(hit.get()), 0)),
            "WWW.example.COM.\t30\tIN\tA\t192.0.2.1");
  EXPECT_EQ(responder.stats().cache_hits, 1u);

  // The DO bit is part of the key: a DNSSEC client does not get an answer without RRSIGs.
  EXPECT_TRUE(std::holds_alternative<Forward>(handle(
      make_query("www.example.com.", LDNS_RR_TYPE_A, {.has_edns = true, .dnssec_ok = true}))));
  // So are the type and the CD bit.
  EXPECT_TRUE(
      std::holds_alternative<Forward>(handle(make_query("www.example.com.", LDNS_RR_TYPE_AAAA))));
  EXPECT_TRUE(std::holds_alternative<Forward>(
      handle(make_query("www.example.com.", LDNS_RR_TYPE_A, {.checking_disabled = true}))));

  clock.advance(30s);  // 60 s after the store: expired
  EXPECT_TRUE(std::holds_alternative<Forward>(handle(again)));
}

TEST_F(ResponderTest, NegativeAnswersAreCachedPerRfc2308) {
  const Bytes q = make_query("nx.example.com.", LDNS_RR_TYPE_A);
  Outcome o = handle(q);
  const Forward& f = std::get<Forward>(o);
  responder.complete(
      f,
      make_reply(f.upstream_query, LDNS_RCODE_NXDOMAIN, {},
                 {"example.com. 300 IN SOA ns.example.com. h.example.com. 1 7200 900 1209600 45"}),
      clock.monotonic_now());
  clock.advance(44s);
  auto hit = answer(handle(q));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(hit.get()), LDNS_RCODE_NXDOMAIN);
  ASSERT_EQ(ldns_pkt_nscount(hit.get()), 1);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(hit.get()), 0)), 1u);  // 45 - 44
  clock.advance(1s);
  EXPECT_TRUE(std::holds_alternative<Forward>(handle(q)));
}

TEST_F(ResponderTest, BadInputTable) {
  const Bytes good = make_query("example.com.", LDNS_RR_TYPE_A, {.id = 0x0a0b});
  auto with = [&](auto edit) {
    Bytes b = good;
    edit(b);
    return b;
  };
  struct Case {
    const char* what;
    Bytes query;
    int want;  // -1: Drop, else the RCODE of an Answer (16: BADVERS)
  };
  const Case cases[] = {
      {"empty", {}, -1},
      {"11 bytes", Bytes(good.begin(), good.begin() + 11), -1},
      {"QR=1 (a response)", with([](Bytes& b) { b[2] |= 0x80; }), -1},
      {"opcode NOTIFY", with([](Bytes& b) { b[2] = (b[2] & 0x87) | (4 << 3); }),
       LDNS_RCODE_NOTIMPL},
      {"opcode UPDATE", with([](Bytes& b) { b[2] = (b[2] & 0x87) | (5 << 3); }),
       LDNS_RCODE_NOTIMPL},
      {"header only", Bytes(good.begin(), good.begin() + 12), LDNS_RCODE_FORMERR},
      {"QDCOUNT 0", with([](Bytes& b) { b[5] = 0; }), LDNS_RCODE_FORMERR},
      {"QDCOUNT 2", with([](Bytes& b) { b[5] = 2; }), LDNS_RCODE_FORMERR},
      {"truncated question", Bytes(good.begin(), good.end() - 3), LDNS_RCODE_FORMERR},
      {"label past the end", with([](Bytes& b) { b[12] = 60; }), LDNS_RCODE_FORMERR},
      {"ANCOUNT past the end", with([](Bytes& b) { b[7] = 5; }), LDNS_RCODE_FORMERR},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Outcome o = handle(c.query);
    if (c.want < 0) {
      EXPECT_TRUE(std::holds_alternative<Drop>(o)) << "outcome #" << o.index();
      continue;
    }
    auto r = answer(o);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(ldns_pkt_get_rcode(r.get()), c.want);
    EXPECT_EQ(ldns_pkt_id(r.get()), 0x0a0b);
    EXPECT_TRUE(ldns_pkt_qr(r.get()));
  }
}

TEST_F(ResponderTest, EdnsVersionAboveZeroIsBadvers) {
  auto p = parse(make_query("pypi.org.", LDNS_RR_TYPE_A, {.has_edns = true}));
  ldns_pkt_set_edns_version(p.get(), 1);
  auto r = answer(handle(testing::to_bytes(p.get())));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(ldns_pkt_get_rcode(r.get()), 0);
  EXPECT_EQ(ldns_pkt_edns_extended_rcode(r.get()), 1);  // BADVERS = 16
  EXPECT_EQ(ldns_pkt_ancount(r.get()), 0);
}

}  // namespace
}  // namespace pipgate::dns

namespace pipgate::dns {
namespace {

// A cache hit is adapted on the wire; the first answer is built through ldns. With no time
// passed, both must be the same bytes for every kind of client and upstream reply.
TEST_F(ResponderTest, CacheHitsMatchTheLdnsPathByteForByte) {
  struct Case {
    const char* what;
    QueryOptions opts;
    bool upstream_has_opt;
  };
  const Case cases[] = {
      {"no EDNS", {.id = 11}, true},
      {"EDNS", {.id = 12, .has_edns = true, .udp_size = 4096}, true},
      {"EDNS + DO", {.id = 13, .has_edns = true, .dnssec_ok = true}, true},
      {"CD, RD clear", {.id = 14, .checking_disabled = true, .recursion_desired = false}, true},
      {"EDNS, upstream without OPT", {.id = 15, .has_edns = true}, false},
      {"no EDNS, upstream without OPT", {.id = 16}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Responder fresh{test_options()};
    const Bytes q = make_query("Www.Example.Com.", LDNS_RR_TYPE_A, c.opts);
    Outcome o = fresh.handle(q, kUdpClient, clock.monotonic_now());
    const Forward& f = std::get<Forward>(o);
    auto up = parse(f.upstream_query);
    if (!c.upstream_has_opt) ldns_pkt_set_edns_udp_size(up.get(), 0);
    if (!c.upstream_has_opt) ldns_pkt_set_edns_do(up.get(), false);
    Bytes up_q = testing::to_bytes(up.get());
    auto reply = parse(make_reply(
        up_q, LDNS_RCODE_NOERROR,
        {"www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 300 IN A 192.0.2.1"},
        {"example.com. 300 IN NS ns.example.com."}));
    ldns_pkt_set_ad(reply.get(), true);
    const Bytes first =
        std::get<Answer>(fresh.complete(f, testing::to_bytes(reply.get()), clock.monotonic_now()))
            .packet;
    const Bytes hit = std::get<Answer>(fresh.handle(q, kUdpClient, clock.monotonic_now())).packet;
    EXPECT_EQ(fresh.stats().cache_hits, 1u);
    EXPECT_EQ(hit, first);
    auto p = parse(hit);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(ldns_pkt_ancount(p.get()), 2);
    EXPECT_EQ(ldns_pkt_ad(p.get()), c.opts.dnssec_ok);  // AD only for DO clients
  }
}

TEST_F(ResponderTest, CacheHitTooBigForUdpIsTruncated) {
  // Fetched over TCP (no limit), then asked over UDP without EDNS: TC from the cache too.
  const Bytes q = make_query("big.example.", LDNS_RR_TYPE_TXT);
  Outcome o = handle(q, kTcpClient);
  const Forward& f = std::get<Forward>(o);
  auto full = parse(std::get<Answer>(responder.complete(f, big_reply(f.upstream_query, 20),
                                                        clock.monotonic_now()))
                        .packet);
  EXPECT_EQ(ldns_pkt_ancount(full.get()), 20);
  auto udp = answer(handle(q));
  ASSERT_NE(udp, nullptr);
  EXPECT_TRUE(ldns_pkt_tc(udp.get()));
  auto tcp = answer(handle(q, kTcpClient));
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 20);
  EXPECT_EQ(responder.stats().cache_hits, 2u);
}

}  // namespace
}  // namespace pipgate::dns
