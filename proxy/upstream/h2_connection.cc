#include "proxy/upstream/h2_connection.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <map>

#include "proxy/header_hygiene.h"
#include "proxy/internal/h2_io.h"
#include "proxy/internal/spawn.h"

namespace pipgate::proxy::upstream {

namespace asio = boost::asio;

namespace {

struct UStream {
  explicit UStream(asio::any_io_executor ex) : head_event(ex) {}
  std::int32_t id = -1;
  ResponseHead head;
  bool head_ready = false;
  bool closed = false;
  std::optional<Error> failed;
  std::shared_ptr<BodyPipe> resp_body;
  std::shared_ptr<BodyPipe> req_body;
  std::unique_ptr<internal::H2Outgoing> out;
  internal::AsyncEvent head_event;
};

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct H2Connection::State : std::enable_shared_from_this<H2Connection::State> {
  State(std::unique_ptr<TlsStream> t, std::string h, const ProxyOptions& o, const Clock& c)
      : tls(std::move(t)),
        host(std::move(h)),
        opts(o),
        clock(c),
        idle_timer(tls->get_executor()),
        last_activity(c.monotonic_now()) {}
  ~State() {
    if (session) nghttp2_session_del(session);
  }
  std::unique_ptr<TlsStream> tls;
  std::string host;
  const ProxyOptions& opts;
  const Clock& clock;
  nghttp2_session* session = nullptr;
  std::unique_ptr<internal::H2Io> io;
  std::map<std::int32_t, std::shared_ptr<UStream>> streams;
  bool closed = false;
  bool goaway = false;
  asio::steady_timer idle_timer;
  MonotonicTime last_activity;

  static State& self(void* ud) { return *static_cast<State*>(ud); }
  UStream* stream(std::int32_t id) {
    return static_cast<UStream*>(nghttp2_session_get_stream_user_data(session, id));
  }
  void kick() {
    if (io) io->kick();
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    auto& s = self(ud);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* st = s.stream(frame->hd.stream_id);
    if (!st || st->head_ready) return 0;  // trailers are not forwarded
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      int status = 0;
      std::from_chars(v.data(), v.data() + v.size(), status);
      st->head.status = status;
    } else if (!n.empty() && n.front() != ':') {
      if (n == "content-length") {
        std::uint64_t len = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), len);
        if (ec == std::errc() && p == v.data() + v.size()) st->head.content_length = len;
        return 0;
      }
      st->head.headers.push_back({std::string(n), std::move(v)});
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    auto& s = self(ud);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      s.goaway = true;
      return 0;
    }
    auto* st = s.stream(frame->hd.stream_id);
    if (!st) return 0;
    bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !st->head_ready) {
      if (st->head.status / 100 == 1) {  // interim response: wait for the final one
        st->head = ResponseHead{};
        return 0;
      }
      st->head_ready = true;
      if (!end_stream) {
        st->resp_body = std::make_shared<BodyPipe>(s.tls->get_executor(), s.opts.body_buffer_bytes);
        std::int32_t id = st->id;
        std::weak_ptr<State> weak = s.weak_from_this();
        st->resp_body->on_consumed([weak, id](std::size_t n) {
          if (auto p = weak.lock(); p && !p->closed) {
            nghttp2_session_consume_connection(p->session, n);
            nghttp2_session_consume_stream(p->session, id, n);  // fails harmlessly once closed
            p->kick();
          }
        });
        st->resp_body->on_cancel([weak, id] {
          if (auto p = weak.lock(); p && !p->closed) {
            nghttp2_submit_rst_stream(p->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
            p->kick();
          }
        });
      }
      st->head_event.notify();
      return 0;
    }
    if (end_stream && st->resp_body) st->resp_body->finish();
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t stream_id,
                                const uint8_t* data, size_t len, void* ud) {
    auto& s = self(ud);
    auto* st = s.stream(stream_id);
    if (st && st->resp_body && !st->resp_body->is_cancelled())
      st->resp_body->push(std::string(reinterpret_cast<const char*>(data), len));
    else
      nghttp2_session_consume(session, stream_id, len);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud) {
    auto& s = self(ud);
    auto it = s.streams.find(stream_id);
    if (it == s.streams.end()) return 0;
    auto st = it->second;
    s.streams.erase(it);
    s.last_activity = s.clock.monotonic_now();
    fail_stream(*st, "upstream " + s.host + " closed the stream (" +
                         nghttp2_http2_strerror(error_code) + ")");
    return 0;
  }

  static void fail_stream(UStream& st, const std::string& why) {
    if (st.closed) return;
    st.closed = true;
    if (!st.head_ready) st.failed = Error{Errc::kUnavailable, why};
    if (st.resp_body && !st.resp_body->is_done())
      st.resp_body->fail(Error{Errc::kUnavailable, why});
    if (st.req_body && !st.req_body->is_done()) st.req_body->cancel();
    if (st.out) st.out->drained.notify();
    st.head_event.notify();
  }

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto* st = static_cast<UStream*>(source->ptr);
    return internal::h2_read_outgoing(*st->out, buf, length, flags);
  }

  asio::awaitable<void> run([[maybe_unused]] std::shared_ptr<State> keep) {
    auto r = co_await io->run();
    if (!r) spdlog::debug("upstream {} h2: connection ended: {}", host, to_string(r.error()));
    closed = true;
    idle_timer.cancel();
    auto all = std::move(streams);
    for (auto& [id, st] : all) fail_stream(*st, "upstream " + host + " connection lost");
  }

  asio::awaitable<void> watch_idle([[maybe_unused]] std::shared_ptr<State> keep) {
    while (!closed) {
      idle_timer.expires_at(last_activity + opts.upstream_idle_timeout);
      auto [ec] = co_await idle_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || closed) break;
      if (streams.empty() && clock.monotonic_now() >= last_activity + opts.upstream_idle_timeout) {
        closed = true;
        nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR);
        kick();
        break;
      }
      if (!streams.empty()) last_activity = clock.monotonic_now();
    }
  }
};

