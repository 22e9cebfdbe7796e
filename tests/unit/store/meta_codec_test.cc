#include "store/internal/meta_codec.h"

#include <gtest/gtest.h>

#include <chrono>

namespace pipgate::store::internal {
namespace {

ObjectRecord sample() {
  ObjectRecord r;
  r.meta.key = "files.pythonhosted.org/packages/aa/bb/x.whl";
  r.meta.version = 42;
  r.meta.head.status = 200;
  r.meta.head.headers = {{"content-type", "application/zip"}, {"etag", "\"v1\""}, {"x-empty", ""}};
  r.meta.size_bytes = 1234567;
  r.meta.digest = Blake2b256::of("abc");
  r.meta.created = SystemTime{} + std::chrono::microseconds(1700000000123456);
  r.meta.validated = r.meta.created + std::chrono::seconds(5);
  r.meta.last_access = r.meta.created + std::chrono::seconds(9);
  r.chunk_size_bytes = 262144;
  return r;
}

TEST(MetaCodec, RoundTrips) {
  ObjectRecord r = sample();
  auto back = decode(r.meta.key, encode(r));
  ASSERT_TRUE(back.has_value()) << to_string(back.error());
  EXPECT_EQ(back->meta.key, r.meta.key);
  EXPECT_EQ(back->meta.version, r.meta.version);
  EXPECT_EQ(back->meta.head, r.meta.head);
  EXPECT_EQ(back->meta.size_bytes, r.meta.size_bytes);
  EXPECT_EQ(back->meta.digest, r.meta.digest);
  EXPECT_EQ(back->meta.created, r.meta.created);
  EXPECT_EQ(back->meta.validated, r.meta.validated);
  EXPECT_EQ(back->meta.last_access, r.meta.last_access);
  EXPECT_EQ(back->chunk_size_bytes, r.chunk_size_bytes);
  EXPECT_EQ(back->chunk_count(), 5u);  // 1234567 / 262144 → 4.7
}

TEST(MetaCodec, RejectsDamagedRecords) {
  const std::string good = encode(sample());
  struct Case {
    const char* name;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"empty", ""},
      {"unknown version", "\x02" + good.substr(1)},
      {"trailing byte", good + "x"},
      {"header count huge",
       [&] {
         std::string s = good;
         // header count sits right after the fixed part: 1+8+4+8+32+4+8+8+8 = 81
         s[81] = '\x7f';
         return s;
       }()},
  };
  for (std::size_t cut = 0; cut < good.size(); cut += 7) {
    cases.push_back({"truncated", good.substr(0, cut)});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = decode("k", c.bytes);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kCorrupt);
  }
}

}  // namespace
}  // namespace pipgate::store::internal
