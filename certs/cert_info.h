// What a certificate says, decoded once into plain values: for logs, `pipgate ca show`, the web
// page that tells users which CA to install, and renewal decisions. No BoringSSL types leak out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace pipgate::certs {

struct CertInfo {
  std::string subject;     // RFC 2253 form, e.g. "O=pipgate appliance,CN=pipgate CA lab ..."
  std::string issuer;      // same form; equals `subject` for the self-signed root
  std::string serial_hex;  // upper-case hex, no separators, e.g. "7F03A9..."
  std::string
      sha256_fingerprint;  // SHA-256 of the DER certificate, "AB:CD:..." (what browsers show)
  SystemTime not_before;   // whole seconds, as encoded in the certificate
  SystemTime not_after;
  // For a leaf: its subjectAltName dNSNames. For the CA: the permitted DNS subtrees of its
  // nameConstraints. Lower case, in certificate order.
  std::vector<std::string> dns_names;
  // For the CA: its nameConstraints exclude every IPv4 and IPv6 address, so it cannot vouch for
  // https://<address> either (CAs made before this was added do not).
  bool excludes_ip_addresses = false;
};

// Decodes the first certificate of `cert_pem` (e.g. a leaf file, for `pipgate ca show`).
// kCorrupt when it does not parse.
[[nodiscard]] Result<CertInfo> inspect_certificate(std::string_view cert_pem);

// The DER encoding of the first certificate of `cert_pem` (e.g. for the web page's /ca.der).
// kCorrupt when it does not parse.
[[nodiscard]] Result<std::vector<std::uint8_t>> certificate_der(std::string_view cert_pem);

}  // namespace pipgate::certs
