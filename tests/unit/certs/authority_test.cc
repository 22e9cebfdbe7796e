#include "certs/authority.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "certs/internal/x509.h"
#include "certs_test_support.h"
#include "common/clock.h"
#include "common/random.h"

namespace pipgate::certs {
namespace {

using namespace std::chrono_literals;
using testing::mode_of;
using testing::openssl;
using testing::read_text;
using testing::TempDir;
using testing::verify;
using testing::write_text;

const std::vector<std::string> kNames = {"pypi.org", "files.pythonhosted.org"};

class AuthorityTest : public ::testing::Test {
 protected:
  std::string ca_dir() const { return tmp_ / "data/ca"; }
  std::string ca_key() const { return ca_dir() + "/ca.key"; }
  std::string ca_pem() const { return ca_dir() + "/ca.pem"; }

  Result<Authority> open(const std::vector<std::string>& names = kNames) {
    return Authority::load_or_create(ca_dir(), names, "office", clock_, random_);
  }

  TempDir tmp_;
  ManualClock clock_{testing::real_now()};
  SeededRandom random_{42};
};

TEST_F(AuthorityTest, CreatesRootWithOwnerOnlyKeyAndDirectory) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  EXPECT_EQ(mode_of(ca_key()), 0600);
  EXPECT_EQ(mode_of(ca_dir()), 0700);
  EXPECT_EQ(mode_of(ca_pem()), 0644);
  EXPECT_EQ(read_text(ca_pem()), ca->certificate_pem());

  const CertInfo info = ca->info();
  EXPECT_NE(info.subject.find("CN=pipgate CA office "), std::string::npos) << info.subject;
  EXPECT_NE(info.subject.find("O=pipgate appliance"), std::string::npos) << info.subject;
  EXPECT_EQ(info.issuer, info.subject);
  EXPECT_EQ(info.serial_hex.size(), 32u) << info.serial_hex;  // 128 bits, top byte non-zero
  EXPECT_EQ(info.sha256_fingerprint.size(), 32u * 3 - 1);
  EXPECT_EQ(info.not_before, clock_.system_now() - 1h);
  EXPECT_EQ(info.not_after - info.not_before, Authority::kValidity);
  EXPECT_EQ(info.dns_names, kNames);
  EXPECT_TRUE(info.excludes_ip_addresses);
  EXPECT_EQ(ca->permitted_names(), kNames);
  EXPECT_TRUE(ca->permits("PyPI.org."));
  EXPECT_FALSE(ca->permits("example.test"));

  const auto der = ca->certificate_der();
  ASSERT_FALSE(der.empty());
  EXPECT_EQ(der[0], 0x30);  // a DER SEQUENCE
}

TEST_F(AuthorityTest, RootIsNameConstrainedToExactlyTheInterceptedNames) {
  PIPGATE_ASSERT_OK(open());
  auto text = openssl("x509 -text -noout -in " + ca_pem());
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const char* want :
       {"X509v3 Name Constraints: critical", "Permitted:", "DNS:pypi.org",
        "DNS:files.pythonhosted.org", "X509v3 Basic Constraints: critical", "CA:TRUE, pathlen:0",
        "X509v3 Key Usage: critical", "Certificate Sign, CRL Sign", "X509v3 Subject Key Identifier",
        "ecdsa-with-SHA256", "prime256v1",
        // Every address excluded: permitted DNS subtrees alone would leave IP SANs unconstrained.
        "Excluded:", "IP:0.0.0.0/0.0.0.0", "IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0"}) {
    EXPECT_NE(text.output.find(want), std::string::npos) << want << "\n" << text.output;
  }
}

TEST_F(AuthorityTest, LeavesVerifyWithOpenSslForTheirNameOnly) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  for (const auto& name : kNames) {
    SCOPED_TRACE(name);
    auto leaf = ca->issue_leaf(name, clock_.system_now(), Authority::kMaxLeafLifetime, random_);
    PIPGATE_ASSERT_OK(leaf);
    const std::string file = tmp_ / (name + ".pem");
    write_text(file, leaf->cert_pem);
    auto ok = verify(ca_pem(), file, name, clock_.system_now());
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    EXPECT_NE(ok.output.find(": OK"), std::string::npos) << ok.output;

    const std::string other = name == kNames[0] ? kNames[1] : kNames[0];
    auto wrong = verify(ca_pem(), file, other, clock_.system_now());
    EXPECT_NE(wrong.exit_code, 0) << wrong.output;
    EXPECT_NE(wrong.output.find("hostname mismatch"), std::string::npos) << wrong.output;
  }
}

