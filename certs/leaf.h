// A server certificate for one intercepted name, with its private key, ready for a TLS context.
//
// One leaf per intercepted name, not one leaf with every name in its SAN (decided in the issue):
//   - SNI maps 1:1 to a leaf, so the TLS acceptor needs no matching logic beyond a lookup;
//   - a leaf reveals no other intercepted names to a client that connects for one of them;
//   - each leaf renews on its own schedule, and a problem with one never takes down the others.
#pragma once

#include <string>

#include "certs/cert_info.h"

namespace pipgate::certs {

struct Leaf {
  std::string name;       // the intercepted name, lower case, e.g. "pypi.org"
  std::string cert_pem;   // the leaf certificate alone
  std::string chain_pem;  // leaf then CA certificate: what the TLS server sends
  std::string key_pem;    // PKCS#8 PEM of the leaf's ECDSA P-256 key. Secret: never log it.
  CertInfo info;          // decoded from cert_pem
};

}  // namespace pipgate::certs
