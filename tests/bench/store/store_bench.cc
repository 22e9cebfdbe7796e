// Store benchmark (issue #4): 1 GiB object write/read throughput against dd on the same disk,
// random reads of small objects, open time with 1 M objects, peak RSS. Prints a table.
//
//   store_bench DIR [object_MiB=1024] [small_objects=1000000]
// DIR must be on the disk to measure; the benchmark deletes what it creates there.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/store.h"

namespace {

using namespace pipgate;
using Seconds = std::chrono::duration<double>;

struct Row {
  std::string what;
  std::string value;
  std::string note;
};
std::vector<Row> rows;

void row(std::string what, std::string value, std::string note = "") {
  std::printf("  %-44s %16s  %s\n", what.c_str(), value.c_str(), note.c_str());
  std::fflush(stdout);
  rows.push_back({std::move(what), std::move(value), std::move(note)});
}

std::string fmt_double(double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, unit);
  return buf;
}

long vm_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field) + 1);
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so each phase reports its own peak.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

template <class F>
double timed(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return Seconds(std::chrono::steady_clock::now() - t0).count();
}

[[noreturn]] void die(const char* what, const Error& e) {
  std::fprintf(stderr, "store_bench: %s: %s\n", what, to_string(e).c_str());
  std::exit(1);
}

// Drops the page cache (root only) so reads come from the disk. False if not allowed.
bool drop_caches() {
  ::sync();
  std::ofstream f("/proc/sys/vm/drop_caches");
  f << "1";
  f.flush();
  return f.good();
}