TEST_F(AuthorityTest, LeafHasServerProfile) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  const SystemTime now = clock_.system_now();
  auto leaf = ca->issue_leaf("PyPI.org", now, 90 * 24h, random_);
  PIPGATE_ASSERT_OK(leaf);
  EXPECT_EQ(leaf->name, "pypi.org");
  EXPECT_EQ(leaf->chain_pem, leaf->cert_pem + ca->certificate_pem());
  EXPECT_NE(leaf->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(leaf->info.dns_names, std::vector<std::string>{"pypi.org"});
  EXPECT_FALSE(leaf->info.excludes_ip_addresses) << "a leaf has no name constraints";
  EXPECT_EQ(leaf->info.issuer, ca->info().subject);
  EXPECT_EQ(leaf->info.not_before, now - 1h);
  EXPECT_EQ(leaf->info.not_after - leaf->info.not_before, 90 * 24h);

  const std::string file = tmp_ / "leaf.pem";
  write_text(file, leaf->cert_pem);
  auto text = openssl("x509 -text -noout -in " + file);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const char* want :
       {"Subject: CN = pypi.org", "DNS:pypi.org", "CA:FALSE", "X509v3 Key Usage: critical",
        "Digital Signature", "TLS Web Server Authentication", "X509v3 Authority Key Identifier",
        "prime256v1"}) {
    EXPECT_NE(text.output.find(want), std::string::npos) << want << "\n" << text.output;
  }
}

TEST_F(AuthorityTest, IssueLeafRefusesOtherNamesAndBadLifetimes) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  const SystemTime now = clock_.system_now();
  struct Case {
    const char* name;
    std::string host;
    std::chrono::seconds lifetime;
  };
  const Case cases[] = {{"not intercepted", "example.test", 90 * 24h},
                        {"subdomain not configured", "www.pypi.org", 90 * 24h},
                        {"longer than 90 days", "pypi.org", 91 * 24h},
                        {"no longer than the backdating", "pypi.org", 1h}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto leaf = ca->issue_leaf(c.host, now, c.lifetime, random_);
    ASSERT_FALSE(leaf);
    EXPECT_EQ(leaf.error().code, Errc::kInvalidInput) << leaf.error().detail;
  }
}

// The point of the name constraint: even a certificate signed with the CA's own key is rejected
// by a client for a name outside the permitted subtrees.
TEST_F(AuthorityTest, CertificateForOtherNameSignedByCaKeyIsRejected) {
  PIPGATE_ASSERT_OK(open());
  const SystemTime now = clock_.system_now();
  auto forged = internal::sign_server_cert(read_text(ca_pem()), read_text(ca_key()), "example.test",
                                           now - 1h, now + 24h, random_);
  PIPGATE_ASSERT_OK(forged);
  const std::string file = tmp_ / "forged.pem";
  write_text(file, forged->cert_pem);
  // The signature itself is good: only the constraint stops it.
  PIPGATE_ASSERT_OK(internal::check_signed_by(forged->cert_pem, read_text(ca_pem())));
  auto run = verify(ca_pem(), file, "example.test", now);
  EXPECT_NE(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("permitted subtree violation"), std::string::npos) << run.output;
}

TEST_F(AuthorityTest, ReloadsTheSameCaForTheSameNamesInAnyCaseOrOrder) {
  auto first = open();
  PIPGATE_ASSERT_OK(first);
  auto again = open({"FILES.pythonhosted.org.", "PyPI.org", "pypi.org"});
  PIPGATE_ASSERT_OK(again);
  EXPECT_EQ(again->info().sha256_fingerprint, first->info().sha256_fingerprint);
  auto loaded = Authority::load(ca_dir());
  PIPGATE_ASSERT_OK(loaded);
  EXPECT_EQ(loaded->info().serial_hex, first->info().serial_hex);
}

TEST_F(AuthorityTest, LoadWithoutCaIsNotFound) {
  auto ca = Authority::load(ca_dir());
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error().code, Errc::kNotFound);
}

