#include "app/cli.h"

#ifdef PIPGATE_WITH_JEMALLOC
// jemalloc reads its defaults from this symbol (MALLOC_CONF in the environment still overrides).
// Freed pages go back with MADV_DONTNEED, not MADV_FREE ("muzzy" pages still count in RSS until
// the kernel needs them); dirty pages are kept 5 s for reuse under load, and the idle trim
// (app/run.cc) purges the rest.
extern "C" const char* malloc_conf = "dirty_decay_ms:5000,muzzy_decay_ms:0";
#endif

int main(int argc, char** argv) { return pipgate::app::run_cli(argc, argv); }
