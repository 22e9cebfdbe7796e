#include "proxy/body_pipe.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace pipgate::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

MonotonicTime far() { return RealClock().monotonic_now() + 10s; }

// Reads `pipe` to its end, logging "r:<chunk>", then "end" or "error:<detail>".
asio::awaitable<void> drain(BodyPipe& pipe, std::vector<std::string>& log) {
  for (;;) {
    auto c = co_await pipe.read(far());
    if (!c) {
      log.push_back("error:" + c.error().detail);
      co_return;
    }
    if (!*c) {
      log.push_back("end");
      co_return;
    }
    log.push_back("r:" + (*c)->str());
  }
}

TEST(BodyPipeTest, WriterWaitsWhileLimitIsBuffered) {
  asio::io_context io;
  BodyPipe pipe(io.get_executor(), 10);
  std::vector<std::string> log;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await pipe.write("0123456789"));
        log.push_back("w1");
        EXPECT_TRUE(co_await pipe.write("abc"));  // 10 bytes buffered: waits for the reader
        log.push_back("w2");
        pipe.finish();
      },
      asio::detached);
  asio::co_spawn(io, drain(pipe, log), asio::detached);
  io.run();
  EXPECT_EQ(log, (std::vector<std::string>{"w1", "r:0123456789", "w2", "r:abc", "end"}));
}

TEST(BodyPipeTest, FailureComesAfterBufferedBytes) {
  asio::io_context io;
  BodyPipe pipe(io.get_executor(), 100);
  std::vector<std::string> log;
  pipe.push("x");
  pipe.push("");  // ignored
  pipe.fail(Error{Errc::kUnavailable, "upstream died"});
  pipe.finish();  // ignored: already done
  asio::co_spawn(io, drain(pipe, log), asio::detached);
  io.run();
  EXPECT_EQ(log, (std::vector<std::string>{"r:x", "error:upstream died"}));
}

TEST(BodyPipeTest, CancelFailsWritesAndTellsTheProducerOnce) {
  asio::io_context io;
  BodyPipe pipe(io.get_executor(), 4);
  int cancels = 0;
  pipe.on_cancel([&] { ++cancels; });
  std::vector<bool> writes;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        writes.push_back(co_await pipe.write("abcd"));
        writes.push_back(co_await pipe.write("efgh"));  // waits, then the consumer cancels
        writes.push_back(co_await pipe.write("ijkl"));
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        pipe.cancel();
        pipe.cancel();
        co_return;
      },
      asio::detached);
  io.run();
  EXPECT_EQ(writes, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(pipe.is_cancelled());
  EXPECT_EQ(pipe.buffered_bytes(), 0u);
}

TEST(BodyPipeTest, ConsumedBytesAreReported) {
  asio::io_context io;
  BodyPipe pipe(io.get_executor(), 100);
  std::vector<std::size_t> consumed;
  pipe.on_consumed([&](std::size_t n) { consumed.push_back(n); });
  std::vector<std::string> log;
  pipe.push("ab");
  pipe.push("cde");
  pipe.finish();
  asio::co_spawn(io, drain(pipe, log), asio::detached);
  io.run();
  EXPECT_EQ(consumed, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(log, (std::vector<std::string>{"r:ab", "r:cde", "end"}));
}

TEST(BodyPipeTest, ReadPastDeadlineFailsThePipe) {
  asio::io_context io;
  BodyPipe pipe(io.get_executor(), 100);
  Result<std::optional<SharedBytes>> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        got = co_await pipe.read(RealClock().monotonic_now() - 1s);
      },
      asio::detached);
  io.run();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, Errc::kUnavailable);
  EXPECT_TRUE(pipe.is_done());
}

}  // namespace
}  // namespace pipgate::proxy
