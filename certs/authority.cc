#include "certs/authority.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <utility>

#include "certs/internal/files.h"
#include "certs/internal/names.h"
#include "certs/internal/x509.h"

namespace pipgate::certs {

struct Authority::State {
  std::string key_pem;
  std::string cert_pem;
  std::vector<std::uint8_t> der;
  CertInfo info;
};

namespace {

constexpr unsigned kDirMode = 0700;
constexpr unsigned kKeyMode = 0600;
constexpr unsigned kCertMode = 0644;        // the CA certificate is public: the web page serves it
constexpr std::size_t kMaxCommonName = 64;  // RFC 5280 ub-common-name

constexpr std::string_view kRotateAdvice =
    "run `pipgate ca rotate` to retire it and create a new CA (clients must then install the new "
    "CA certificate again)";

std::string key_path(const std::string& dir) { return dir + "/ca.key"; }
std::string cert_path(const std::string& dir) { return dir + "/ca.pem"; }

std::string utc(SystemTime t, const char* format) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// "pipgate CA <label> <date>", the label cut (at a UTF-8 character boundary) so the CN fits.
std::string common_name(std::string_view label, SystemTime now) {
  const std::string date = utc(now, "%Y-%m-%d");
  const std::size_t fixed = std::string_view("pipgate CA ").size() + 1 + date.size();
  std::string l(label.substr(0, kMaxCommonName - fixed));
  if (l.size() < label.size()) {
    while (!l.empty() && (static_cast<unsigned char>(l.back()) & 0xC0) == 0x80) l.pop_back();
    if (!l.empty() && (static_cast<unsigned char>(l.back()) & 0x80)) l.pop_back();
  }
  return l.empty() ? "pipgate CA " + date : "pipgate CA " + l + " " + date;
}

}  // namespace

Authority::Authority(std::shared_ptr<const State> state) : state_(std::move(state)) {}

std::string Authority::certificate_pem() const { return state_->cert_pem; }
std::vector<std::uint8_t> Authority::certificate_der() const { return state_->der; }
CertInfo Authority::info() const { return state_->info; }
std::vector<std::string> Authority::permitted_names() const { return state_->info.dns_names; }

bool Authority::permits(std::string_view name) const {
  const auto& names = state_->info.dns_names;
  return std::find(names.begin(), names.end(), internal::normalize_name(name)) != names.end();
}

bool Authority::expires_within(SystemTime now, std::chrono::seconds window) const {
  return state_->info.not_after < now + window;
}

Result<Authority> Authority::load(const std::string& dir) {
  const std::string kp = key_path(dir);
  const std::string cp = cert_path(dir);
  auto key = internal::read_file(kp);
  if (!key) return make_error(Errc::kConfig, key.error().detail);
  auto cert = internal::read_file(cp);
  if (!cert) return make_error(Errc::kConfig, cert.error().detail);
  if (!*key && !*cert) return make_error(Errc::kNotFound, "no CA in " + dir);
  if (!*cert) {
    return make_error(Errc::kConfig, cp + " is missing but " + kp +
                                         " exists: restore ca.pem from a backup, or " +
                                         std::string(kRotateAdvice));
  }
  if (!*key) {
    return make_error(Errc::kConfig, kp + " is missing but " + cp +
                                         " exists: restore ca.key from a backup, or " +
                                         std::string(kRotateAdvice));
  }
  auto info = internal::inspect(**cert);
  if (!info) {
    return make_error(Errc::kConfig, cp + ": not a valid PEM certificate: " + info.error().detail);
  }
  if (auto r = internal::check_key_matches(**cert, **key); !r) {
    if (r.error().code == Errc::kCorrupt) {
      return make_error(Errc::kConfig, kp + ": not a valid PEM private key: " + r.error().detail);
    }
    return make_error(Errc::kConfig, kp + " does not match " + cp +
                                         " (the key belongs to another certificate): restore the "
                                         "matching pair, or " +
                                         std::string(kRotateAdvice));
  }
  if (auto r = internal::check_constrained_ca(**cert); !r) {
    return make_error(Errc::kConfig,
                      cp + ": " + r.error().detail + "; " + std::string(kRotateAdvice));
  }
  struct stat st;
  if (::stat(kp.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("{} is readable by other users (mode {:o}); it should be 0600", kp,
                 st.st_mode & 0777);
  }
  auto state = make_state(std::move(**key), std::move(**cert));
  if (!state) return std::unexpected(state.error());
  return Authority(std::move(*state));
}

// Writes a new CA into `dir`, which holds neither file. The key is written first and is removed
// again if the certificate cannot be written, so a failure leaves "no CA" rather than half a CA.
// A crash between the two writes leaves ca.key alone, which load() reports (never overwrites).
Result<std::shared_ptr<const Authority::State>> Authority::create(
    const std::string& dir, const std::vector<std::string>& names, std::string_view label,
    const Clock& clock, Random& random) {
  if (auto r = internal::make_dirs(dir, kDirMode); !r) return std::unexpected(r.error());
  // The directory holds the CA key: owner only, even if something else created it first.
  if (::chmod(dir.c_str(), kDirMode) != 0) {
    return make_error(Errc::kInternal, "cannot chmod 0700 " + dir);
  }
  const SystemTime now = clock.system_now();
  // Backdated an hour so that clients whose clock runs slow accept it at once.
  const SystemTime not_before = now - std::chrono::hours(1);
  auto made = internal::make_root(names, common_name(label, now), "pipgate appliance", not_before,
                                  not_before + Authority::kValidity, random);
  if (!made) return std::unexpected(made.error());
  const std::string kp = key_path(dir);
  const std::string cp = cert_path(dir);
  if (auto r = internal::create_file(kp, made->key_pem, kKeyMode); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = internal::create_file(cp, made->cert_pem, kCertMode); !r) {
    ::unlink(kp.c_str());
    return std::unexpected(r.error());
  }
  auto state = make_state(std::move(made->key_pem), std::move(made->cert_pem));
  if (state) {
    spdlog::info("created CA {} ({}) in {}, permitting {}", (*state)->info.subject,
                 (*state)->info.sha256_fingerprint, dir, join(names));
  }
  return state;
}

Result<std::shared_ptr<const Authority::State>> Authority::make_state(std::string key_pem,
                                                                      std::string cert_pem) {
  auto info = internal::inspect(cert_pem);
  if (!info) return std::unexpected(info.error());
  auto der = internal::to_der(cert_pem);
  if (!der) return std::unexpected(der.error());
  auto state = std::make_shared<Authority::State>();
  state->key_pem = std::move(key_pem);
  state->cert_pem = std::move(cert_pem);
  state->der = std::move(*der);
  state->info = std::move(*info);
  return std::shared_ptr<const Authority::State>(std::move(state));
}

Result<Authority> Authority::load_or_create(const std::string& dir,
                                            const std::vector<std::string>& names,
                                            std::string_view label, const Clock& clock,
                                            Random& random) {
  auto wanted = internal::normalize_names(names);
  if (!wanted) return std::unexpected(wanted.error());
  auto loaded = load(dir);
  if (!loaded) {
    if (loaded.error().code != Errc::kNotFound) return loaded;
    auto state = create(dir, *wanted, label, clock, random);
    if (!state) return std::unexpected(state.error());
    return Authority(std::move(*state));
  }
  const std::string cp = cert_path(dir);
  const auto have = loaded->permitted_names();
  if (sorted(have) != sorted(*wanted)) {
    return make_error(Errc::kConfig, cp + ": the CA permits [" + join(have) +
                                         "] but the configured intercepted names are [" +
                                         join(*wanted) + "]; " + std::string(kRotateAdvice));
  }
  const SystemTime now = clock.system_now();
  const CertInfo info = loaded->info();
  if (info.not_after <= now) {
    return make_error(Errc::kConfig, cp + ": the CA expired on " +
                                         utc(info.not_after, "%Y-%m-%d %H:%M:%SZ") + "; " +
                                         std::string(kRotateAdvice));
  }
  if (!info.excludes_ip_addresses) {
    spdlog::warn(
        "{}: the CA's name constraints do not exclude IP addresses (made by an earlier pipgate): "
        "a certificate it signed for an IP address would be trusted by clients; {}",
        cp, kRotateAdvice);
  }
  if (loaded->expires_within(now, kExpiryWarning)) {
    spdlog::warn("{}: the CA expires on {}; {}", cp, utc(info.not_after, "%Y-%m-%d %H:%M:%SZ"),
                 kRotateAdvice);
  }
  return loaded;
}

Result<Authority> Authority::rotate(const std::string& dir, const std::vector<std::string>& names,
                                    std::string_view label, const Clock& clock, Random& random) {
  auto wanted = internal::normalize_names(names);
  if (!wanted) return std::unexpected(wanted.error());
  const std::string kp = key_path(dir);
  const std::string cp = cert_path(dir);
  if (internal::exists(kp) || internal::exists(cp)) {
    const std::string base = dir + "/retired-" + utc(clock.system_now(), "%Y%m%dT%H%M%SZ");
    std::string retired = base;
    for (int n = 2; internal::exists(retired); ++n) retired = base + "-" + std::to_string(n);
    if (auto r = internal::make_dirs(retired, kDirMode); !r) return std::unexpected(r.error());
    for (const auto* path : {&kp, &cp}) {
      if (!internal::exists(*path)) continue;
      const std::string to = retired + path->substr(dir.size());
      if (auto r = internal::move_file(*path, to); !r) return std::unexpected(r.error());
    }
    spdlog::info("retired the CA in {} to {}", dir, retired);
  }
  auto state = create(dir, *wanted, label, clock, random);
  if (!state) return std::unexpected(state.error());
  return Authority(std::move(*state));
}

Result<Leaf> Authority::issue_leaf(std::string_view name, SystemTime now,
                                   std::chrono::seconds lifetime, Random& random) const {
  const std::string host = internal::normalize_name(name);
  if (!permits(host)) {
    // fmt rather than operator+ chains: g++ 12 -O3 gives a false -Wrestrict on those.
    return make_error(Errc::kInvalidInput,
                      fmt::format("\"{}\" is not an intercepted name; the CA permits [{}]", name,
                                  join(permitted_names())));
  }
  if (lifetime <= std::chrono::hours(1) || lifetime > kMaxLeafLifetime) {
    return make_error(Errc::kInvalidInput, "leaf lifetime must be over 1 h and at most 90 days");
  }
  // Backdated an hour for clients whose clock runs slow; the total stays `lifetime`.
  const SystemTime not_before = now - std::chrono::hours(1);
  // Never outlive the CA: a leaf past its issuer's notAfter fails verification anyway.
  const SystemTime not_after = std::min(not_before + lifetime, state_->info.not_after);
  if (not_after <= now) {
    return make_error(Errc::kConfig, "the CA has expired; " + std::string(kRotateAdvice));
  }
  auto made = internal::sign_server_cert(state_->cert_pem, state_->key_pem, host, not_before,
                                         not_after, random);
  if (!made) return std::unexpected(made.error());
  auto info = internal::inspect(made->cert_pem);
  if (!info)
    return make_error(Errc::kInternal, "issued leaf does not parse: " + info.error().detail);
  Leaf leaf;
  leaf.name = host;
  leaf.chain_pem = made->cert_pem + state_->cert_pem;
  leaf.cert_pem = std::move(made->cert_pem);
  leaf.key_pem = std::move(made->key_pem);
  leaf.info = std::move(*info);
  return leaf;
}

}  // namespace pipgate::certs
