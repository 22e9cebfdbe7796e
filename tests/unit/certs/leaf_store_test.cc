#include "certs/leaf_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "certs/authority.h"
#include "certs/internal/x509.h"
#include "certs_test_support.h"
#include "common/clock.h"
#include "common/random.h"

namespace pipgate::certs {
namespace {

using namespace std::chrono_literals;
using testing::mode_of;
using testing::read_text;
using testing::TempDir;
using testing::verify;
using testing::write_text;

const std::vector<std::string> kNames = {"pypi.org", "files.pythonhosted.org"};
constexpr auto kDay = std::chrono::hours(24);

class LeafStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = Authority::load_or_create(tmp_ / "ca", kNames, "office", clock_, random_);
    PIPGATE_ASSERT_OK(ca);
    ca_.emplace(std::move(*ca));
  }

  std::string certs_dir() const { return tmp_ / "certs"; }
  std::string ca_pem() const { return tmp_ / "ca/ca.pem"; }

  // `openssl verify` of the leaf as a TLS client for `name` would see it at the clock's time.
  void expect_verifies(const Leaf& leaf, const std::string& name) {
    const std::string file = tmp_ / ("check-" + name + ".pem");
    write_text(file, leaf.cert_pem);
    auto run = verify(ca_pem(), file, name, clock_.system_now());
    EXPECT_EQ(run.exit_code, 0) << name << ": " << run.output;
  }

  TempDir tmp_;
  ManualClock clock_{testing::real_now()};
  SeededRandom random_{7};
  std::optional<Authority> ca_;
};

TEST_F(LeafStoreTest, EnsureAllIssuesOneVerifiableLeafPerNameAndPersistsIt) {
  LeafStore store(*ca_, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(store.ensure_all());
  EXPECT_EQ(mode_of(certs_dir()), 0700);
  ASSERT_EQ(store.all().size(), 2u);
  for (const auto& name : kNames) {
    SCOPED_TRACE(name);
    auto leaf = store.current(name);
    ASSERT_NE(leaf, nullptr);
    EXPECT_EQ(leaf->name, name);
    EXPECT_EQ(leaf->info.dns_names, std::vector<std::string>{name});
    EXPECT_EQ(leaf->info.not_after - leaf->info.not_before, LeafStore::kLifetime);
    EXPECT_EQ(read_text(certs_dir() + "/" + name + ".pem"), leaf->cert_pem);
    EXPECT_EQ(read_text(certs_dir() + "/" + name + ".key"), leaf->key_pem);
    EXPECT_EQ(mode_of(certs_dir() + "/" + name + ".key"), 0600);
    EXPECT_FALSE(std::filesystem::exists(certs_dir() + "/" + name + ".key.tmp"));
    expect_verifies(*leaf, name);
  }
  EXPECT_NE(store.current("pypi.org")->info.serial_hex,
            store.current("files.pythonhosted.org")->info.serial_hex);
}

TEST_F(LeafStoreTest, CurrentIsCaseInsensitiveAndNullForOtherNames) {
  LeafStore store(*ca_, certs_dir(), clock_, random_);
  EXPECT_EQ(store.current("pypi.org"), nullptr);  // nothing before ensure_all
  EXPECT_EQ(store.next_renewal(), SystemTime{});
  PIPGATE_ASSERT_OK(store.ensure_all());
  EXPECT_EQ(store.current("PyPI.ORG."), store.current("pypi.org"));
  EXPECT_EQ(store.current("example.test"), nullptr);
  EXPECT_EQ(store.current("www.pypi.org"), nullptr);
  EXPECT_EQ(store.current(""), nullptr);
}

TEST_F(LeafStoreTest, RestartReusesPersistedLeaves) {
  std::vector<std::string> serials;
  {
    LeafStore store(*ca_, certs_dir(), clock_, random_);
    PIPGATE_ASSERT_OK(store.ensure_all());
    for (const auto& name : kNames) serials.push_back(store.current(name)->info.serial_hex);
  }
  clock_.advance(10 * kDay);
  SeededRandom other_seed(99);  // a reissue would show as a different serial
  LeafStore again(*ca_, certs_dir(), clock_, other_seed);
  PIPGATE_ASSERT_OK(again.ensure_all());
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    EXPECT_EQ(again.current(kNames[i])->info.serial_hex, serials[i]) << kNames[i];
  }
}

