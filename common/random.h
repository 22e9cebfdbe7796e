// Randomness is injected like time: certificate serials, DNS query IDs, jitter. Production uses
// SystemRandom (the kernel's getrandom, available to both executables without any TLS library);
// tests use SeededRandom for repeatable runs.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <span>

namespace pipgate {

struct Random {
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
  std::uint64_t next_u64() {
    std::uint64_t v = 0;
    fill(std::span(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
    return v;
  }
};

class SystemRandom final : public Random {
 public:
  void fill(std::span<std::uint8_t> out) override;  // getrandom(2); aborts only if the kernel fails
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : gen_(seed) {}
  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mu_);
    for (auto& b : out) b = static_cast<std::uint8_t>(gen_());
  }

 private:
  std::mutex mu_;
  std::mt19937_64 gen_;
};

}  // namespace pipgate
