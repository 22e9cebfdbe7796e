#include "store/internal/meta_codec.h"

#include "store/internal/keys.h"

namespace pipgate::store::internal {
namespace {

// Layout version 1:
//   u8 1 | be64 version | be32 chunk_size | be64 size | 32 digest | be32 status
//   | be64 created µs | be64 validated µs | be64 last_access µs
//   | be32 header count | (be32 len, name, be32 len, value)*
constexpr std::uint8_t kRecordVersion = 1;

// Records are written only by this code; a limit still guards decode() against a corrupt
// length turning into a huge allocation.
constexpr std::uint32_t kMaxHeaders = 4096;

class Cursor {
 public:
  explicit Cursor(std::string_view in) : in_(in) {}
  bool u(int bytes, std::uint64_t& out) {
    if (in_.size() < static_cast<std::size_t>(bytes)) return false;
    out = get_be(in_, bytes);
    in_.remove_prefix(bytes);
    return true;
  }
  bool str(std::string& out) {
    std::uint64_t len;
    if (!u(4, len) || in_.size() < len) return false;
    out.assign(in_.substr(0, len));
    in_.remove_prefix(len);
    return true;
  }
  bool raw(std::uint8_t* out, std::size_t n) {
    if (in_.size() < n) return false;
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(in_[i]);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

void put_str(std::string& out, std::string_view s) {
  put_be(out, s.size(), 4);
  out.append(s);
}

}  // namespace

std::uint64_t charged_bytes(const ObjectRecord& record) {
  constexpr std::uint64_t kRecordOverhead = 128;
  std::uint64_t n = record.meta.size_bytes + record.meta.key.size() + kRecordOverhead;
  for (const auto& [name, value] : record.meta.head.headers) n += name.size() + value.size() + 8;
  return n;
}

std::string encode(const ObjectRecord& r) {
  std::string out;
  out.push_back(static_cast<char>(kRecordVersion));
  put_be(out, r.meta.version, 8);
  put_be(out, r.chunk_size_bytes, 4);
  put_be(out, r.meta.size_bytes, 8);
  out.append(reinterpret_cast<const char*>(r.meta.digest.data()), r.meta.digest.size());
  put_be(out, static_cast<std::uint32_t>(r.meta.head.status), 4);
  put_be(out, to_micros(r.meta.created), 8);
  put_be(out, to_micros(r.meta.validated), 8);
  put_be(out, to_micros(r.meta.last_access), 8);
  put_be(out, r.meta.head.headers.size(), 4);
  for (const auto& [name, value] : r.meta.head.headers) {
    put_str(out, name);
    put_str(out, value);
  }
  return out;
}

Result<ObjectRecord> decode(std::string_view key, std::string_view bytes) {
  auto corrupt = [&](const char* what) {
    return make_error(Errc::kCorrupt, "store: meta record of '" + std::string(key) + "': " + what);
  };
  Cursor c(bytes);
  std::uint64_t version, chunk, size, status, created, validated, access, count;
  if (!c.u(1, version)) return corrupt("empty");
  if (version != kRecordVersion) return corrupt("unknown record version");
  ObjectRecord r;
  r.meta.key = std::string(key);
  if (!c.u(8, r.meta.version) || !c.u(4, chunk) || !c.u(8, size) ||
      !c.raw(r.meta.digest.data(), r.meta.digest.size()) || !c.u(4, status) || !c.u(8, created) ||
      !c.u(8, validated) || !c.u(8, access) || !c.u(4, count)) {
    return corrupt("truncated");
  }
  if (chunk == 0 && size != 0) return corrupt("zero chunk size");
  if (count > kMaxHeaders) return corrupt("too many headers");
  r.chunk_size_bytes = static_cast<std::uint32_t>(chunk);
  r.meta.size_bytes = size;
  r.meta.head.status = static_cast<int>(status);
  r.meta.created = from_micros(created);
  r.meta.validated = from_micros(validated);
  r.meta.last_access = from_micros(access);
  r.meta.head.headers.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!c.str(name) || !c.str(value)) return corrupt("truncated header");
    r.meta.head.headers.emplace_back(std::move(name), std::move(value));
  }
  if (!c.empty()) return corrupt("trailing bytes");
  return r;
}

}  // namespace pipgate::store::internal
