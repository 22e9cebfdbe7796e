#include "app/supervisor.h"

#include <gtest/gtest.h>

namespace pipgate::app {
namespace {

using std::chrono::milliseconds;

TEST(SupervisorBackoff, DoublesFromHalfASecondUpToThirtySeconds) {
  struct Case {
    int failures;
    milliseconds want;
  };
  const Case cases[] = {{0, milliseconds(0)},     {1, milliseconds(500)},
                        {2, milliseconds(1000)},  {3, milliseconds(2000)},
                        {6, milliseconds(16000)}, {7, milliseconds(30000)},
                        {50, milliseconds(30000)}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.failures);
    EXPECT_EQ(Supervisor::backoff(c.failures), c.want);
  }
}

}  // namespace
}  // namespace pipgate::app
