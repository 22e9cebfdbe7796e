// Serves the current leaf certificate for each intercepted name, persists leaves under
// `<data_dir>/certs/` (`<name>.pem` certificate, `<name>.key` key with mode 0600) so a restart
// reuses them, and renews each one when less than a third of its lifetime is left.
//
// Leaves are ours to replace, unlike the CA: a missing, corrupt or foreign leaf file (not signed
// by the current CA, key not matching) is logged as a warning and reissued, never an error.
//
//   certs::LeafStore leaves{ca, data_dir + "/certs", clock, random};
//   if (auto r = leaves.ensure_all(); !r) return r;              // at start
//   ... timer at leaves.next_renewal(): leaves.renew_due();     // maintenance task
//   ... TLS SNI callback: auto leaf = leaves.current(sni);       // nullptr → refuse handshake
//
// Threads: current(), all() and next_renewal() may be called from any thread at any time.
// ensure_all() and renew_due() serialize with each other. A handshake that already holds a
// shared_ptr<const Leaf> keeps that leaf alive after a renewal; only new lookups see the new one.
// `clock` and `random` must outlive the store (it keeps a copy of `ca`, which is cheap). After a CA
// rotation, build a new LeafStore on the new Authority: its ensure_all() replaces the old leaves.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs/authority.h"
#include "certs/cert_info.h"
#include "certs/leaf.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"

namespace pipgate::certs {

class LeafStore {
 public:
  // Lifetime of each leaf issued here: 90 days, renewed after about 60.
  static constexpr std::chrono::seconds kLifetime = Authority::kMaxLeafLifetime;

  LeafStore(const Authority& ca, std::string dir, const Clock& clock, Random& random);
  ~LeafStore();
  LeafStore(const LeafStore&) = delete;
  LeafStore& operator=(const LeafStore&) = delete;

  // For each name the CA permits: reuses `<dir>/<name>.pem` + `.key` when they parse, match, were
  // signed by the current CA, name that host and are not due at the clock's time; otherwise issues
  // a new leaf and writes it atomically (temp file + rename; key 0600). Creates `dir` (0700).
  // kInternal when a new leaf cannot be issued or written (it tries every name first; a leaf that
  // was issued but not written is still served, and reissued after a restart). kConfig when the
  // CA permits a name that is not a valid host name (a CA made by hand).
  [[nodiscard]] Result<> ensure_all();

  // Reissues (and persists) every leaf that is_due at the clock's time or is not yet valid (the
  // clock went back), and any name that has no leaf yet. Returns the renewed names, lower case.
  // kInternal as ensure_all: it tries every name first, and the leaves it did renew stay served.
  [[nodiscard]] Result<std::vector<std::string>> renew_due();

  // The leaf to present for SNI `name` (case-insensitive, trailing dot ignored), or nullptr when
  // the name is not intercepted or has no leaf yet.
  std::shared_ptr<const Leaf> current(std::string_view name) const;

  // Earliest due time over the current leaves: when to call renew_due() next. The epoch
  // (SystemTime{}) when there are no leaves, i.e. "now".
  SystemTime next_renewal() const;

  // The current leaves, ordered by name.
  std::vector<std::shared_ptr<const Leaf>> all() const;

  // Due once less than a third of the certificate's lifetime (not_after - not_before) is left.
  static bool is_due(const CertInfo& info, SystemTime now);
  // The instant is_due becomes true: not_after - (not_after - not_before) / 3.
  static SystemTime due_time(const CertInfo& info);

  // Deletes every `*.pem`, `*.key` and leftover temp file in `dir` (e.g. after a CA rotation), so
  // no leaf of the retired CA lingers on disk. Missing `dir` is fine. kInternal on I/O errors.
  [[nodiscard]] static Result<> remove_all(const std::string& dir);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pipgate::certs
