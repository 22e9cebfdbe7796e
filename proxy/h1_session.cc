#include "proxy/h1_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/header_hygiene.h"
#include "proxy/internal/async_event.h"
#include "proxy/internal/h1_request.h"
#include "proxy/internal/spawn.h"

namespace pipgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
constexpr std::size_t kCoalesceBytes = 128 * 1024;
// A buffered body up to this size is sent with the response head, in one TLS record.
constexpr std::size_t kWithHeadBytes = 16 * 1024 - 1024;

template <class Sequence>
std::vector<asio::const_buffer> to_vector(const Sequence& seq) {
  return std::vector<asio::const_buffer>(asio::buffer_sequence_begin(seq),
                                         asio::buffer_sequence_end(seq));
}

// Serializes the head of `msg` alone (Beast's serializer in split mode).
template <bool isRequest>
std::string serialize_head(http::message<isRequest, http::empty_body>& msg) {
  http::serializer<isRequest, http::empty_body> sr{msg};
  sr.split(true);
  std::string out;
  beast::error_code ec;
  while (!sr.is_header_done()) {
    sr.next(ec, [&](beast::error_code&, const auto& buffers) {
      out += beast::buffers_to_string(buffers);
      auto n = beast::buffer_bytes(buffers);
      sr.consume(n);
    });
    if (ec) break;
  }
  return out;
}

}  // namespace

struct H1Session::State : std::enable_shared_from_this<H1Session::State> {
  State(std::unique_ptr<TlsStream> t, ConnectionInfo i, const ProxyOptions& o, const Router& r,
        Backend& b, const Clock& c)
      : tls(std::move(t)),
        info(std::move(i)),
        opts(o),
        router(r),
        backend(b),
        clock(c),
        pump_done_event(tls->get_executor()) {}

  std::unique_ptr<TlsStream> tls;
  ConnectionInfo info;
  const ProxyOptions& opts;
  const Router& router;
  Backend& backend;
  const Clock& clock;
  beast::flat_buffer in;
  bool shutting_down = false;
  bool idle = true;
  bool pump_done = true;
  internal::AsyncEvent pump_done_event;

  using Parser = internal::H1Parser;

  void log_head_over_limit() {
    spdlog::info("conn {} {} h1: request head over header_limit ({} bytes): 431, closing", info.id,
                 info.client_address.to_string(), opts.header_limit_bytes);
  }

  // Reads bytes into `in`. 0 on clean EOF.
  asio::awaitable<Result<std::size_t>> fill() {
    auto space = in.prepare(kReadSize);
    auto n =
        co_await tls->read_some(std::span<char>(static_cast<char*>(space.data()), space.size()));
    if (n) in.commit(*n);
    co_return n;
  }

  asio::awaitable<Result<>> write_text(int status, std::string_view text, bool close) {
    auto resp = text_response(tls->get_executor(), status, std::string(text));
    http::response<http::empty_body> res{static_cast<http::status>(status), 11};
    for (const auto& h : resp.head.headers) res.set(h.name, h.value);
    res.content_length(text.size());
    res.keep_alive(!close);
    std::string bytes = serialize_head(res);
    bytes += text;
    co_return co_await tls->write(bytes);
  }

  // Moves the request body from the socket into `pipe`. Runs beside the response; sets pump_done.
  static asio::awaitable<void> pump_request_body(std::shared_ptr<State> self, Parser& p,
                                                 std::shared_ptr<BodyPipe> pipe) {
    std::vector<char> buf(64 * 1024);
    Result<> result;
    while (!p.is_done()) {
      if (self->in.size() > 0) {
        p.get().body().data = buf.data();
        p.get().body().size = buf.size();
        beast::error_code ec;
        auto used = p.put(self->in.data(), ec);
        self->in.consume(used);
        std::size_t got = buf.size() - p.get().body().size;
        if (got > 0 && !co_await pipe->write(std::string(buf.data(), got))) {
          result = make_error(Errc::kUnavailable, "request body no longer wanted");
          break;
        }
        if (ec == http::error::need_buffer) continue;
        if (ec && ec != http::error::need_more) {
          result = make_error(Errc::kInvalidInput, "request body: " + ec.message());
          break;
        }
        if (p.is_done()) break;
        if (ec != http::error::need_more && used > 0) continue;
      }
      auto n = co_await self->fill();
      if (!n || *n == 0) {
        result = make_error(Errc::kUnavailable, "client closed before the request body ended" +
                                                    (n ? std::string() : ": " + n.error().detail));
        break;
      }
    }
    if (result)
      pipe->finish();
    else
      pipe->fail(result.error());
    self->pump_done = true;
    self->pump_done_event.notify();
  }

