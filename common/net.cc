#include "common/net.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pipgate {

bool IpAddress::is_unspecified() const {
  std::size_t n = is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes[0] == 127;
  for (std::size_t i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress a;
  a.family = Family::kV4;
  a.bytes[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

std::string Endpoint::to_string() const {
  if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
  return "[" + address.to_string() + "]:" + std::to_string(port);
}

bool Cidr::contains(const IpAddress& a) const {
  if (a.family != network.family) return false;
  int full = prefix_len / 8, rest = prefix_len % 8;
  if (std::memcmp(a.bytes.data(), network.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (network.bytes[full] & mask);
}

std::string Cidr::to_string() const {
  return network.to_string() + "/" + std::to_string(prefix_len);
}

Result<IpAddress> parse_ip(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = IpAddress::Family::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = IpAddress::Family::kV6;
    return a;
  }
  return make_error(Errc::kInvalidInput, "\"" + s + "\" is not an IPv4 or IPv6 address");
}

namespace {
Result<std::uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v == 0 || v > 65535)
    return make_error(Errc::kInvalidInput,
                      "\"" + std::string(whole) + "\" has a bad port (expected 1..65535)");
  return static_cast<std::uint16_t>(v);
}
}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  Endpoint ep;
  ep.port = default_port;
  std::string_view host = text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return make_error(Errc::kInvalidInput, "\"" + std::string(text) + "\" lacks a closing ']'");
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return make_error(Errc::kInvalidInput,
                          "\"" + std::string(text) + "\": expected ':port' after ']'");
      auto port = parse_port(rest.substr(1), text);
      if (!port) return std::unexpected(port.error());
      ep.port = *port;
    }
    auto ip = parse_ip(host);
    if (!ip) return std::unexpected(ip.error());
    if (ip->is_v4())
      return make_error(Errc::kInvalidInput,
                        "\"" + std::string(text) + "\": brackets are for IPv6 addresses only");
    ep.address = *ip;
    return ep;
  }
  auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    auto port = parse_port(text.substr(colon + 1), text);
    if (!port) return std::unexpected(port.error());
    ep.port = *port;
  }
  auto ip = parse_ip(host);
  if (!ip)
    return make_error(Errc::kInvalidInput, "\"" + std::string(text) +
                                               "\" is not an address with optional port "
                                               "(e.g. \"0.0.0.0:53\", \"[::]:53\")");
  ep.address = *ip;
  return ep;
}

Result<Cidr> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip)
    return make_error(Errc::kInvalidInput,
                      "\"" + std::string(text) + "\" is not a network (e.g. \"10.0.0.0/8\")");
  Cidr c;
  c.network = *ip;
  int max = ip->is_v4() ? 32 : 128;
  c.prefix_len = max;
  if (slash != std::string_view::npos) {
    auto len = text.substr(slash + 1);
    int v = -1;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (ec != std::errc{} || p != len.data() + len.size() || v < 0 || v > max)
      return make_error(
          Errc::kInvalidInput,
          "\"" + std::string(text) + "\": prefix length must be 0.." + std::to_string(max));
    c.prefix_len = v;
  }
  Cidr masked = c;
  for (int i = 0; i < 16; ++i) {
    int bits = std::clamp(c.prefix_len - 8 * i, 0, 8);
    masked.network.bytes[i] &= static_cast<std::uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
  }
  if (masked.network != c.network)
    return make_error(Errc::kInvalidInput, "\"" + std::string(text) +
                                               "\" has host bits set (did you mean \"" +
                                               masked.to_string() + "\"?)");
  return c;
}

std::vector<IpAddress> local_addresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr) continue;
    IpAddress a;
    if (it->ifa_addr->sa_family == AF_INET) {
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr, 4);
      out.push_back(a);
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      a.family = IpAddress::Family::kV6;
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(it->ifa_addr)->sin6_addr, 16);
      out.push_back(a);
    }
  }
  freeifaddrs(list);
  return out;
}

namespace {
std::string default_route_interface() {
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dest;
    if (fields >> iface >> dest && dest == "00000000") return iface;
  }
  return {};
}
}  // namespace

IpAddress primary_ipv4() {
  std::string route_if = default_route_interface();
  ifaddrs* list = nullptr;
  IpAddress fallback = IpAddress::v4(0x7f000001);
  bool have_fallback = false;
  IpAddress chosen = fallback;
  bool have_chosen = false;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* it = list; it; it = it->ifa_next) {
      if (!it->ifa_addr || it->ifa_addr->sa_family != AF_INET) continue;
      if (!(it->ifa_flags & IFF_UP) || (it->ifa_flags & IFF_LOOPBACK)) continue;
      IpAddress a;
      std::memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr, 4);
      if (!have_chosen && !route_if.empty() && route_if == it->ifa_name) {
        chosen = a;
        have_chosen = true;
      }
      if (!have_fallback) {
        fallback = a;
        have_fallback = true;
      }
    }
    freeifaddrs(list);
  }
  return have_chosen ? chosen : fallback;
}

std::vector<IpAddress> resolv_conf_nameservers(const std::string& path) {
  std::vector<IpAddress> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string word, addr;
    if (!(fields >> word >> addr) || word != "nameserver") continue;
    // glibc allows an IPv6 zone ("fe80::1%eth0"); c-ares cannot use it from config, skip it.
    if (auto ip = parse_ip(addr)) out.push_back(*ip);
  }
  return out;
}

}  // namespace pipgate
