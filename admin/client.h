// The CLI's side of the admin socket (admin/protocol.h): connect, send one request, read progress
// lines until the final one. Blocking; for `pipgate status` and `pipgate cache ...`, one thread.
//
//   auto c = Client::connect(socket_path(cfg));
//   if (!c) { print(c.error().detail); return 1; }   // "is pipgate running? no admin socket at
//   ..." auto json = c->call({.cmd = Command::kCacheVerify}, [](const Progress& p) { show(p); });
//   auto result = decode_verify(*json);
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "admin/protocol.h"
#include "common/result.h"

namespace pipgate::admin {

class Client {
 public:
  // Errors, each with a detail that says what to do: kNotFound when there is no socket file (is
  // pipgate running?); kUnavailable when nothing answers on it, or permission is denied (the
  // socket is for root and the [appliance] user's group).
  [[nodiscard]] static Result<Client> connect(const std::string& path);

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  ~Client();

  // Sends `req` and returns the result object as JSON text (Reply::result_json), calling
  // `on_progress` (may be empty) for each progress line. Errors: kInvalidInput with the server's
  // own message when it answered {"error": ...}; kUnavailable when the connection broke or
  // nothing arrived for `silence` (a long operation sends progress at least that often);
  // kInternal when the reply does not parse.
  [[nodiscard]] Result<std::string> call(
      const Request& req, const std::function<void(const Progress&)>& on_progress,
      std::chrono::milliseconds silence = std::chrono::minutes(5));

 private:
  Client(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
  LineReader lines_{kMaxReplyLineBytes};
};

}  // namespace pipgate::admin
