// `pipgate run`: the appliance in the foreground. Creates or loads the CA and the leaves, keeps
// the leaves renewed, starts and supervises pipgate-dns, and exits cleanly on SIGTERM/SIGINT.
#pragma once

#include <string>

#include "common/config.h"

namespace pipgate::app {

struct RunOptions {
  std::string config_path;     // passed on to pipgate-dns; empty: both use the embedded defaults
  std::string dns_executable;  // empty: pipgate-dns beside this executable; "none": don't start it
};

// Returns the process exit status: 0 after a clean stop, 1 when startup failed (logged).
int run_appliance(const Config& cfg, const RunOptions& opts);

// Names this appliance in the CA's subject: the host name, or "appliance".
std::string appliance_label();

// The lines printed at startup that tell a person what to do next. Pure, for tests.
std::string next_steps(const Config& cfg, const std::string& ca_pem_path);

}  // namespace pipgate::app
