// Moves bytes between a TlsStream and an nghttp2 session, for both the client-facing H2Session
// and the upstream H2Connection (nghttpx's on_read/on_write in shrpx_http2_upstream.cc: the
// session never touches the socket). Also the outgoing-body buffer both use for DATA frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
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
  // The bytes the writer is about to send, in order: a send_data_callback (DATA frames sent
  // with NGHTTP2_DATA_FLAG_NO_COPY) appends its frame here, during nghttp2_session_mem_send.
  std::string& write_buffer() { return out_; }

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
  std::string out_;
};

// The bytes of one stream's body waiting to become DATA frames, filled by pump_body and drained
// by an nghttp2 data source read callback. Chunks are kept as they came (shared, not appended), so
// a stored chunk reaches the frame it is sent in with one copy.
struct H2Outgoing {
  explicit H2Outgoing(boost::asio::any_io_executor ex) : drained(ex) {}
  std::deque<SharedBytes> chunks;
  std::size_t offset = 0;  // bytes of chunks.front() already taken
  std::size_t pending_bytes = 0;
  bool eof = false;
  AsyncEvent drained;  // notified when the read callback took bytes
  std::size_t pending() const { return pending_bytes; }
  void push(SharedBytes chunk);
  // Appends (or copies to `dst`) the next `n` <= pending() bytes and drops them.
  void take(std::size_t n, std::string& to);
  void take(std::size_t n, std::uint8_t* dst);
};

// For nghttp2_data_source_read_callback: copies up to `len` bytes into `dst`; sets
// NGHTTP2_DATA_FLAG_EOF in `flags` at the end; NGHTTP2_ERR_DEFERRED when empty but not ended.
long h2_read_outgoing(H2Outgoing& out, std::uint8_t* dst, std::size_t len, std::uint32_t* flags);
// The same without copying: sets NGHTTP2_DATA_FLAG_NO_COPY, and nghttp2 then calls the session's
// send_data_callback, which calls h2_send_outgoing.
long h2_read_outgoing_no_copy(H2Outgoing& out, std::size_t len, std::uint32_t* flags);
// For nghttp2_send_data_callback: appends the DATA frame (header, padding, `length` body bytes
// taken from `out`) to `to`, the connection's write buffer.
void h2_send_outgoing(H2Outgoing& out, const std::uint8_t* framehd, std::size_t length,
                      std::size_t padlen, std::string& to);

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
