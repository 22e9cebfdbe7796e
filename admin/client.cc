#include "admin/client.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pipgate::admin {

Result<Client> Client::connect(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    return make_error(Errc::kInvalidInput, "admin socket path too long: " + path);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kInternal, std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    switch (err) {
      case ENOENT:
      case ENOTDIR:
        return make_error(Errc::kNotFound, "is pipgate running? no admin socket at " + path);
      case ECONNREFUSED:
        return make_error(Errc::kUnavailable,
                          "is pipgate running? nothing answers on the admin socket " + path +
                              " (left by a pipgate that stopped)");
      case EACCES:
      case EPERM:
        return make_error(Errc::kUnavailable,
                          "permission denied on the admin socket " + path +
                              ": it is for root and the group of [appliance] user (try sudo)");
      default:
        return make_error(Errc::kUnavailable,
                          "cannot connect to the admin socket " + path + ": " + std::strerror(err));
    }
  }
  return Client(fd, path);
}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      lines_(std::move(other.lines_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    lines_ = std::move(other.lines_);
  }
  return *this;
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> Client::call(const Request& req,
                                 const std::function<void(const Progress&)>& on_progress,
                                 std::chrono::milliseconds silence) {
  const auto broken = [&](std::string_view what) {
    return make_error(Errc::kUnavailable, fmt::format("the admin connection ({}) {}", path_, what));
  };
  std::string out = encode_request(req);
  for (std::size_t sent = 0; sent < out.size();) {
    auto n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // A server refusing us (too many clients) writes why and closes before reading: the
      // reason may be waiting below.
      if (errno == EPIPE || errno == ECONNRESET) break;
      return broken(std::string("broke while sending: ") + std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  char buf[64 * 1024];
  for (;;) {
    auto line = lines_.next();
    if (!line) return make_error(Errc::kInternal, "admin reply: " + line.error().detail);
    if (*line) {
      if ((*line)->empty()) continue;
      auto reply = parse_reply(**line);
      if (!reply) return make_error(Errc::kInternal, "admin reply: " + reply.error().detail);
      switch (reply->kind) {
        case Reply::Kind::kProgress:
          if (on_progress) on_progress(reply->progress);
          continue;
        case Reply::Kind::kResult:
          return std::move(reply->result_json);
        case Reply::Kind::kError:
          return make_error(Errc::kInvalidInput, std::move(reply->error));
      }
    }
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(silence.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return broken(std::string("poll: ") + std::strerror(errno));
    }
    if (ready == 0) return broken(fmt::format("was silent for {} s", silence.count() / 1000));
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return broken(std::string("broke: ") + std::strerror(errno));
    }
    if (n == 0) return broken("was closed by pipgate before the answer was complete");
    lines_.append(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

}  // namespace pipgate::admin
