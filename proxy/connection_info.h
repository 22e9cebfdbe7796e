// Facts about one client connection that every request on it carries (for logs and limits).
#pragma once

#include <cstdint>
#include <string>

#include "common/net.h"

namespace pipgate::proxy {

struct ConnectionInfo {
  std::uint64_t id = 0;      // unique per process, for log lines: "conn 42"
  IpAddress client_address;  // never sent upstream
  std::uint16_t client_port = 0;
  std::string sni;  // lower case, from the TLS handshake
};

}  // namespace pipgate::proxy
