// BLAKE2b-256, the digest PyPI puts in every files.pythonhosted.org path and the one the store
// records for every committed object. Streaming, so a 1 GiB wheel is hashed as it passes through.
//
//   store::Blake2b256 h;
//   h.update(first_bytes);  h.update(more_bytes);
//   store::Digest d = h.finish();                 // the hasher is reset and can be reused
//   if (to_hex(d) != "0e5751c0...") ...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pipgate::store {

using Digest = std::array<std::uint8_t, 32>;

// Incremental BLAKE2b-256 (BoringSSL). Not thread-safe; cheap to create and to move.
class Blake2b256 {
 public:
  Blake2b256();
  Blake2b256(const Blake2b256&);
  Blake2b256& operator=(const Blake2b256&);
  ~Blake2b256();

  void update(std::span<const std::uint8_t> bytes);
  void update(std::string_view bytes);
  // Returns the digest of everything passed to update() since construction or the last finish(),
  // and starts over.
  [[nodiscard]] Digest finish();

  // One-shot convenience.
  [[nodiscard]] static Digest of(std::span<const std::uint8_t> bytes);
  [[nodiscard]] static Digest of(std::string_view bytes);

 private:
  // Storage for BoringSSL's BLAKE2B_CTX (kept opaque so this header includes no OpenSSL).
  alignas(8) std::array<std::uint8_t, 256> ctx_;
};

// Lower-case hex, 64 characters.
[[nodiscard]] std::string to_hex(const Digest& digest);
// Parses 64 hex digits (either case); nullopt for any other input.
[[nodiscard]] std::optional<Digest> digest_from_hex(std::string_view hex);

}  // namespace pipgate::store
