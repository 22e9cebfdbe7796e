#include "web/site.h"

namespace pipgate::web {

namespace {

Reply text(unsigned status, std::string body) {
  return Reply{
      status, "text/plain; charset=utf-8", std::move(body), {{"Cache-Control", "no-store"}}};
}

// The path of an origin-form ("/a?b") or absolute-form ("http://host/a?b", RFC 9112 §3.2.2)
// target, without its query; empty when it is neither.
std::string_view path_of(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    auto authority = target.find("//") + 2;
    auto slash = target.find('/', authority);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (!target.starts_with('/')) return {};
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace

Site::Site(PageFacts facts, CaDownloads ca, FiguresFn figures, const MetricsRegistry& registry)
    : facts_(std::move(facts)),
      ca_(std::move(ca)),
      figures_(std::move(figures)),
      registry_(registry) {}

Reply Site::handle(std::string_view method, std::string_view target, bool has_body) const {
  if (method != "GET" && method != "HEAD") {
    auto r = text(405, "method not allowed: this server only answers GET and HEAD\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (has_body) return text(413, "requests to this server carry no body\n");
  auto path = path_of(target);
  if (path.empty()) return text(400, "bad request target\n");

  if (path == "/" || path == "/index.html") {
    auto figures = figures_ ? figures_() : figures_from_metrics(registry_);
    // Self-contained by design: nothing but its own inline style and script may load.
    return Reply{200,
                 "text/html; charset=utf-8",
                 render_onboarding_page(facts_, figures),
                 {{"Cache-Control", "no-store"},
                  {"Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
                  {"Referrer-Policy", "no-referrer"}}};
  }
  // The CA changes only with `pipgate ca rotate` and a restart: let browsers revalidate.
  if (path == "/ca.pem")
    return Reply{200,
                 "application/x-pem-file",
                 ca_.pem,
                 {{"Cache-Control", "no-cache"},
                  {"Content-Disposition", "attachment; filename=\"pipgate-ca.pem\""}}};
  // application/x-x509-ca-cert makes browsers offer to install it (RFC 2585 names the DER type).
  if (path == "/ca.der" || path == "/ca.crt" || path == "/ca.cer")
    return Reply{200, "application/x-x509-ca-cert", ca_.der, {{"Cache-Control", "no-cache"}}};
  // Safari hands this type to the profile installer.
  if (path == "/ca.mobileconfig")
    return Reply{200,
                 "application/x-apple-aspen-config",
                 ca_.mobileconfig,
                 {{"Cache-Control", "no-cache"},
                  {"Content-Disposition", "attachment; filename=\"pipgate-ca.mobileconfig\""}}};
  if (path == "/metrics")
    return Reply{200,
                 "text/plain; version=0.0.4; charset=utf-8",
                 registry_.render(),
                 {{"Cache-Control", "no-store"}}};
  if (path == "/healthz") return text(200, "ok");
  return text(404, "not found; the onboarding page is at /\n");
}

}  // namespace pipgate::web