double run_dd(const std::string& cmd) {
  return timed([&] {
    if (std::system((cmd + " 2>/dev/null").c_str()) != 0) std::fprintf(stderr, "dd failed\n");
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: store_bench DIR [object_MiB=1024] [small_objects=1000000]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t object_mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  const std::uint64_t small_objects = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000000;
  const double mib = static_cast<double>(object_mib);
  std::filesystem::create_directories(dir);
  RealClock clock;

  std::printf("store_bench: %s, object %llu MiB, %llu small objects\n", dir.c_str(),
              static_cast<unsigned long long>(object_mib),
              static_cast<unsigned long long>(small_objects));

  // Baseline: dd on the same disk, with the data on disk at the end (fdatasync), and a read of
  // the same file (page cache warm, as for the store read below).
  const std::string plain = dir + "/plain";
  run_dd("dd if=/dev/urandom of=" + plain + ".src bs=1M count=" +  // the source; not measured
         std::to_string(object_mib));
  double dd_w = run_dd("dd if=" + plain + ".src of=" + plain + " bs=1M conv=fdatasync");
  double dd_r = run_dd("dd if=" + plain + " of=/dev/null bs=1M");
  const bool can_drop = drop_caches();
  double dd_cold = can_drop ? run_dd("dd if=" + plain + " of=/dev/null bs=1M") : 0;
  std::filesystem::remove(plain + ".src");
  std::filesystem::remove(plain);

  store::StoreOptions options;
  options.path = dir + "/db";
  options.max_size_bytes = 64ull << 30;
  std::filesystem::remove_all(options.path);
  std::optional<store::Store> s;
  if (auto opened = store::Store::open(options, clock)) {
    s.emplace(std::move(*opened));
  } else {
    die("open", opened.error());
  }

  // 1 GiB object, appended in 64 KiB pieces as from a socket.
  std::string piece(64 << 10, '\0');
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i < piece.size(); i += 8) {
    std::uint64_t v = rng();
    std::memcpy(piece.data() + i, &v, 8);
  }
  reset_peak_rss();
  const long rss_before = vm_kib("VmRSS:");
  double st_w = timed([&] {
    auto w = s->begin("files.pythonhosted.org/big.whl", {200, {}});
    if (!w) die("begin", w.error());
    for (std::uint64_t i = 0; i < object_mib * 16; ++i) {
      piece[0] = static_cast<char>(i);  // not the same piece every time
      if (auto r = w->append(piece); !r) die("append", r.error());
    }
    if (auto m = w->commit(); !m) die("commit", m.error());
  });
  double st_sync = timed([&] {
    if (auto r = s->flush(); !r) die("flush", r.error());
  });
  std::vector<std::uint8_t> buf(64 << 10);
  auto read_big = [&] {
    return timed([&] {
      auto r = s->open_reader("files.pythonhosted.org/big.whl");
      if (!r) die("open_reader", r.error());
      for (;;) {
        auto n = r->read(buf);
        if (!n) die("read", n.error());
        if (*n == 0) break;
      }
    });
  };
  double st_r = read_big();
  double st_cold = can_drop && drop_caches() ? read_big() : 0;
  const long hwm = vm_kib("VmHWM:");

  std::printf("\n");
  row("dd write (conv=fdatasync)", fmt_double(mib / dd_w, "MiB/s"));
  row("store write+commit (no fsync; BLAKE2b incl.)", fmt_double(mib / st_w, "MiB/s"),
      fmt_double(100.0 * dd_w / st_w, "% of dd"));
  row("store write+commit+flush+sync", fmt_double(mib / (st_w + st_sync), "MiB/s"),
      fmt_double(100.0 * dd_w / (st_w + st_sync), "% of dd"));
  row("dd read (page cache warm)", fmt_double(mib / dd_r, "MiB/s"));
  row("store read (64 KiB buffer)", fmt_double(mib / st_r, "MiB/s"),
      fmt_double(100.0 * dd_r / st_r, "% of dd warm"));
  if (can_drop) {
    row("dd read (page cache dropped)", fmt_double(mib / dd_cold, "MiB/s"));
    row("store read (page cache dropped)", fmt_double(mib / st_cold, "MiB/s"),
        fmt_double(100.0 * dd_cold / st_cold, "% of dd"));
  }
  row("RSS before / peak during write+read",
      std::to_string(rss_before / 1024) + " / " + std::to_string(hwm / 1024) + " MiB");
  {
    // The same warm read without RocksDB's (software) CRC32C per chunk.
    s.reset();
    store::StoreOptions unchecked = options;
    unchecked.verify_chunk_checksums = false;
    auto opened = store::Store::open(unchecked, clock);
    if (!opened) die("reopen", opened.error());
    s.emplace(std::move(*opened));
    read_big();  // warm the page cache again after the reopen
    double st_r_unchecked = read_big();
    row("store read, verify_chunk_checksums=false", fmt_double(mib / st_r_unchecked, "MiB/s"),
        fmt_double(100.0 * dd_r / st_r_unchecked, "% of dd warm"));
    s.reset();
    opened = store::Store::open(options, clock);
    if (!opened) die("reopen", opened.error());
    s.emplace(std::move(*opened));
  }
  if (auto r = s->remove("files.pythonhosted.org/big.whl"); !r) die("remove", r.error());
  if (auto r = s->compact(); !r) die("compact", r.error());
  row("disk after removing it and compacting",
      fmt_double(static_cast<double>(s->stats().blob_bytes) / (1 << 20), "MiB blob"));

  // Small objects: write, random reads, reopen.
  const std::string small_body(300, 'x');
  double small_w = timed([&] {
    for (std::uint64_t i = 0; i < small_objects; ++i) {
      auto w = s->begin("pypi.org/simple/p" + std::to_string(i) + "/", {200, {{"etag", "1"}}});
      if (!w) die("begin", w.error());
      if (auto r = w->append(small_body); !r) die("append", r.error());
      if (auto m = w->commit(); !m) die("commit", m.error());
    }
  });
  row("small (300 B) commits", fmt_double(small_objects / small_w, "ops/s"));
  const std::uint64_t lookups = std::min<std::uint64_t>(small_objects, 200000);
  std::uniform_int_distribution<std::uint64_t> pick(0, small_objects - 1);
  double small_r = timed([&] {
    for (std::uint64_t i = 0; i < lookups; ++i) {
      auto r = s->open_reader("pypi.org/simple/p" + std::to_string(pick(rng)) + "/");
      if (!r) die("open_reader", r.error());
      auto n = r->read(buf);
      if (!n || *n != small_body.size())
        die("read", n ? Error{Errc::kInternal, "size"} : n.error());
    }
  });
  row("small random reads (1 thread)", fmt_double(lookups / small_r, "ops/s"));
  s.reset();
  const std::uint64_t objects_now = small_objects;
  std::optional<store::Store> reopened;
  double open_s = timed([&] {
    auto r = store::Store::open(options, clock);
    if (!r) die("reopen", r.error());
    reopened.emplace(std::move(*r));
  });
  row("open with " + std::to_string(objects_now) + " objects", fmt_double(open_s * 1000, "ms"),
      "objects=" + std::to_string(reopened->stats().objects));
  reopened.reset();
  std::filesystem::remove_all(options.path);

  std::printf("\n| measure | value | note |\n|---|---|---|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %s | %s |\n", r.what.c_str(), r.value.c_str(), r.note.c_str());
  }
}
