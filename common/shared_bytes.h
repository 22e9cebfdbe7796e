// A read-only run of bytes and whatever keeps them alive: a body chunk on its way from the store
// (a blob RocksDB read, a hot cache entry) or from upstream to a client, handed from stage to stage
// without copying. Copies share the owner; slices (substr, remove_prefix) narrow the view.
//
//   SharedBytes chunk = std::string("...");          // takes over a string
//   SharedBytes blob(owner, std::string_view(p, n));  // any shared owner of the bytes at p
//   send(chunk.view());
#pragma once

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace pipgate {

class SharedBytes {
 public:
  SharedBytes() = default;
  // Implicit: producers that build a std::string hand it over as is.
  SharedBytes(std::string bytes)  // NOLINT(google-explicit-constructor)
      : SharedBytes(take(std::move(bytes))) {}
  SharedBytes(const char* text)  // NOLINT(google-explicit-constructor): a copy, for literals
      : SharedBytes(std::string(text)) {}
  // `view` must stay valid as long as `owner` lives.
  SharedBytes(std::shared_ptr<const void> owner, std::string_view view)
      : owner_(std::move(owner)), view_(view) {}

  std::string_view view() const { return view_; }
  const char* data() const { return view_.data(); }
  std::size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  std::string str() const { return std::string(view_); }

  // Bytes [pos, pos + n) of this one, sharing the owner.
  SharedBytes substr(std::size_t pos, std::size_t n = std::string_view::npos) const {
    return SharedBytes(owner_, view_.substr(pos, n));
  }
  void remove_prefix(std::size_t n) { view_.remove_prefix(n); }

  friend bool operator==(const SharedBytes& a, std::string_view b) { return a.view_ == b; }
  friend std::ostream& operator<<(std::ostream& os, const SharedBytes& b) { return os << b.view_; }

 private:
  static SharedBytes take(std::string bytes) {
    if (bytes.empty()) return {};
    auto owner = std::make_shared<const std::string>(std::move(bytes));
    std::string_view view(*owner);
    return SharedBytes(std::move(owner), view);
  }

  std::shared_ptr<const void> owner_;
  std::string_view view_;
};

}  // namespace pipgate
