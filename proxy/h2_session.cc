#include "proxy/h2_session.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <map>
#include <utility>

#include "proxy/access_log.h"
#include "proxy/flood_guard.h"
#include "proxy/header_hygiene.h"
#include "proxy/internal/h2_io.h"
#include "proxy/internal/spawn.h"

namespace pipgate::proxy {

namespace asio = boost::asio;

namespace {

struct Stream {
  std::int32_t id = 0;
  Request req;
  std::size_t header_bytes = 0;
  bool too_large = false;
  bool closed = false;
  std::string host_field;  // Host, used when :authority is absent
  std::shared_ptr<BodyPipe> req_body;
  std::shared_ptr<BodyPipe> resp_body;
  std::unique_ptr<internal::H2Outgoing> out;
};

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct H2Session::State : std::enable_shared_from_this<H2Session::State> {
  // `t` may be null (H2SessionFeed: no socket); `e` runs the streams.
  State(std::unique_ptr<TlsStream> t, asio::any_io_executor e, ConnectionInfo i,
        const ProxyOptions& o, const Router& r, Backend& b, const Clock& c)
      : tls(std::move(t)),
        ex(std::move(e)),
        info(std::move(i)),
        opts(o),
        router(r),
        backend(b),
        clock(c),
        resets(o.h2_reset_rate, o.h2_reset_burst, c.monotonic_now()),
        idle_timer(ex),
        last_activity(c.monotonic_now()) {}
  ~State() {
    if (session) nghttp2_session_del(session);
  }

  std::unique_ptr<TlsStream> tls;
  asio::any_io_executor ex;
  ConnectionInfo info;
  const ProxyOptions& opts;
  const Router& router;
  Backend& backend;
  const Clock& clock;
  nghttp2_session* session = nullptr;
  std::unique_ptr<internal::H2Io> io;
  std::map<std::int32_t, std::shared_ptr<Stream>> streams;
  FloodGuard resets;
  bool calmed = false;            // GOAWAY ENHANCE_YOUR_CALM submitted
  bool refusing_streams = false;  // logged: the peer opens streams past our limit
  bool ended = false;
  asio::steady_timer idle_timer;
  MonotonicTime last_activity;

  static State& self(void* user_data) { return *static_cast<State*>(user_data); }

  Stream* stream(std::int32_t id) {
    return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  void kick() {
    if (io) io->kick();
  }

  // Where DATA frames go (send_data): the writer's buffer, or H2SessionFeed's without a socket.
  std::string feed_out;
  std::string& write_buffer() { return io ? io->write_buffer() : feed_out; }

  // The peer is abusing the protocol: GOAWAY ENHANCE_YOUR_CALM, then the connection ends.
  void calm_down(std::string_view why) {
    if (calmed) return;
    calmed = true;
    spdlog::warn("conn {} {}: {}; closing with ENHANCE_YOUR_CALM", info.id,
                 info.client_address.to_string(), why);
    nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    auto& s = self(ud);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto st = std::make_shared<Stream>();
    st->id = frame->hd.stream_id;
    st->req.version = HttpVersion::kHttp2;
    st->req.scheme.clear();
    st->req.sni = s.info.sni;
    st->req.client_address = s.info.client_address;
    st->req.connection_id = s.info.id;
    s.streams[st->id] = st;
    nghttp2_session_set_stream_user_data(s.session, st->id, st.get());
    s.last_activity = s.clock.monotonic_now();
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    auto& s = self(ud);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto* st = s.stream(frame->hd.stream_id);
    if (!st) return 0;
    st->header_bytes += namelen + valuelen + 32;  // RFC 9113 §6.5.2 accounting
    if (st->header_bytes > s.opts.header_limit_bytes) st->too_large = true;
    if (st->too_large) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    auto& req = st->req;
    if (n == ":method")
      req.method = std::move(v);
    else if (n == ":scheme")
      req.scheme = std::move(v);
    else if (n == ":authority")
      req.authority = std::move(v);
    else if (n == ":path")
      req.path = std::move(v);
    else if (n == ":protocol")
      req.protocol = std::move(v);
    else if (n == "host")
      st->host_field = std::move(v);
    else {
      if (n == "content-length") {
        std::uint64_t len = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), len);
        if (ec == std::errc() && p == v.data() + v.size()) req.content_length = len;
      }
      req.headers.push_back({std::string(n), std::move(v)});
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    auto& s = self(ud);
    auto* st = s.stream(frame->hd.stream_id);
    bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (!st) break;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          if (st->req.authority.empty()) st->req.authority = st->host_field;
          st->req.has_body = !end_stream;
          if (st->req.has_body) {
            st->req_body = std::make_shared<BodyPipe>(s.ex, s.opts.body_buffer_bytes);
            std::int32_t id = st->id;
            std::weak_ptr<State> weak = s.weak_from_this();
            st->req_body->on_consumed([weak, id](std::size_t n) {
              if (auto p = weak.lock(); p && !p->ended) {
                nghttp2_session_consume_connection(p->session, n);
                nghttp2_session_consume_stream(p->session, id, n);  // fails harmlessly once closed
                p->kick();
              }
            });
          }
          auto shared = s.streams[st->id];
          asio::co_spawn(s.ex, serve_stream(s.shared_from_this(), shared),
                         internal::log_exception("h2 stream"));
        } else if (end_stream && st->req_body) {
          st->req_body->finish();  // trailers end the body; they are not forwarded
        }
        break;
      case NGHTTP2_DATA:
        if (st && end_stream && st->req_body) st->req_body->finish();
        break;
      case NGHTTP2_RST_STREAM:
        // Every reset counts, whatever its code: rapid reset (CVE-2023-44487) opens streams and
        // resets them at once, each costing us a request while costing the client nothing.
        if (!s.resets.allow(s.clock.monotonic_now()))
          s.calm_down("too many stream resets (rapid reset)");
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t stream_id,
                                const uint8_t* data, size_t len, void* ud) {
    auto& s = self(ud);
    auto* st = s.stream(stream_id);
    if (st && st->req_body && !st->req_body->is_cancelled()) {
      st->req_body->push(std::string(reinterpret_cast<const char*>(data), len));
    } else {
      nghttp2_session_consume(session, stream_id, len);  // nobody reads it: keep windows open
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud) {
    auto& s = self(ud);
    auto it = s.streams.find(stream_id);
    if (it == s.streams.end()) return 0;
    auto st = it->second;
    s.streams.erase(it);
    s.last_activity = s.clock.monotonic_now();
    close_stream(*st, error_code == NGHTTP2_NO_ERROR ? "stream closed" : "client reset the stream");
    return 0;
  }

  static void close_stream(Stream& st, std::string_view why) {
    if (st.closed) return;
    st.closed = true;
    if (st.req_body && !st.req_body->is_done())
      st.req_body->fail(Error{Errc::kUnavailable, std::string(why)});
    if (st.resp_body) st.resp_body->cancel();
    if (st.out) st.out->drained.notify();
  }

  // DATA frames are written by send_data, straight from the body's chunks into the connection's
  // write buffer, rather than copied into nghttp2's frame buffer first.
  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto* st = static_cast<Stream*>(source->ptr);
    return internal::h2_read_outgoing_no_copy(*st->out, length, flags);
  }

