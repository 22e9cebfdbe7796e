// The `pipgate` command line (CLI11). These forms are contracts used by scripts outside this
// repository; extend them, never change them:
//   pipgate run [--config FILE]
//   pipgate config check [--config FILE]
//   pipgate ca export [--config FILE] [--der]
//   pipgate ca show [--config FILE]
//   pipgate ca rotate [--config FILE]
//   pipgate status [--config FILE] [--json]
//   pipgate cache stats [--config FILE] [--json] [--top N]
//   pipgate cache ls [--config FILE] [--json] PATTERN
//   pipgate cache purge [--config FILE] [--json] (PATTERN | --all)
//   pipgate cache verify [--config FILE] [--json]
//   pipgate version
// Exit status: 0 ok, 1 error, 2 usage.
#pragma once

namespace pipgate::app {

// Parses argv and runs the chosen command; returns the process exit status.
int run_cli(int argc, char** argv);

}  // namespace pipgate::app
