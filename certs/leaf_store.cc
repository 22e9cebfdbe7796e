#include "certs/leaf_store.h"

#include <fmt/chrono.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include "certs/internal/files.h"
#include "certs/internal/names.h"
#include "certs/internal/x509.h"

namespace pipgate::certs {

struct LeafStore::State {
  State(const Authority& ca, std::string dir, const Clock& clock, Random& random)
      : ca(ca), dir(std::move(dir)), clock(clock), random(random) {}

  const Authority ca;
  const std::string dir;
  const Clock& clock;
  Random& random;

  std::mutex update_mu;   // held by ensure_all / renew_due for their whole run
  mutable std::mutex mu;  // guards `leaves`; held only to read or swap a pointer
  std::map<std::string, std::shared_ptr<const Leaf>, std::less<>> leaves;

  std::string cert_path(const std::string& name) const { return dir + "/" + name + ".pem"; }
  std::string key_path(const std::string& name) const { return dir + "/" + name + ".key"; }

  void install(const std::string& name, std::shared_ptr<const Leaf> leaf) {
    std::lock_guard lock(mu);
    leaves[name] = std::move(leaf);
  }

  // The leaf on disk for `name`, if it is one we can keep serving. kNotFound when there is none;
  // any other error says why the files are unusable (corrupt, foreign, mismatched).
  Result<Leaf> load(const std::string& name) const {
    const std::string cp = cert_path(name);
    const std::string kp = key_path(name);
    auto cert = internal::read_file(cp);
    if (!cert) return std::unexpected(cert.error());
    auto key = internal::read_file(kp);
    if (!key) return std::unexpected(key.error());
    if (!*cert && !*key) return make_error(Errc::kNotFound, "no leaf for " + name);
    if (!*cert || !*key) {
      return make_error(Errc::kCorrupt, "only one of " + cp + " and " + kp + " exists");
    }
    auto info = internal::inspect(**cert);
    if (!info) return make_error(Errc::kCorrupt, cp + ": " + info.error().detail);
    const std::string ca_pem = ca.certificate_pem();
    if (auto r = internal::check_signed_by(**cert, ca_pem); !r) {
      return make_error(Errc::kCorrupt, cp + ": " + r.error().detail);
    }
    if (auto r = internal::check_key_matches(**cert, **key); !r) {
      return make_error(Errc::kCorrupt, kp + ": " + r.error().detail);
    }
    if (info->dns_names != std::vector<std::string>{name}) {
      return make_error(Errc::kCorrupt, cp + ": certificate is not for " + name);
    }
    Leaf leaf;
    leaf.name = name;
    leaf.chain_pem = **cert + ca_pem;
    leaf.cert_pem = std::move(**cert);
    leaf.key_pem = std::move(**key);
    leaf.info = std::move(*info);
    return leaf;
  }

