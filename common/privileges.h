// Dropping root after the ports are bound (ports below 1024 need root or CAP_NET_BIND_SERVICE).
//
//   auto who = lookup_user(cfg.appliance.user);            // before: chown the data dir to it
//   auto r = drop_privileges(cfg.appliance.user, {.keep_bind_capability = true});
//
// With keep_bind_capability the process keeps CAP_NET_BIND_SERVICE (and only it), effective
// and ambient, so it can still bind a new listener on SIGHUP and the children it execs
// (pipgate-dns, restarted by the supervisor) can bind port 53 without root. Capabilities are
// per thread: call it on the thread that binds and forks (the main thread).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/result.h"

namespace pipgate {

enum class PrivilegeDrop {
  kDropped,     // was root; now runs as `user` (its uid, gid and only its primary group)
  kNotRoot,     // not root: nothing to drop (e.g. systemd User= with CAP_NET_BIND_SERVICE)
  kNoSuchUser,  // root, but `user` does not exist (or is empty, or is root): still root; warn
};

struct DropOptions {
  bool keep_bind_capability = false;
};

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The ids of `user`, or nullopt when it does not exist (or is empty).
std::optional<UserIds> lookup_user(const std::string& user);

// Switches this process to `user` when it runs as root. kInternal when a setgroups/setgid/
// setuid/capset call fails: the caller must not go on serving as root by accident.
[[nodiscard]] Result<PrivilegeDrop> drop_privileges(const std::string& user,
                                                    DropOptions options = {});

// Whether `ids` may traverse every directory above `path` (the x bit for its owner, group or
// others): a data dir under /root cannot be used after dropping to another user. Returns the
// first directory that stops it, or nullopt when every one lets it through.
std::optional<std::string> blocked_ancestor(const std::string& path, UserIds ids);

// Gives `path` and everything below it (not following symlinks) to `ids`, so the process can
// still write its data after the drop. kInternal naming the first path that failed.
[[nodiscard]] Result<> chown_tree(const std::string& path, UserIds ids);

}  // namespace pipgate
