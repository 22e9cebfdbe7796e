#include "store/internal/info_log.h"

#include <rocksdb/env.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <string_view>

namespace pipgate::store::internal {
namespace {

class InfoLog final : public rocksdb::Logger {
 public:
  InfoLog() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { emit(spdlog::level::debug, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    spdlog::level::level_enum to = spdlog::level::debug;
    if (level == rocksdb::InfoLogLevel::WARN_LEVEL) to = spdlog::level::warn;
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL &&
        level != rocksdb::InfoLogLevel::HEADER_LEVEL) {
      to = spdlog::level::err;
    }
    emit(to, format, ap);
  }

 private:
  static void emit(spdlog::level::level_enum level, const char* format, va_list ap) {
    if (!spdlog::should_log(level)) return;
    std::array<char, 1024> line;
    int n = std::vsnprintf(line.data(), line.size(), format, ap);
    std::string_view text(line.data(), n < 0 ? 0 : std::min<std::size_t>(n, line.size() - 1));
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    spdlog::log(level, "rocksdb: {}", text);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_info_log() { return std::make_shared<InfoLog>(); }

}  // namespace pipgate::store::internal
