// The onboarding page served at "/": what the appliance is, where to download its CA, the CA's
// fingerprint, copy-paste steps per platform and tool, how to point DNS at the appliance, and the
// live figures. Pure: facts and figures in, one self-contained HTML document out (no external
// assets, no cookies; a few lines of inline script add copy buttons). Everything dynamic is
// HTML-escaped.
//
//   auto facts = web::page_facts(cfg, *ca, "office-gw");
//   std::string html = web::render_onboarding_page(facts, web::figures_from_metrics(metrics()));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "web/ca_downloads.h"
#include "web/live_figures.h"

namespace pipgate::web {

// What the page says about this appliance; fixed while it runs.
struct PageFacts {
  std::string appliance_name;  // host name, in the title and the profile name
  // Where clients fetch this page and the CA: "http://10.0.0.5", "http://10.0.0.5:8080",
  // "http://[fd00::5]". No trailing slash. Used inside the commands shown.
  std::string base_url;
  std::string address;   // IPv4 answered for the intercepted names; empty: not known
  std::string address6;  // IPv6 answered; empty: none (clients use IPv4)
  std::uint16_t dns_port = 53;
  std::vector<std::string> intercept;  // [dns] intercept
  std::string ca_name;                 // the CA's common name
  std::string ca_fingerprint;          // SHA-256 of the CA's DER, "AB:CD:..."
  SystemTime ca_not_after;
  std::string ca_pem;
};

// Facts from the config and the CA. base_url: the first [web] listen address, or the appliance
// address when that listens on every address, with the port unless 80.
PageFacts page_facts(const Config& cfg, const CaDownloads& ca, std::string appliance_name);

std::string render_onboarding_page(const PageFacts& facts, const LiveFigures& figures);

// "0 B", "512 B", "1.5 KiB", "20.0 GiB": binary units, one decimal from KiB up.
std::string format_bytes(std::uint64_t bytes);

}  // namespace pipgate::web
