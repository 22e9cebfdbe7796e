#include "app/cli.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin/client.h"
#include "admin/protocol.h"
#include "admin/render.h"
#include "app/run.h"
#include "certs/authority.h"
#include "certs/leaf_store.h"
#include "common/config.h"
#include "common/log.h"
#include "common/random.h"

namespace pipgate::app {
namespace {

constexpr const char* kExamples = R"(
Examples:
  pipgate run                                   # embedded defaults: DNS :53, HTTPS :443
  pipgate run --config /etc/pipgate/pipgate.toml
  pipgate config check --config /etc/pipgate/pipgate.toml
  pipgate ca export > pipgate-ca.pem            # the CA every client must trust
  pipgate ca export --der > pipgate-ca.cer      # the same for Windows / macOS dialogs
  pipgate ca show
  pipgate status                                # uptime, upstream, cache, hit ratio, children
  pipgate cache stats --top 10                  # per project: hits, misses, bytes saved
  pipgate cache ls '*numpy*'                    # stored objects whose key matches a glob
  pipgate cache purge '*numpy-2.1.0*'           # remove them (the next request is a miss)
  pipgate cache verify                          # re-hash everything; remove corrupt objects
)";

constexpr const char* kGlobHelp = R"(
PATTERN is a shell glob over store keys; `*` also matches "/". Keys look like
  files.pythonhosted.org/packages/ab/cd/<60 hex>/numpy-2.1.0-cp312-...-manylinux_2_17_x86_64.whl
  pypi.org/simple/numpy/#v1+json       (index pages: also #v1+html, #html)
  pypi.org/pypi/numpy/json
Quote it, so the shell does not expand it. Examples:
  '*numpy*'                every object of numpy (and of numpy-stl, numpy-quaternion, ...)
  '*/numpy-2.1.0-*'        the files of one release
  'pypi.org/simple/*'      every index page (refetched on the next request)
  '*.tar.gz'               every sdist
)";

Result<Config> load(const std::string& path) {
  if (path.empty()) return default_config(LoadOptions{}, HostFacts::probe());
  return load_config_file(path, LoadOptions{}, HostFacts::probe());
}