  static int send_data(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                       size_t length, nghttp2_data_source* source, void* ud) {
    auto* st = static_cast<Stream*>(source->ptr);
    internal::h2_send_outgoing(*st->out, framehd, length, frame->data.padlen,
                               self(ud).write_buffer());
    return 0;
  }

  void submit_response(Stream& st, const Response& resp) {
    std::vector<std::pair<std::string, std::string>> fields;
    fields.emplace_back(":status", std::to_string(resp.head.status));
    for (const auto& h : resp.head.headers) {
      if (h.name == "content-length" || is_hop_by_hop(h.name)) continue;
      fields.emplace_back(h.name, h.value);
    }
    if (resp.head.content_length)
      fields.emplace_back("content-length", std::to_string(*resp.head.content_length));
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : fields) nva.push_back(make_nv(n, v));
    nghttp2_data_provider provider{};
    provider.source.ptr = &st;
    provider.read_callback = &State::read_body;
    int rv = nghttp2_submit_response(session, st.id, nva.data(), nva.size(),
                                     resp.body ? &provider : nullptr);
    if (rv != 0)
      spdlog::debug("conn {} stream {}: submit_response: {}", info.id, st.id, nghttp2_strerror(rv));
    kick();
  }

  static asio::awaitable<void> serve_stream(std::shared_ptr<State> self,
                                            std::shared_ptr<Stream> st) {
    auto ex = self->ex;
    // co_spawn runs this at once, inside nghttp2's frame callback: yield first, so that the rest
    // of the bytes already read (the RST_STREAM right behind the HEADERS, in a rapid reset) is
    // processed before any upstream work starts.
    co_await asio::post(ex, asio::use_awaitable);
    if (st->closed || self->ended)
      co_return;  // reset before it started (rapid reset): no upstream work
    auto started = self->clock.monotonic_now();
    Response resp;
    if (st->too_large) {
      spdlog::info("conn {} {} h2: stream {}: header list over header_limit ({} bytes): 431",
                   self->info.id, self->info.client_address.to_string(), st->id,
                   self->opts.header_limit_bytes);
      resp = text_response(ex, 431, "request header list too large\n");
    } else {
      if (st->req.scheme.empty()) st->req.scheme = "https";
      Route route = self->router.route(st->req);
      if (route.action == RouteAction::kRefuse) {
        spdlog::info("conn {} {} h2: refused {} {}{}: {} {}", self->info.id,
                     self->info.client_address.to_string(), st->req.method, st->req.authority,
                     st->req.path, route.status, route.reason);
        resp = text_response(ex, route.status, route.reason + "\n");
      } else {
        resp = co_await self->backend.respond(route, st->req, st->req_body);
      }
    }
    // The access line is written when this function leaves, however the body ended.
    struct Access {
      State& s;
      Stream& st;
      Response& resp;
      MonotonicTime started;
      bool complete = false;
      ~Access() {
        record_access({s.info, st.req, resp, resp.body ? resp.body->consumed_bytes() : 0, complete,
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           s.clock.monotonic_now() - started)});
      }
    } access{*self, *st, resp, started};
    if (st->closed || self->ended) {
      if (resp.body) resp.body->cancel();
      co_return;
    }
    st->resp_body = resp.body;
    if (resp.body) st->out = std::make_unique<internal::H2Outgoing>(ex);
    self->submit_response(*st, resp);
    access.complete = true;
    if (!resp.body) co_return;
    auto id = st->id;
    auto r = co_await internal::pump_body(
        *resp.body, *st->out, self->clock, self->opts.body_buffer_bytes,
        self->opts.upstream_read_timeout,
        [&] {
          if (!st->closed && !self->ended) nghttp2_session_resume_data(self->session, id);
          self->kick();
        },
        [&] { return st->closed || self->ended; });
    if (!r && !st->closed && !self->ended) {
      spdlog::warn("conn {} {} h2: {} {}{}: response body aborted: {}", self->info.id,
                   self->info.client_address.to_string(), st->req.method, st->req.authority,
                   st->req.path, to_string(r.error()));
      nghttp2_submit_rst_stream(self->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
      self->kick();
    }
    access.complete = r.has_value();
    if (st->closed || self->ended) resp.body->cancel();
  }

