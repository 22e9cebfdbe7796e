// The process's allocator, seen from the appliance: which one it is and a way to hand freed
// memory back to the kernel when the appliance goes idle (idle RSS is what a small VM pays for).
//
//   spdlog::info("allocator: {}", heap_allocator());   // "jemalloc 5.3.0-0-g54eaed1d..." / "glibc"
//   release_free_heap();                                 // after a quiet spell
//
// `pipgate` is linked with jemalloc (app/CMakeLists.txt: faster for the many small per-request
// allocations and the 256 KiB body chunks); tests, `pipgate-dns` and sanitizer builds use glibc's
// malloc. Both are found at run time, so this works either way, LD_PRELOAD included.
#pragma once

#include <string>

namespace pipgate {

// jemalloc: purges every arena's dirty pages (returned with MADV_DONTNEED, so RSS drops at once).
// glibc: malloc_trim(0).
void release_free_heap();

// jemalloc: returns the calling thread's cache of freed blocks (up to ~1 MiB per busy thread:
// coroutine frames, 16 KiB buffers) to its arena, for release_free_heap() to purge. Call it on
// every thread that allocates. glibc: nothing (its per-thread caches are a few KiB).
void release_thread_cache();

// "jemalloc <version>" or "glibc".
std::string heap_allocator();

}  // namespace pipgate
