#include "proxy/upstream/h1_connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <vector>

#include "proxy/header_hygiene.h"
#include "proxy/internal/async_event.h"
#include "proxy/internal/spawn.h"

namespace pipgate::proxy::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

constexpr std::size_t kReadSize = 64 * 1024;
// Largest upstream response head accepted. PyPI's are about 1 KiB; 64 KiB as for clients.
constexpr std::uint32_t kResponseHeaderLimit = 64 * 1024;

template <class Sequence>
std::vector<asio::const_buffer> to_vector(const Sequence& seq) {
  return std::vector<asio::const_buffer>(asio::buffer_sequence_begin(seq),
                                         asio::buffer_sequence_end(seq));
}

std::string serialize_head(http::request<http::empty_body>& msg) {
  http::request_serializer<http::empty_body> sr{msg};
  sr.split(true);
  std::string out;
  beast::error_code ec;
  while (!sr.is_header_done() && !ec) {
    sr.next(ec, [&](beast::error_code&, const auto& buffers) {
      out += beast::buffers_to_string(buffers);
      auto n = beast::buffer_bytes(buffers);
      sr.consume(n);
    });
  }
  return out;
}

using Parser = http::response_parser<http::buffer_body>;

}  // namespace

struct H1Connection::State {
  State(std::unique_ptr<TlsStream> t, std::string h, const ProxyOptions& o, const Clock& c)
      : tls(std::move(t)),
        host(std::move(h)),
        opts(o),
        clock(c),
        sender_event(tls->get_executor()) {}
  std::unique_ptr<TlsStream> tls;
  std::string host;
  const ProxyOptions& opts;
  const Clock& clock;
  beast::flat_buffer in;
  std::unique_ptr<Parser> parser;
  bool sender_done = true;
  bool sender_ok = true;
  internal::AsyncEvent sender_event;

  asio::awaitable<Result<std::size_t>> fill(MonotonicTime deadline) {
    tls->set_deadline(deadline);
    auto space = in.prepare(kReadSize);
    auto n =
        co_await tls->read_some(std::span<char>(static_cast<char*>(space.data()), space.size()));
    tls->set_deadline(MonotonicTime::max());
    if (n) in.commit(*n);
    co_return n;
  }
};

H1Connection::H1Connection(std::unique_ptr<TlsStream> tls, std::string host,
                           const ProxyOptions& opts, const Clock& clock)
    : state_(std::make_unique<State>(std::move(tls), std::move(host), opts, clock)) {}

H1Connection::~H1Connection() = default;

bool H1Connection::is_open() const { return state_->tls->is_open(); }
void H1Connection::close() { state_->tls->close(); }

