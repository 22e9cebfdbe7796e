// glob_match(): fnmatch over whole store keys, "*" crossing "/".
#include "admin/glob.h"

#include <gtest/gtest.h>

namespace pipgate::admin {
namespace {

constexpr const char* kWheel =
    "files.pythonhosted.org/packages/ab/cd/0123456789abcdef0123456789abcdef0123456789abcdef01234567"
    "89ab/numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.whl";
constexpr const char* kSdist =
    "files.pythonhosted.org/packages/ab/cd/0123456789abcdef0123456789abcdef0123456789abcdef01234567"
    "89ab/numpy-2.1.0.tar.gz";
constexpr const char* kIndexJson = "pypi.org/simple/numpy/#v1+json";
constexpr const char* kOther = "pypi.org/simple/requests/#html";

TEST(GlobMatch, MatchesWholeKeysAcrossSlashes) {
  struct Case {
    const char* pattern;
    const char* key;
    bool want;
  };
  const Case cases[] = {
      {"*numpy*", kWheel, true},
      {"*numpy*", kIndexJson, true},
      {"*numpy*", kOther, false},
      {"numpy", kIndexJson, false},  // a bare name is a whole-key glob: no match
      {"*/numpy-2.1.0-*", kWheel, true},
      {"*/numpy-2.1.0-*", kSdist, false},
      {"*.tar.gz", kSdist, true},
      {"*.tar.gz", kWheel, false},
      {"pypi.org/simple/*", kIndexJson, true},
      {"pypi.org/simple/*", kWheel, false},
      {"pypi.org/simple/*/#v1+json", kIndexJson, true},
      {"pypi.org/simple/*/#html", kIndexJson, false},
      {"pypi.org/simple/numpy/#v1+?son", kIndexJson, true},
      {"pypi.org/simple/[mn]umpy/*", kIndexJson, true},
      {"pypi.org/simple/[!n]umpy/*", kIndexJson, false},
      {"*", kWheel, true},
      {"*", "", true},
      {"pypi.org/simple/numpy/\\#v1+json", kIndexJson, true},  // escaped literal
      {"pypi.org/simple/numpy/#v1+json", kIndexJson, true},    // exact key
      {"PYPI.ORG/*", kIndexJson, false},                       // case-sensitive
      {"pypi.org/simple/[numpy/*", kIndexJson, false},         // unclosed "[": literal
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " vs " + c.key);
    EXPECT_EQ(glob_match(c.pattern, c.key), c.want);
  }
}

TEST(CheckGlob, RefusesEmptyHugeAndNul) {
  EXPECT_TRUE(check_glob("*numpy*").has_value());
  EXPECT_EQ(check_glob("").error().code, Errc::kInvalidInput);
  EXPECT_EQ(check_glob(std::string(5000, '*')).error().code, Errc::kInvalidInput);
  EXPECT_EQ(check_glob(std::string("a\0b", 3)).error().code, Errc::kInvalidInput);
}

}  // namespace
}  // namespace pipgate::admin
