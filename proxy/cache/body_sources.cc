#include "proxy/cache/body_sources.h"

#include <spdlog/spdlog.h>
#include <zlib.h>
#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <optional>
#include <span>

#include "common/metric_names.h"
#include "common/metrics.h"
#include "proxy/internal/spawn.h"

namespace pipgate::proxy::cache {

namespace asio = boost::asio;

namespace {

// Read size from the store: one chunk's worth, so a committed object is one read per chunk.
constexpr std::size_t kReadBytes = 256 * 1024;
// Bodies up to this size are read into the pipe at once (stream_object).
constexpr std::size_t kInlineBytes = 64 * 1024;
// What one inflate call may produce (pump_gunzip).
constexpr std::size_t kGunzipPieceBytes = 256 * 1024;
// gunzip_now decodes at once what announces at most this much.
constexpr std::uint32_t kDecodeNowBytes = 1 << 20;

// Copies `from` into `to` until `from` ends.
asio::awaitable<void> relay(BodyPipe& from, BodyPipe& to) {
  for (;;) {
    auto chunk = co_await from.read(MonotonicTime::max());
    if (!chunk) {
      to.fail(chunk.error());
      co_return;
    }
    if (!*chunk) {
      to.finish();
      co_return;
    }
    if (!co_await to.write(std::move(**chunk))) {
      from.cancel();
      co_return;
    }
  }
}

// Relays `from` into `to`, hashing as described at verify_digest.
asio::awaitable<void> relay_verified(BodyPipe& from, BodyPipe& to, store::Digest expected,
                                     store::Blake2b256 hasher, std::uint64_t skip) {
  SharedBytes held;  // the latest chunk, sent once another arrives or the digest matched
  for (;;) {
    auto chunk = co_await from.read(MonotonicTime::max());
    if (!chunk) {
      to.fail(chunk.error());
      co_return;
    }
    if (!*chunk) break;
    SharedBytes& bytes = **chunk;
    hasher.update(bytes.view());
    if (skip > 0) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip, bytes.size()));
      bytes.remove_prefix(n);
      skip -= n;
    }
    if (bytes.empty()) continue;
    if (!held.empty() && !co_await to.write(std::move(held))) {
      from.cancel();
      co_return;
    }
    held = std::move(bytes);
  }
  if (skip > 0 || hasher.finish() != expected) {
    metrics().counter(kIntegrityFailuresTotal, kIntegrityFailuresHelp).inc();
    to.fail(Error{Errc::kCorrupt,
                  "integrity failure: the body from upstream does not match its BLAKE2b-256 " +
                      store::to_hex(expected)});
    co_return;
  }
  if (!held.empty() && !co_await to.write(std::move(held))) co_return;
  to.finish();
}

