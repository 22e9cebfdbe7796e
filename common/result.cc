#include "common/result.h"

#include <spdlog/spdlog.h>

namespace pipgate {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kInvalidInput:
      return "invalid input";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kCorrupt:
      return "corrupt";
    case Errc::kNoSpace:
      return "no space";
    case Errc::kNotFound:
      return "not found";
    case Errc::kConfig:
      return "config";
    case Errc::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string to_string(const Error& e) { return std::string(errc_name(e.code)) + ": " + e.detail; }

void ignore_error(const Error& e, std::string_view why) {
  spdlog::debug("ignored error ({}): {}", why, to_string(e));
}

}  // namespace pipgate