  // Issues a leaf for `name`, serves it, then writes it. The key goes first: a crash between the
  // two renames leaves a new key beside the old certificate, which load() rejects (mismatch) and
  // so replaces on the next start.
  Result<> issue(const std::string& name) {
    auto leaf = ca.issue_leaf(name, clock.system_now(), kLifetime, random);
    if (!leaf) {
      return make_error(Errc::kInternal,
                        "cannot issue a leaf for " + name + ": " + leaf.error().detail);
    }
    auto shared = std::make_shared<const Leaf>(std::move(*leaf));
    install(name, shared);
    spdlog::info("issued leaf for {} serial {} valid until {:%Y-%m-%d %H:%M:%S}Z", name,
                 shared->info.serial_hex,
                 std::chrono::time_point_cast<std::chrono::seconds>(shared->info.not_after));
    if (auto r = internal::make_dirs(dir, 0700); !r) return r;
    if (auto r = internal::replace_file(key_path(name), shared->key_pem, 0600); !r) return r;
    return internal::replace_file(cert_path(name), shared->cert_pem, 0644);
  }
};

namespace {

// A leaf we may keep serving at `now`: not due, and already valid (a clock that went backwards,
// or a leaf from the future, gets a fresh one).
bool is_usable(const CertInfo& info, SystemTime now) {
  return now >= info.not_before && !LeafStore::is_due(info, now);
}

}  // namespace

LeafStore::LeafStore(const Authority& ca, std::string dir, const Clock& clock, Random& random)
    : state_(std::make_unique<State>(ca, std::move(dir), clock, random)) {}

LeafStore::~LeafStore() = default;

Result<> LeafStore::ensure_all() {
  std::lock_guard update(state_->update_mu);
  auto names = internal::normalize_names(state_->ca.permitted_names());
  if (!names) return std::unexpected(names.error());
  if (auto r = internal::make_dirs(state_->dir, 0700); !r) return r;
  // The directory holds private keys: owner only, whoever created it.
  if (::chmod(state_->dir.c_str(), 0700) != 0) {
    return make_error(Errc::kInternal, "cannot chmod 0700 " + state_->dir);
  }
  Result<> first_error;
  const SystemTime now = state_->clock.system_now();
  for (const auto& name : *names) {
    auto loaded = state_->load(name);
    if (loaded && is_usable(loaded->info, now)) {
      state_->install(name, std::make_shared<const Leaf>(std::move(*loaded)));
      continue;
    }
    if (loaded) {
      spdlog::info("leaf for {} (serial {}) is due for renewal", name, loaded->info.serial_hex);
    } else if (loaded.error().code != Errc::kNotFound) {
      // Leaves are ours to replace (unlike the CA): warn and issue a new one.
      spdlog::warn("unusable leaf for {}: {}; issuing a new one", name, loaded.error().detail);
    }
    if (auto r = state_->issue(name); !r && first_error) first_error = std::unexpected(r.error());
  }
  return first_error;
}

Result<std::vector<std::string>> LeafStore::renew_due() {
  std::lock_guard update(state_->update_mu);
  auto names = internal::normalize_names(state_->ca.permitted_names());
  if (!names) return std::unexpected(names.error());
  const SystemTime now = state_->clock.system_now();
  std::vector<std::string> renewed;
  Result<> first_error;
  for (const auto& name : *names) {
    auto leaf = current(name);
    if (leaf && is_usable(leaf->info, now)) continue;
    auto r = state_->issue(name);
    if (!r && first_error) first_error = std::unexpected(r.error());
    if (current(name) != leaf) renewed.push_back(name);
  }
  if (!first_error) return std::unexpected(first_error.error());
  return renewed;
}

std::shared_ptr<const Leaf> LeafStore::current(std::string_view name) const {
  const std::string key = internal::normalize_name(name);
  std::lock_guard lock(state_->mu);
  auto it = state_->leaves.find(key);
  return it == state_->leaves.end() ? nullptr : it->second;
}

SystemTime LeafStore::next_renewal() const {
  std::lock_guard lock(state_->mu);
  if (state_->leaves.empty()) return SystemTime{};
  SystemTime earliest = SystemTime::max();
  for (const auto& [name, leaf] : state_->leaves)
    earliest = std::min(earliest, due_time(leaf->info));
  return earliest;
}

std::vector<std::shared_ptr<const Leaf>> LeafStore::all() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::shared_ptr<const Leaf>> out;
  out.reserve(state_->leaves.size());
  for (const auto& [name, leaf] : state_->leaves) out.push_back(leaf);
  return out;
}

// A third of the lifetime left gives a leaf renewed at ~60 days of 90 a month of slack: the
// appliance can be off or broken for weeks before any client sees an expired certificate.
bool LeafStore::is_due(const CertInfo& info, SystemTime now) {
  return info.not_after - now < (info.not_after - info.not_before) / 3;
}

SystemTime LeafStore::due_time(const CertInfo& info) {
  return info.not_after - (info.not_after - info.not_before) / 3;
}

Result<> LeafStore::remove_all(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    return make_error(Errc::kInternal, "cannot list " + dir + ": " + ec.message());
  }
  for (const auto& entry : it) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".pem" && ext != ".key" && ext != ".tmp") continue;
    if (!entry.is_regular_file(ec)) continue;
    if (!std::filesystem::remove(entry.path(), ec) && ec) {
      return make_error(Errc::kInternal,
                        "cannot remove " + entry.path().string() + ": " + ec.message());
    }
  }
  return {};
}

}  // namespace pipgate::certs
