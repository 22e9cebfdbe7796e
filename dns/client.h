// Who sent a query, as the sans-IO core sees it: the source address (for the ACL and the rate
// limiter) and the transport (for truncation). The I/O shells fill it from their sockets.
#pragma once

#include <cstdint>

#include "common/net.h"

namespace pipgate::dns {

enum class Transport : std::uint8_t { kUdp, kTcp };

struct Client {
  // IPv4-mapped IPv6 sources (::ffff:a.b.c.d on a dual-stack socket) are given as IPv4, so
  // one ACL entry covers both.
  IpAddress address;
  Transport transport = Transport::kUdp;
};

}  // namespace pipgate::dns
