#include "proxy/header_hygiene.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace pipgate::proxy {

namespace {

constexpr std::array<std::string_view, 10> kHopByHop = {
    "connection",        "keep-alive", "proxy-connection",    "te",
    "transfer-encoding", "upgrade",    "proxy-authorization", "proxy-authenticate",
    "http2-settings",    "trailer"};

// Fields that would tell upstream who the client is, and fields answered here.
constexpr std::array<std::string_view, 5> kNotForwarded = {"forwarded", "x-forwarded-for",
                                                           "x-real-ip", "expect", "host"};

std::string lower_trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The field names listed in every Connection field (RFC 9110 §7.6.1: they are hop-by-hop too).
std::vector<std::string> connection_options(const Headers& headers) {
  std::vector<std::string> out;
  for (const auto& h : headers) {
    if (h.name != "connection") continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      auto token = lower_trim(v.substr(0, comma));
      if (!token.empty()) out.push_back(std::move(token));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

std::string_view version_token(HttpVersion v) { return v == HttpVersion::kHttp2 ? "2" : "1.1"; }

Headers filtered(const Headers& in, HttpVersion via_from, bool is_request) {
  auto named = connection_options(in);
  Headers out;
  out.reserve(in.size() + 1);
  std::string via;
  for (const auto& h : in) {
    if (is_hop_by_hop(h.name)) continue;
    if (std::find(named.begin(), named.end(), h.name) != named.end()) continue;
    if (is_request &&
        std::find(kNotForwarded.begin(), kNotForwarded.end(), h.name) != kNotForwarded.end())
      continue;
    if (h.name == "via") {
      if (!via.empty()) via += ", ";
      via += h.value;
      continue;
    }
    out.push_back(h);
  }
  if (!via.empty()) via += ", ";
  via += std::string(version_token(via_from)) + " " + std::string(kViaPseudonym);
  out.push_back({"via", std::move(via)});
  return out;
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  return std::find(kHopByHop.begin(), kHopByHop.end(), name) != kHopByHop.end();
}

Headers upstream_request_headers(const Request& req) {
  return filtered(req.headers, req.version, true);
}

Headers client_response_headers(const Headers& upstream, HttpVersion from) {
  return filtered(upstream, from, false);
}

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (h.name == name) return std::string_view(h.value);
  return std::nullopt;
}

}  // namespace pipgate::proxy
