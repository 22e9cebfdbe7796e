// Response bodies the cache produces, as BodyPipes the client sessions already know how to send:
// a stored object streamed from the store (committed, or a fill in progress that is read as its
// chunks land), and a gzip-decoding stage for clients that do not accept gzip.
//
//   Response r{plan.head, stream_object(ex, std::move(reader), 256 * 1024)};
//   if (plan.gunzip) r.body = gunzip(ex, r.body, 256 * 1024);
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "proxy/body_pipe.h"
#include "store/object_reader.h"

namespace pipgate::proxy::cache {

// Streams `reader` into a new pipe on `ex`. A live reader's bytes arrive as the writer (on
// another thread, maybe) stores them; its failure (upstream died, digest mismatch, disk full)
// fails the pipe, so the client never sees an incomplete body as complete. `on_end` (optional)
// runs on `ex` when the stream ends in any way.
std::shared_ptr<BodyPipe> stream_object(boost::asio::any_io_executor ex, store::ObjectReader reader,
                                        std::size_t buffer_bytes,
                                        std::function<void()> on_end = {});

// Decodes the gzip body read from `in` into a new pipe on `ex`. Corrupt gzip fails the pipe.
std::shared_ptr<BodyPipe> gunzip(boost::asio::any_io_executor ex, std::shared_ptr<BodyPipe> in,
                                 std::size_t buffer_bytes);

}  // namespace pipgate::proxy::cache
