// Dropping root after the ports are bound (ports below 1024 need root or CAP_NET_BIND_SERVICE).
#pragma once

#include <string>

#include "common/result.h"

namespace pipgate::dns {

enum class PrivilegeDrop {
  kDropped,     // was root; now runs as `user` (its uid, gid and only its primary group)
  kNotRoot,     // not root: nothing to drop (e.g. systemd User= with CAP_NET_BIND_SERVICE)
  kNoSuchUser,  // root, but `user` does not exist (or is empty): still root; warn
};

// Switches this process to `user` when it runs as root. kInternal when a setgroups/setgid/
// setuid call fails: the caller must not go on serving as root by accident.
[[nodiscard]] Result<PrivilegeDrop> drop_privileges(const std::string& user);

}  // namespace pipgate::dns
