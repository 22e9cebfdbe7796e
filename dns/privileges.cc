#include "dns/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace pipgate::dns {

Result<PrivilegeDrop> drop_privileges(const std::string& user) {
  if (geteuid() != 0) return PrivilegeDrop::kNotRoot;
  if (user.empty()) return PrivilegeDrop::kNoSuchUser;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return PrivilegeDrop::kNoSuchUser;
  }
  if (found->pw_uid == 0) return PrivilegeDrop::kNoSuchUser;  // "root" is no drop at all
  const auto fail = [&](const char* what) {
    return make_error(Errc::kInternal,
                      std::string(what) + " for user " + user + ": " + std::strerror(errno));
  };
  // Order matters: groups and gid while we still may change them, uid last (setuid would
  // forbid the others).
  const gid_t gid = found->pw_gid;
  if (setgroups(1, &gid) != 0) return fail("setgroups");
  if (setgid(gid) != 0) return fail("setgid");
  if (setuid(found->pw_uid) != 0) return fail("setuid");
  if (setuid(0) == 0) return make_error(Errc::kInternal, "could regain root after setuid");
  return PrivilegeDrop::kDropped;
}

}  // namespace pipgate::dns
