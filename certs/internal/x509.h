// Certificate primitives on PEM strings, for certs/ only (other modules use Authority and
// LeafStore). They check nothing about policy: `sign_server_cert` signs any name it is given, which
// is what the name-constraint test needs to prove a client rejects such a certificate. Keeping the
// interface in PEM text keeps BoringSSL types out of every header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "certs/cert_info.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"

namespace pipgate::certs::internal {

struct KeyAndCert {
  std::string key_pem;   // PKCS#8 PEM, ECDSA P-256
  std::string cert_pem;  // X.509 v3, signed with ECDSA-SHA256
};

// A self-signed root: CA:TRUE pathlen:0 and keyCertSign|cRLSign (both critical), subject key
// identifier, and critical nameConstraints permitting exactly the DNS subtrees `permitted`
// (already validated, lower case). Subject CN=`common_name`, O=`organization` (each ≤ 64 chars).
[[nodiscard]] Result<KeyAndCert> make_root(const std::vector<std::string>& permitted,
                                           std::string_view common_name,
                                           std::string_view organization, SystemTime not_before,
                                           SystemTime not_after, Random& random);

// A serverAuth leaf for `name` (CN and SAN dNSName), signed by the CA key. Does not check `name`
// against the CA's constraints: Authority::issue_leaf does.
[[nodiscard]] Result<KeyAndCert> sign_server_cert(std::string_view ca_cert_pem,
                                                  std::string_view ca_key_pem,
                                                  std::string_view name, SystemTime not_before,
                                                  SystemTime not_after, Random& random);

// Decodes the first certificate in `cert_pem`. kCorrupt when it does not parse.
[[nodiscard]] Result<CertInfo> inspect(std::string_view cert_pem);

// DER of the first certificate in `cert_pem`. kCorrupt when it does not parse.
[[nodiscard]] Result<std::vector<std::uint8_t>> to_der(std::string_view cert_pem);

// Ok when `key_pem` is a parseable private key whose public half is the certificate's.
// kCorrupt when either does not parse, kInvalidInput when they do not match.
[[nodiscard]] Result<> check_key_matches(std::string_view cert_pem, std::string_view key_pem);

// Ok when the certificate is a CA (basicConstraints CA:TRUE, usable for signing certificates)
// with a critical nameConstraints extension. kCorrupt / kInvalidInput as above.
[[nodiscard]] Result<> check_constrained_ca(std::string_view cert_pem);

// Ok when `cert_pem` names `ca_cert_pem`'s subject as issuer and its signature verifies with the
// CA's public key. kCorrupt / kInvalidInput as above.
[[nodiscard]] Result<> check_signed_by(std::string_view cert_pem, std::string_view ca_cert_pem);

}  // namespace pipgate::certs::internal