TEST_F(AuthorityTest, RefusesInvalidNames) {
  const std::vector<std::vector<std::string>> cases = {
      {}, {"*.pypi.org"}, {"pypi_org.example"}, {"localhost"}, {"pypi..org"}, {"-a.org"}};
  for (const auto& names : cases) {
    auto ca = open(names);
    ASSERT_FALSE(ca);
    EXPECT_EQ(ca.error().code, Errc::kConfig);
  }
  EXPECT_FALSE(std::filesystem::exists(ca_dir()));
}

// Each broken state is refused with kConfig naming the file, and nothing on disk changes: the CA
// is what clients trust, so it is never replaced behind the operator's back.
TEST_F(AuthorityTest, BrokenCaIsRefusedAndLeftUntouched) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  const std::string key = read_text(ca_key());
  const std::string pem = read_text(ca_pem());
  TempDir other_dir;
  auto other = Authority::load_or_create(other_dir.path(), kNames, "other", clock_, random_);
  PIPGATE_ASSERT_OK(other);
  const std::string other_key = read_text(other_dir / "ca.key");

  struct Case {
    const char* name;
    std::string key;  // empty: the file is absent
    std::string pem;
    std::string want;  // in the detail
  };
  const Case cases[] = {
      {"certificate missing", key, "", "ca.pem is missing"},
      {"key missing", "", pem, "ca.key is missing"},
      {"corrupt certificate", key, "-----BEGIN CERTIFICATE-----\nnot base64\n", "ca.pem: not"},
      {"corrupt key", "garbage", pem, "ca.key: not a valid PEM private key"},
      {"key of another CA", other_key, pem, "does not match"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::filesystem::remove_all(ca_dir());
    std::filesystem::create_directories(ca_dir());
    if (!c.key.empty()) write_text(ca_key(), c.key);
    if (!c.pem.empty()) write_text(ca_pem(), c.pem);
    ::chmod(ca_key().c_str(), 0600);
    auto r = open();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kConfig);
    EXPECT_NE(r.error().detail.find(c.want), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find(ca_dir()), std::string::npos) << r.error().detail;
    EXPECT_EQ(testing::read_text(ca_key()), c.key);
    EXPECT_EQ(testing::read_text(ca_pem()), c.pem);
    EXPECT_EQ(std::filesystem::exists(ca_key()), !c.key.empty());
    EXPECT_EQ(std::filesystem::exists(ca_pem()), !c.pem.empty());
  }
}

TEST_F(AuthorityTest, LeafIsNotAcceptedAsCa) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  auto leaf = ca->issue_leaf("pypi.org", clock_.system_now(), 90 * 24h, random_);
  PIPGATE_ASSERT_OK(leaf);
  write_text(ca_key(), leaf->key_pem);
  write_text(ca_pem(), leaf->cert_pem);
  auto r = open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_NE(r.error().detail.find("not a CA"), std::string::npos) << r.error().detail;
}

TEST_F(AuthorityTest, NameMismatchSaysWhatToDo) {
  PIPGATE_ASSERT_OK(open());
  const std::string pem = read_text(ca_pem());
  auto r = open({"pypi.org", "files.pythonhosted.org", "test.pypi.org"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kConfig);
  const std::string& d = r.error().detail;
  EXPECT_NE(d.find("pipgate ca rotate"), std::string::npos) << d;
  EXPECT_NE(d.find("permits [pypi.org, files.pythonhosted.org]"), std::string::npos) << d;
  EXPECT_NE(d.find("test.pypi.org"), std::string::npos) << d;
  EXPECT_EQ(read_text(ca_pem()), pem);
}

TEST_F(AuthorityTest, ExpiredCaIsRefusedWithRotateAdvice) {
  auto ca = open();
  PIPGATE_ASSERT_OK(ca);
  clock_.advance(Authority::kValidity - 1h - 10 * 24h);  // expires in 10 days: a warning only
  EXPECT_TRUE(ca->expires_within(clock_.system_now(), Authority::kExpiryWarning));
  PIPGATE_ASSERT_OK(open());
  clock_.advance(11 * 24h);
  auto r = open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kConfig);
  EXPECT_NE(r.error().detail.find("expired"), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("pipgate ca rotate"), std::string::npos) << r.error().detail;
  auto leaf = ca->issue_leaf("pypi.org", clock_.system_now(), 90 * 24h, random_);
  EXPECT_FALSE(leaf);
}

