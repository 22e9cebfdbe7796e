// Moves bytes between a TlsStream and an nghttp2 session, for both the client-facing H2Session
// and the upstream H2Connection (nghttpx's on_read/on_write in shrpx_http2_upstream.cc: the
// session never touches the socket). Also the outgoing-body buffer both use for DATA frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "proxy/body_pipe.h"
#include "proxy/internal/async_event.h"
#include "proxy/tls_stream.h"

struct nghttp2_session;

namespace pipgate::proxy::internal {

class H2Io {
 public:
  // None is owned; all must outlive run().
  H2Io(TlsStream& tls, nghttp2_session* session, const Clock& clock);

  // Reads into nghttp2_session_mem_recv and writes what nghttp2_session_mem_send produces, until
  // the session wants neither, close() is called, or I/O fails (the error; a clean end is Ok).
  [[nodiscard]] boost::asio::awaitable<Result<>> run();
  // Wakes the writer: call after submitting frames or resuming data outside of nghttp2 callbacks.
  void kick() { write_event_.notify(); }
  // Ends run(): the socket is closed; pending frames may be lost.
  void close();
  bool is_closed() const { return closed_; }

 private:
  boost::asio::awaitable<void> write_loop();
  TlsStream& tls_;
  const Clock& clock_;
  nghttp2_session* session_;
  AsyncEvent write_event_;
  AsyncEvent writer_done_event_;
  bool closed_ = false;
  bool writer_done_ = false;
  std::optional<Error> error_;
};

// The bytes of one stream's body waiting to become DATA frames, filled by pump_body and drained
// by an nghttp2 data source read callback (h2_read_outgoing).
struct H2Outgoing {
  explicit H2Outgoing(boost::asio::any_io_executor ex) : drained(ex) {}
  std::string buf;
  std::size_t offset = 0;
  bool eof = false;
  AsyncEvent drained;  // notified when the read callback took bytes
  std::size_t pending() const { return buf.size() - offset; }
};

// For nghttp2_data_source_read_callback: copies up to `len` bytes into `dst`; sets
// NGHTTP2_DATA_FLAG_EOF in `flags` at the end; NGHTTP2_ERR_DEFERRED when empty but not ended.
long h2_read_outgoing(H2Outgoing& out, std::uint8_t* dst, std::size_t len, std::uint32_t* flags);

// Moves `body` into `out` (at most `high_water` pending), calling `resume` after adding bytes
// (resume_data + kick). Returns when the body ended (out.eof set), failed, or `is_closed()` became
// true. Each read from `body`, and each wait for the peer to take bytes, lasts at most
// `read_timeout`. Error: the body failed, or either side stalled that long.
[[nodiscard]] boost::asio::awaitable<Result<>> pump_body(BodyPipe& body, H2Outgoing& out,
                                                         const Clock& clock, std::size_t high_water,
                                                         std::chrono::milliseconds read_timeout,
                                                         const std::function<void()>& resume,
                                                         const std::function<bool()>& is_closed);

}  // namespace pipgate::proxy::internal
