// The CA as clients download it: PEM, DER, and an Apple configuration profile, made once from the
// CA's PEM when the web server is built.
//
//   auto ca = web::make_ca_downloads(authority.certificate_pem(), "office-gw");
//   if (!ca) return std::unexpected(ca.error());
//   // ca->der: the bytes `pipgate ca export --der` prints; ca->info.sha256_fingerprint "AB:CD:..."
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "certs/cert_info.h"
#include "common/result.h"

namespace pipgate::web {

struct CaDownloads {
  std::string pem;           // /ca.pem: the certificate as given
  std::string der;           // /ca.der: its DER bytes
  std::string mobileconfig;  // /ca.mobileconfig: render_mobileconfig of the above
  certs::CertInfo info;      // subject, validity, SHA-256 fingerprint, permitted names
};

// kCorrupt when `ca_pem` holds no parseable certificate. `appliance_name` (the host name) names
// the profile for Apple devices.
[[nodiscard]] Result<CaDownloads> make_ca_downloads(std::string ca_pem,
                                                    std::string_view appliance_name);

// An unsigned Apple configuration profile (XML plist) with one com.apple.security.root payload
// holding `der`, which iOS, iPadOS and macOS install as a trusted root. Pure.
//   - The top-level PayloadIdentifier depends only on `appliance_name`, so installing the profile
//     of a rotated CA replaces the old one on the device instead of adding a second root.
//   - PayloadUUIDs are derived from `fingerprint` (SHA-256 "AB:CD:...", 32 bytes): the same CA
//     always yields the same bytes, so the download is cacheable and reproducible.
std::string render_mobileconfig(std::span<const std::uint8_t> der, std::string_view fingerprint,
                                std::string_view appliance_name, std::string_view ca_subject);

// The CN of an RFC 2253 subject ("O=pipgate appliance,CN=pipgate CA lab 2025-01-01" → "pipgate CA
// lab 2025-01-01"); the whole subject when it has no CN.
std::string common_name(std::string_view subject);

// RFC 4648 base64 with padding, no line breaks.
std::string base64_encode(std::span<const std::uint8_t> bytes);

}  // namespace pipgate::web