asio::awaitable<Result<Response>> H1Connection::fetch(
    const Request& req, std::shared_ptr<BodyPipe> body, bool& retryable,
    std::function<void(std::shared_ptr<H1Connection>)> on_idle) {
  auto self = shared_from_this();
  auto& s = *state_;
  retryable = true;
  const bool reused = idle_since_ != MonotonicTime{};  // handed back by an earlier exchange
  http::request<http::empty_body> head;
  head.version(11);
  head.method_string(req.method);
  head.target(req.path);
  head.set(http::field::host, s.host);
  for (const auto& h : req.headers) {
    if (is_hop_by_hop(h.name) || h.name == "host" || h.name == "content-length") continue;
    head.insert(h.name, h.value);
  }
  if (req.content_length)
    head.content_length(*req.content_length);
  else if (body)
    head.chunked(true);
  head.keep_alive(true);
  if (auto w = co_await s.tls->write(serialize_head(head)); !w)
    co_return make_error(Errc::kUnavailable, "upstream " + s.host + ": " + w.error().detail);

  if (body) {
    s.sender_done = false;
    s.sender_ok = false;
    bool chunked = !req.content_length.has_value();
    auto send = [](std::shared_ptr<H1Connection> self, std::shared_ptr<BodyPipe> body,
                   bool chunked) -> asio::awaitable<void> {
      auto& s = *self->state_;
      bool ok = true;
      for (;;) {
        auto chunk = co_await body->read(s.clock.monotonic_now() + s.opts.upstream_read_timeout);
        if (!chunk) {
          spdlog::info("upstream {} h1: request body from client failed: {}", s.host,
                       to_string(chunk.error()));
          ok = false;
          s.tls->close();  // upstream must not take a truncated body as complete
          break;
        }
        if (!*chunk) break;
        Result<> w;
        if (chunked) {
          auto c = http::make_chunk(asio::buffer((*chunk)->data(), (*chunk)->size()));
          auto v = to_vector(c);
          w = co_await s.tls->write(v);
        } else {
          w = co_await s.tls->write((*chunk)->view());
        }
        if (!w) {
          ok = false;
          body->cancel();
          break;
        }
      }
      if (ok && chunked) {
        auto last = http::make_chunk_last();
        auto v = to_vector(last);
        ok = (co_await s.tls->write(v)).has_value();
      }
      s.sender_ok = ok;
      s.sender_done = true;
      s.sender_event.notify();
    };
    asio::co_spawn(s.tls->get_executor(), send(self, body, chunked),
                   internal::log_exception("upstream h1"));
  }

  // Response head (skipping 1xx interim responses).
  auto deadline = s.clock.monotonic_now() + s.opts.upstream_first_byte_timeout;
  for (;;) {
    s.parser = std::make_unique<Parser>();
    s.parser->header_limit(kResponseHeaderLimit);
    s.parser->body_limit(boost::none);
    if (req.method == "HEAD") s.parser->skip(true);
    beast::error_code ec;
    while (!s.parser->is_header_done()) {
      if (s.in.size() > 0) {
        auto used = s.parser->put(s.in.data(), ec);
        s.in.consume(used);
        if (s.parser->is_header_done()) break;
        if (ec && ec != http::error::need_more) {
          s.tls->close();
          // On a pooled connection, bytes that start no response are most likely what the
          // previous answer sent past its Content-Length, arrived after it ended: no answer to
          // this request, which may go again on a new connection.
          if (reused) retryable = true;
          co_return make_error(Errc::kUnavailable,
                               "upstream " + s.host + " sent a malformed response" +
                                   (reused ? " on a reused connection" : "") + ": " + ec.message());
        }
      }
      auto n = co_await s.fill(deadline);
      if (!n || *n == 0) {
        s.tls->close();
        co_return make_error(Errc::kUnavailable, "upstream " + s.host +
                                                     " closed before responding" +
                                                     (n ? std::string() : ": " + n.error().detail));
      }
      retryable = false;
    }
    retryable = false;
    if (s.parser->get().result_int() / 100 != 1) break;
  }

  auto& msg = s.parser->get();
  Response resp;
  resp.from = HttpVersion::kHttp11;
  resp.head.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == "content-length") continue;
    resp.head.headers.push_back({std::move(name), std::string(f.value())});
  }
  if (s.parser->content_length()) resp.head.content_length = *s.parser->content_length();
  bool keep_alive = msg.keep_alive();

  auto finish_exchange =
      [](std::shared_ptr<H1Connection> self, bool clean, bool keep_alive,
         std::function<void(std::shared_ptr<H1Connection>)> on_idle) -> asio::awaitable<void> {
    auto& s = *self->state_;
    while (!s.sender_done) co_await s.sender_event.wait();
    if (clean && keep_alive && s.sender_ok && s.in.size() == 0 && s.tls->is_open()) {
      self->idle_since_ = s.clock.monotonic_now();
      if (on_idle) on_idle(self);
    } else {
      s.tls->close();
    }
  };

  if (s.parser->is_done()) {  // no body (HEAD, 204, 304, Content-Length: 0)
    asio::co_spawn(s.tls->get_executor(), finish_exchange(self, true, keep_alive, on_idle),
                   internal::log_exception("upstream h1"));
    co_return resp;
  }

  resp.body = std::make_shared<BodyPipe>(s.tls->get_executor(), s.opts.body_buffer_bytes);
  auto read_body =
      [](std::shared_ptr<H1Connection> self, std::shared_ptr<BodyPipe> pipe, bool keep_alive,
         decltype(finish_exchange) finish,
         std::function<void(std::shared_ptr<H1Connection>)> on_idle) -> asio::awaitable<void> {
    auto& s = *self->state_;
    auto& p = *s.parser;
    std::vector<char> buf(kReadSize);
    bool clean = false;
    for (;;) {
      if (s.in.size() > 0) {
        p.get().body().data = buf.data();
        p.get().body().size = buf.size();
        beast::error_code ec;
        auto used = p.put(s.in.data(), ec);
        s.in.consume(used);
        std::size_t got = buf.size() - p.get().body().size;
        if (got > 0 && !co_await pipe->write(std::string(buf.data(), got))) break;  // cancelled
        if (p.is_done()) {
          clean = true;
          break;
        }
        if (ec == http::error::need_buffer) continue;
        if (ec && ec != http::error::need_more) {
          pipe->fail(Error{Errc::kUnavailable, "upstream " + s.host + " body: " + ec.message()});
          break;
        }
        if (!ec && used > 0 && s.in.size() > 0) continue;
      }
      auto n = co_await s.fill(s.clock.monotonic_now() + s.opts.upstream_read_timeout);
      if (n && *n == 0) {
        beast::error_code ec;
        p.put_eof(ec);  // fine only for a body delimited by the connection's end
        if (!ec && p.is_done()) {
          clean = true;
          keep_alive = false;
          break;
        }
      }
      if (!n || *n == 0) {
        pipe->fail(Error{Errc::kUnavailable, "upstream " + s.host +
                                                 " closed before the body ended" +
                                                 (n ? std::string() : ": " + n.error().detail)});
        break;
      }
    }
    if (clean) pipe->finish();
    co_await finish(self, clean, keep_alive, std::move(on_idle));
  };
  asio::co_spawn(s.tls->get_executor(),
                 read_body(self, resp.body, keep_alive, finish_exchange, std::move(on_idle)),
                 internal::log_exception("upstream h1"));
  co_return resp;
}

}  // namespace pipgate::proxy::upstream
