// Shell-glob matching of store keys, for `pipgate cache ls PATTERN` and `cache purge PATTERN`.
// fnmatch(3) without flags: `*` and `?` also match "/", so a pattern need not know the layout.
// Keys look like
//   files.pythonhosted.org/packages/ab/cd/<60 hex>/numpy-2.1.0-cp312-...-manylinux_2_17_x86_64.whl
//   pypi.org/simple/numpy/#v1+json         (a simple-index page; also #v1+html, #html)
//   pypi.org/pypi/numpy/json
// so:
//   glob_match("*numpy*", key)                     // every object of numpy (and of numpy-*!)
//   glob_match("pypi.org/simple/*", key)           // every index page
//   glob_match("*/numpy-2.1.0-*", key)             // one release's files
//   glob_match("*.tar.gz", key)                    // every sdist
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"

namespace pipgate::admin {

// True when `key` matches `pattern` as a whole. A pattern with an unclosed "[" matches only
// itself literally (fnmatch's behaviour); `\` escapes the next character.
bool glob_match(std::string_view pattern, std::string_view key);

// Checks a pattern a person typed: non-empty, at most 4096 bytes, no NUL. kInvalidInput saying
// which.
[[nodiscard]] Result<void> check_glob(std::string_view pattern);

}  // namespace pipgate::admin
