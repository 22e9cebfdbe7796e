// The admin protocol codec: requests (valid and refused), reply lines, result round trips and
// line framing with its limit.
#include "admin/protocol.h"

#include <gtest/gtest.h>

namespace pipgate::admin {
namespace {

Request request(Command cmd, std::uint32_t top = 20, std::string pattern = {}, bool all = false) {
  Request r;
  r.cmd = cmd;
  r.top = top;
  r.pattern = std::move(pattern);
  r.all = all;
  return r;
}

std::string without_newline(std::string line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  if (!line.empty()) line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line only";
  return line;
}

TEST(ParseRequest, AcceptsEveryCommand) {
  struct Case {
    const char* line;
    Command cmd;
    std::uint32_t top;
    const char* pattern;
    bool all;
  };
  const Case cases[] = {
      {R"({"cmd":"status"})", Command::kStatus, 20, "", false},
      {R"({"cmd":"cache.stats"})", Command::kCacheStats, 20, "", false},
      {R"({"cmd":"cache.stats","top":5})", Command::kCacheStats, 5, "", false},
      {R"({"top":100000,"cmd":"cache.stats"})", Command::kCacheStats, 100000, "", false},
      {R"({"cmd":"cache.ls","pattern":"*numpy*"})", Command::kCacheLs, 20, "*numpy*", false},
      {R"({"cmd":"cache.purge","pattern":"*.tar.gz"})", Command::kCachePurge, 20, "*.tar.gz",
       false},
      {R"({"cmd":"cache.purge","all":true})", Command::kCachePurge, 20, "", true},
      {R"(  {"cmd":"cache.verify"}  )", Command::kCacheVerify, 20, "", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parse_request(c.line);
    ASSERT_TRUE(r.has_value()) << r.error().detail;
    EXPECT_EQ(r->cmd, c.cmd);
    EXPECT_EQ(r->top, c.top);
    EXPECT_EQ(r->pattern, c.pattern);
    EXPECT_EQ(r->all, c.all);
  }
}

TEST(ParseRequest, RefusesWithAReason) {
  struct Case {
    const char* line;
    const char* says;
  };
  const Case cases[] = {
      {"", "not JSON"},
      {"status", "not JSON"},
      {R"({"cmd":"status")", "not JSON"},
      {R"(["status"])", "JSON object"},
      {R"({})", "needs \"cmd\""},
      {R"({"cmd":7})", "needs \"cmd\""},
      {R"({"cmd":"reboot"})", "unknown command \"reboot\" (known: status, cache.stats"},
      {R"({"cmd":"status","verbose":true})", "status: unknown field \"verbose\""},
      {R"({"cmd":"cache.verify","all":true})", "unknown field \"all\""},
      {R"({"cmd":"cache.stats","top":0})", "top: expected an integer from 1 to 100000"},
      {R"({"cmd":"cache.stats","top":100001})", "top: expected an integer from 1 to 100000"},
      {R"({"cmd":"cache.stats","top":-3})", "top: expected"},
      {R"({"cmd":"cache.stats","top":"5"})", "top: expected"},
      {R"({"cmd":"cache.ls"})", "needs a non-empty \"pattern\""},
      {R"({"cmd":"cache.ls","pattern":""})", "needs a non-empty \"pattern\""},
      {R"({"cmd":"cache.ls","pattern":5})", "pattern: expected a string"},
      {R"({"cmd":"cache.ls","pattern":"a\u0000b"})", "NUL"},
      {R"({"cmd":"cache.purge"})", "needs a non-empty \"pattern\" or \"all\": true"},
      {R"({"cmd":"cache.purge","all":false})", "needs a non-empty \"pattern\" or \"all\""},
      {R"({"cmd":"cache.purge","all":true,"pattern":"*"})", "either \"pattern\" or \"all\""},
      {R"({"cmd":"cache.purge","all":"yes"})", "all: expected true or false"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto r = parse_request(c.line);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kInvalidInput);
    EXPECT_NE(r.error().detail.find(c.says), std::string::npos) << r.error().detail;
  }
}

TEST(EncodeRequest, RoundTripsThroughParse) {
  const Request cases[] = {
      request(Command::kStatus),
      request(Command::kCacheStats, 7),
      request(Command::kCacheLs, 20, "pypi.org/simple/*\"quoted\"\\"),
      request(Command::kCachePurge, 20, "*numpy*"),
      request(Command::kCachePurge, 20, "", true),
      request(Command::kCacheVerify),
  };
  for (const auto& req : cases) {
    auto line = encode_request(req);
    SCOPED_TRACE(line);
    auto back = parse_request(without_newline(line));
    ASSERT_TRUE(back.has_value()) << back.error().detail;
    EXPECT_EQ(back->cmd, req.cmd);
    EXPECT_EQ(back->pattern, req.pattern);
    EXPECT_EQ(back->all, req.all);
    if (req.cmd == Command::kCacheStats) {
      EXPECT_EQ(back->top, req.top);
    }
  }
  EXPECT_EQ(encode_request(request(Command::kStatus)), "{\"cmd\":\"status\"}\n");
  EXPECT_EQ(encode_request(request(Command::kCachePurge, 20, "", true)),
            "{\"cmd\":\"cache.purge\",\"all\":true}\n");
}

TEST(Replies, ProgressErrorAndResultLinesParseBack) {
  Progress p{"verify", "verify", 120, 450, 1ull << 40, 2};
  auto line = encode_progress(p);
  EXPECT_EQ(line,
            "{\"progress\":{\"op\":\"verify\",\"phase\":\"verify\",\"done\":120,\"total\":450,"
            "\"bytes\":1099511627776,\"found\":2}}\n");
  auto r = parse_reply(without_newline(line));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->kind, Reply::Kind::kProgress);
  EXPECT_EQ(r->progress, p);

  auto e = parse_reply(without_newline(encode_error("no \"such\" thing\n")));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, Reply::Kind::kError);
  EXPECT_EQ(e->error, "no \"such\" thing\n");

