#include "dns/internal/wire.h"

#include <gtest/gtest.h>

#include "tests/unit/dns/packets.h"

namespace pipgate::dns::internal {
namespace {

TEST(WireTest, FindsTtlsAndTheTrailingOpt) {
  const Bytes q = testing::make_query("www.example.com.", LDNS_RR_TYPE_A, {.has_edns = true});
  const Bytes r = testing::make_reply(
      q, LDNS_RCODE_NOERROR,
      {"www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 60 IN A 192.0.2.1"},
      {"example.com. 100 IN NS ns.example.com."});
  auto layout = walk_wire(r);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->question_name_end, 12u + 17u);
  ASSERT_EQ(layout->ttl_offsets.size(), 3u);
  EXPECT_EQ(read_u32(r, layout->ttl_offsets[0]), 300u);
  EXPECT_EQ(read_u32(r, layout->ttl_offsets[1]), 60u);
  EXPECT_EQ(read_u32(r, layout->ttl_offsets[2]), 100u);
  ASSERT_TRUE(layout->opt_offset);
  EXPECT_EQ(r.size() - *layout->opt_offset, 11u);
}

TEST(WireTest, RejectsWhatItCannotWalk) {
  const Bytes q = testing::make_query("www.example.com.", LDNS_RR_TYPE_A);
  const Bytes r = testing::make_reply(q, LDNS_RCODE_NOERROR, {"www.example.com. 1 IN A 1.2.3.4"});
  struct Case {
    const char* what;
    Bytes msg;
  };
  auto edit = [](Bytes b, auto f) {
    f(b);
    return b;
  };
  const Case cases[] = {
      {"short", Bytes(r.begin(), r.begin() + 11)},
      {"cut in an RR", Bytes(r.begin(), r.end() - 1)},
      {"trailing bytes", edit(r, [](Bytes& b) { b.push_back(0); })},
      {"two questions", edit(r, [](Bytes& b) { b[5] = 2; })},
      {"label type 0x40", edit(r, [](Bytes& b) { b[12] = 0x40; })},
      {"RR count past the end", edit(r, [](Bytes& b) { b[7] = 2; })},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_FALSE(walk_wire(c.msg));
  }
}

}  // namespace
}  // namespace pipgate::dns::internal
