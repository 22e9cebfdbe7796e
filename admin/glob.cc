#include "admin/glob.h"

#include <fnmatch.h>

#include <string>

namespace pipgate::admin {

bool glob_match(std::string_view pattern, std::string_view key) {
  // fnmatch needs NUL-terminated strings; keys and checked patterns hold no NUL.
  std::string p(pattern), k(key);
  return ::fnmatch(p.c_str(), k.c_str(), 0) == 0;
}

Result<void> check_glob(std::string_view pattern) {
  if (pattern.empty()) return make_error(Errc::kInvalidInput, "the pattern is empty");
  if (pattern.size() > 4096)
    return make_error(Errc::kInvalidInput, "the pattern is longer than 4096 bytes");
  if (pattern.find('\0') != std::string_view::npos)
    return make_error(Errc::kInvalidInput, "the pattern contains a NUL byte");
  return {};
}

}  // namespace pipgate::admin
