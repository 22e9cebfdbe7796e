// Conversions between pipgate's IpAddress and Asio's address, at the I/O shells' edge (DNS
// servers, proxy listeners, upstream connections). Header-only: common/ links no Asio code.
#pragma once

#include <algorithm>

#include <boost/asio/ip/address.hpp>

#include "common/net.h"

namespace pipgate {

// IPv4-mapped IPv6 (::ffff:a.b.c.d, from a dual-stack socket) becomes IPv4, so ACLs and rate
// buckets see one client whichever socket it came through.
inline IpAddress from_asio(const boost::asio::ip::address& a) {
  IpAddress out;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return from_asio(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()));
  }
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    out.family = IpAddress::Family::kV4;
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    const auto b = a.to_v6().to_bytes();
    out.family = IpAddress::Family::kV6;
    std::copy(b.begin(), b.end(), out.bytes.begin());
  }
  return out;
}

inline boost::asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) {
    boost::asio::ip::address_v4::bytes_type b{};
    std::copy_n(a.bytes.begin(), b.size(), b.begin());
    return boost::asio::ip::address_v4(b);
  }
  boost::asio::ip::address_v6::bytes_type b{};
  std::copy_n(a.bytes.begin(), b.size(), b.begin());
  return boost::asio::ip::address_v6(b);
}

}  // namespace pipgate
