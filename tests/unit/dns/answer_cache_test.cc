#include "dns/answer_cache.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "tests/unit/dns/packets.h"

namespace pipgate::dns {
namespace {

using namespace std::chrono_literals;
using testing::make_query;
using testing::make_reply;

const char* const kSoa =
    "example.com. 300 IN SOA ns.example.com. h.example.com. 1 7200 900 1209600 ";

CacheKey key(const std::string& name, std::uint16_t type = 1) {
  return CacheKey{name, type, 1, false, false};
}

TEST(AnswerCacheTest, StoredTtlTable) {
  const Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  struct Case {
    const char* what;
    Bytes reply;
    AnswerCacheOptions opts;
    std::optional<std::chrono::seconds> want;
  };
  const Case cases[] = {
      {"smallest RR TTL",
       make_reply(
           q, LDNS_RCODE_NOERROR,
           {"www.example.com. 300 IN CNAME w.example.com.", "w.example.com. 120 IN A 1.2.3.4"}),
       {},
       120s},
      {"clamped up to min_ttl",
       make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 5 IN A 1.2.3.4"}),
       {.min_ttl = 30s},
       30s},
      {"clamped down to max_ttl",
       make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 999999 IN A 1.2.3.4"}),
       {.max_ttl = 3600s},
       3600s},
      {"TTL 0 is not cached",
       make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 0 IN A 1.2.3.4"}),
       {},
       std::nullopt},
      {"NXDOMAIN: min(SOA TTL, MINIMUM)",
       make_reply(q, LDNS_RCODE_NXDOMAIN, {}, {std::string(kSoa) + "900"}),
       {},
       300s},
      {"NODATA: MINIMUM below SOA TTL",
       make_reply(q, LDNS_RCODE_NOERROR, {}, {std::string(kSoa) + "60"}),
       {},
       60s},
      {"negative capped by max_negative_ttl",
       make_reply(q, LDNS_RCODE_NXDOMAIN, {}, {std::string(kSoa) + "900"}),
       {.max_negative_ttl = 10s},
       10s},
      {"negative without SOA is not cached",
       make_reply(q, LDNS_RCODE_NXDOMAIN, {}),
       {},
       std::nullopt},
      {"SERVFAIL is not cached", make_reply(q, LDNS_RCODE_SERVFAIL, {}), {}, std::nullopt},
      {"REFUSED is not cached", make_reply(q, LDNS_RCODE_REFUSED, {}), {}, std::nullopt},
      {"garbage", Bytes{1, 2, 3, 4, 5}, {}, std::nullopt},
      {"disabled",
       make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 60 IN A 1.2.3.4"}),
       {.max_entries = 0},
       std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    AnswerCache cache{c.opts};
    EXPECT_EQ(cache.store(key("w"), c.reply, MonotonicTime{}), c.want);
    EXPECT_EQ(cache.size(), c.want ? 1u : 0u);
  }
}

TEST(AnswerCacheTest, TruncatedRepliesAreNotCached) {
  const Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  Bytes reply = make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 60 IN A 1.2.3.4"});
  reply[2] |= 0x02;  // TC
  AnswerCache cache{{}};
  EXPECT_EQ(cache.store(key("w"), reply, MonotonicTime{}), std::nullopt);
}

TEST(AnswerCacheTest, ExpiresUnderManualClockAndReportsAge) {
  ManualClock clock;
  AnswerCache cache{{}};
  const Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  ASSERT_TRUE(cache.store(key("w"),
                          make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 10 IN A 1.2.3.4"}),
                          clock.monotonic_now()));
  clock.advance(9500ms);
  auto hit = cache.lookup(key("w"), clock.monotonic_now());
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->age, 9s);
  auto stored = testing::parse(hit->packet);
  EXPECT_EQ(ldns_pkt_id(stored.get()), 0);
  clock.advance(500ms);
  EXPECT_FALSE(cache.lookup(key("w"), clock.monotonic_now()));
  EXPECT_EQ(cache.size(), 0u);  // removed on expiry
}

TEST(AnswerCacheTest, BoundedLeastRecentlyUsedFirst) {
  AnswerCache cache{{.max_entries = 2}};
  const Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  const Bytes r = make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 60 IN A 1.2.3.4"});
  const MonotonicTime t{};
  ASSERT_TRUE(cache.store(key("a"), r, t));
  ASSERT_TRUE(cache.store(key("b"), r, t));
  ASSERT_TRUE(cache.lookup(key("a"), t));  // a is now more recent than b
  ASSERT_TRUE(cache.store(key("c"), r, t));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.lookup(key("a"), t));
  EXPECT_FALSE(cache.lookup(key("b"), t));
  EXPECT_TRUE(cache.lookup(key("c"), t));
  ASSERT_TRUE(cache.store(key("c"), r, t));  // replacing keeps the size
  EXPECT_EQ(cache.size(), 2u);
}

TEST(AnswerCacheTest, KeyIncludesTypeClassAndBits) {
  AnswerCache cache{{}};
  const Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  const Bytes r = make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 60 IN A 1.2.3.4"});
  ASSERT_TRUE(cache.store(key("w"), r, MonotonicTime{}));
  for (CacheKey other : {CacheKey{"w", 28, 1, false, false}, CacheKey{"w", 1, 3, false, false},
                         CacheKey{"w", 1, 1, true, false}, CacheKey{"w", 1, 1, false, true}}) {
    EXPECT_FALSE(cache.lookup(other, MonotonicTime{}));
  }
}

}  // namespace
}  // namespace pipgate::dns