  // Once the response is completely sent while the request body is still coming (a refusal, an
  // upstream failure, an early answer), the rest of the body is dropped as it arrives, its window
  // credited back. No RST_STREAM NO_ERROR (RFC 9113 §8.1 allows it): curl 7.88 then discards the
  // response it already has.
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    auto& s = self(ud);
    if (frame->hd.type == NGHTTP2_RST_STREAM &&
        frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
      // nghttp2 refuses streams past SETTINGS_MAX_CONCURRENT_STREAMS; each costs us a frame
      // and the peer nothing, so they count as resets (a peer ignoring the limit gets GOAWAY).
      if (!s.refusing_streams)
        spdlog::info("conn {} {} h2: refusing streams past SETTINGS_MAX_CONCURRENT_STREAMS ({})",
                     s.info.id, s.info.client_address.to_string(),
                     s.opts.h2_max_concurrent_streams);
      s.refusing_streams = true;
      if (!s.resets.allow(s.clock.monotonic_now()))
        s.calm_down("too many streams past SETTINGS_MAX_CONCURRENT_STREAMS");
      return 0;
    }
    if ((frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) ||
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0)
      return 0;
    auto* st = s.stream(frame->hd.stream_id);
    if (!st || !st->req_body || st->req_body->is_done()) return 0;
    st->req_body->cancel();
    return 0;
  }

  asio::awaitable<void> watch_idle([[maybe_unused]] std::shared_ptr<State> keep) {
    for (;;) {
      idle_timer.expires_at(last_activity + opts.client_idle_timeout);
      auto [ec] = co_await idle_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || ended) co_return;
      if (streams.empty() && clock.monotonic_now() >= last_activity + opts.client_idle_timeout) {
        nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR);
        kick();
        co_return;
      }
      if (!streams.empty()) last_activity = clock.monotonic_now();
    }
  }

  // Creates the nghttp2 server session with our callbacks, options and SETTINGS. False when
  // nghttp2 cannot (logged).
  bool start() {
    auto* s = this;
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &State::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &State::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &State::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &State::on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &State::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &State::on_frame_send);
    nghttp2_session_callbacks_set_send_data_callback(cbs, &State::send_data);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    // nghttp2 counts CONTINUATION frames per header block; mem_recv then fails with
    // TOO_MANY_CONTINUATIONS and H2Io answers GOAWAY ENHANCE_YOUR_CALM.
    nghttp2_option_set_max_continuations(opt, s->opts.h2_max_continuations);
    // nghttp2's own reset limit is a backstop at twice ours: ours fires first, with
    // ENHANCE_YOUR_CALM and a log line, and also counts resets we send.
    nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * s->opts.h2_reset_burst,
                                               2ull * s->opts.h2_reset_rate);
    int rv = nghttp2_session_server_new2(&s->session, cbs, s, opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    if (rv != 0) {
      spdlog::error("conn {}: nghttp2_session_server_new2: {}", s->info.id, nghttp2_strerror(rv));
      return false;
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->opts.h2_max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s->opts.h2_stream_window_bytes},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s->opts.header_limit_bytes},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(s->session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    std::int32_t conn_window = static_cast<std::int32_t>(
        std::max<std::uint64_t>(1u << 20, 16ull * s->opts.h2_stream_window_bytes));
    nghttp2_session_set_local_window_size(s->session, NGHTTP2_FLAG_NONE, 0,
                                          std::min<std::int32_t>(conn_window, (1 << 30)));
    return true;
  }

  // The connection is over: every open stream ends.
  void end() {
    ended = true;
    idle_timer.cancel();
    auto open = std::move(streams);
    for (auto& [id, st] : open) close_stream(*st, "client connection closed");
  }
};

