#include "store/digest.h"

#include <openssl/blake2.h>

#include <cstring>

namespace pipgate::store {
namespace {

static_assert(sizeof(BLAKE2B_CTX) <= 256, "grow Blake2b256::ctx_");
static_assert(BLAKE2B256_DIGEST_LENGTH == std::tuple_size_v<Digest>);

BLAKE2B_CTX* as_ctx(std::array<std::uint8_t, 256>& storage) {
  return reinterpret_cast<BLAKE2B_CTX*>(storage.data());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Blake2b256::Blake2b256() { BLAKE2B256_Init(as_ctx(ctx_)); }
// BLAKE2B_CTX is plain data (no pointers), so a byte copy is a valid copy of the hash state.
Blake2b256::Blake2b256(const Blake2b256&) = default;
Blake2b256& Blake2b256::operator=(const Blake2b256&) = default;
Blake2b256::~Blake2b256() = default;

void Blake2b256::update(std::span<const std::uint8_t> bytes) {
  if (!bytes.empty()) BLAKE2B256_Update(as_ctx(ctx_), bytes.data(), bytes.size());
}

void Blake2b256::update(std::string_view bytes) {
  if (!bytes.empty()) BLAKE2B256_Update(as_ctx(ctx_), bytes.data(), bytes.size());
}

Digest Blake2b256::finish() {
  Digest out;
  BLAKE2B256_Final(out.data(), as_ctx(ctx_));
  BLAKE2B256_Init(as_ctx(ctx_));
  return out;
}

Digest Blake2b256::of(std::span<const std::uint8_t> bytes) {
  Blake2b256 h;
  h.update(bytes);
  return h.finish();
}

Digest Blake2b256::of(std::string_view bytes) {
  Blake2b256 h;
  h.update(bytes);
  return h.finish();
}

std::string to_hex(const Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (std::uint8_t b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::optional<Digest> digest_from_hex(std::string_view hex) {
  Digest out;
  if (hex.size() != out.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace pipgate::store
