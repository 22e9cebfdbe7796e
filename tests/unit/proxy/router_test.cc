#include "proxy/router.h"

#include <gtest/gtest.h>

namespace pipgate::proxy {
namespace {

Request make(std::string method, std::string authority, std::string path, std::string sni,
             std::string scheme = "https") {
  Request r;
  r.method = std::move(method);
  r.authority = std::move(authority);
  r.path = std::move(path);
  r.sni = std::move(sni);
  r.scheme = std::move(scheme);
  return r;
}

TEST(RouterTest, Table) {
  Router router({"pypi.org", "Files.PythonHosted.org"}, {8443});
  struct Case {
    const char* name;
    Request req;
    RouteAction action;
    int status;
    const char* host;
  };
  Request with_protocol = make("CONNECT", "pypi.org", "/", "pypi.org");
  with_protocol.protocol = "websocket";
  Request absolute_other = make("GET", "example.com", "/", "pypi.org");
  absolute_other.is_absolute_form = true;
  const Case cases[] = {
      {"simple page", make("GET", "pypi.org", "/simple/pip/", "pypi.org"), RouteAction::kForward, 0,
       "pypi.org"},
      {"files host",
       make("GET", "files.pythonhosted.org", "/packages/aa/bb/x.whl", "files.pythonhosted.org"),
       RouteAction::kForward, 0, "files.pythonhosted.org"},
      {"case and trailing dot", make("HEAD", "PyPI.org.", "/", "pypi.org"), RouteAction::kForward,
       0, "pypi.org"},
      {"port 443", make("GET", "pypi.org:443", "/", "pypi.org"), RouteAction::kForward, 0,
       "pypi.org"},
      {"listen port", make("GET", "pypi.org:8443", "/", "pypi.org"), RouteAction::kForward, 0,
       "pypi.org"},
      {"POST", make("POST", "pypi.org", "/RPC2", "pypi.org"), RouteAction::kForward, 0, "pypi.org"},
      {"other port", make("GET", "pypi.org:8080", "/", "pypi.org"), RouteAction::kRefuse, 421, ""},
      {"bad port", make("GET", "pypi.org:http", "/", "pypi.org"), RouteAction::kRefuse, 400, ""},
      {"host differs from SNI", make("GET", "files.pythonhosted.org", "/", "pypi.org"),
       RouteAction::kRefuse, 421, ""},
      {"host not intercepted", make("GET", "example.com", "/", "pypi.org"), RouteAction::kRefuse,
       421, ""},
      {"absolute-form other host", absolute_other, RouteAction::kRefuse, 421, ""},
      {"subdomain", make("GET", "www.pypi.org", "/", "pypi.org"), RouteAction::kRefuse, 421, ""},
      {"ip literal", make("GET", "[::1]:443", "/", "pypi.org"), RouteAction::kRefuse, 421, ""},
      {"ipv4 literal", make("GET", "127.0.0.1", "/", "pypi.org"), RouteAction::kRefuse, 421, ""},
      {"no authority", make("GET", "", "/", "pypi.org"), RouteAction::kRefuse, 400, ""},
      {"userinfo", make("GET", "u@pypi.org", "/", "pypi.org"), RouteAction::kRefuse, 400, ""},
      {"CONNECT", make("CONNECT", "pypi.org:443", "", "pypi.org"), RouteAction::kRefuse, 405, ""},
      {"extended CONNECT", with_protocol, RouteAction::kRefuse, 405, ""},
      {"asterisk", make("OPTIONS", "pypi.org", "*", "pypi.org"), RouteAction::kRefuse, 400, ""},
      {"empty path", make("GET", "pypi.org", "", "pypi.org"), RouteAction::kRefuse, 400, ""},
      {"http scheme", make("GET", "pypi.org", "/", "pypi.org", "http"), RouteAction::kRefuse, 400,
       ""},
      {"no SNI", make("GET", "pypi.org", "/", ""), RouteAction::kRefuse, 421, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = router.route(c.req);
    EXPECT_EQ(r.action, c.action) << r.reason;
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.host, c.host);
    if (r.action == RouteAction::kRefuse) {
      EXPECT_FALSE(r.reason.empty());
    }
  }
}

TEST(RouterTest, ExtendedConnectWithoutConnectMethodIsRefused) {
  Router router({"pypi.org"}, {443});
  auto req = make("GET", "pypi.org", "/", "pypi.org");
  req.protocol = "websocket";
  auto r = router.route(req);
  EXPECT_EQ(r.action, RouteAction::kRefuse);
  EXPECT_EQ(r.status, 400);
}

TEST(RouterTest, CanonicalHost) {
  EXPECT_EQ(canonical_host("PyPI.ORG."), "pypi.org");
  EXPECT_EQ(canonical_host(""), "");
}

}  // namespace
}  // namespace pipgate::proxy
