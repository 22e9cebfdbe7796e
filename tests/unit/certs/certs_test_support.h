// Shared by the certs/ tests: a temp directory, file helpers, and Debian's OpenSSL CLI run as an
// independent verifier of what BoringSSL produced.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace pipgate::certs::testing {

// Prints the error detail on failure, like RocksDB's ASSERT_OK.
#define PIPGATE_ASSERT_OK(expr)                                                      \
  do {                                                                               \
    const auto& pipgate_r_ = (expr);                                                 \
    ASSERT_TRUE(pipgate_r_.has_value()) << ::pipgate::to_string(pipgate_r_.error()); \
  } while (0)

// The wall clock, read here only: the tests start a ManualClock at the real time so that
// `openssl verify` (which checks validity) agrees with the certificates without -attime tricks;
// we still pass -attime with the ManualClock's time, so advancing it is exact.
inline SystemTime real_now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pipgate-certs-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Permission bits (e.g. 0600) of `path`, or -1 when it does not exist.
inline int mode_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs the OpenSSL CLI with `args` (each already shell-safe: paths under our temp dir, names).
inline Run openssl(const std::string& args) {
  const std::string cmd = std::string(PIPGATE_OPENSSL_CLI) + " " + args + " 2>&1";
  Run run{-1, {}};
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return run;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) run.output.append(buf, n);
  int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

inline long long epoch_seconds(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// `openssl verify` of `cert_file` against the root in `ca_file`, as a TLS client checking the
// server `hostname` at time `at` would.
inline Run verify(const std::string& ca_file, const std::string& cert_file,
                  const std::string& hostname, SystemTime at) {
  return openssl("verify -CAfile " + ca_file + " -purpose sslserver -verify_hostname " + hostname +
                 " -attime " + std::to_string(epoch_seconds(at)) + " " + cert_file);
}

}  // namespace pipgate::certs::testing
