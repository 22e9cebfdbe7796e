// Completion handler for co_spawn that keeps exceptions inside the coroutine that threw them:
// asio::detached would rethrow from io_context::run() and stop every connection. The coroutine
// is already over when this runs; all that is left to do is log it (a bug, or bad_alloc).
//
//   asio::co_spawn(ex, serve_stream(...), internal::log_exception("h2 stream"));
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <string_view>

namespace pipgate::proxy::internal {

inline auto log_exception(std::string_view what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("{}: unexpected exception: {}", what, x.what());
    } catch (...) {
      spdlog::error("{}: unexpected exception", what);
    }
  };
}

}  // namespace pipgate::proxy::internal
