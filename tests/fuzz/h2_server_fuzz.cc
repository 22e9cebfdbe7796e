// Fuzz target for HTTP/2 input to the server session: the bytes a client sends after the TLS
// handshake go through H2SessionFeed, i.e. the same nghttp2 server session, options, SETTINGS and
// callbacks as H2Session (proxy/h2_session.cc), with the real Router in front of a small Backend;
// what nghttp2_session_mem_send produces is drained after each piece, and the stream coroutines
// run on an io_context between pieces.
//
// Input layout: byte 0 bit 0 picks the SNI (pypi.org or files.pythonhosted.org); bits 1-3 pick
// how the bytes arrive (all at once, or in pieces of 1, 9, 64, 1000... bytes); the rest follows
// the client connection preface ("PRI * HTTP/2.0...", prepended here): frames.
//
// The Backend answers a routed request with 200 and a body whose size follows the path (none,
// small, or larger than a frame and the default window), so responses, flow control and DATA
// frames are exercised too; request bodies are cancelled, as a refusal does.
//
// Invariants: no crash, leak or sanitizer report; what the server sends is a well-formed frame
// sequence (9-byte headers, known types, lengths within SETTINGS_MAX_FRAME_SIZE's default 16384
// for DATA) starting with SETTINGS; it never opens streams (no PUSH_PROMISE; HEADERS only on
// client-initiated odd stream ids); every stream coroutine ends once the connection ends.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "proxy/backend.h"
#include "proxy/h2_session.h"
#include "proxy/proxy_options.h"
#include "proxy/router.h"

namespace {

using namespace pipgate;
using namespace pipgate::proxy;
namespace asio = boost::asio;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

class FakeBackend final : public Backend {
 public:
  asio::awaitable<Response> respond(const Route&, Request req,
                                    std::shared_ptr<BodyPipe> body) override {
    if (body) body->cancel();
    auto ex = co_await asio::this_coro::executor;
    switch (req.path.size() % 3) {
      case 0: {
        Response r;
        r.head.status = 304;
        r.head.headers = {{"etag", "\"x\""}, {"connection", "close"}};  // hop-by-hop: dropped
        co_return r;
      }
      case 1:
        co_return text_response(ex, 200, "ok\n");
      default:
        co_return text_response(ex, 200, std::string(100 * 1024, 'x'));
    }
  }
};

// Follows the frames in what the server sends, across send() calls.
struct FrameChecker {
  std::string pending;
  bool first = true;
  void feed(std::string_view bytes) {
    pending.append(bytes);
    std::size_t pos = 0;
    while (pending.size() - pos >= 9) {
      const auto* h = reinterpret_cast<const std::uint8_t*>(pending.data() + pos);
      std::uint32_t length = std::uint32_t{h[0]} << 16 | std::uint32_t{h[1]} << 8 | h[2];
      std::uint8_t type = h[3];
      std::uint32_t stream = (std::uint32_t{h[5]} << 24 | std::uint32_t{h[6]} << 16 |
                              std::uint32_t{h[7]} << 8 | h[8]) &
                             0x7fffffff;
      if (first) check(type == 0x4 && stream == 0, "the server preface is SETTINGS");
      first = false;
      check(type <= 0x9, "known frame types only");
      check(type != 0x5, "no PUSH_PROMISE");
      if (type == 0x0) check(length <= 16384, "DATA within the default max frame size");
      if (type == 0x0 || type == 0x1 || type == 0x3)
        check(stream != 0 && stream % 2 == 1, "stream frames on client streams");
      if (type == 0x4 || type == 0x7) check(stream == 0, "connection frames on stream 0");
      if (pending.size() - pos < 9 + length) break;
      pos += 9 + length;
    }
    pending.erase(0, pos);
  }
};

constexpr std::size_t kPieces[8] = {0, 1, 9, 64, 1000, 4096, 3, 16384};
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static asio::io_context io;
  static const ProxyOptions opts;
  static const Router router({"pypi.org", "files.pythonhosted.org"}, {443});
  static FakeBackend backend;
  static RealClock clock;
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  if (size < 1) return 0;
  ConnectionInfo info;
  info.id = 1;
  info.sni = (data[0] & 1) ? "files.pythonhosted.org" : "pypi.org";
  const std::size_t piece = kPieces[(data[0] >> 1) & 7];
  std::string input(kPreface);
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);

  FrameChecker frames;
  {
    H2SessionFeed feed(io.get_executor(), info, opts, router, backend, clock);
    frames.feed(feed.send());
    std::size_t pos = 0;
    while (pos < input.size() && feed.wants_io()) {
      std::size_t n = piece == 0 ? input.size() - pos : std::min(piece, input.size() - pos);
      long rv =
          feed.receive(std::span(reinterpret_cast<const std::uint8_t*>(input.data()) + pos, n));
      io.restart();
      io.poll();
      frames.feed(feed.send());
      if (rv < 0) break;
      check(static_cast<std::size_t>(rv) == n, "mem_recv takes every byte");
      pos += n;
    }
    // Let the streams run to their ends (the responses, flow control permitting).
    for (int i = 0; i < 8; ++i) {
      io.restart();
      io.poll();
      frames.feed(feed.send());
    }
  }
  io.restart();
  io.poll();
  check(io.stopped(), "every stream coroutine ends with the connection");
  return 0;
}
