#include "proxy/header_hygiene.h"

#include <gtest/gtest.h>

namespace pipgate::proxy {
namespace {

Request with_headers(Headers h, HttpVersion v = HttpVersion::kHttp11) {
  Request r;
  r.headers = std::move(h);
  r.version = v;
  return r;
}

TEST(HeaderHygieneTest, RequestTable) {
  struct Case {
    const char* name;
    Request req;
    Headers want;
  };
  const Case cases[] = {
      {"plain fields kept, Via added",
       with_headers({{"accept", "text/html"}, {"user-agent", "pip/23"}}),
       {{"accept", "text/html"}, {"user-agent", "pip/23"}, {"via", "1.1 pipgate"}}},
      {"h2 client gets Via 2",
       with_headers({{"accept", "*/*"}}, HttpVersion::kHttp2),
       {{"accept", "*/*"}, {"via", "2 pipgate"}}},
      {"hop-by-hop removed",
       with_headers({{"connection", "keep-alive"},
                     {"keep-alive", "timeout=5"},
                     {"proxy-connection", "keep-alive"},
                     {"te", "trailers"},
                     {"transfer-encoding", "chunked"},
                     {"upgrade", "h2c"},
                     {"http2-settings", "AAA"},
                     {"proxy-authorization", "Basic x"},
                     {"accept", "*/*"}}),
       {{"accept", "*/*"}, {"via", "1.1 pipgate"}}},
      {"fields named by Connection removed",
       with_headers({{"connection", "close, X-Secret ,x-other"},
                     {"x-secret", "1"},
                     {"x-other", "2"},
                     {"x-kept", "3"}}),
       {{"x-kept", "3"}, {"via", "1.1 pipgate"}}},
      {"client address never forwarded",
       with_headers({{"x-forwarded-for", "10.1.2.3"},
                     {"forwarded", "for=10.1.2.3"},
                     {"x-real-ip", "10.1.2.3"},
                     {"accept", "*/*"}}),
       {{"accept", "*/*"}, {"via", "1.1 pipgate"}}},
      {"expect answered here, host carried as authority",
       with_headers({{"expect", "100-continue"}, {"host", "pypi.org"}, {"content-length", "5"}}),
       {{"content-length", "5"}, {"via", "1.1 pipgate"}}},
      {"existing Via extended",
       with_headers({{"via", "1.1 corp-proxy"}, {"via", "1.0 other"}}),
       {{"via", "1.1 corp-proxy, 1.0 other, 1.1 pipgate"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(upstream_request_headers(c.req), c.want);
  }
}

TEST(HeaderHygieneTest, ResponseTable) {
  struct Case {
    const char* name;
    Headers in;
    HttpVersion from;
    Headers want;
  };
  const Case cases[] = {
      {"h2 upstream",
       {{"content-type", "text/html"}, {"etag", "\"a\""}},
       HttpVersion::kHttp2,
       {{"content-type", "text/html"}, {"etag", "\"a\""}, {"via", "2 pipgate"}}},
      {"h1 upstream hop-by-hop",
       {{"connection", "keep-alive, x-hop"},
        {"x-hop", "1"},
        {"keep-alive", "timeout=5"},
        {"transfer-encoding", "chunked"},
        {"location", "https://pypi.org/simple/pip/"},
        {"x-forwarded-for", "kept in responses"}},
       HttpVersion::kHttp11,
       {{"location", "https://pypi.org/simple/pip/"},
        {"x-forwarded-for", "kept in responses"},
        {"via", "1.1 pipgate"}}},
      {"upstream Via extended",
       {{"via", "1.1 varnish"}},
       HttpVersion::kHttp2,
       {{"via", "1.1 varnish, 2 pipgate"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(client_response_headers(c.in, c.from), c.want);
  }
}

TEST(HeaderHygieneTest, IsHopByHop) {
  EXPECT_TRUE(is_hop_by_hop("connection"));
  EXPECT_TRUE(is_hop_by_hop("transfer-encoding"));
  EXPECT_FALSE(is_hop_by_hop("content-length"));
  EXPECT_FALSE(is_hop_by_hop("via"));
}

TEST(HeaderHygieneTest, FindHeader) {
  Headers h{{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(find_header(h, "a"), "1");
  EXPECT_EQ(find_header(h, "c"), std::nullopt);
}

}  // namespace
}  // namespace pipgate::proxy