std::shared_ptr<H2Connection> H2Connection::start(std::unique_ptr<TlsStream> tls, std::string host,
                                                  const ProxyOptions& opts, const Clock& clock) {
  auto s = std::make_shared<State>(std::move(tls), std::move(host), opts, clock);
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &State::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &State::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &State::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &State::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_client_new2(&s->session, cbs, s.get(), opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_option_del(opt);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts.h2_stream_window_bytes},
  };
  nghttp2_submit_settings(s->session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(s->session, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(std::min<std::uint64_t>(
                                            1u << 30, 16ull * opts.h2_stream_window_bytes)));
  s->io = std::make_unique<internal::H2Io>(*s->tls, s->session, s->clock);
  auto ex = s->tls->get_executor();
  asio::co_spawn(ex, s->run(s), internal::log_exception("upstream h2"));
  asio::co_spawn(ex, s->watch_idle(s), internal::log_exception("upstream h2"));
  return std::shared_ptr<H2Connection>(new H2Connection(s));
}

H2Connection::H2Connection(std::shared_ptr<State> state) : state_(std::move(state)) {}

H2Connection::~H2Connection() {
  // Streams in flight keep the state alive; with none, the idle watcher closes it.
}

bool H2Connection::is_closed() const { return state_->closed; }

bool H2Connection::can_open_stream() const {
  auto& s = *state_;
  if (s.closed || s.goaway || !s.io || s.io->is_closed()) return false;
  auto max =
      nghttp2_session_get_remote_settings(s.session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return s.streams.size() < max;
}

void H2Connection::close() {
  auto& s = *state_;
  if (s.closed) return;
  s.closed = true;
  nghttp2_session_terminate_session(s.session, NGHTTP2_NO_ERROR);
  s.kick();
}

asio::awaitable<Result<Response>> H2Connection::fetch(const Request& req,
                                                      std::shared_ptr<BodyPipe> body,
                                                      bool& retryable) {
  auto s = state_;
  retryable = true;
  if (!can_open_stream())
    co_return make_error(Errc::kUnavailable, "upstream " + s->host + " h2 connection is closing");
  auto ex = s->tls->get_executor();
  auto st = std::make_shared<UStream>(ex);
  std::vector<std::pair<std::string, std::string>> fields = {
      {":method", req.method}, {":scheme", "https"}, {":authority", s->host}, {":path", req.path}};
  for (const auto& h : req.headers)
    if (!is_hop_by_hop(h.name) && h.name != "host") fields.emplace_back(h.name, h.value);
  std::vector<nghttp2_nv> nva;
  for (const auto& [n, v] : fields) nva.push_back(make_nv(n, v));
  nghttp2_data_provider provider{};
  if (body) {
    st->req_body = body;
    st->out = std::make_unique<internal::H2Outgoing>(ex);
    provider.source.ptr = st.get();
    provider.read_callback = &State::read_body;
  }
  std::int32_t id = nghttp2_submit_request(s->session, nullptr, nva.data(), nva.size(),
                                           body ? &provider : nullptr, st.get());
  if (id < 0)
    co_return make_error(Errc::kUnavailable,
                         "upstream " + s->host + " h2: " + nghttp2_strerror(id));
  st->id = id;
  s->streams[id] = st;
  s->last_activity = s->clock.monotonic_now();
  s->kick();
  if (body) {
    auto pump = [](std::shared_ptr<State> s, std::shared_ptr<UStream> st,
                   std::shared_ptr<BodyPipe> body) -> asio::awaitable<void> {
      auto r = co_await internal::pump_body(
          *body, *st->out, s->clock, s->opts.body_buffer_bytes, s->opts.upstream_read_timeout,
          [&] {
            if (!st->closed && !s->closed) nghttp2_session_resume_data(s->session, st->id);
            s->kick();
          },
          [&] { return st->closed || s->closed; });
      if (!r && !st->closed && !s->closed) {
        spdlog::info("upstream {} h2: request body from client failed: {}", s->host,
                     to_string(r.error()));
        nghttp2_submit_rst_stream(s->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
        s->kick();
      }
    };
    asio::co_spawn(ex, pump(s, st, body), internal::log_exception("upstream h2"));
  }
  auto deadline = s->clock.monotonic_now() + s->opts.upstream_first_byte_timeout;
  while (!st->head_ready && !st->closed) {
    if (!co_await st->head_event.wait_until(deadline) && !st->head_ready && !st->closed) {
      if (!s->closed) {
        nghttp2_submit_rst_stream(s->session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        s->kick();
      }
      retryable = false;  // it may be in progress upstream: do not send it twice
      co_return make_error(Errc::kUnavailable,
                           "upstream " + s->host + " sent no response within " +
                               std::to_string(s->opts.upstream_first_byte_timeout.count()) +
                               " ms (timed out)");
    }
  }
  if (!st->head_ready)
    co_return std::unexpected(
        st->failed.value_or(Error{Errc::kUnavailable, "upstream " + s->host + " stream failed"}));
  retryable = false;
  Response resp;
  resp.head = std::move(st->head);
  resp.body = st->resp_body;
  resp.from = HttpVersion::kHttp2;
  co_return resp;
}

}  // namespace pipgate::proxy::upstream
