// Response bodies the cache produces, as BodyPipes the client sessions already know how to send:
// a stored object streamed from the store (committed, or a fill in progress that is read as its
// chunks land), and a gzip-decoding stage for clients that do not accept gzip.
//
//   Response r{plan.head, stream_object(ex, std::move(reader), 256 * 1024)};
//   if (plan.gunzip) r.body = gunzip(ex, r.body, 256 * 1024);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/result.h"
#include "proxy/body_pipe.h"
#include "store/digest.h"
#include "store/object_reader.h"

namespace pipgate::proxy::cache {

// Where the rest of a body comes from when the store can no longer hold it (disk full during a
// fill): a pipe of the body's bytes from `offset` to the end of what the client was promised,
// fetched straight from upstream.
using ResumeFn =
    std::function<boost::asio::awaitable<Result<std::shared_ptr<BodyPipe>>>(std::uint64_t offset)>;

// Streams `reader` into a new pipe on `ex`. A live reader's bytes arrive as the writer (on
// another thread, maybe) stores them; its failure (upstream died, digest mismatch) fails the
// pipe, so the client never sees an incomplete body as complete. When the writer failed for
// lack of space and `resume` is given, the rest comes from `resume` instead (X-Cache: PASS
// semantics: the client still gets its file). With `digest` (the file's declared BLAKE2b-256),
// the resumed body is checked too: from the writer's hash state at the last chunk boundary the
// client had reached, over the upstream bytes, the last part held back until the digest
// matched. `on_end` (optional) runs on `ex` when the stream ends in any way.
std::shared_ptr<BodyPipe> stream_object(boost::asio::any_io_executor ex, store::ObjectReader reader,
                                        std::size_t buffer_bytes, std::function<void()> on_end = {},
                                        ResumeFn resume = {},
                                        std::optional<store::Digest> digest = {});

// Relays `in` into a new pipe on `ex` while hashing it (BLAKE2b-256, continuing from `hashed`
// when the body's first bytes were hashed elsewhere), minus its first `skip` bytes; the last
// chunk is held back until `in` ended and the digest matched `expected`, so a corrupt body
// fails (kCorrupt) before it could look complete to any client. For bodies that bypass the
// store (it refused the write), whose digest the store cannot check.
std::shared_ptr<BodyPipe> verify_digest(boost::asio::any_io_executor ex,
                                        std::shared_ptr<BodyPipe> in, store::Digest expected,
                                        std::size_t buffer_bytes,
                                        store::Blake2b256 hashed = store::Blake2b256(),
                                        std::uint64_t skip = 0);

// Decodes the gzip body read from `in` into a new pipe on `ex`. Corrupt gzip fails the pipe.
std::shared_ptr<BodyPipe> gunzip(boost::asio::any_io_executor ex, std::shared_ptr<BodyPipe> in,
                                 std::size_t buffer_bytes);

// gunzip() done at once for a small body that is already whole in `in` (a stored page read in
// one go, see stream_object): the decoded body, in a finished pipe, and its size, so the answer
// can carry Content-Length (no chunked encoding, and HTTP/1.1 sends it with the head).
// nullopt, `in` untouched, when `in` is not finished or holds more than 64 KiB; and when the
// gzip trailer announces more than 1 MiB decoded, `in` is then replaced by an equivalent pipe
// for gunzip(). Corrupt gzip gives a failed pipe, as gunzip() would.
struct DecodedBody {
  std::shared_ptr<BodyPipe> body;
  std::optional<std::uint64_t> size;  // none when the pipe failed: no length to promise
};
std::optional<DecodedBody> gunzip_now(boost::asio::any_io_executor ex,
                                      std::shared_ptr<BodyPipe>& in, std::size_t buffer_bytes);

}  // namespace pipgate::proxy::cache
