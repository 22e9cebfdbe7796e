#include "proxy/cache/resource.h"

#include <cctype>
#include <vector>

namespace pipgate::proxy::cache {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (!path.empty() && path.back() == '/') parts.push_back({});
  return parts;
}

bool is_hex(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c)))
      return false;
  return true;
}

// A project name as it appears in a URL: PEP 508 names are letters, digits and -_. only; anything
// else (percent-escapes, dot segments) is not a page we cache.
bool plausible_project(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

}  // namespace

std::string normalize_project(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && !out.empty()) out += '-';
    sep = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string project_of_filename(std::string_view filename) {
  for (std::size_t i = 0; i + 1 < filename.size(); ++i)
    if (filename[i] == '-' && std::isdigit(static_cast<unsigned char>(filename[i + 1])))
      return i == 0 ? std::string() : normalize_project(filename.substr(0, i));
  return {};
}

Resource classify(std::string_view host, std::string_view path) {
  Resource r;
  // A query makes the target another resource; PyPI clients never send one to these paths.
  if (path.find('?') != std::string_view::npos || path.find('#') != std::string_view::npos ||
      path.find("%") != std::string_view::npos || path.empty() || path[0] != '/')
    return r;
  auto parts = split_path(path.substr(1));
  for (std::size_t i = 0; i < parts.size(); ++i)
    if ((parts[i].empty() && i + 1 != parts.size()) || parts[i] == "." || parts[i] == "..")
      return r;  // "//", dot segments: not a canonical path, not cached
  if (host == "files.pythonhosted.org") {
    if (parts.size() < 2 || parts[0] != "packages") return r;
    auto file = parts.back();
    if (file.empty()) return r;
    // Hashed layout: /packages/ab/cd/<60 hex>/<file>
    if (parts.size() == 5 && is_hex(parts[1], 2) && is_hex(parts[2], 2) && is_hex(parts[3], 60)) {
      r.kind = ResourceKind::kFile;
      r.project = project_of_filename(file);
      constexpr std::string_view kMeta = ".metadata";
      bool metadata = file.size() > kMeta.size() && file.ends_with(kMeta);
      if (!metadata)
        r.digest_hex = std::string(parts[1]) + std::string(parts[2]) + std::string(parts[3]);
      return r;
    }
    // Legacy layout: /packages/<pyver>/<x>/<name>/<file>, answered with a redirect.
    if (parts.size() == 5 && plausible_project(parts[3])) {
      r.kind = ResourceKind::kFile;
      r.project = project_of_filename(file);
      if (r.project.empty()) r.project = normalize_project(parts[3]);
    }
    return r;
  }
  if (host == "pypi.org") {
    if (parts.size() >= 1 && parts[0] == "simple") {
      if (parts.size() == 2 && parts[1].empty()) {
        r.kind = ResourceKind::kSimpleIndex;  // /simple/
      } else if (parts.size() == 3 && parts[2].empty() && plausible_project(parts[1])) {
        r.kind = ResourceKind::kSimpleIndex;  // /simple/<project>/
        r.project = normalize_project(parts[1]);
      }
      return r;
    }
    if (parts.size() >= 3 && parts[0] == "pypi" && plausible_project(parts[1])) {
      bool project_json = parts.size() == 3 && parts[2] == "json";
      bool release_json = parts.size() == 4 && parts[3] == "json" && plausible_project(parts[2]);
      if (project_json || release_json) {
        r.kind = ResourceKind::kJsonApi;
        r.project = normalize_project(parts[1]);
      }
    }
  }
  return r;
}

std::string cache_key(std::string_view host, std::string_view path, Variant variant) {
  std::string key;
  key.reserve(host.size() + path.size() + 10);
  key.append(host).append(path);
  switch (variant) {
    case Variant::kNone:
      break;
    case Variant::kJson:
      key += "#v1+json";
      break;
    case Variant::kHtmlV1:
      key += "#v1+html";
      break;
    case Variant::kHtml:
      key += "#html";
      break;
  }
  return key;
}

}  // namespace pipgate::proxy::cache