  // Serves one request; false when the connection must end afterwards.
  asio::awaitable<bool> serve_one() {
    Parser p;
    p.header_limit(opts.header_limit_bytes);
    p.body_limit(boost::none);  // bodies stream through; their size is upstream's business
    idle = true;
    tls->set_deadline(clock.monotonic_now() + opts.client_idle_timeout);
    beast::error_code ec;
    while (!p.is_header_done()) {
      if (in.size() > 0) {
        if (idle) {
          idle = false;
          tls->set_deadline(clock.monotonic_now() + opts.header_timeout);
        }
        auto used = p.put(in.data(), ec);
        in.consume(used);
        if (p.is_header_done()) break;
        if (ec == http::error::header_limit) {
          log_head_over_limit();
          ignore_error(co_await write_text(431, "request header too large\n", true),
                       "the connection ends after this answer");
          co_return false;
        }
        if (ec && ec != http::error::need_more) {
          spdlog::info("conn {} {} h1: bad request: {}", info.id, info.client_address.to_string(),
                       ec.message());
          ignore_error(co_await write_text(400, "bad request: " + ec.message() + "\n", true),
                       "the connection ends after this answer");
          co_return false;
        }
        if (in.size() >= opts.header_limit_bytes + kReadSize) {
          log_head_over_limit();
          ignore_error(co_await write_text(431, "request header too large\n", true),
                       "the connection ends after this answer");
          co_return false;
        }
      }
      if (shutting_down && idle) co_return false;
      auto n = co_await fill();
      if (!n) {
        // Slowloris: the head's first byte came, the rest not within header_timeout.
        if (!idle && n.error().detail.ends_with("timed out"))
          spdlog::info(
              "conn {} {} h1: request head not complete within header_timeout ({} ms): "
              "closing",
              info.id, info.client_address.to_string(), opts.header_timeout.count());
        else if (!idle)
          spdlog::debug("conn {} h1: {}", info.id, n.error().detail);
        co_return false;
      }
      if (*n == 0) co_return false;
    }
    tls->set_deadline(MonotonicTime::max());
    idle = false;

    auto req = internal::h1_request(p, info);
    if (!req) {
      ignore_error(co_await write_text(400, req.error().detail + "\n", true),
                   "the connection ends after this answer");
      co_return false;
    }
    bool keep_alive = p.get().keep_alive() && !shutting_down;
    bool head = p.get().method() == http::verb::head;
    Route route = router.route(*req);
    if (route.action == RouteAction::kRefuse) {
      spdlog::info("conn {} {} h1: refused {} {}{}: {} {}", info.id,
                   info.client_address.to_string(), req->method, req->authority, req->path,
                   route.status, route.reason);
      ignore_error(co_await write_text(route.status, route.reason + "\n", true),
                   "the connection ends after this answer");
      co_return false;
    }

    std::shared_ptr<BodyPipe> req_body;
    if (req->has_body) {
      if (auto expect = find_header(req->headers, "expect");
          expect && beast::iequals(*expect, "100-continue")) {
        if (!co_await tls->write("HTTP/1.1 100 Continue\r\n\r\n")) co_return false;
      }
      req_body = std::make_shared<BodyPipe>(tls->get_executor(), opts.body_buffer_bytes);
      pump_done = false;
      asio::co_spawn(tls->get_executor(), pump_request_body(shared_from_this(), p, req_body),
                     internal::log_exception("h1 request body"));
    }
    auto started = clock.monotonic_now();
    auto resp = co_await backend.respond(route, *req, req_body);
    bool ok = co_await write_response(resp, head, keep_alive, p.get().version());
    record_access(
        {info, *req, resp, resp.body ? resp.body->consumed_bytes() : 0, ok,
         std::chrono::duration_cast<std::chrono::milliseconds>(clock.monotonic_now() - started)});
    if (req_body) {
      if (!pump_done) {
        // The response is out before the request body was read: the rest of it cannot be told
        // apart from the next request without reading it, so the connection ends.
        ok = false;
        req_body->cancel();
        tls->close();
      }
      while (!pump_done) co_await pump_done_event.wait();
    }
    co_return ok&& keep_alive && !shutting_down;
  }

