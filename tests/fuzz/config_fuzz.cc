// Fuzz target for the config loader (common/config.h): the bytes are the text of a pipgate.toml,
// loaded as `deploy/run.sh --config fuzz.toml` would on a machine described by fixed HostFacts.
// parse_size and parse_duration get the same text.
//
// Invariants: an error is kConfig and names the file and line ("fuzz.toml:<line>: ..."), with
// the line inside the text; an accepted config renders (render_config) to TOML that loads again
// to the same effective config (changed_keys is empty), and renders the same a second time; a
// parsed size survives format_size → parse_size.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/net.h"

namespace {

using namespace pipgate;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

HostFacts fuzz_host() {
  HostFacts h;
  h.primary_ipv4 = *parse_ip("10.0.0.5");
  h.local_addresses = {*parse_ip("10.0.0.5"), *parse_ip("127.0.0.1"), *parse_ip("::1")};
  h.resolv_nameservers = {*parse_ip("10.0.0.1"), *parse_ip("127.0.0.53")};
  return h;
}

// "fuzz.toml:<n>: ..." with 1 <= n <= lines + 1 (toml++ may point just past the end).
void check_error_location(const Error& e, std::string_view source, std::size_t lines) {
  check(e.code == Errc::kConfig, "config errors are kConfig");
  check(e.detail.starts_with(std::string(source) + ":"), "config errors name the file");
  std::string_view rest = std::string_view(e.detail).substr(source.size() + 1);
  std::size_t digits = 0;
  std::uint64_t line = 0;
  while (digits < rest.size() && digits < 12 && rest[digits] >= '0' && rest[digits] <= '9')
    line = line * 10 + static_cast<std::uint64_t>(rest[digits++] - '0');
  check(digits > 0 && digits < rest.size() && rest[digits] == ':', "config errors carry a line");
  check(line >= 1 && line <= lines + 1, "the error's line is in the file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const HostFacts host = fuzz_host();
  static const LoadOptions opts{"/var/lib/pipgate"};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));

  auto cfg = load_config_string(text, "fuzz.toml", opts, host);
  if (!cfg) {
    check_error_location(cfg.error(), "fuzz.toml", lines);
  } else {
    std::string rendered = render_config(*cfg);
    auto again = load_config_string(rendered, "rendered.toml", opts, host);
    if (!again) {
      std::fprintf(stderr, "%s\n---\n%s\n", again.error().detail.c_str(), rendered.c_str());
      check(false, "a rendered config loads again");
    }
    auto changed = changed_keys(*cfg, *again);
    if (!changed.empty()) {
      std::fprintf(stderr, "changed: %s\n---\n%s\n", changed.front().c_str(), rendered.c_str());
      check(false, "a rendered config loads to the same effective config");
    }
    check(render_config(*again) == rendered, "rendering is stable");
  }

  if (auto s = parse_size(text)) {
    auto back = parse_size(format_size(*s));
    check(back && *back == *s, "a size survives format_size → parse_size");
  }
  (void)parse_duration(text);
  return 0;
}