H2Session::H2Session(std::unique_ptr<TlsStream> tls, ConnectionInfo info, const ProxyOptions& opts,
                     const Router& router, Backend& backend, const Clock& clock)
    : state_(std::make_shared<State>(nullptr, tls->get_executor(), std::move(info), opts, router,
                                     backend, clock)) {
  state_->tls = std::move(tls);
}

H2Session::~H2Session() = default;

asio::awaitable<void> H2Session::run() {
  auto s = state_;
  if (!s->start()) co_return;
  s->io = std::make_unique<internal::H2Io>(*s->tls, s->session, s->clock);
  asio::co_spawn(s->tls->get_executor(), s->watch_idle(s),
                 internal::log_exception("h2 idle timer"));
  auto r = co_await s->io->run();
  if (!r && r.error().code == Errc::kInvalidInput)
    spdlog::warn("conn {} {} h2: closed for a protocol violation: {}", s->info.id,
                 s->info.client_address.to_string(), r.error().detail);
  else if (!r)
    spdlog::debug("conn {} {} h2: connection ended: {}", s->info.id,
                  s->info.client_address.to_string(), to_string(r.error()));
  s->end();
}

void H2Session::shutdown() {
  auto& s = *state_;
  if (!s.session || s.ended) return;
  nghttp2_submit_goaway(s.session, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(s.session), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  s.kick();
}

void H2Session::close() {
  if (state_->io) state_->io->close();
}

H2SessionFeed::H2SessionFeed(asio::any_io_executor ex, ConnectionInfo info,
                             const ProxyOptions& opts, const Router& router, Backend& backend,
                             const Clock& clock)
    : state_(std::make_shared<H2Session::State>(nullptr, std::move(ex), std::move(info), opts,
                                                router, backend, clock)) {
  started_ = state_->start();
}

H2SessionFeed::~H2SessionFeed() { state_->end(); }

long H2SessionFeed::receive(std::span<const std::uint8_t> bytes) {
  if (!started_ || state_->ended) return NGHTTP2_ERR_EOF;
  auto rv = nghttp2_session_mem_recv(state_->session, bytes.data(), bytes.size());
  if (rv < 0) {  // as H2Io::run does
    bool flood = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
    nghttp2_session_terminate_session(state_->session,
                                      flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
  }
  return static_cast<long>(rv);
}

std::string H2SessionFeed::send() {
  std::string& out = state_->feed_out;  // as H2Io's writer: send_data appends here too
  out.clear();
  if (!started_) return out;
  for (;;) {
    const uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(state_->session, &data);
    if (n <= 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return std::exchange(out, std::string());
}

bool H2SessionFeed::wants_io() const {
  return started_ && (nghttp2_session_want_read(state_->session) ||
                      nghttp2_session_want_write(state_->session));
}

}  // namespace pipgate::proxy
