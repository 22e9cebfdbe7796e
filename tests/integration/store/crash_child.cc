// Test-only child for crash_test: commits known objects, then starts writes and keeps
// appending until the parent kills it with SIGKILL.
//
//   store_crash_child DIR CHUNKS_BEFORE_READY
// Prints "ready\n" once CHUNKS_BEFORE_READY chunks of each unfinished write are in the store,
// then keeps appending (so the kill lands mid-write) up to a bound, then waits to be killed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/clock.h"
#include "store/store.h"

namespace {

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

[[noreturn]] void die(const char* what, const pipgate::Error& e) {
  std::fprintf(stderr, "crash_child: %s: %s\n", what, pipgate::to_string(e).c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pipgate;
  if (argc != 3) return 2;
  store::StoreOptions options;
  options.path = argv[1];
  options.chunk_size_bytes = 4096;
  options.chunk_write_buffer_bytes = 1 << 20;
  // Past 4 chunks, chunks skip the WAL: the committed objects depend on commit's flush and
  // the killed writes leave unlogged chunks behind.
  options.logged_bytes_per_object = 4 * 4096;
  const int chunks_before_ready = std::atoi(argv[2]);
  RealClock clock;
  auto s = store::Store::open(options, clock);
  if (!s) die("open", s.error());

  for (const auto& [key, seed] : {std::pair{"committed", 1u}, std::pair{"stable", 2u}}) {
    auto w = s->begin(key, {200, {{"etag", key}}});
    if (!w) die("begin", w.error());
    if (auto r = w->append(pattern(50000, seed)); !r) die("append", r.error());
    if (auto r = w->commit(); !r) die("commit", r.error());
  }

  // A new object and a new version of "stable", both left unfinished.
  auto partial = s->begin("partial", {});
  auto replacing = s->begin("stable", {});
  if (!partial) die("begin", partial.error());
  if (!replacing) die("begin", replacing.error());
  const std::string chunk = pattern(4096, 3);
  for (int i = 0; i < chunks_before_ready; ++i) {
    if (auto r = partial->append(chunk); !r) die("append", r.error());
    if (auto r = replacing->append(chunk); !r) die("append", r.error());
  }
  std::printf("ready\n");
  std::fflush(stdout);
  for (int i = 0; i < 2000; ++i) {  // at most 16 MB more
    if (auto r = partial->append(chunk); !r) die("append", r.error());
    if (auto r = replacing->append(chunk); !r) die("append", r.error());
  }
  for (;;) pause();
}
