// The `pipgate` command line (CLI11). These forms are contracts used by scripts outside this
// repository; extend them, never change them:
//   pipgate run [--config FILE]
//   pipgate config check [--config FILE]
//   pipgate ca export [--config FILE] [--der]
//   pipgate ca show [--config FILE]
//   pipgate ca rotate [--config FILE]
//   pipgate version
#pragma once

namespace pipgate::app {

// Parses argv and runs the chosen command; returns the process exit status.
int run_cli(int argc, char** argv);

}  // namespace pipgate::app
