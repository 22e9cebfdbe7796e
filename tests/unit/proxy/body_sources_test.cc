// The verifying relay (verify_digest): bodies that bypass the store are checked against the
// digest in the file's name, and a corrupt one never looks complete to the client. And
// gunzip_now: a small stored page decoded at once, its length known.
#include "proxy/cache/body_sources.h"

#include <gtest/gtest.h>
#include <zlib.h>

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
          d.bytes += (*c)->view();
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

// gzip-compresses `text` (one member, as PyPI's CDN sends pages).
std::string gzip(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

// A page text that compresses well, like a PEP 691 JSON page.
std::string page(std::size_t bytes) {
  std::string s;
  for (int i = 0; s.size() < bytes; ++i)
    s += "{\"filename\": \"pkg-" + std::to_string(i) + ".whl\", \"hashes\": {}},\n";
  s.resize(bytes);
  return s;
}

TEST(GunzipNow, DecodesAWholeSmallBodyAtOnceWithItsLength) {
  // A damaged trailer may announce any size: such cases may also be left to gunzip().
  enum Outcome { kDecoded, kFailed, kLater, kDecodedOrLater, kFailedOrLater };
  struct Case {
    const char* name;
    std::vector<std::string> chunks;  // the stored gzip, as the pipe holds it
    bool finished;
    Outcome outcome;  // kLater: nullopt, and gunzip() gets the stored gzip whole
  };
  const std::string small = page(2193), big = page((1 << 20) + 1);
  const std::string gz = gzip(small), big_gz = gzip(big);
  std::string flipped = gz;
  flipped[gz.size() / 2] ^= 0x55;
  std::string longer = gz;  // ISIZE says 1 byte less than the data holds
  longer[longer.size() - 4] = static_cast<char>(longer[longer.size() - 4] - 1);
  const Case cases[] = {
      {"one chunk", {gz}, true, kDecoded},
      {"two chunks", {gz.substr(0, 100), gz.substr(100)}, true, kDecoded},
      {"not finished yet", {gz}, false, kLater},
      {"decodes to more than 1 MiB", {big_gz}, true, kLater},
      {"corrupt", {flipped}, true, kFailed},
      {"cut short", {gz.substr(0, gz.size() - 10)}, true, kFailedOrLater},
      {"longer than its trailer says", {longer}, true, kLater},
      {"bytes after the member", {gz + "xyz"}, true, kDecodedOrLater},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    asio::io_context io;
    auto in = std::make_shared<BodyPipe>(io.get_executor(), 1 << 20);
    std::string stored;
    for (const auto& chunk : c.chunks) {
      in->push(chunk);
      stored += chunk;
    }
    if (c.finished) in->finish();
    auto d = gunzip_now(io.get_executor(), in, 1 << 20);
    if (c.outcome == kLater ||
        ((c.outcome == kDecodedOrLater || c.outcome == kFailedOrLater) && !d)) {
      ASSERT_FALSE(d);
      std::string left;
      while (auto chunk = in->try_read()) left += chunk->view();
      EXPECT_EQ(left, stored) << "nothing lost for gunzip()";
      EXPECT_EQ(in->is_finished(), c.finished);
      continue;
    }
    ASSERT_TRUE(d);
    std::optional<std::string> got;
    std::optional<Error> error;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          std::string bytes;
          for (;;) {
            auto r = co_await d->body->read(RealClock().monotonic_now() + 10s);
            if (!r) {
              error = r.error();
              co_return;
            }
            if (!*r) break;
            bytes += (*r)->view();
          }
          got = bytes;
        },
        asio::detached);
    io.run();
    if (c.outcome == kFailed || c.outcome == kFailedOrLater) {
      ASSERT_TRUE(error);
      EXPECT_EQ(error->code, Errc::kCorrupt);
      EXPECT_FALSE(d->size) << "no length promised for a body that fails";
    } else {
      EXPECT_EQ(got, small);
      EXPECT_EQ(d->size, small.size());
    }
  }
}

}  // namespace
}  // namespace pipgate::proxy::cache