TEST_F(LeafStoreTest, RenewsAfterTwoThirdsOfTheLifetime) {
  LeafStore store(*ca_, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(store.ensure_all());
  const auto old_leaf = store.current("pypi.org");
  const std::string old_serial = old_leaf->info.serial_hex;
  // notBefore is an hour back, so two thirds of 90 days are up 60 days less an hour from now.
  EXPECT_EQ(store.next_renewal(), clock_.system_now() - 1h + 60 * kDay);

  clock_.advance(60 * kDay - 1h - 1min);
  auto none = store.renew_due();
  PIPGATE_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(store.current("pypi.org"), old_leaf);

  clock_.advance(1min + 1s);
  auto renewed = store.renew_due();
  PIPGATE_ASSERT_OK(renewed);
  EXPECT_EQ(*renewed, kNames);
  auto fresh = store.current("pypi.org");
  ASSERT_NE(fresh, nullptr);
  EXPECT_NE(fresh->info.serial_hex, old_serial);
  EXPECT_NE(fresh->key_pem, old_leaf->key_pem);
  EXPECT_EQ(old_leaf->info.serial_hex, old_serial);  // a handshake holding it is unaffected
  EXPECT_EQ(fresh->info.not_before, clock_.system_now() - 1h);
  expect_verifies(*fresh, "pypi.org");
  EXPECT_GT(store.next_renewal(), clock_.system_now() + 59 * kDay);

  // The renewal is on disk: a restart serves the new leaf.
  LeafStore again(*ca_, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(again.ensure_all());
  EXPECT_EQ(again.current("pypi.org")->info.serial_hex, fresh->info.serial_hex);
}

TEST_F(LeafStoreTest, RestartAfterDueTimeReissues) {
  std::string serial;
  {
    LeafStore store(*ca_, certs_dir(), clock_, random_);
    PIPGATE_ASSERT_OK(store.ensure_all());
    serial = store.current("pypi.org")->info.serial_hex;
  }
  clock_.advance(75 * kDay);
  LeafStore again(*ca_, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(again.ensure_all());
  EXPECT_NE(again.current("pypi.org")->info.serial_hex, serial);
  expect_verifies(*again.current("pypi.org"), "pypi.org");
}

TEST_F(LeafStoreTest, IsDueOnceLessThanAThirdIsLeft) {
  const SystemTime t0 = clock_.system_now();
  CertInfo info;
  info.not_before = t0;
  info.not_after = t0 + 90 * kDay;
  struct Case {
    const char* name;
    std::chrono::seconds at;
    bool due;
  };
  const Case cases[] = {{"fresh", 0s, false},
                        {"59 days", 59 * kDay, false},
                        {"exactly a third left", 60 * kDay, false},
                        {"just under a third left", 60 * kDay + 1s, true},
                        {"expired", 91 * kDay, true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(LeafStore::is_due(info, t0 + c.at), c.due);
  }
  EXPECT_EQ(LeafStore::due_time(info), t0 + 60 * kDay);
}

// Leaves are ours to replace: whatever is wrong with the files, ensure_all issues a new leaf and
// succeeds (with a warning in the log).
TEST_F(LeafStoreTest, UnusableLeafFilesAreReplaced) {
  TempDir other_dir;
  auto other_ca = Authority::load_or_create(other_dir.path(), kNames, "other", clock_, random_);
  PIPGATE_ASSERT_OK(other_ca);
  auto foreign = other_ca->issue_leaf("pypi.org", clock_.system_now(), 90 * kDay, random_);
  PIPGATE_ASSERT_OK(foreign);
  auto ours = ca_->issue_leaf("pypi.org", clock_.system_now(), 90 * kDay, random_);
  PIPGATE_ASSERT_OK(ours);
  auto ours_other_name =
      ca_->issue_leaf("files.pythonhosted.org", clock_.system_now(), 90 * kDay, random_);
  PIPGATE_ASSERT_OK(ours_other_name);

  struct Case {
    const char* name;
    std::string pem;  // empty: absent
    std::string key;
  };
  const Case cases[] = {
      {"corrupt certificate", "-----BEGIN CERTIFICATE-----\nxx\n", ours->key_pem},
      {"corrupt key", ours->cert_pem, "not a key"},
      {"key missing", ours->cert_pem, ""},
      {"signed by another CA", foreign->cert_pem, foreign->key_pem},
      {"key of another leaf", ours->cert_pem, ours_other_name->key_pem},
      {"leaf for another name", ours_other_name->cert_pem, ours_other_name->key_pem},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::filesystem::remove_all(certs_dir());
    std::filesystem::create_directories(certs_dir());
    if (!c.pem.empty()) write_text(certs_dir() + "/pypi.org.pem", c.pem);
    if (!c.key.empty()) write_text(certs_dir() + "/pypi.org.key", c.key);
    LeafStore store(*ca_, certs_dir(), clock_, random_);
    PIPGATE_ASSERT_OK(store.ensure_all());
    auto leaf = store.current("pypi.org");
    ASSERT_NE(leaf, nullptr);
    EXPECT_NE(leaf->cert_pem, c.pem);
    EXPECT_EQ(read_text(certs_dir() + "/pypi.org.pem"), leaf->cert_pem);
    EXPECT_EQ(read_text(certs_dir() + "/pypi.org.key"), leaf->key_pem);
    EXPECT_EQ(mode_of(certs_dir() + "/pypi.org.key"), 0600);
    PIPGATE_ASSERT_OK(internal::check_signed_by(leaf->cert_pem, ca_->certificate_pem()));
  }
}

TEST_F(LeafStoreTest, AfterRotationLeavesOfTheOldCaAreReplaced) {
  std::string old_serial;
  {
    LeafStore store(*ca_, certs_dir(), clock_, random_);
    PIPGATE_ASSERT_OK(store.ensure_all());
    old_serial = store.current("pypi.org")->info.serial_hex;
  }
  auto rotated = Authority::rotate(tmp_ / "ca", kNames, "office", clock_, random_);
  PIPGATE_ASSERT_OK(rotated);
  LeafStore store(*rotated, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(store.ensure_all());
  EXPECT_NE(store.current("pypi.org")->info.serial_hex, old_serial);
  expect_verifies(*store.current("pypi.org"), "pypi.org");  // against the new ca.pem
}

TEST_F(LeafStoreTest, RemoveAllDeletesLeafFilesOnly) {
  LeafStore store(*ca_, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(store.ensure_all());
  write_text(certs_dir() + "/README", "keep me");
  write_text(certs_dir() + "/pypi.org.key.tmp", "leftover");
  PIPGATE_ASSERT_OK(LeafStore::remove_all(certs_dir()));
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(certs_dir())) {
    left.push_back(e.path().filename());
  }
  EXPECT_EQ(left, std::vector<std::string>{"README"});
  PIPGATE_ASSERT_OK(LeafStore::remove_all(tmp_ / "does-not-exist"));
}

// Readers on other threads (TLS handshakes) always get a complete leaf while renewals swap them.
TEST_F(LeafStoreTest, ConcurrentReadersDuringRenewal) {
  LeafStore store(*ca_, certs_dir(), clock_, random_);
  PIPGATE_ASSERT_OK(store.ensure_all());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto leaf = store.current("pypi.org");
        if (!leaf || leaf->name != "pypi.org" || leaf->cert_pem.empty()) ++bad;
        if (store.all().size() != 2) ++bad;
        if (store.next_renewal() == SystemTime{}) ++bad;
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    clock_.advance(61 * kDay);
    auto renewed = store.renew_due();
    EXPECT_TRUE(renewed && renewed->size() == 2);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace pipgate::certs
