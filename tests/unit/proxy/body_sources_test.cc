// The verifying relay (verify_digest): bodies that bypass the store are checked against the
// digest in the file's name, and a corrupt one never looks complete to the client.
#include "proxy/cache/body_sources.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace pipgate::proxy::cache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Drained {
  std::string bytes;
  std::vector<std::size_t> chunk_sizes;
  std::optional<Error> error;
  bool ended = false;
};

// Feeds `chunks` into a pipe (then finishes it, or fails it with `fail`), runs verify_digest
// over it and reads the result to its end.
Drained run(const std::vector<std::string>& chunks, store::Digest expected,
            store::Blake2b256 hashed = {}, std::uint64_t skip = 0,
            std::optional<Error> fail = std::nullopt) {
  asio::io_context io;
  auto in = std::make_shared<BodyPipe>(io.get_executor(), 1 << 20);
  auto out = verify_digest(io.get_executor(), in, expected, 1 << 20, hashed, skip);
  Drained d;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const auto& c : chunks) co_await in->write(c);
        if (fail)
          in->fail(*fail);
        else
          in->finish();
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto c = co_await out->read(RealClock().monotonic_now() + 10s);
          if (!c) {
            d.error = c.error();
            co_return;
          }
          if (!*c) {
            d.ended = true;
            co_return;
          }
          d.bytes += **c;
          d.chunk_sizes.push_back((*c)->size());
        }
      },
      asio::detached);
  io.run();
  return d;
}

TEST(VerifyDigest, AGoodBodyPassesWhole) {
  std::vector<std::string> chunks{"first chunk ", "second chunk ", "last"};
  auto d = run(chunks, store::Blake2b256::of(std::string_view("first chunk second chunk last")));
  EXPECT_FALSE(d.error);
  EXPECT_TRUE(d.ended);
  EXPECT_EQ(d.bytes, "first chunk second chunk last");
}

TEST(VerifyDigest, ACorruptBodyFailsBeforeItsLastChunk) {
  std::vector<std::string> chunks{"first chunk ", "second chunk ", "tampered"};
  auto d = run(chunks, store::Blake2b256::of(std::string_view("first chunk second chunk last")));
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, Errc::kCorrupt);
  EXPECT_NE(d.error->detail.find("BLAKE2b"), std::string::npos) << d.error->detail;
  EXPECT_FALSE(d.ended);
  EXPECT_EQ(d.bytes, "first chunk second chunk ") << "the last chunk is held back";
}

TEST(VerifyDigest, AOneChunkCorruptBodySendsNothing) {
  auto d = run({"everything"}, store::Blake2b256::of(std::string_view("something else")));
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.bytes, "");
}

TEST(VerifyDigest, ContinuesAHashStateAndSkipsWhatTheClientHas) {
  // The store hashed "0123" before the disk filled; the client already had "012345"; upstream
  // resends from byte 4.
  store::Blake2b256 prefix;
  prefix.update(std::string_view("0123"));
  auto d = run({"45", "6789"}, store::Blake2b256::of(std::string_view("0123456789")), prefix, 2);
  EXPECT_FALSE(d.error);
  EXPECT_EQ(d.bytes, "6789");

  auto bad = run({"45", "67x9"}, store::Blake2b256::of(std::string_view("0123456789")), prefix, 2);
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.bytes, "");
}

TEST(VerifyDigest, ABodyShorterThanTheSkipIsAnError) {
  auto d = run({"4"}, store::Blake2b256::of(std::string_view("01234")), {}, 5);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, Errc::kCorrupt);
}

TEST(VerifyDigest, AnUpstreamFailurePassesThrough) {
  auto d = run({"part"}, store::Blake2b256::of(std::string_view("part and more")), {}, 0,
               Error{Errc::kUnavailable, "upstream reset"});
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, Errc::kUnavailable);
  EXPECT_EQ(d.bytes, "");
}

}  // namespace
}  // namespace pipgate::proxy::cache