TEST_F(AuthorityTest, RotateRetiresOldFilesAndMakesANewCa) {
  auto old_ca = open();
  PIPGATE_ASSERT_OK(old_ca);
  const std::string old_key = read_text(ca_key());
  const std::string old_pem = read_text(ca_pem());
  clock_.advance(5s);
  auto fresh = Authority::rotate(ca_dir(), kNames, "office", clock_, random_);
  PIPGATE_ASSERT_OK(fresh);
  EXPECT_NE(fresh->info().sha256_fingerprint, old_ca->info().sha256_fingerprint);
  EXPECT_NE(read_text(ca_key()), old_key);
  EXPECT_EQ(read_text(ca_pem()), fresh->certificate_pem());
  EXPECT_EQ(mode_of(ca_key()), 0600);

  std::vector<std::string> retired;
  for (const auto& e : std::filesystem::directory_iterator(ca_dir())) {
    if (e.path().filename().string().starts_with("retired-")) retired.push_back(e.path());
  }
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(std::filesystem::path(retired[0]).filename().string().size(),
            std::string("retired-20261125T215959Z").size());
  EXPECT_EQ(mode_of(retired[0]), 0700);
  EXPECT_EQ(read_text(retired[0] + "/ca.key"), old_key);
  EXPECT_EQ(read_text(retired[0] + "/ca.pem"), old_pem);
  EXPECT_EQ(mode_of(retired[0] + "/ca.key"), 0600);

  // A second rotation within the same second gets its own directory.
  auto third = Authority::rotate(ca_dir(), kNames, "office", clock_, random_);
  PIPGATE_ASSERT_OK(third);
  EXPECT_TRUE(std::filesystem::exists(retired[0] + "-2/ca.pem"));

  // Rotation is also the way out of a names mismatch.
  auto widened = Authority::rotate(
      ca_dir(), {"pypi.org", "files.pythonhosted.org", "test.pypi.org"}, "office", clock_, random_);
  PIPGATE_ASSERT_OK(widened);
  PIPGATE_ASSERT_OK(open({"test.pypi.org", "pypi.org", "files.pythonhosted.org"}));
}

// The way out of a half-present CA (the error message for it says so): rotate retires what exists.
TEST_F(AuthorityTest, RotateRecoversFromAKeyWithoutCertificate) {
  PIPGATE_ASSERT_OK(open());
  const std::string old_key = read_text(ca_key());
  std::filesystem::remove(ca_pem());
  ASSERT_FALSE(open());
  auto fresh = Authority::rotate(ca_dir(), kNames, "office", clock_, random_);
  PIPGATE_ASSERT_OK(fresh);
  PIPGATE_ASSERT_OK(open());
  bool found = false;
  for (const auto& e : std::filesystem::directory_iterator(ca_dir())) {
    if (!e.path().filename().string().starts_with("retired-")) continue;
    EXPECT_EQ(read_text(e.path() / "ca.key"), old_key);
    EXPECT_FALSE(std::filesystem::exists(e.path() / "ca.pem"));
    found = true;
  }
  EXPECT_TRUE(found);
}

// Modes are set at creation, not left to the umask: the key is never readable by others, and a
// directory made earlier by someone else is narrowed to the owner.
TEST_F(AuthorityTest, ModesHoldUnderAPermissiveUmask) {
  std::filesystem::create_directories(ca_dir());
  ::chmod(ca_dir().c_str(), 0755);
  const mode_t old_umask = ::umask(0);
  auto ca = open();
  ::umask(old_umask);
  PIPGATE_ASSERT_OK(ca);
  EXPECT_EQ(mode_of(ca_key()), 0600);
  EXPECT_EQ(mode_of(ca_pem()), 0644);
  EXPECT_EQ(mode_of(ca_dir()), 0700);
}

TEST_F(AuthorityTest, LongLabelIsCutToFitTheCommonName) {
  auto ca = Authority::load_or_create(ca_dir(), kNames, std::string(100, 'x'), clock_, random_);
  PIPGATE_ASSERT_OK(ca);
  const std::string subject = ca->info().subject;
  auto cn = subject.find("CN=");
  ASSERT_NE(cn, std::string::npos);
  EXPECT_LE(subject.substr(cn + 3, subject.find(',', cn) - cn - 3).size(), 64u) << subject;
}

}  // namespace
}  // namespace pipgate::certs
