#include "common/heap.h"

#include <dlfcn.h>
#include <malloc.h>

#include <cstddef>

namespace pipgate {

namespace {

// jemalloc's control entry point, when jemalloc is the process's malloc.
using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);

Mallctl find_mallctl() {
  static const Mallctl fn = reinterpret_cast<Mallctl>(::dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

}  // namespace

void release_free_heap() {
  if (Mallctl mallctl = find_mallctl()) {
    // 4096 is MALLCTL_ARENAS_ALL: every arena, not only the calling thread's.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  ::malloc_trim(0);
}

void release_thread_cache() {
  if (Mallctl mallctl = find_mallctl())
    mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
}

std::string heap_allocator() {
  if (Mallctl mallctl = find_mallctl()) {
    const char* version = nullptr;
    std::size_t len = sizeof version;
    if (mallctl("version", &version, &len, nullptr, 0) == 0 && version)
      return std::string("jemalloc ") + version;
    return "jemalloc";
  }
  return "glibc";
}

}  // namespace pipgate