asio::awaitable<void> pump_object(std::shared_ptr<BodyPipe> pipe, store::ObjectReader reader,
                                  std::function<void()> on_end, ResumeFn resume,
                                  std::optional<store::Digest> digest) {
  struct OnEnd {
    std::function<void()> f;
    ~OnEnd() {
      if (f) f();
    }
  } end{std::move(on_end)};
  auto ex = co_await asio::this_coro::executor;
  std::optional<char> held;  // see below: the last byte of a live object until it commits
  for (;;) {
    if (pipe->is_cancelled()) co_return;
    // A whole stored chunk when the read is chunk-aligned (no copy); else no larger than what
    // is left (a 2 KiB page must not cost a 256 KiB buffer).
    auto n = reader.read_some(kReadBytes);
    if (!n && n.error().code == Errc::kNoSpace && resume) {
      // What the client has: everything read but the held byte, which comes again from upstream.
      std::uint64_t sent = reader.position() - (held ? 1 : 0);
      auto prefix = reader.hashed_prefix();
      std::uint64_t from = digest && prefix ? std::min(prefix->first, sent) : sent;
      spdlog::warn(
          "cache: the store ran out of space during a fill; the rest of the body (from "
          "byte {}) comes straight from upstream{}",
          sent, digest ? ", checked against its digest" : "");
      auto rest = co_await resume(from);
      if (!rest) {
        pipe->fail(rest.error());
        co_return;
      }
      if (digest && prefix && prefix->first == from)
        co_await relay_verified(**rest, *pipe, *digest, prefix->second, sent - from);
      else
        co_await relay(**rest, *pipe);
      co_return;
    }
    if (!n) {
      pipe->fail(n.error());
      co_return;
    }
    if (!n->empty()) {
      SharedBytes chunk = std::move(*n);
      // The last byte of a fill in progress waits for its commit: a final chunk that is whole
      // is readable before the writer checks the digest, and an HTTP/1.1 client that had every
      // byte of its Content-Length could not be told the file was corrupt.
      auto size = reader.size_bytes();
      if (reader.is_live() && size && reader.position() == *size && !reader.is_done()) {
        held = chunk.view().back();
        chunk = chunk.substr(0, chunk.size() - 1);
      }
      if (!chunk.empty() && !co_await pipe->write(std::move(chunk))) co_return;
      continue;
    }
    if (reader.is_done()) {
      if (held && !co_await pipe->write(std::string(1, *held))) co_return;
      pipe->finish();
      co_return;
    }
    // Nothing yet: the writer wakes us (from its thread) when a chunk lands or it ends. A fresh
    // timer per wait, so a late wake-up can only cancel a wait that is already over. The
    // periodic wake-up re-checks whether the client is still there.
    auto timer = std::make_shared<asio::steady_timer>(ex, std::chrono::seconds(1));
    reader.on_progress([ex, timer] { asio::post(ex, [timer] { timer->cancel(); }); });
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> pump_gunzip(std::shared_ptr<BodyPipe> in, std::shared_ptr<BodyPipe> out) {
  z_stream z{};
  // 16 + MAX_WBITS: a gzip wrapper, not zlib's.
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    in->cancel();
    out->fail(Error{Errc::kInternal, "gunzip: inflateInit2 failed"});
    co_return;
  }
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&z};
  bool stream_end = false;
  for (;;) {
    auto chunk = co_await in->read(MonotonicTime::max());
    if (!chunk) {
      out->fail(chunk.error());
      co_return;
    }
    if (!*chunk) break;
    if (stream_end) continue;  // bytes after the gzip member: ignored, as curl and browsers do
    auto& src = **chunk;
    // zlib's next_in is not const (z_const), but inflate only reads through it.
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(src.data()));
    z.avail_in = static_cast<uInt>(src.size());
    while (z.avail_in > 0 && !stream_end) {
      // Pieces of up to 256 KiB (a 2 MiB page is 8 trips through the pipes, not 32), sized by
      // the input (a 1 KiB page must not cost a 256 KiB buffer), not zero-filled.
      int rc = Z_OK;
      std::string buf;
      std::size_t piece =
          std::clamp<std::size_t>(std::size_t{z.avail_in} * 8, 16 * 1024, kGunzipPieceBytes);
      buf.resize_and_overwrite(piece, [&](char* p, std::size_t n) {
        z.next_out = reinterpret_cast<Bytef*>(p);
        z.avail_out = static_cast<uInt>(n);
        rc = inflate(&z, Z_NO_FLUSH);
        return n - z.avail_out;
      });
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        in->cancel();
        out->fail(Error{Errc::kCorrupt, std::string("gunzip: ") + (z.msg ? z.msg : "bad data")});
        co_return;
      }
      if (!buf.empty() && !co_await out->write(std::move(buf))) {
        in->cancel();
        co_return;
      }
      if (rc == Z_STREAM_END) stream_end = true;
      if (rc == Z_BUF_ERROR) break;  // needs more input
    }
  }
  if (!stream_end) {
    out->fail(Error{Errc::kCorrupt, "gunzip: the gzip stream ended early"});
    co_return;
  }
  out->finish();
}

}  // namespace

std::shared_ptr<BodyPipe> stream_object(asio::any_io_executor ex, store::ObjectReader reader,
                                        std::size_t buffer_bytes, std::function<void()> on_end,
                                        ResumeFn resume, std::optional<store::Digest> digest) {
  auto pipe = std::make_shared<BodyPipe>(ex, buffer_bytes);
  // A small stored body (an index page, a metadata file) is read at once into the pipe: no
  // coroutine, no wake-up per chunk. Reads of the store never wait, and the pipe takes it all.
  auto size = reader.size_bytes();
  if (!reader.is_live() && !resume && !digest && size &&
      *size - reader.position() <= std::min(kInlineBytes, buffer_bytes)) {
    for (;;) {
      auto n = reader.read_some(kReadBytes);
      if (!n) {
        pipe->fail(n.error());
        break;
      }
      if (n->empty()) {
        if (reader.is_done())
          pipe->finish();
        else  // a committed reader has every byte readable now; anything else is a bug
          pipe->fail(Error{Errc::kInternal, "stored body ended early"});
        break;
      }
      pipe->push(std::move(*n));
    }
    if (on_end) on_end();
    return pipe;
  }
  asio::co_spawn(ex,
                 pump_object(pipe, std::move(reader), std::move(on_end), std::move(resume), digest),
                 internal::log_exception("cache: stream object"));
  return pipe;
}

