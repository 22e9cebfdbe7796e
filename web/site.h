// The web server's routes as a function of the request line: what to answer for GET /, /ca.pem,
// /ca.der, /ca.mobileconfig, /metrics and /healthz, and the refusals (404, 405, 413). Sans-IO:
// web::Server parses and writes; a test calls handle() directly.
//
//   web::Site site(facts, std::move(ca), figures, metrics());
//   auto reply = site.handle("GET", "/ca.der", false);   // 200, application/x-x509-ca-cert
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "web/ca_downloads.h"
#include "web/live_figures.h"
#include "web/onboarding_page.h"

namespace pipgate::web {

struct Reply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  // Further fields: Allow on 405, Cache-Control, Content-Disposition.
  std::vector<std::pair<std::string, std::string>> headers;
};

class Site {
 public:
  // `registry` must outlive the Site. `figures` may be empty: figures_from_metrics(registry).
  Site(PageFacts facts, CaDownloads ca, FiguresFn figures, const MetricsRegistry& registry);

  // `method` as sent ("GET"); `target` the request-target (origin-form "/ca.pem?x", or
  // absolute-form "http://host/ca.pem"); `has_body` when the request announced a body
  // (Content-Length > 0 or chunked). HEAD gets GET's reply (the server drops the body).
  //   - other methods: 405 with Allow: GET, HEAD;  a body on GET/HEAD: 413;
  //   - unknown paths: 404;  a target that is neither form: 400.
  // Calls the figures function for "/" and renders the registry for "/metrics", on the caller's
  // thread.
  Reply handle(std::string_view method, std::string_view target, bool has_body) const;

  const PageFacts& facts() const { return facts_; }

 private:
  PageFacts facts_;
  CaDownloads ca_;
  FiguresFn figures_;
  const MetricsRegistry& registry_;
};

}  // namespace pipgate::web
