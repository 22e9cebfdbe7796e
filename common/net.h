// Plain value types for addresses in config and ACLs. No sockets here: the I/O shells convert
// to their own types (asio::ip::address, sockaddr) at their edge.
//
//   auto ep = parse_endpoint("[::1]:5353", 53);   // Endpoint{::1, 5353}
//   auto net = parse_cidr("10.0.0.0/8");          // net->contains(*parse_ip("10.1.2.3")) == true
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pipgate {

struct IpAddress {
  enum class Family : std::uint8_t { kV4, kV6 };
  Family family = Family::kV4;
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  bool is_v4() const { return family == Family::kV4; }
  bool is_unspecified() const;  // 0.0.0.0 or ::
  bool is_loopback() const;     // 127.0.0.0/8 or ::1
  std::string to_string() const;
  static IpAddress v4(std::uint32_t host_order);
  auto operator<=>(const IpAddress&) const = default;
};

struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;
  std::string to_string() const;  // "10.0.0.5:53", "[::1]:53"
  auto operator<=>(const Endpoint&) const = default;
};

struct Cidr {
  IpAddress network;  // host bits are zero
  int prefix_len = 0;
  bool contains(const IpAddress& a) const;  // false across families
  std::string to_string() const;
  auto operator<=>(const Cidr&) const = default;
};

// "10.0.0.5", "::1" (no brackets, no zone). kInvalidInput with what was wrong.
[[nodiscard]] Result<IpAddress> parse_ip(std::string_view text);
// "0.0.0.0:53", "[::]:443", "10.0.0.5" (then default_port), "[::1]". Port 1..65535.
[[nodiscard]] Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port);
// "10.0.0.0/8", "fd00::/8", or a bare address meaning /32 or /128. Host bits must be zero.
[[nodiscard]] Result<Cidr> parse_cidr(std::string_view text);

// The machine's addresses, from getifaddrs (all interfaces, up or not).
std::vector<IpAddress> local_addresses();
// The IPv4 address of the interface holding the default route (/proc/net/route), else the first
// non-loopback IPv4 that is up, else 127.0.0.1.
IpAddress primary_ipv4();
// "nameserver" lines of a resolv.conf file; missing file gives an empty list.
std::vector<IpAddress> resolv_conf_nameservers(const std::string& path = "/etc/resolv.conf");

}  // namespace pipgate
