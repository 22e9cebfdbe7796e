// The cache's sans-IO decisions, table-driven: which paths are cached and under which key,
// PEP 691 negotiation, what is stored, freshness and revalidation, stale-if-error, and the
// answers built from a stored copy (304, ranges, HEAD, gzip, X-Cache/Age/Vary/ETag).
#include "proxy/cache/cache_policy.h"

#include <gtest/gtest.h>

#include "proxy/cache/http_fields.h"
#include "proxy/cache/resource.h"

namespace pipgate::proxy::cache {
namespace {

using namespace std::chrono_literals;

const std::string kB2 = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
std::string file_path(std::string name) {
  return "/packages/" + kB2.substr(0, 2) + "/" + kB2.substr(2, 2) + "/" + kB2.substr(4) + "/" +
         name;
}

// ---- Resources and keys ----

struct ClassifyCase {
  std::string host, path;
  ResourceKind kind;
  std::string project;
  bool has_digest;
};

TEST(Resource, ClassifiesEveryPathShape) {
  const std::vector<ClassifyCase> cases = {
      {"files.pythonhosted.org", file_path("numpy-2.1.0-cp312-cp312-manylinux.whl"),
       ResourceKind::kFile, "numpy", true},
      {"files.pythonhosted.org", file_path("Tiny_Pkg-1.0-py3-none-any.whl.metadata"),
       ResourceKind::kFile, "tiny-pkg", false},
      {"files.pythonhosted.org", file_path("requests-2.32.0.tar.gz"), ResourceKind::kFile,
       "requests", true},
      {"files.pythonhosted.org", "/packages/py3/r/requests/requests-2.0-py3-none-any.whl",
       ResourceKind::kFile, "requests", false},
      {"files.pythonhosted.org", "/packages/AB/cd/" + kB2.substr(4) + "/x-1.whl",
       ResourceKind::kFile, "x", false},  // not the hashed layout (upper case): a legacy path
      {"files.pythonhosted.org", "/packages/../etc/passwd/x", ResourceKind::kUncached, "", false},
      {"files.pythonhosted.org", "/", ResourceKind::kUncached, "", false},
      {"files.pythonhosted.org", file_path("x-1.whl") + "?a=b", ResourceKind::kUncached, "", false},
      {"pypi.org", "/simple/", ResourceKind::kSimpleIndex, "", false},
      {"pypi.org", "/simple/Django/", ResourceKind::kSimpleIndex, "django", false},
      {"pypi.org", "/simple/zope.interface/", ResourceKind::kSimpleIndex, "zope-interface", false},
      {"pypi.org", "/simple/django", ResourceKind::kUncached, "", false},
      {"pypi.org", "/simple/a/b/", ResourceKind::kUncached, "", false},
      {"pypi.org", "/simple/%2e%2e/", ResourceKind::kUncached, "", false},
      {"pypi.org", "/pypi/requests/json", ResourceKind::kJsonApi, "requests", false},
      {"pypi.org", "/pypi/requests/2.32.0/json", ResourceKind::kJsonApi, "requests", false},
      {"pypi.org", "/pypi/requests/", ResourceKind::kUncached, "", false},
      {"pypi.org", "/project/requests/", ResourceKind::kUncached, "", false},
      {"pypi.org", "/search/?q=x", ResourceKind::kUncached, "", false},
      {"pypi.org", "/pypi", ResourceKind::kUncached, "", false},
      {"example.org", "/simple/x/", ResourceKind::kUncached, "", false},
  };
  for (const auto& c : cases) {
    auto r = classify(c.host, c.path);
    EXPECT_EQ(r.kind, c.kind) << c.host << c.path;
    EXPECT_EQ(r.project, c.project) << c.host << c.path;
    EXPECT_EQ(r.digest_hex.has_value(), c.has_digest) << c.host << c.path;
    if (c.has_digest) {
      EXPECT_EQ(*r.digest_hex, kB2);
    }
  }
}

TEST(Resource, KeysAreReadableAndSeparateVariants) {
  EXPECT_EQ(cache_key("pypi.org", "/simple/x/", Variant::kJson), "pypi.org/simple/x/#v1+json");
  EXPECT_EQ(cache_key("pypi.org", "/simple/x/", Variant::kHtml), "pypi.org/simple/x/#html");
  EXPECT_EQ(cache_key("pypi.org", "/simple/x/", Variant::kHtmlV1), "pypi.org/simple/x/#v1+html");
  EXPECT_EQ(cache_key("files.pythonhosted.org", "/packages/a", Variant::kNone),
            "files.pythonhosted.org/packages/a");
}

TEST(Resource, ProjectNames) {
  EXPECT_EQ(normalize_project("Foo__Bar.baz-Qux"), "foo-bar-baz-qux");
  EXPECT_EQ(project_of_filename("scikit_learn-1.5.0-cp312-cp312-manylinux_2_17.whl"),
            "scikit-learn");
  EXPECT_EQ(project_of_filename("zope.interface-6.0.tar.gz"), "zope-interface");
  EXPECT_EQ(project_of_filename("noversion.whl"), "");
}

// ---- Negotiation ----

TEST(Negotiation, ChoosesLikePyPI) {
  struct Case {
    std::optional<std::string> accept;
    std::optional<Variant> want;
  };
  const std::vector<Case> cases = {
      {std::nullopt, Variant::kHtml},
      {"", Variant::kHtml},
      {"*/*", Variant::kHtml},
      {"text/html", Variant::kHtml},
      // pip ≥ 22.2
      {"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
       "text/html; q=0.01",
       Variant::kJson},
      {"application/vnd.pypi.simple.v1+html", Variant::kHtmlV1},
      {"application/vnd.pypi.simple.latest+json", Variant::kJson},
      {"application/vnd.pypi.simple.latest+html;q=0.5, text/html;q=0.4", Variant::kHtmlV1},
      {"application/*", Variant::kHtmlV1},  // tie between the two application types: html first
      {"text/html;q=0, */*", Variant::kHtmlV1},
      {"application/json", std::nullopt},
      {"image/png", std::nullopt},
      {"text/html;q=0", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = choose_variant(c.accept ? std::optional<std::string_view>(*c.accept) : std::nullopt);
    EXPECT_EQ(got, c.want) << (c.accept ? *c.accept : "(absent)");
  }
}

TEST(Negotiation, ContentTypesMapToVariants) {
  EXPECT_EQ(variant_of_content_type("text/html; charset=utf-8"), Variant::kHtml);
  EXPECT_EQ(variant_of_content_type("application/vnd.pypi.simple.v1+JSON"), Variant::kJson);
  EXPECT_EQ(variant_of_content_type("application/vnd.pypi.simple.v1+html"), Variant::kHtmlV1);
  EXPECT_EQ(variant_of_content_type("application/json"), std::nullopt);
}

// ---- Upstream requests and what is stored ----

TEST(Upstream, FillRequestsReplaceTheClientsCachingFields) {
  Headers client = {{"user-agent", "pip/24"},   {"accept", "text/html"},
                    {"accept-encoding", "br"},  {"range", "bytes=0-1"},
                    {"if-none-match", "\"x\""}, {"cache-control", "max-age=0"},
                    {"cookie", "a=b"}};
  auto index = classify("pypi.org", "/simple/x/");
  Validators v{"\"etag1\"", "Wed, 21 Oct 2015 07:28:00 GMT"};
  auto h = fill_request_headers(client, index, Variant::kJson, &v);
  Headers want = {{"user-agent", "pip/24"},
                  {"accept", "application/vnd.pypi.simple.v1+json"},
                  {"accept-encoding", "gzip"},
                  {"if-none-match", "\"etag1\""},
                  {"if-modified-since", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  EXPECT_EQ(h, want);
  auto file = classify("files.pythonhosted.org", file_path("x-1.whl"));
  h = fill_request_headers(client, file, Variant::kNone, nullptr);
  want = {{"user-agent", "pip/24"}, {"accept-encoding", "identity"}};
  EXPECT_EQ(h, want);
}

TEST(Upstream, WhatIsStored) {
  auto index = classify("pypi.org", "/simple/x/");
  auto file = classify("files.pythonhosted.org", file_path("x-1.whl"));
  auto html = Header{"content-type", "text/html"};
  auto json = Header{"content-type", "application/vnd.pypi.simple.v1+json"};
  struct Case {
    Resource res;
    Variant v;
    ResponseHead head;
    bool store;
  };
  const std::vector<Case> cases = {
      {index, Variant::kJson, {200, {json}}, true},
      {index, Variant::kJson, {200, {html}}, false},  // wrong variant: never to JSON clients
      {index, Variant::kHtml, {200, {html, {"cache-control", "no-store"}}}, false},
      {index, Variant::kHtml, {200, {html, {"cache-control", "private, max-age=60"}}}, false},
      {index, Variant::kHtml, {200, {html, {"content-encoding", "br"}}}, false},
      {index, Variant::kHtml, {200, {html, {"content-encoding", "gzip"}}}, true},
      {index, Variant::kHtml, {404, {}}, true},
      {index, Variant::kHtml, {301, {{"location", "/simple/x-y/"}}}, true},
      {index, Variant::kHtml, {500, {html}}, false},
      {index, Variant::kHtml, {503, {html}}, false},
      {index, Variant::kHtml, {204, {}}, false},
      {file, Variant::kNone, {200, {{"content-type", "application/octet-stream"}}}, true},
      {file, Variant::kNone, {206, {{"content-range", "bytes 0-1/2"}}}, false},
      {file, Variant::kNone, {302, {{"location", "/x"}}}, true},
      {classify("pypi.org", "/project/x/"), Variant::kNone, {200, {html}}, false},
  };
  for (std::size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(storable(cases[i].res, cases[i].v, cases[i].head).store, cases[i].store) << i;
}

TEST(Upstream, StoredFieldsDropCookiesAndCdnInternals) {
  Headers up = {{"content-type", "text/html"},
                {"set-cookie", "session=1"},
                {"x-served-by", "cache-fra"},
                {"x-cache", "HIT"},
                {"x-cache-hits", "3"},
                {"x-timer", "S1"},
                {"surrogate-key", "project/x"},
                {"surrogate-control", "max-age=86400"},
                {"fastly-debug", "1"},
                {"via", "1.1 varnish"},
                {"age", "42"},
                {"content-length", "10"},
                {"connection", "close"},
                {"etag", "\"e\""},
                {"cache-control", "max-age=600, public"}};
  Headers want = {{"content-type", "text/html"},
                  {"x-pipgate-age", "42"},
                  {"etag", "\"e\""},
                  {"cache-control", "max-age=600, public"}};
  EXPECT_EQ(headers_to_store(up), want);
}

TEST(Upstream, NotModifiedRefreshesTheStoredFields) {
  Headers stored = {{"content-type", "text/html"},
                    {"etag", "\"1\""},
                    {"x-pipgate-age", "100"},
                    {"cache-control", "max-age=60"},
                    {"content-encoding", "gzip"}};
  Headers nm = {{"etag", "\"1\""},
                {"cache-control", "max-age=600"},
                {"age", "5"},
                {"content-type", "application/evil"},
                {"set-cookie", "x=y"}};
  Headers want = {{"content-type", "text/html"},
                  {"content-encoding", "gzip"},
                  {"etag", "\"1\""},
                  {"cache-control", "max-age=600"},
                  {"x-pipgate-age", "5"}};
  EXPECT_EQ(merge_not_modified(stored, nm), want);
}

// ---- Freshness ----

struct FreshCase {
  std::string name;
  Resource res;
  ResponseHead head;
  std::chrono::seconds resident;
  bool fresh;
  std::chrono::seconds lifetime;
};

// Whole seconds from HTTP-date `a` to `b`, as parsed (clamped to SystemTime's range).
std::chrono::seconds between(std::string_view a, std::string_view b) {
  auto secs = [](std::string_view d) {
    return std::chrono::floor<std::chrono::seconds>(parse_http_date(d)->time_since_epoch());
  };
  return secs(b) - secs(a);
}

TEST(Freshness, LifetimeFromUpstreamOrConfig) {
  auto index = classify("pypi.org", "/simple/x/");
  auto file = classify("files.pythonhosted.org", file_path("x-1.whl"));
  PolicyOptions opts;  // index_ttl 600, negative 60, redirect 600
  const std::string date = "Wed, 21 Oct 2015 07:28:00 GMT";
  const std::vector<FreshCase> cases = {
      {"max-age", index, {200, {{"cache-control", "max-age=300"}}}, 299s, true, 300s},
      {"max-age expired", index, {200, {{"cache-control", "max-age=300"}}}, 300s, false, 300s},
      {"s-maxage wins",
       index,
       {200, {{"cache-control", "max-age=300, s-maxage=10"}}},
       11s,
       false,
       10s},
      {"upstream age counts",
       index,
       {200, {{"cache-control", "max-age=300"}, {"x-pipgate-age", "250"}}},
       60s,
       false,
       300s},
      {"no-cache", index, {200, {{"cache-control", "no-cache, max-age=300"}}}, 0s, false, 0s},
      {"invalid max-age", index, {200, {{"cache-control", "max-age=soon"}}}, 0s, false, 0s},
      {"expires",
       index,
       {200, {{"date", date}, {"expires", "Wed, 21 Oct 2015 07:38:00 GMT"}}},
       599s,
       true,
       600s},
      {"bad expires", index, {200, {{"date", date}, {"expires", "0"}}}, 0s, false, 0s},
      // Found by tests/fuzz/cache_policy_fuzz.cc: dates outside SystemTime's range (clamped)
      // made Expires - Date overflow int64 nanoseconds, and year 1 read as ~234 years fresh.
      {"expires in year 1",
       index,
       {200, {{"date", date}, {"expires", "Mon, 01 Jan 0001 00:00:00 GMT"}}},
       0s,
       false,
       0s},
      {"date in year 1",
       index,
       {200, {{"date", "Mon, 01 Jan 0001 00:00:00 GMT"}, {"expires", date}}},
       599s,
       true,
       between("Mon, 01 Jan 0001 00:00:00 GMT", date)},
      {"expires in year 9999",
       index,
       {200, {{"date", date}, {"expires", "Fri, 31 Dec 9999 23:59:59 GMT"}}},
       86400s * 365 * 200,
       true,
       between(date, "Fri, 31 Dec 9999 23:59:59 GMT")},
      {"heuristic", index, {200, {}}, 599s, true, 600s},
      {"404 capped", index, {404, {{"cache-control", "max-age=3600"}}}, 61s, false, 60s},
      {"301 capped", index, {301, {{"cache-control", "max-age=86400"}}}, 599s, true, 600s},
      {"file immutable", file, {200, {{"cache-control", "max-age=0"}}}, 86400s * 365, true, 0s},
      {"file 404 not immutable", file, {404, {}}, 61s, false, 60s},
  };
  SystemTime validated = SystemTime{} + 24h * 365 * 50;
  for (const auto& c : cases) {
    auto f = freshness(c.res, c.head, validated, validated + c.resident, opts);
    EXPECT_EQ(f.fresh(), c.fresh) << c.name;
    if (!f.immutable) {
      EXPECT_EQ(f.lifetime, c.lifetime) << c.name;
    }
  }
}

TEST(Freshness, DecideAndStaleIfError) {
  auto index = classify("pypi.org", "/simple/x/");
  auto file = classify("files.pythonhosted.org", file_path("x-1.whl"));
  PolicyOptions opts;
  Freshness fresh{.age = 10s, .lifetime = 600s};
  Freshness stale{.age = 700s, .lifetime = 600s};
  Freshness immutable{.age = 1000000s, .immutable = true};
  Headers pip = {{"cache-control", "max-age=0"}};
  EXPECT_EQ(decide(index, fresh, pip, opts), Action::kServe);  // default ignores max-age=0
  EXPECT_EQ(decide(index, stale, {}, opts), Action::kRevalidate);
  EXPECT_EQ(decide(file, immutable, pip, opts), Action::kServe);
  opts.honor_client_revalidate = true;
  EXPECT_EQ(decide(index, fresh, pip, opts), Action::kRevalidate);
  EXPECT_EQ(decide(index, fresh, {{"cache-control", "max-age=60"}}, opts), Action::kServe);
  EXPECT_EQ(decide(index, fresh, {{"pragma", "no-cache"}}, opts), Action::kRevalidate);
  EXPECT_EQ(decide(file, immutable, pip, opts), Action::kServe);

  EXPECT_TRUE(may_serve_stale(stale, opts));  // unlimited by default
  opts.max_stale = 100s;
  EXPECT_TRUE(may_serve_stale(stale, opts));
  opts.max_stale = 99s;
  EXPECT_FALSE(may_serve_stale(stale, opts));
  EXPECT_EQ(stale.staleness(), 100s);
  EXPECT_EQ(fresh.staleness(), 0s);
}

// ---- Answers ----

Request get(std::string path, std::string method = "GET") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

struct AnswerCase {
  std::string name;
  std::string method;
  Headers request;
  int status;
  std::uint64_t offset;
  std::optional<std::uint64_t> length;
  std::optional<std::uint64_t> content_length;
  bool body;
  std::optional<std::string> content_range;
};

TEST(Answer, FileRangesConditionalsAndHead) {
  auto file = classify("files.pythonhosted.org", file_path("x-1.whl"));
  ResponseHead stored{200,
                      {{"content-type", "application/octet-stream"},
                       {"etag", "\"abc\""},
                       {"last-modified", "Wed, 21 Oct 2015 07:28:00 GMT"}}};
  const std::vector<AnswerCase> cases = {
      {"full", "GET", {}, 200, 0, {}, 1000, true, {}},
      {"head", "HEAD", {}, 200, 0, {}, 1000, false, {}},
      {"range", "GET", {{"range", "bytes=10-19"}}, 206, 10, 10, 10, true, "bytes 10-19/1000"},
      {"open range",
       "GET",
       {{"range", "bytes=990-"}},
       206,
       990,
       10,
       10,
       true,
       "bytes 990-999/1000"},
      {"suffix", "GET", {{"range", "bytes=-100"}}, 206, 900, 100, 100, true, "bytes 900-999/1000"},
      {"suffix past start",
       "GET",
       {{"range", "bytes=-5000"}},
       206,
       0,
       1000,
       1000,
       true,
       "bytes 0-999/1000"},
      {"unsatisfiable", "GET", {{"range", "bytes=1000-"}}, 416, 0, {}, 0, false, "bytes */1000"},
      {"multi-range is full", "GET", {{"range", "bytes=0-1,5-6"}}, 200, 0, {}, 1000, true, {}},
      {"bad range ignored", "GET", {{"range", "lines=1-2"}}, 200, 0, {}, 1000, true, {}},
      {"if-range match",
       "GET",
       {{"range", "bytes=0-9"}, {"if-range", "\"abc\""}},
       206,
       0,
       10,
       10,
       true,
       "bytes 0-9/1000"},
      {"if-range mismatch",
       "GET",
       {{"range", "bytes=0-9"}, {"if-range", "\"old\""}},
       200,
       0,
       {},
       1000,
       true,
       {}},
      {"if-range date",
       "GET",
       {{"range", "bytes=0-9"}, {"if-range", "Wed, 21 Oct 2015 07:28:00 GMT"}},
       206,
       0,
       10,
       10,
       true,
       "bytes 0-9/1000"},
      {"if-none-match", "GET", {{"if-none-match", "W/\"abc\""}}, 304, 0, {}, {}, false, {}},
      {"if-none-match other", "GET", {{"if-none-match", "\"zzz\""}}, 200, 0, {}, 1000, true, {}},
      {"if-modified-since",
       "GET",
       {{"if-modified-since", "Thu, 22 Oct 2015 07:28:00 GMT"}},
       304,
       0,
       {},
       {},
       false,
       {}},
      {"modified since",
       "GET",
       {{"if-modified-since", "Tue, 20 Oct 2015 07:28:00 GMT"}},
       200,
       0,
       {},
       1000,
       true,
       {}},
      {"range on head ignored", "HEAD", {{"range", "bytes=0-9"}}, 200, 0, {}, 1000, false, {}},
  };
  for (const auto& c : cases) {
    Request req = get("/x", c.method);
    req.headers = c.request;
    auto plan = plan_answer({req, file, stored, 1000, kB2, 5s, CacheStatus::kHit});
    EXPECT_EQ(plan.head.status, c.status) << c.name;
    EXPECT_EQ(plan.offset, c.offset) << c.name;
    EXPECT_EQ(plan.length, c.length) << c.name;
    EXPECT_EQ(plan.head.content_length, c.content_length) << c.name;
    EXPECT_EQ(plan.send_body, c.body) << c.name;
    auto cr = find_header(plan.head.headers, "content-range");
    EXPECT_EQ(cr ? std::optional<std::string>(*cr) : std::nullopt, c.content_range) << c.name;
    EXPECT_EQ(find_header(plan.head.headers, "x-cache").value_or(""), "HIT") << c.name;
    EXPECT_EQ(find_header(plan.head.headers, "age").value_or(""), "5") << c.name;
    EXPECT_FALSE(plan.gunzip) << c.name;
    if (c.status == 200 || c.status == 206) {
      EXPECT_EQ(find_header(plan.head.headers, "accept-ranges").value_or(""), "bytes") << c.name;
    }
    if (c.status != 416) {
      EXPECT_EQ(find_header(plan.head.headers, "etag").value_or(""), "\"abc\"") << c.name;
    }
  }
}

TEST(Answer, FilesWithoutUpstreamEtagGetOneFromTheirDigest) {
  auto file = classify("files.pythonhosted.org", file_path("x-1.whl"));
  ResponseHead stored{200, {{"content-type", "application/octet-stream"}}};
  Request req = get("/x");
  auto plan = plan_answer({req, file, stored, 10, kB2, 0s, CacheStatus::kMiss});
  EXPECT_EQ(find_header(plan.head.headers, "etag").value_or(""), "\"b2-" + kB2 + "\"");
  req.headers = {{"if-none-match", "\"b2-" + kB2 + "\""}};
  EXPECT_EQ(plan_answer({req, file, stored, 10, kB2, 0s, CacheStatus::kHit}).head.status, 304);
}

TEST(Answer, IndexPagesVaryAndDecodeGzipForClientsWithoutIt) {
  auto index = classify("pypi.org", "/simple/x/");
  ResponseHead stored{200,
                      {{"content-type", "application/vnd.pypi.simple.v1+json"},
                       {"content-encoding", "gzip"},
                       {"vary", "Accept-Encoding"},
                       {"x-pipgate-age", "3"},
                       {"etag", "\"p\""}}};
  Request req = get("/simple/x/");
  req.headers = {{"accept-encoding", "gzip, deflate"}, {"range", "bytes=0-1"}};
  auto plan = plan_answer({req, index, stored, 500, std::nullopt, 7s, CacheStatus::kStale});
  EXPECT_EQ(plan.head.status, 200);  // no ranges on index pages
  EXPECT_FALSE(plan.gunzip);
  EXPECT_EQ(plan.head.content_length, 500u);
  EXPECT_EQ(find_header(plan.head.headers, "content-encoding").value_or(""), "gzip");
  EXPECT_EQ(find_header(plan.head.headers, "vary").value_or(""), "Accept, Accept-Encoding");
  EXPECT_EQ(find_header(plan.head.headers, "x-cache").value_or(""), "STALE");
  EXPECT_EQ(find_header(plan.head.headers, "age").value_or(""), "7");
  EXPECT_FALSE(find_header(plan.head.headers, "x-pipgate-age"));
  EXPECT_FALSE(find_header(plan.head.headers, "accept-ranges"));

  req.headers = {{"accept-encoding", "identity"}};
  plan = plan_answer({req, index, stored, 500, std::nullopt, 7s, CacheStatus::kHit});
  EXPECT_TRUE(plan.gunzip);
  EXPECT_FALSE(plan.head.content_length);
  EXPECT_FALSE(find_header(plan.head.headers, "content-encoding"));
  EXPECT_TRUE(plan.send_body);

  req.headers = {};  // no Accept-Encoding (plain curl): identity, as servers and CDNs do
  EXPECT_TRUE(plan_answer({req, index, stored, 500, std::nullopt, 0s, CacheStatus::kHit}).gunzip);
  req.headers = {{"accept-encoding", "gzip;q=0, identity"}};
  EXPECT_TRUE(plan_answer({req, index, stored, 500, std::nullopt, 0s, CacheStatus::kHit}).gunzip);

  req.headers = {{"if-none-match", "\"p\""}};
  plan = plan_answer({req, index, stored, 500, std::nullopt, 0s, CacheStatus::kRevalidated});
  EXPECT_EQ(plan.head.status, 304);
  EXPECT_FALSE(plan.send_body);
  EXPECT_EQ(find_header(plan.head.headers, "x-cache").value_or(""), "REVALIDATED");
  EXPECT_FALSE(find_header(plan.head.headers, "content-type"));
}

TEST(Answer, StoredNegativeAnswersAreReplayed) {
  auto index = classify("pypi.org", "/simple/nope/");
  ResponseHead stored{404, {{"content-type", "text/plain"}}};
  Request req = get("/simple/nope/");
  req.headers = {{"range", "bytes=0-1"}, {"if-none-match", "*"}};
  auto plan = plan_answer({req, index, stored, 9, std::nullopt, 1s, CacheStatus::kHit});
  EXPECT_EQ(plan.head.status, 404);
  EXPECT_EQ(plan.head.content_length, 9u);
  EXPECT_TRUE(plan.send_body);
}

}  // namespace
}  // namespace pipgate::proxy::cache
