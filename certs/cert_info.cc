#include "certs/cert_info.h"

#include "certs/internal/x509.h"

namespace pipgate::certs {

Result<CertInfo> inspect_certificate(std::string_view cert_pem) {
  return internal::inspect(cert_pem);
}

Result<std::vector<std::uint8_t>> certificate_der(std::string_view cert_pem) {
  return internal::to_der(cert_pem);
}

}  // namespace pipgate::certs
