#include "common/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace pipgate {

std::optional<UserIds> lookup_user(const std::string& user) {
  if (user.empty()) return std::nullopt;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return std::nullopt;
  return UserIds{found->pw_uid, found->pw_gid};
}

Result<PrivilegeDrop> drop_privileges(const std::string& user, DropOptions options) {
  if (geteuid() != 0) return PrivilegeDrop::kNotRoot;
  auto ids = lookup_user(user);
  if (!ids || ids->uid == 0) return PrivilegeDrop::kNoSuchUser;  // "root" is no drop at all
  const auto fail = [&](const char* what) {
    return make_error(Errc::kInternal,
                      std::string(what) + " for user " + user + ": " + std::strerror(errno));
  };
  // Keep the permitted set across setuid, to re-raise the one capability afterwards.
  if (options.keep_bind_capability && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return fail("prctl(PR_SET_KEEPCAPS)");
  // Order matters: groups and gid while we still may change them, uid last (setuid would
  // forbid the others). glibc applies each to every thread of the process.
  const gid_t gid = ids->gid;
  if (setgroups(1, &gid) != 0) return fail("setgroups");
  if (setgid(gid) != 0) return fail("setgid");
  if (setuid(ids->uid) != 0) return fail("setuid");
  if (setuid(0) == 0) return make_error(Errc::kInternal, "could regain root after setuid");
  if (options.keep_bind_capability) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    const auto bit = 1u << CAP_NET_BIND_SERVICE;
    data[0].effective = data[0].permitted = data[0].inheritable = bit;
    if (syscall(SYS_capset, &header, data) != 0) return fail("capset(CAP_NET_BIND_SERVICE)");
    // Ambient: survives execve of the unprivileged children.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0)
      return fail("prctl(PR_CAP_AMBIENT_RAISE)");
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }
  return PrivilegeDrop::kDropped;
}

std::optional<std::string> blocked_ancestor(const std::string& path, UserIds ids) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto p = fs::absolute(path, ec).parent_path();
  for (; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return p.string();
    mode_t bit = st.st_uid == ids.uid ? S_IXUSR : st.st_gid == ids.gid ? S_IXGRP : S_IXOTH;
    if ((st.st_mode & bit) == 0) return p.string();
    if (p == p.root_path()) break;
  }
  return std::nullopt;
}

Result<> chown_tree(const std::string& path, UserIds ids) {
  namespace fs = std::filesystem;
  auto give = [&](const fs::path& p) -> Result<> {
    if (lchown(p.c_str(), ids.uid, ids.gid) != 0)
      return make_error(Errc::kInternal, "cannot give " + p.string() +
                                             " to the service user: " + std::strerror(errno));
    return {};
  };
  if (auto r = give(path); !r) return r;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (auto r = give(it->path()); !r) return r;
  if (ec) return make_error(Errc::kInternal, "cannot walk " + path + ": " + ec.message());
  return {};
}

}  // namespace pipgate