  auto res = parse_reply(R"({"result":{"a":1}})");
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->kind, Reply::Kind::kResult);
  EXPECT_EQ(res->result_json, R"({"a":1})");
}

TEST(Replies, MalformedLinesAreRefused) {
  for (const char* bad :
       {"", "nope", "[]", "{}", R"({"result":1})", R"({"error":{}})", R"({"progress":[]})",
        R"({"progress":{"op":"ls"}})", R"({"result":{},"error":"x"})", R"({"other":1})"}) {
    SCOPED_TRACE(bad);
    auto r = parse_reply(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kInvalidInput);
  }
}

// encode_result → parse_reply → decode_* gives back the same struct.
template <class T, class Decode>
void expect_round_trip(const T& value, Decode decode) {
  auto reply = parse_reply(without_newline(encode_result(value)));
  ASSERT_TRUE(reply.has_value()) << reply.error().detail;
  ASSERT_EQ(reply->kind, Reply::Kind::kResult);
  auto back = decode(reply->result_json);
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  EXPECT_EQ(*back, value) << reply->result_json;
}

TEST(Results, RoundTrip) {
  StatusResult status;
  status.version = "0.1.0";
  status.pid = 4242;
  status.started_at = 1714557600;
  status.uptime_seconds = 3725;
  status.data_dir = "/var/lib/pipgate";
  status.cache = {1288490188, 20ull << 30, 1234};
  status.traffic = {1024, 0.875, 3ull << 30, 512ull << 20};
  status.upstream = {"unreachable", 1714557000, 1714557700, "connect: timed out"};
  status.children = {{"pipgate-dns", 4243, true, 1, "killed by signal 9"},
                     {"other", -1, false, 0, ""}};
  expect_round_trip(status, decode_status);
  status.upstream = {"unknown", std::nullopt, std::nullopt, ""};
  status.children.clear();
  expect_round_trip(status, decode_status);

  expect_round_trip(
      StatsResult{1714557600, {{"numpy", 12, 1, 300 << 20, 280 << 20}, {"pip", 1, 0, 100, 100}}},
      decode_stats);
  expect_round_trip(StatsResult{}, decode_stats);
  expect_round_trip(
      ListResult{"*numpy*",
                 3,
                 4096,
                 true,
                 {{"pypi.org/simple/numpy/#v1+json", 2048, 200, 1714557600, 1714557700},
                  {"pypi.org/simple/numpyx/#html", 2048, 404, 1714557601, 1714557601}}},
      decode_list);
  expect_round_trip(PurgeResult{"*numpy*", false, 5, 4, 12345, true}, decode_purge);
  expect_round_trip(PurgeResult{"", true, 0, 0, 0, false}, decode_purge);
  expect_round_trip(VerifyResult{10, 10, 1 << 20, {"a", "b"}, true}, decode_verify);
  expect_round_trip(VerifyResult{}, decode_verify);
}

TEST(Results, DecodingNamesTheMissingOrWrongField) {
  auto r = decode_purge(R"({"pattern":"x","all":false,"matched":1,"removed":1,"complete":true})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().detail, "result.bytes_freed: missing");
  auto s = decode_verify(R"({"checked":-1,"total":0,"bytes":0,"corrupt":[],"complete":true})");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().detail, "result.checked: expected a non-negative integer");
  EXPECT_FALSE(decode_list("[]").has_value());
  EXPECT_FALSE(decode_status("{").has_value());
}

TEST(LineReader, SplitsLinesAsBytesArrive) {
  LineReader r(64);
  auto next = [&] {
    auto l = r.next();
    EXPECT_TRUE(l.has_value());
    return l ? *l : std::optional<std::string>{};
  };
  EXPECT_EQ(next(), std::nullopt);
  r.append("{\"cmd\":\"sta");
  EXPECT_EQ(next(), std::nullopt);
  EXPECT_TRUE(r.has_partial());
  r.append("tus\"}\n{\"cmd\":");
  EXPECT_EQ(next(), "{\"cmd\":\"status\"}");
  EXPECT_EQ(next(), std::nullopt);
  r.append("\"cache.verify\"}\r\n\n");
  EXPECT_EQ(next(), "{\"cmd\":\"cache.verify\"}");
  EXPECT_EQ(next(), "");
  EXPECT_EQ(next(), std::nullopt);
  EXPECT_FALSE(r.has_partial());
}

TEST(LineReader, RefusesLinesOverTheLimit) {
  {
    LineReader r(8);
    r.append("12345678\n");  // exactly the limit
    auto l = r.next();
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(*l, "12345678");
  }
  {
    LineReader r(8);
    r.append("123456789\n");
    auto l = r.next();
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().code, Errc::kInvalidInput);
  }
  {
    LineReader r(8);  // no newline yet, but already too long: refused before it grows further
    r.append("1234567890");
    EXPECT_FALSE(r.next().has_value());
  }
  {
    LineReader r(8);  // a "\r" of a "\r\n" may wait for its "\n"
    r.append("12345678\r");
    auto l = r.next();
    ASSERT_TRUE(l.has_value());
    EXPECT_EQ(*l, std::nullopt);
    r.append("\n");
    EXPECT_EQ(*r.next(), "12345678");
  }
}

}  // namespace
}  // namespace pipgate::admin
