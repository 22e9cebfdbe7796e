#include "common/clock.h"

namespace pipgate {

SystemTime RealClock::system_now() const { return std::chrono::system_clock::now(); }
MonotonicTime RealClock::monotonic_now() const { return std::chrono::steady_clock::now(); }

}  // namespace pipgate
