// Replays tests/golden/dns/*.hex through the Responder: each file names a client, a query in
// hex and the expected outcome (`expect drop`, or `expect answer|refuse|forward <hex>`; forward
// gives the upstream query). Lines starting "#|" show the expected packet as text for review.
// Regenerate after a deliberate change, then review the diff like code:
//   PIPGATE_REGENERATE_GOLDEN=1 build-dns/tests/unit/dns/pipgate_dns_unit_tests
//       --gtest_filter='Golden*'   (one command line)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "dns/responder.h"
#include "tests/unit/dns/packets.h"

namespace pipgate::dns {
namespace {

using namespace std::chrono_literals;

std::string to_hex(const Bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Bytes from_hex(const std::string& s) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The golden responder: appliance 10.0.0.5, no address6, allow 10.0.0.0/8, TTL 60 s.
ResponderOptions golden_options() {
  ResponderOptions o;
  o.address = *parse_ip("10.0.0.5");
  o.ttl = 60s;
  o.allow = {*parse_cidr("10.0.0.0/8")};
  o.rate_limit.rate_per_second = 0;
  return o;
}

std::string describe(const Bytes& packet) {
  auto p = testing::parse(packet);
  if (!p) return "#| (does not parse)\n";
  char* text = ldns_pkt2str(p.get());
  std::istringstream in(text ? text : "");
  std::free(text);
  std::string out, line;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with(";; Query time") || line.starts_with(";; SERVER") ||
        line.starts_with(";; WHEN") || line.starts_with(";; MSG SIZE")) {
      continue;
    }
    out += "#| " + line + "\n";
  }
  return out;
}

TEST(GoldenTest, ResponderMatchesGoldenPackets) {
  const std::filesystem::path dir = PIPGATE_DNS_GOLDEN_DIR;
  const bool regenerate = std::getenv("PIPGATE_REGENERATE_GOLDEN") != nullptr;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".hex") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u) << dir;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    std::string line, header, client_line, query_line, expect_line;
    while (std::getline(in, line)) {
      if (line.starts_with("#|")) continue;
      if (line.starts_with("#")) header += line + "\n";
      if (line.starts_with("client ")) client_line = line;
      if (line.starts_with("query ")) query_line = line;
      if (line.starts_with("expect ")) expect_line = line;
    }
    std::istringstream cl(client_line.substr(7));
    std::string addr, transport;
    cl >> addr >> transport;
    const Client client{*parse_ip(addr), transport == "tcp" ? Transport::kTcp : Transport::kUdp};
    const Bytes query = from_hex(query_line.substr(6));

    ManualClock clock;
    Responder responder{golden_options()};
    Outcome o = responder.handle(query, client, clock.monotonic_now());
    std::string got;
    Bytes packet;
    if (auto* a = std::get_if<Answer>(&o)) {
      got = "expect answer " + to_hex(packet = a->packet);
    } else if (auto* r = std::get_if<Refuse>(&o)) {
      got = "expect refuse " + to_hex(packet = r->packet);
    } else if (auto* f = std::get_if<Forward>(&o)) {
      got = "expect forward " + to_hex(packet = f->upstream_query);
    } else {
      got = "expect drop";
    }
    if (regenerate) {
      std::ofstream out(file);
      out << header << client_line << "\n" << query_line << "\n" << got << "\n";
      if (!packet.empty()) out << describe(packet);
      continue;
    }
    EXPECT_EQ(got, expect_line) << describe(packet);
  }
}

}  // namespace
}  // namespace pipgate::dns