  // Sends `resp`; false when the connection must end (body failed, write failed, close asked).
  asio::awaitable<bool> write_response(Response& resp, bool head, bool& keep_alive,
                                       unsigned version) {
    http::response<http::empty_body> res{static_cast<http::status>(resp.head.status), version};
    for (const auto& h : resp.head.headers) {
      if (h.name == "content-length" || is_hop_by_hop(h.name)) continue;
      res.insert(h.name, h.value);
    }
    bool no_body_allowed =
        head || resp.head.status == 204 || resp.head.status == 304 || resp.head.status / 100 == 1;
    bool chunked = false;
    if (resp.head.content_length) {
      res.content_length(*resp.head.content_length);
    } else if (!resp.body) {
      if (!no_body_allowed) res.content_length(0);
    } else if (version >= 11) {
      chunked = true;
      res.chunked(true);
    } else {
      keep_alive = false;  // HTTP/1.0 client: the body ends when the connection does
    }
    res.keep_alive(keep_alive);
    std::string out = serialize_head(res);
    std::uint64_t sent = 0;
    // A small body already at hand (a stored page) goes out with the head: one TLS record and
    // one send instead of two of each.
    if (resp.body && !head && !chunked && resp.body->buffered_bytes() > 0 &&
        resp.body->buffered_bytes() <= kWithHeadBytes) {
      while (auto more = resp.body->try_read()) {
        sent += more->size();
        out += more->view();
      }
    }
    if (!co_await tls->write(out)) {
      if (resp.body) resp.body->cancel();
      co_return false;
    }
    if (!resp.body) co_return true;
    if (head) {
      resp.body->cancel();
      co_return true;
    }
    for (;;) {
      auto chunk = co_await resp.body->read(clock.monotonic_now() + opts.upstream_read_timeout);
      if (!chunk) {
        spdlog::warn("conn {} {} h1: response body aborted after {} bytes: {}", info.id,
                     info.client_address.to_string(), sent, to_string(chunk.error()));
        resp.body->cancel();
        tls->close();  // short of Content-Length or of the last chunk: not a success
        co_return false;
      }
      if (!*chunk) break;
      // Whatever else is buffered goes out in the same write: fewer TLS records and syscalls.
      SharedBytes bytes = std::move(**chunk);
      if (bytes.size() < kCoalesceBytes) {
        std::string joined;
        while ((joined.empty() ? bytes.size() : joined.size()) < kCoalesceBytes) {
          auto more = resp.body->try_read();
          if (!more) break;
          if (joined.empty()) joined = bytes.str();
          joined += more->view();
        }
        if (!joined.empty()) bytes = std::move(joined);
      }
      sent += bytes.size();
      // A client that takes nothing for this long is stalling (slow-read) or gone.
      tls->set_deadline(clock.monotonic_now() + opts.upstream_read_timeout);
      Result<> w;
      if (chunked) {
        auto c = http::make_chunk(asio::buffer(bytes.data(), bytes.size()));
        auto v = to_vector(c);
        w = co_await tls->write(v);
      } else {
        w = co_await tls->write(bytes.view());
      }
      tls->set_deadline(MonotonicTime::max());
      if (!w) {
        resp.body->cancel();
        co_return false;
      }
    }
    if (chunked) {
      auto last = http::make_chunk_last();
      auto v = to_vector(last);
      if (!co_await tls->write(v)) co_return false;
    }
    if (resp.head.content_length && sent != *resp.head.content_length) {
      spdlog::warn("conn {} h1: body was {} bytes, declared {}", info.id, sent,
                   *resp.head.content_length);
      tls->close();
      co_return false;
    }
    co_return true;
  }
};

H1Session::H1Session(std::unique_ptr<TlsStream> tls, ConnectionInfo info, const ProxyOptions& opts,
                     const Router& router, Backend& backend, const Clock& clock)
    : state_(
          std::make_shared<State>(std::move(tls), std::move(info), opts, router, backend, clock)) {}

H1Session::~H1Session() = default;

asio::awaitable<void> H1Session::run() {
  auto s = state_;
  while (co_await s->serve_one()) {
  }
  if (s->tls->is_open())
    co_await s->tls->shutdown(s->clock.monotonic_now() + std::chrono::seconds(1));
}

void H1Session::shutdown() {
  state_->shutting_down = true;
  if (state_->idle) state_->tls->close();
}

void H1Session::close() { state_->tls->close(); }

}  // namespace pipgate::proxy
