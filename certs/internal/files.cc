#include "certs/internal/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pipgate::certs::internal {
namespace {

constexpr std::size_t kMaxFileBytes = 1 << 20;

std::unexpected<Error> os_error(std::string_view what, const std::string& path) {
  return make_error(Errc::kInternal, std::string(what) + " " + path + ": " + std::strerror(errno));
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close(2) can report a deferred write error: callers that wrote must check it.
  int release_and_close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Result<> write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Makes a rename durable: the new directory entry survives a power cut.
Result<> sync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return os_error("cannot open directory", dir);
  if (::fsync(fd.get()) != 0) return os_error("cannot sync directory", dir);
  return {};
}

// O_EXCL: the file is new, so the mode given here is the one it has from its first instant
// (umask can only remove bits); fchmod then sets exactly `mode` whatever the umask was.
Result<> write_new(const std::string& path, std::string_view contents, unsigned mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
               static_cast<mode_t>(mode)));
  if (fd.get() < 0) return os_error("cannot create", path);
  // From here on the file is ours: on failure remove it, never leave a half-written key behind.
  auto fail = [&](std::string_view what) {
    auto err = os_error(what, path);
    ::unlink(path.c_str());
    return err;
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return fail("cannot chmod");
  if (auto r = write_all(fd.get(), contents, path); !r) {
    ::unlink(path.c_str());
    return r;
  }
  if (::fsync(fd.get()) != 0) return fail("cannot sync");
  if (fd.release_and_close() != 0) return fail("cannot close");
  return {};
}

}  // namespace

Result<std::optional<std::string>> read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return os_error("cannot open", path);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes) {
      return make_error(Errc::kInternal, "file too large (over 1 MiB): " + path);
    }
  }
  return std::optional<std::string>(std::move(out));
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<> make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return make_error(Errc::kInternal, "empty directory path");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return make_error(Errc::kInternal, "not a directory: " + path);
  }
  std::string parent = parent_of(path);
  if (parent != path && parent != "." && parent != "/") {
    if (auto r = make_dirs(parent, mode); !r) return r;
  }
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
    return os_error("cannot create directory", path);
  }
  return {};
}

Result<> create_file(const std::string& path, std::string_view contents, unsigned mode) {
  if (auto r = write_new(path, contents, mode); !r) return r;
  return sync_dir(parent_of(path));
}

Result<> replace_file(const std::string& path, std::string_view contents, unsigned mode) {
  const std::string tmp = path + ".tmp";
  // A leftover from a crash mid-write: ours to discard (single writer per directory).
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return os_error("cannot remove", tmp);
  if (auto r = write_new(tmp, contents, mode); !r) return r;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = os_error("cannot rename into place", path);
    ::unlink(tmp.c_str());
    return err;
  }
  return sync_dir(parent_of(path));
}

Result<> move_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return os_error("cannot move " + from + " to", to);
  if (auto r = sync_dir(parent_of(to)); !r) return r;
  return sync_dir(parent_of(from));
}

}  // namespace pipgate::certs::internal
