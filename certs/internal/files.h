// Small POSIX file helpers for certs/: the modes and atomicity rules live here, once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pipgate::certs::internal {

// Whole file as text, std::nullopt when it does not exist. kInternal on other errors, or when
// larger than 1 MiB (no PEM file of ours is near that).
[[nodiscard]] Result<std::optional<std::string>> read_file(const std::string& path);

// True when `path` exists (as anything, even a dangling symlink).
bool exists(const std::string& path);

// Creates `path` and missing parents with `mode`; an existing directory is left as it is.
[[nodiscard]] Result<> make_dirs(const std::string& path, unsigned mode);

// Creates `path` with `mode` and `contents`; fails (kInternal) when it already exists. The mode is
// set at creation (O_EXCL), so a key file is never readable by others, even for an instant.
[[nodiscard]] Result<> create_file(const std::string& path, std::string_view contents,
                                   unsigned mode);

// Replaces `path` atomically: writes `<path>.tmp` (created with `mode`), fsyncs, renames over
// `path`, fsyncs the directory. Readers see the old or the new contents, never a mix.
[[nodiscard]] Result<> replace_file(const std::string& path, std::string_view contents,
                                    unsigned mode);

// rename(2), then fsync of the target's directory.
[[nodiscard]] Result<> move_file(const std::string& from, const std::string& to);

}  // namespace pipgate::certs::internal
