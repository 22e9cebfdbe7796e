// The appliance's internal certificate authority: created on first start, kept in
// `<data_dir>/ca/` as `ca.key` (ECDSA P-256, PKCS#8 PEM, mode 0600) and `ca.pem` (the self-signed
// root that clients install).
//
// The root carries a critical nameConstraints extension whose permitted DNS subtrees are exactly
// the intercepted names, so trusting it (or stealing its key) cannot be used to impersonate any
// other site: a conforming client rejects a certificate for another name even when this CA signed
// it. A DNS subtree "pypi.org" also permits its subdomains ("www.pypi.org"); RFC 5280 §4.2.1.10
// defines it so, and those names belong to the same owner, so this is acceptable.
//
// An existing CA is never replaced silently: clients trust it, and replacing it means every client
// must install the new one. Only `rotate` (the `pipgate ca rotate` command) does that.
//
//   auto ca = certs::Authority::load_or_create(data_dir + "/ca", cfg.dns.intercept, "office",
//                                              clock, random);
//   if (!ca) return std::unexpected(ca.error());   // kConfig: refuse to start, print the detail
//   auto leaf = ca->issue_leaf("pypi.org", clock.system_now(), std::chrono::days(90), random);
//
// Thread safety: an Authority is immutable once made; its const members may be called from any
// thread. Copies share the same state.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs/cert_info.h"
#include "certs/leaf.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"

namespace pipgate::certs {

class Authority {
 public:
  // Validity of a new root: 10 years (3652 days, counting leap days; whole days so notAfter keeps
  // the creation time of day). Its notBefore is one hour before `now`, so a client whose clock
  // runs a little slow accepts a fresh CA.
  static constexpr std::chrono::seconds kValidity = std::chrono::days(3652);
  // load_or_create logs a warning when the CA expires within this window.
  static constexpr std::chrono::seconds kExpiryWarning = std::chrono::days(30);
  // Longest leaf `issue_leaf` makes (and what LeafStore uses).
  static constexpr std::chrono::seconds kMaxLeafLifetime = std::chrono::days(90);

  // Loads the CA in `dir`, or creates one when neither file exists (creating `dir` and missing
  // parents with mode 0700). `names` are the intercepted names (case-insensitive, a trailing dot
  // ignored); `label` goes into the subject, CN="pipgate CA <label> <yyyy-mm-dd>",
  // O="pipgate appliance". Serials come from `random`; the key from BoringSSL's own RNG (key
  // material is not something a test should be able to predict).
  //
  // Errors, all kConfig with a detail naming the file and what to do; files are left untouched:
  //   - `names` empty or not valid DNS names;
  //   - only one of ca.key / ca.pem exists;
  //   - a file is unreadable or not a parseable PEM key / certificate;
  //   - the key does not match the certificate, or the certificate is not a CA;
  //   - the CA's permitted names differ from `names` (as sets): the detail lists both and says
  //     to run `pipgate ca rotate` (after which clients must install the new CA);
  //   - the CA has expired at `clock.system_now()` (the detail says to rotate).
  // A CA expiring within kExpiryWarning loads, with a spdlog warning; callers can check
  // `expires_within`. kInternal when creating the files fails (disk, permissions).
  [[nodiscard]] static Result<Authority> load_or_create(const std::string& dir,
                                                        const std::vector<std::string>& names,
                                                        std::string_view label, const Clock& clock,
                                                        Random& random);

  // Loads the CA in `dir` with the same consistency checks, but no name or expiry check (for
  // `pipgate ca show/export`). kNotFound when neither file exists; otherwise errors as above.
  [[nodiscard]] static Result<Authority> load(const std::string& dir);

  // Retires the CA in `dir` and creates a fresh one. Existing ca.key / ca.pem (either or both) move
  // into `dir/retired-<UTC yyyymmddThhmmssZ>/` (a "-N" suffix if that exists). Leaves signed by
  // the old CA are then stale: a LeafStore built on the new Authority replaces them on
  // ensure_all(), or call LeafStore::remove_all first. Errors as load_or_create; on error after
  // the move the old files stay in the retired directory.
  [[nodiscard]] static Result<Authority> rotate(const std::string& dir,
                                                const std::vector<std::string>& names,
                                                std::string_view label, const Clock& clock,
                                                Random& random);

  std::string certificate_pem() const;
  std::vector<std::uint8_t> certificate_der() const;
  CertInfo info() const;
  // The permitted DNS subtrees, lower case, in certificate order.
  std::vector<std::string> permitted_names() const;
  // True when `name` (case-insensitive, trailing dot ignored) is one of permitted_names().
  bool permits(std::string_view name) const;
  // True when the CA's notAfter is before `now + window`.
  bool expires_within(SystemTime now, std::chrono::seconds window) const;

  // Issues a server certificate for `name`: new ECDSA P-256 key, CN and SAN dNSName = name, EKU
  // serverAuth, keyUsage digitalSignature (critical), basicConstraints CA:FALSE, authority and
  // subject key identifiers, random serial from `random`. notBefore = now - 1 h (client clock
  // skew), notAfter = notBefore + lifetime, capped at the CA's notAfter.
  // kInvalidInput when `name` is not permitted, or lifetime is not in (1 h, kMaxLeafLifetime].
  // kConfig when the CA has expired at `now` (rotate it). kInternal when BoringSSL fails.
  [[nodiscard]] Result<Leaf> issue_leaf(std::string_view name, SystemTime now,
                                        std::chrono::seconds lifetime, Random& random) const;

 private:
  struct State;
  explicit Authority(std::shared_ptr<const State> state);
  [[nodiscard]] static Result<std::shared_ptr<const State>> make_state(std::string key_pem,
                                                                       std::string cert_pem);
  [[nodiscard]] static Result<std::shared_ptr<const State>> create(
      const std::string& dir, const std::vector<std::string>& names, std::string_view label,
      const Clock& clock, Random& random);
  std::shared_ptr<const State> state_;
};

}  // namespace pipgate::certs
