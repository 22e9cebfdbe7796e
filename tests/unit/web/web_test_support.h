// Helpers for web/ unit tests: a temp dir and a real CA made by certs::Authority in it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "certs/authority.h"
#include "common/clock.h"
#include "common/random.h"

namespace pipgate::web::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "pipgate-web-test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A fresh name-constrained CA for pypi.org and files.pythonhosted.org.
inline certs::Authority make_ca(const TempDir& dir) {
  RealClock clock;
  SeededRandom random(7);
  auto ca = certs::Authority::load_or_create(
      (dir.path() / "ca").string(), {"pypi.org", "files.pythonhosted.org"}, "unit", clock, random);
  if (!ca) ADD_FAILURE() << ca.error().detail;
  return std::move(*ca);
}

}  // namespace pipgate::web::testing
