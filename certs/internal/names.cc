#include "certs/internal/names.h"

#include <algorithm>

namespace pipgate::certs::internal {
namespace {

bool is_ldh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// RFC 1123 host name syntax. Wildcards are refused: a wildcard subtree would widen what the CA
// may vouch for beyond the names the DNS responder actually intercepts.
bool is_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t labels = 0;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), is_ldh)) return false;
    ++labels;
    start = end + 1;
  }
  return labels >= 2;
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<std::vector<std::string>> normalize_names(const std::vector<std::string>& names) {
  if (names.empty()) {
    return make_error(Errc::kConfig,
                      "no intercepted names: the CA must be limited to at least one");
  }
  std::vector<std::string> out;
  for (const auto& raw : names) {
    std::string name = normalize_name(raw);
    if (!is_host_name(name)) {
      return make_error(Errc::kConfig, "intercepted name \"" + raw +
                                           "\" is not a DNS host name (e.g. \"pypi.org\")");
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

}  // namespace pipgate::certs::internal