std::shared_ptr<BodyPipe> verify_digest(asio::any_io_executor ex, std::shared_ptr<BodyPipe> in,
                                        store::Digest expected, std::size_t buffer_bytes,
                                        store::Blake2b256 hashed, std::uint64_t skip) {
  auto out = std::make_shared<BodyPipe>(ex, buffer_bytes);
  out->on_cancel([in] { in->cancel(); });
  asio::co_spawn(
      ex,
      [](std::shared_ptr<BodyPipe> in, std::shared_ptr<BodyPipe> out, store::Digest expected,
         store::Blake2b256 hashed, std::uint64_t skip) -> asio::awaitable<void> {
        co_await relay_verified(*in, *out, expected, std::move(hashed), skip);
      }(in, out, expected, std::move(hashed), skip),
      internal::log_exception("cache: verify digest"));
  return out;
}

std::shared_ptr<BodyPipe> gunzip(asio::any_io_executor ex, std::shared_ptr<BodyPipe> in,
                                 std::size_t buffer_bytes) {
  auto out = std::make_shared<BodyPipe>(ex, buffer_bytes);
  out->on_cancel([in] { in->cancel(); });
  asio::co_spawn(ex, pump_gunzip(in, out), internal::log_exception("cache: gunzip"));
  return out;
}

std::optional<DecodedBody> gunzip_now(asio::any_io_executor ex, std::shared_ptr<BodyPipe>& in,
                                      std::size_t buffer_bytes) {
  if (!in->is_finished() || in->buffered_bytes() > kInlineBytes) return std::nullopt;
  std::string gz;
  while (auto chunk = in->try_read()) gz += chunk->view();
  // ISIZE, the gzip trailer's decoded length (mod 2^32): the output buffer, and a bound.
  std::uint32_t isize = 0;
  if (gz.size() >= 18) {
    for (int i = 0; i < 4; ++i)
      isize |= std::uint32_t{static_cast<unsigned char>(gz[gz.size() - 4 + i])} << (8 * i);
  }
  // Hands the stored gzip back, as a pipe equivalent to `in`, for gunzip() to stream.
  auto later = [&] {
    in = std::make_shared<BodyPipe>(ex, buffer_bytes);
    in->push(std::move(gz));
    in->finish();
    return std::nullopt;
  };
  if (isize > kDecodeNowBytes) return later();
  auto out = std::make_shared<BodyPipe>(ex, buffer_bytes);
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    out->fail(Error{Errc::kInternal, "gunzip: inflateInit2 failed"});
    return DecodedBody{out, std::nullopt};
  }
  std::string text;
  int rc = Z_OK;
  bool full = false;
  text.resize_and_overwrite(std::size_t{isize}, [&](char* p, std::size_t n) {
    z.next_in = reinterpret_cast<Bytef*>(gz.data());
    z.avail_in = static_cast<uInt>(gz.size());
    z.next_out = reinterpret_cast<Bytef*>(p);
    z.avail_out = static_cast<uInt>(n);
    rc = inflate(&z, Z_FINISH);
    full = z.avail_out == 0;
    return n - z.avail_out;
  });
  std::string msg = z.msg ? z.msg : "";
  inflateEnd(&z);
  // Bytes after the gzip member are ignored, as in gunzip() (and by curl and browsers); they
  // also make the trailer read above meaningless: an output that does not fit goes to gunzip(),
  // which needs no announced size (and checks the real trailer).
  if (rc != Z_STREAM_END && full) return later();
  if (rc != Z_STREAM_END) {
    out->fail(Error{Errc::kCorrupt,
                    "gunzip: " + (rc == Z_BUF_ERROR ? std::string("the gzip stream ended early")
                                  : msg.empty()     ? "bad data"
                                                    : msg)});
    return DecodedBody{out, std::nullopt};
  }
  std::uint64_t size = text.size();
  out->push(std::move(text));
  out->finish();
  return DecodedBody{out, size};
}

}  // namespace pipgate::proxy::cache
