#include "store/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace pipgate::store {
namespace {

std::string counting_bytes() {
  std::string s;
  for (int rep = 0; rep < 1000; ++rep) {
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  }
  return s;
}

struct Case {
  const char* name;
  std::string input;
  const char* want_hex;  // from Python's hashlib.blake2b(digest_size=32)
};

TEST(Blake2b256, KnownDigests) {
  const Case cases[] = {
      {"empty", "", "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"},
      {"abc", "abc", "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"},
      {"fox", "The quick brown fox jumps over the lazy dog",
       "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9"},
      {"256000 bytes", counting_bytes(),
       "5d074c3f889bcba3b3a253496ee73cba18832b6d3c67d2b739dc202c78ed2581"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_hex(Blake2b256::of(c.input)), c.want_hex);
    // Fed in uneven pieces, across BLAKE2b's 128-byte blocks.
    for (std::size_t piece : {1u, 127u, 128u, 129u, 4096u}) {
      Blake2b256 h;
      for (std::size_t i = 0; i < c.input.size(); i += piece) {
        h.update(std::string_view(c.input).substr(i, piece));
      }
      EXPECT_EQ(to_hex(h.finish()), c.want_hex) << "piece " << piece;
    }
  }
}

TEST(Blake2b256, FinishStartsOver) {
  Blake2b256 h;
  h.update(std::string_view("abc"));
  EXPECT_EQ(h.finish(), Blake2b256::of("abc"));
  h.update(std::string_view("abc"));
  EXPECT_EQ(h.finish(), Blake2b256::of("abc"));
}

TEST(Blake2b256, CopyForksTheState) {
  Blake2b256 a;
  a.update(std::string_view("ab"));
  Blake2b256 b = a;
  a.update(std::string_view("c"));
  b.update(std::string_view("c"));
  EXPECT_EQ(a.finish(), b.finish());
}

TEST(DigestHex, RoundTripAndRejects) {
  Digest d = Blake2b256::of("abc");
  EXPECT_EQ(digest_from_hex(to_hex(d)), d);
  std::string upper = to_hex(d);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(digest_from_hex(upper), d);
  const char* bad[] = {"", "abc",
                       "zz5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
                       "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a800"};
  for (const char* b : bad) EXPECT_FALSE(digest_from_hex(b).has_value()) << b;
}

}  // namespace
}  // namespace pipgate::store