std::string date(SystemTime t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

void print_cert(const certs::CertInfo& info, std::string_view names_label) {
  fmt::print("  subject:     {}\n", info.subject);
  fmt::print("  issuer:      {}\n", info.issuer);
  fmt::print("  serial:      {}\n", info.serial_hex);
  fmt::print("  valid:       {} .. {}\n", date(info.not_before), date(info.not_after));
  fmt::print("  sha256:      {}\n", info.sha256_fingerprint);
  fmt::print("  {:<12} {}\n", names_label, fmt::join(info.dns_names, ", "));
}

int fail(const Error& e) {
  fmt::print(stderr, "pipgate: {}\n", e.detail);
  return 1;
}

int config_check(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return fail(cfg.error());
  fmt::print("# {}: OK. Effective configuration:\n{}", cfg->source, render_config(*cfg));
  if (cfg->dns.upstream.empty())
    fmt::print(stderr,
               "pipgate: warning: no upstream resolver (none in /etc/resolv.conf besides this "
               "appliance): names other than {} will get SERVFAIL\n",
               fmt::join(cfg->dns.intercept, ", "));
  return 0;
}

int ca_export(const std::string& path, bool der) {
  auto cfg = load(path);
  if (!cfg) return fail(cfg.error());
  RealClock clock;
  SystemRandom random;
  auto ca = certs::Authority::load_or_create(cfg->ca_dir(), cfg->dns.intercept, appliance_label(),
                                             clock, random);
  if (!ca) return fail(ca.error());
  if (der) {
    auto bytes = ca->certificate_der();
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  } else {
    fmt::print("{}", ca->certificate_pem());
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int ca_show(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return fail(cfg.error());
  auto ca = certs::Authority::load(cfg->ca_dir());
  if (!ca) {
    if (ca.error().code == Errc::kNotFound) {
      fmt::print(stderr,
                 "pipgate: no CA in {} yet; `pipgate run` or `pipgate ca export` creates it\n",
                 cfg->ca_dir());
      return 1;
    }
    return fail(ca.error());
  }
  fmt::print("CA ({}/ca.pem):\n", cfg->ca_dir());
  print_cert(ca->info(), "permits:");
  fmt::print("\nLeaves ({}):\n", cfg->certs_dir());
  int shown = 0;
  for (const auto& name : cfg->dns.intercept) {
    auto path = cfg->certs_dir() + "/" + name + ".pem";
    std::ifstream in(path);
    if (!in) continue;
    std::stringstream pem;
    pem << in.rdbuf();
    auto info = certs::inspect_certificate(pem.str());
    if (!info) {
      fmt::print("  {}: unreadable ({}); `pipgate run` replaces it\n", path, info.error().detail);
      continue;
    }
    print_cert(*info, "names:");
    fmt::print("  renewal:     after {}\n\n", date(certs::LeafStore::due_time(*info)));
    ++shown;
  }
  if (shown == 0) fmt::print("  none yet (`pipgate run` issues them)\n");
  return 0;
}

// Progress of a long admin operation on stderr: one line rewritten in place on a terminal, a
// plain line at most every 5 s otherwise (logs, CI).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const Clock& clock)
      : clock_(clock), tty_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressDisplay() { finish(); }

  void show(const admin::Progress& p) {
    auto text = admin::render_progress(p);
    if (tty_) {
      fmt::print(stderr, "\r\033[K{}", text);
      std::fflush(stderr);
      shown_ = true;
      return;
    }
    auto now = clock_.monotonic_now();
    if (shown_ && now - last_ < std::chrono::seconds(5)) return;
    shown_ = true;
    last_ = now;
    fmt::print(stderr, "{}\n", text);
  }
  // Clears the terminal line before the result is printed.
  void finish() {
    if (tty_ && shown_) fmt::print(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  const Clock& clock_;
  bool tty_;
  bool shown_ = false;
  MonotonicTime last_{};
};

// status and cache ...: one request to the running appliance over its admin socket.
int admin_command(const std::string& path, const admin::Request& req, bool json) {
  const auto failed = [&](const std::string& detail) {
    if (json) fmt::print("{}", admin::encode_error(detail));
    fmt::print(stderr, "pipgate: {}\n", detail);
    return 1;
  };
  auto cfg = load(path);
  if (!cfg) return failed(cfg.error().detail);
  auto client = admin::Client::connect(admin::socket_path(*cfg));
  if (!client) return failed(client.error().detail);
  RealClock clock;
  ProgressDisplay progress(clock);
  auto result = client->call(req, [&](const admin::Progress& p) { progress.show(p); });
  progress.finish();
  if (!result) return failed(result.error().detail);
  if (json) {
    fmt::print("{}\n", *result);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  Result<std::string> text = make_error(Errc::kInternal, "unknown command");
  const auto render = [&](auto decoded, auto renderer) -> Result<std::string> {
    if (!decoded) return std::unexpected(decoded.error());
    return renderer(*decoded);
  };
  switch (req.cmd) {
    case admin::Command::kStatus: {
      auto now =
          std::chrono::duration_cast<std::chrono::seconds>(clock.system_now().time_since_epoch())
              .count();
      text = render(admin::decode_status(*result),
                    [&](const admin::StatusResult& r) { return admin::render_status(r, now); });
      break;
    }
    case admin::Command::kCacheStats:
      text = render(admin::decode_stats(*result), admin::render_stats);
      break;
    case admin::Command::kCacheLs:
      text = render(admin::decode_list(*result), admin::render_list);
      break;
    case admin::Command::kCachePurge:
      text = render(admin::decode_purge(*result), admin::render_purge);
      break;
    case admin::Command::kCacheVerify:
      text = render(admin::decode_verify(*result), admin::render_verify);
      break;
  }
  if (!text) return failed("unexpected answer from pipgate: " + text.error().detail);
  fmt::print("{}", *text);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int ca_rotate(const std::string& path) {
  auto cfg = load(path);
  if (!cfg) return fail(cfg.error());
  RealClock clock;
  SystemRandom random;
  auto ca =
      certs::Authority::rotate(cfg->ca_dir(), cfg->dns.intercept, appliance_label(), clock, random);
  if (!ca) return fail(ca.error());
  if (auto r = certs::LeafStore::remove_all(cfg->certs_dir()); !r) return fail(r.error());
  auto info = ca->info();
  fmt::print(stderr,
             "pipgate: created a new CA (sha256 {}) permitting {}.\n"
             "The old one is kept under {}/retired-*. Every client must now trust the new CA:\n"
             "  pipgate ca export > pipgate-ca.pem\n"
             "Restart pipgate so it serves leaves from the new CA.\n",
             info.sha256_fingerprint, fmt::join(info.dns_names, ", "), cfg->ca_dir());
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"pipgate: a caching PyPI appliance (DNS + TLS proxy) for an office LAN"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");

  std::string config_path;
  auto add_config = [&](CLI::App* cmd) {
    cmd->add_option("--config,-c", config_path,
                    "TOML config file (every key optional; without it: embedded defaults)")
        ->check(CLI::ExistingFile);
  };

  auto* run = app.add_subcommand("run", "Run the appliance in the foreground (logs to stderr)");
  add_config(run);
  std::string dns_exe;
  run->add_option("--dns-executable", dns_exe,
                  "pipgate-dns to supervise (default: beside this executable; \"none\": don't)");
  run->footer("\nExample:\n  pipgate run --config /etc/pipgate/pipgate.toml\n");

  auto* config = app.add_subcommand("config", "Work with the configuration file");
  config->require_subcommand(1);
  auto* check = config->add_subcommand(
      "check", "Validate a config file and print the effective configuration (exit 1 on error)");
  add_config(check);
  check->footer("\nExample:\n  pipgate config check --config /etc/pipgate/pipgate.toml\n");

  auto* ca = app.add_subcommand("ca", "The internal CA that clients trust");
  ca->require_subcommand(1);
  auto* ca_export_cmd =
      ca->add_subcommand("export", "Print the CA certificate (PEM; creates the CA if missing)");
  add_config(ca_export_cmd);
  bool der = false;
  ca_export_cmd->add_flag("--der", der, "Binary DER instead of PEM");
  ca_export_cmd->footer(
      "\nExamples:\n  pipgate ca export > pipgate-ca.pem\n"
      "  pipgate ca export --der > pipgate-ca.cer\n");
  auto* ca_show_cmd = ca->add_subcommand(
      "show", "Show the CA (subject, validity, fingerprint, name constraints) and current leaves");
  add_config(ca_show_cmd);
  auto* ca_rotate_cmd = ca->add_subcommand(
      "rotate",
      "Replace the CA with a new one for the configured names (clients must trust it again)");
  add_config(ca_rotate_cmd);
  ca_rotate_cmd->footer(
      "\nNeeded after changing [dns] intercept: the CA's name constraints fix its names.\n"
      "The old CA is kept under <data_dir>/ca/retired-*.\n");

  // The admin commands talk to the running appliance through <data_dir>/admin.sock (root and
  // the [appliance] user's group).
  bool json = false;
  auto add_admin_options = [&](CLI::App* cmd) {
    add_config(cmd);
    cmd->add_flag("--json", json, "Print the result as one JSON object (errors: {\"error\": ...})");
  };
  auto* status = app.add_subcommand(
      "status", "Show the running appliance: uptime, upstream, cache use, hit ratio, children");
  add_admin_options(status);
  status->footer("\nExample:\n  pipgate status --config /etc/pipgate/pipgate.toml\n");

  auto* cache = app.add_subcommand("cache", "Inspect and maintain the running appliance's cache");
  cache->require_subcommand(1);
  std::uint32_t top = 20;
  auto* cache_stats = cache->add_subcommand(
      "stats", "Per project since start: requests, hits, misses, bytes served and saved");
  add_admin_options(cache_stats);
  cache_stats->add_option("--top", top, "Projects shown, most requested first (default 20)")
      ->check(CLI::Range(1, 100000));
  cache_stats->footer("\nExample:\n  pipgate cache stats --top 10\n");
  std::string pattern;
  auto* cache_ls =
      cache->add_subcommand("ls", "List stored objects whose key matches PATTERN (a glob)");
  add_admin_options(cache_ls);
  cache_ls->add_option("PATTERN", pattern, "Shell glob over store keys, e.g. '*numpy*'")
      ->required();
  cache_ls->footer(std::string(kGlobHelp) + "\nExample:\n  pipgate cache ls '*numpy*'\n");
  bool purge_all = false;
  auto* cache_purge = cache->add_subcommand(
      "purge", "Remove stored objects matching PATTERN, or all with --all (next request: MISS)");
  add_admin_options(cache_purge);
  auto* purge_pattern =
      cache_purge->add_option("PATTERN", pattern, "Shell glob over store keys, e.g. '*numpy*'");
  auto* purge_all_flag = cache_purge->add_flag("--all", purge_all, "Remove every object");
  purge_pattern->excludes(purge_all_flag);
  cache_purge->callback([&] {
    if (pattern.empty() && !purge_all) throw CLI::RequiredError("PATTERN or --all");
  });
  cache_purge->footer(std::string(kGlobHelp) +
                      "\nExamples:\n  pipgate cache purge '*numpy-2.1.0*'\n"
                      "  pipgate cache purge --all\n");
  auto* cache_verify = cache->add_subcommand(
      "verify",
      "Re-hash every stored object against its recorded BLAKE2b; remove and list corrupt ones");
  add_admin_options(cache_verify);
  cache_verify->footer(
      "\nReads the whole cache from disk: minutes for a large one (progress on stderr).\n"
      "Example:\n  pipgate cache verify\n");

  auto* version = app.add_subcommand("version", "Print the version");
  // Set last: CLI11 copies the parent's footer into subcommands created after it.
  app.footer(kExamples);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is 0; a usage error is 2, as for most Unix tools (CLI11's own codes vary by error).
    return app.exit(e) == 0 ? 0 : 2;
  }

  // Commands other than `run` print for people; keep the library logs quiet on stderr.
  if (!run->parsed()) {
    auto r = setup_logging("pipgate", "warn");
    ignore_error(r, "warn is a valid level");
  }

  if (*version) {
    fmt::print("pipgate {}\n", PIPGATE_VERSION);
    return 0;
  }
  if (*check) return config_check(config_path);
  if (*ca_export_cmd) return ca_export(config_path, der);
  if (*ca_show_cmd) return ca_show(config_path);
  if (*ca_rotate_cmd) return ca_rotate(config_path);
  // The admin commands: encode_request() sends only the fields of the chosen command.
  admin::Request req;
  req.top = top;
  req.pattern = pattern;
  req.all = purge_all;
  const std::pair<CLI::App*, admin::Command> admin_commands[] = {
      {status, admin::Command::kStatus},
      {cache_stats, admin::Command::kCacheStats},
      {cache_ls, admin::Command::kCacheLs},
      {cache_purge, admin::Command::kCachePurge},
      {cache_verify, admin::Command::kCacheVerify}};
  for (const auto& [cmd, which] : admin_commands) {
    if (!cmd->parsed()) continue;
    req.cmd = which;
    return admin_command(config_path, req, json);
  }
  if (*run) {
    auto cfg = load(config_path);
    if (!cfg) return fail(cfg.error());
    if (auto r = setup_logging("pipgate", cfg->appliance.log_level); !r) return fail(r.error());
    return run_appliance(*cfg, RunOptions{config_path, dns_exe});
  }
  return 1;
}

}  // namespace pipgate::app
