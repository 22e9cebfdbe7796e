#include "web/ca_downloads.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "web/html.h"

namespace pipgate::web {

namespace {

// The fingerprint's bytes ("AB:CD:..." → {0xAB, 0xCD, ...}); missing or bad digits read as 0, so
// a malformed fingerprint still yields a well-formed (if less unique) UUID.
std::array<std::uint8_t, 32> fingerprint_bytes(std::string_view fp) {
  std::array<std::uint8_t, 32> out{};
  std::size_t n = 0;
  int nibbles = 0;
  unsigned acc = 0;
  for (char c : fp) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
    unsigned v =
        std::isdigit(static_cast<unsigned char>(c))
            ? static_cast<unsigned>(c - '0')
            : static_cast<unsigned>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    acc = (acc << 4) | v;
    if (++nibbles == 2) {
      if (n < out.size()) out[n++] = static_cast<std::uint8_t>(acc);
      nibbles = 0;
      acc = 0;
    }
  }
  return out;
}

// 16 bytes as an RFC 9562 UUID, version and variant bits set as for version 4 (random): Apple
// only requires the textual form and uniqueness.
std::string uuid_from(const std::uint8_t* b) {
  std::array<std::uint8_t, 16> u{};
  std::copy(b, b + 16, u.begin());
  u[6] = static_cast<std::uint8_t>((u[6] & 0x0f) | 0x40);
  u[8] = static_cast<std::uint8_t>((u[8] & 0x3f) | 0x80);
  std::string s;
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02X}", u[i]);
  }
  return s;
}

// Reverse-DNS identifiers allow letters, digits, '-' and '.'.
std::string identifier_part(std::string_view name) {
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) || c == '-' || c == '.' ? static_cast<char>(std::tolower(u)) : '-';
  }
  return out.empty() ? "appliance" : out;
}

}  // namespace

std::string common_name(std::string_view subject) {
  // RFC 2253: attributes are separated by unescaped commas; a value may contain "\,".
  std::size_t pos = 0;
  while (pos < subject.size()) {
    std::size_t end = pos;
    while (end < subject.size() && subject[end] != ',') end += subject[end] == '\\' ? 2 : 1;
    end = std::min(end, subject.size());
    auto attr = subject.substr(pos, end - pos);
    if (attr.starts_with("CN=")) {
      std::string out;
      for (std::size_t i = 3; i < attr.size(); ++i) {
        if (attr[i] == '\\' && i + 1 < attr.size()) ++i;
        out += attr[i];
      }
      return out;
    }
    pos = end + 1;
  }
  return std::string(subject);
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = bytes[i] << 16;
    if (rest == 2) v |= bytes[i + 1] << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string render_mobileconfig(std::span<const std::uint8_t> der, std::string_view fingerprint,
                                std::string_view appliance_name, std::string_view ca_subject) {
  auto fp = fingerprint_bytes(fingerprint);
  std::string id = "org.pipgate.appliance." + identifier_part(appliance_name);
  std::string data = base64_encode(der);
  std::string wrapped;
  for (std::size_t i = 0; i < data.size(); i += 64) {
    wrapped += "\t\t\t\t";
    wrapped += data.substr(i, 64);
    wrapped += '\n';
  }
  // Keys in each dict sorted, as Apple's own tools write them. Every string is XML-escaped.
  return fmt::format(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadCertificateFileName</key>
			<string>pipgate-ca.cer</string>
			<key>PayloadContent</key>
			<data>
{}			</data>
			<key>PayloadDescription</key>
			<string>Root certificate of the pipgate appliance {}, limited to the Python package index names.</string>
			<key>PayloadDisplayName</key>
			<string>{}</string>
			<key>PayloadIdentifier</key>
			<string>{}.ca-root</string>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>{}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Lets this device trust the pipgate PyPI cache on {} (SHA-256 {}).</string>
	<key>PayloadDisplayName</key>
	<string>pipgate CA ({})</string>
	<key>PayloadIdentifier</key>
	<string>{}</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>{}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
)",
      wrapped, html_escape(appliance_name), html_escape(common_name(ca_subject)), id,
      uuid_from(fp.data()), html_escape(appliance_name), html_escape(fingerprint),
      html_escape(appliance_name), id, uuid_from(fp.data() + 16));
}

Result<CaDownloads> make_ca_downloads(std::string ca_pem, std::string_view appliance_name) {
  auto info = certs::inspect_certificate(ca_pem);
  if (!info) return std::unexpected(info.error());
  auto der = certs::certificate_der(ca_pem);
  if (!der) return std::unexpected(der.error());
  CaDownloads out;
  out.pem = std::move(ca_pem);
  out.der.assign(der->begin(), der->end());
  out.info = std::move(*info);
  out.mobileconfig =
      render_mobileconfig(*der, out.info.sha256_fingerprint, appliance_name, out.info.subject);
  return out;
}

}  // namespace pipgate::web
