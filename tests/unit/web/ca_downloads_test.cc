#include "web/ca_downloads.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "web_test_support.h"

namespace pipgate::web {
namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> cases[] = {{"", ""},
                                                                 {"f", "Zg=="},
                                                                 {"fo", "Zm8="},
                                                                 {"foo", "Zm9v"},
                                                                 {"foob", "Zm9vYg=="},
                                                                 {"fooba", "Zm9vYmE="},
                                                                 {"foobar", "Zm9vYmFy"}};
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    EXPECT_EQ(base64_encode(bytes(in)), want);
  }
  std::vector<std::uint8_t> high = {0xff, 0xfe, 0xfd};
  EXPECT_EQ(base64_encode(high), "//79");
}

TEST(CommonName, FromRfc2253Subject) {
  EXPECT_EQ(common_name("O=pipgate appliance,CN=pipgate CA lab 2025-01-02"),
            "pipgate CA lab 2025-01-02");
  EXPECT_EQ(common_name("CN=a\\,b,O=x"), "a,b");
  EXPECT_EQ(common_name("O=no cn"), "O=no cn");
}

TEST(Mobileconfig, IsARootPayloadWithStableIdentifiers) {
  std::vector<std::uint8_t> der = {0x30, 0x82, 0x01, 0x0a, 0xff};
  std::string fp =
      "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:"
      "32:10";
  auto a = render_mobileconfig(der, fp, "gw<1>&", "O=pipgate appliance,CN=pipgate CA <x>");
  EXPECT_EQ(a, render_mobileconfig(der, fp, "gw<1>&", "O=pipgate appliance,CN=pipgate CA <x>"));
  EXPECT_NE(a.find("<string>com.apple.security.root</string>"), std::string::npos);
  EXPECT_NE(a.find("<string>Configuration</string>"), std::string::npos);
  EXPECT_NE(a.find(base64_encode(der)), std::string::npos);
  // Dynamic text is escaped; the identifier keeps only safe characters.
  EXPECT_EQ(a.find("gw<1>&"), std::string::npos);
  EXPECT_NE(a.find("gw&lt;1&gt;&amp;"), std::string::npos);
  EXPECT_NE(a.find("<string>pipgate CA &lt;x&gt;</string>"), std::string::npos);
  EXPECT_NE(a.find("<string>org.pipgate.appliance.gw-1--</string>"), std::string::npos);
  // UUIDs from the fingerprint, with version 4 and variant bits.
  EXPECT_NE(a.find("<string>01234567-89AB-4DEF-8123-456789ABCDEF</string>"), std::string::npos)
      << a;
  EXPECT_NE(a.find("<string>FEDCBA98-7654-4210-BEDC-BA9876543210</string>"), std::string::npos);
  // Another CA on the same appliance replaces the profile: same top-level identifier.
  std::string other_fp(fp);
  other_fp[0] = 'F';
  auto b = render_mobileconfig(der, other_fp, "gw<1>&", "CN=x");
  EXPECT_NE(b.find("<string>org.pipgate.appliance.gw-1--</string>"), std::string::npos);
  EXPECT_EQ(b.find("01234567-89AB"), std::string::npos);
}

TEST(MakeCaDownloads, MatchesTheAuthority) {
  testing::TempDir dir;
  auto ca = testing::make_ca(dir);
  auto d = make_ca_downloads(ca.certificate_pem(), "office-gw");
  ASSERT_TRUE(d) << d.error().detail;
  auto der = ca.certificate_der();
  EXPECT_EQ(d->pem, ca.certificate_pem());
  EXPECT_EQ(d->der, std::string(der.begin(), der.end()));
  EXPECT_EQ(d->info.sha256_fingerprint, ca.info().sha256_fingerprint);
  EXPECT_TRUE(
      std::regex_match(d->info.sha256_fingerprint, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}")));
  // The <data> element wraps the base64 in lines; whitespace does not count in plist data.
  std::string flat;
  for (char c : d->mobileconfig)
    if (c != '\n' && c != '\t') flat += c;
  EXPECT_NE(flat.find("<data>" + base64_encode(der) + "</data>"), std::string::npos);
}

TEST(MakeCaDownloads, RefusesGarbage) {
  auto d = make_ca_downloads("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", "x");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kCorrupt);
}

}  // namespace
}  // namespace pipgate::web
