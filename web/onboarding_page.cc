#include "web/onboarding_page.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "web/html.h"

namespace pipgate::web {

namespace {

// Everything dynamic goes through e() on its way into the document.
std::string e(std::string_view s) { return html_escape(s); }

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// A copy-paste block: the text is escaped here, so callers build commands as plain text.
void command(std::string& out, std::string_view text) {
  out += "<div class=\"cmd\"><pre><code>";
  out += e(text);
  out += "</code></pre></div>\n";
}

std::string_view upstream_text(UpstreamState s) {
  switch (s) {
    case UpstreamState::kReachable:
      return "reachable";
    case UpstreamState::kUnreachable:
      return "unreachable";
    case UpstreamState::kUnknown:
      break;
  }
  return "not known yet";
}

std::string_view upstream_class(UpstreamState s) {
  switch (s) {
    case UpstreamState::kReachable:
      return "good";
    case UpstreamState::kUnreachable:
      return "bad";
    default:
      return "unknown";
  }
}

constexpr std::string_view kStyle = R"(
:root{color-scheme:light dark;--fg:#1b1f23;--bg:#fff;--muted:#57606a;--card:#f6f8fa;--line:#d0d7de;
--accent:#0b5cad;--good:#1a7f37;--bad:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8b949e;--card:#161b22;
--line:#30363d;--accent:#58a6ff;--good:#3fb950;--bad:#f85149}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.3rem;margin:2rem 0 .5rem;padding-top:.5rem;border-top:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.25rem 0 .25rem}
a{color:var(--accent)}
p,li{max-width:48rem}
code{font:.9em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.lead{color:var(--muted);margin-top:0}
nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem;font-size:.95rem}
nav a{white-space:nowrap}
.cmd{position:relative;margin:.4rem 0 .8rem}
pre{margin:0;padding:.75rem 4.5rem .75rem .75rem;background:var(--card);border:1px solid var(--line);
border-radius:6px;overflow-x:auto}
.copy{position:absolute;top:.4rem;right:.4rem;font-size:.8rem;padding:.2rem .5rem;cursor:pointer;
border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
.downloads{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
.downloads a{display:inline-block;padding:.5rem .9rem;border:1px solid var(--accent);border-radius:6px;
text-decoration:none;font-weight:600}
.fingerprint{display:block;word-break:break-all;padding:.5rem .75rem;background:var(--card);
border:1px solid var(--line);border-radius:6px;font-size:.95rem}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.5rem;margin:.5rem 0}
.figure{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.6rem .75rem}
.figure .label{font-size:.8rem;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.figure .value{font-size:1.3rem;font-weight:600}
.figure .sub{font-size:.85rem;color:var(--muted)}
.bar{height:.4rem;background:var(--line);border-radius:2px;margin-top:.3rem;overflow:hidden}
.bar span{display:block;height:100%;background:var(--accent)}
.good{color:var(--good)}.bad{color:var(--bad)}.unknown{color:var(--muted)}
table{border-collapse:collapse;margin:.5rem 0}
th,td{text-align:left;padding:.25rem .75rem .25rem 0;border-bottom:1px solid var(--line)}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:var(--muted);font-size:.92rem}
details{margin:.5rem 0}
footer{margin:2rem 0 1rem;color:var(--muted);font-size:.9rem}
)";

// Adds a Copy button to every command block. navigator.clipboard needs a secure context, which
// a plain-HTTP LAN page is not, so fall back to a selected textarea.
constexpr std::string_view kScript = R"(
document.querySelectorAll('.cmd').forEach(function (box) {
  var b = document.createElement('button');
  b.type = 'button'; b.className = 'copy'; b.textContent = 'Copy';
  b.addEventListener('click', function () {
    var text = box.querySelector('code').textContent;
    var done = function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done); return; }
    var t = document.createElement('textarea'); t.value = text; document.body.appendChild(t); t.select();
    try { if (document.execCommand('copy')) done(); } catch (err) {}
    document.body.removeChild(t);
  });
  box.appendChild(b);
});
)";

void figures_section(std::string& out, const LiveFigures& f) {
  out += "<h2 id=\"status\">Status</h2>\n<div class=\"figures\">\n";
  // Cache size, with a bar against the budget when it is known.
  std::string size_sub = fmt::format("{} objects", f.objects);
  std::string bar;
  if (f.cache_budget_bytes > 0) {
    double used = std::clamp(static_cast<double>(f.cache_bytes) / f.cache_budget_bytes, 0.0, 1.0);
    size_sub += fmt::format(" · {:.0f}% of {}", used * 100, format_bytes(f.cache_budget_bytes));
    bar = fmt::format("<div class=\"bar\"><span style=\"width:{:.1f}%\"></span></div>", used * 100);
  }
  fmt::format_to(std::back_inserter(out),
                 "<div class=\"figure\" id=\"cache-size\"><div class=\"label\">Cache size</div>"
                 "<div class=\"value\">{}</div><div class=\"sub\">{}</div>{}</div>\n",
                 e(format_bytes(f.cache_bytes)), e(size_sub), bar);
  std::string ratio = f.cache_lookups ? fmt::format("{:.1f}%", f.hit_ratio * 100) : "—";
  fmt::format_to(std::back_inserter(out),
                 "<div class=\"figure\" id=\"hit-ratio\"><div class=\"label\">Hit ratio</div>"
                 "<div class=\"value\">{}</div><div class=\"sub\">of {} cacheable requests</div>"
                 "</div>\n",
                 e(ratio), f.cache_lookups);
  fmt::format_to(std::back_inserter(out),
                 "<div class=\"figure\" id=\"bytes-saved\"><div class=\"label\">Bytes saved</div>"
                 "<div class=\"value\">{}</div><div class=\"sub\">served from the cache; {} "
                 "fetched upstream</div></div>\n",
                 e(format_bytes(f.bytes_saved)), e(format_bytes(f.bytes_from_upstream)));
  std::string detail = f.upstream_detail;
  if (f.upstream == UpstreamState::kUnreachable)
    detail =
        detail.empty() ? "serving what the cache holds" : detail + "; serving what the cache holds";
  fmt::format_to(std::back_inserter(out),
                 "<div class=\"figure\" id=\"upstream\"><div class=\"label\">Upstream "
                 "(PyPI)</div><div class=\"value {}\">{}</div><div class=\"sub\">{}</div></div>\n",
                 upstream_class(f.upstream), upstream_text(f.upstream), e(detail));
  out += "</div>\n<h3>Top projects</h3>\n";
  if (f.top_projects.empty()) {
    out += "<p class=\"note\" id=\"top-projects\">Nothing requested yet.</p>\n";
    return;
  }
  out +=
      "<table id=\"top-projects\"><thead><tr><th>#</th><th>Project</th><th>Requests</th></tr>"
      "</thead><tbody>\n";
  std::size_t n = std::min<std::size_t>(f.top_projects.size(), 10);
  for (std::size_t i = 0; i < n; ++i) {
    fmt::format_to(std::back_inserter(out),
                   "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n", i + 1,
                   e(f.top_projects[i].name), f.top_projects[i].requests);
  }
  out += "</tbody></table>\n";
}

void ca_section(std::string& out, const PageFacts& p) {
  std::string names = joined(p.intercept, ", ");
  out += "<h2 id=\"ca\">1. Trust the appliance's CA</h2>\n";
  fmt::format_to(std::back_inserter(out),
                 "<p>The appliance answers HTTPS for <strong>{}</strong> with certificates from "
                 "its own certificate authority. Each client must trust that CA once. The CA is "
                 "<em>name-constrained</em>: it can only vouch for these names, so trusting it "
                 "does not let anyone impersonate any other site.</p>\n",
                 e(names));
  out +=
      "<div class=\"downloads\">"
      "<a href=\"/ca.pem\" id=\"ca-pem\" download=\"pipgate-ca.pem\">pipgate-ca.pem</a>"
      "<a href=\"/ca.der\" id=\"ca-der\" download=\"pipgate-ca.der\">pipgate-ca.der "
      "(Windows)</a>"
      "<a href=\"/ca.mobileconfig\" id=\"ca-mobileconfig\">pipgate-ca.mobileconfig "
      "(iPhone, iPad, Mac)</a></div>\n";
  fmt::format_to(std::back_inserter(out),
                 "<p>CA: <strong>{}</strong>, valid until {:%Y-%m-%d}. SHA-256 fingerprint of "
                 "the certificate:</p>\n<code class=\"fingerprint\" id=\"fingerprint\">{}</code>\n",
                 e(p.ca_name), fmt::gmtime(std::chrono::system_clock::to_time_t(p.ca_not_after)),
                 e(p.ca_fingerprint));
  out +=
      "<p class=\"note\">This page is plain HTTP, so check the fingerprint of what you "
      "downloaded against it, and against the one your administrator announced "
      "(<code>pipgate ca show</code> on the appliance prints it):</p>\n";
  command(out,
          "openssl x509 -in pipgate-ca.pem -noout -fingerprint -sha256   # Linux, macOS\n"
          "certutil -hashfile pipgate-ca.der SHA256                      # Windows (no colons)");
  out += "<details><summary>Show the CA certificate (PEM)</summary>\n";
  command(out, p.ca_pem);
  out += "</details>\n";
}

void os_section(std::string& out, const PageFacts& p) {
  const std::string& u = p.base_url;
  out +=
      "<h2 id=\"os\">2. Install it on each machine</h2>\n"
      "<p>System-wide, so that curl, git, browsers and (with the steps under <a "
      "href=\"#tools\">3</a>) Python tools trust it. Each block needs administrator "
      "rights.</p>\n";

  out += "<h3 id=\"debian\">Debian, Ubuntu</h3>\n";
  command(out, fmt::format("sudo curl -fsSL -o /usr/local/share/ca-certificates/pipgate-ca.crt "
                           "{}/ca.pem\nsudo update-ca-certificates",
                           u));
  out +=
      "<p class=\"note\">The file must end in <code>.crt</code>. Undo: remove it, then "
      "<code>sudo update-ca-certificates --fresh</code>.</p>\n";

  out += "<h3 id=\"rhel\">RHEL, Fedora, CentOS Stream, Rocky, Alma</h3>\n";
  command(out, fmt::format("sudo curl -fsSL -o /etc/pki/ca-trust/source/anchors/pipgate-ca.pem "
                           "{}/ca.pem\nsudo update-ca-trust extract",
                           u));
  out +=
      "<p class=\"note\">Undo: remove the file and run <code>sudo update-ca-trust "
      "extract</code> again.</p>\n";

  out += "<h3 id=\"macos\">macOS</h3>\n";
  command(out, fmt::format("curl -fsSL -o ~/Downloads/pipgate-ca.pem {}/ca.pem\n"
                           "sudo security add-trusted-cert -d -r trustRoot -k "
                           "/Library/Keychains/System.keychain ~/Downloads/pipgate-ca.pem",
                           u));
  out +=
      "<p class=\"note\">Run it in Terminal on the Mac itself: macOS confirms the trust "
      "change in a dialog. Or open <a href=\"/ca.mobileconfig\">the profile</a> and install "
      "it under System Settings → Privacy &amp; Security → Profiles (General → Device "
      "Management on newer releases). Python's own <code>ssl</code> module does not read the "
      "keychain: see <a href=\"#pip\">pip</a> and <a href=\"#uv\">uv</a>.</p>\n";

  out +=
      "<h3 id=\"windows\">Windows</h3>\n"
      "<p>In a Command Prompt or PowerShell opened with <em>Run as administrator</em> "
      "(<code>curl.exe</code> ships with Windows 10 1803 and later):</p>\n";
  command(out, fmt::format("curl.exe -fsSL -o pipgate-ca.der {}/ca.der\n"
                           "certutil -addstore Root pipgate-ca.der",
                           u));
  out +=
      "<p class=\"note\">Without administrator rights, <code>certutil -user -addstore Root "
      "pipgate-ca.der</code> trusts it for your account only (Windows asks to confirm). "
      "Undo: <code>certutil -delstore Root \"" +
      e(p.ca_name) + "\"</code>.</p>\n";

  out +=
      "<h3 id=\"ios\">iPhone, iPad</h3>\n<ol>"
      "<li>Open <a href=\"/ca.mobileconfig\">" +
      e(u) +
      "/ca.mobileconfig</a> in Safari and allow the download.</li>"
      "<li>Settings → General → VPN &amp; Device Management → the pipgate profile → "
      "Install.</li>"
      "<li>Settings → General → About → Certificate Trust Settings → turn on full trust for "
      "the pipgate CA.</li></ol>\n";
}

void tools_section(std::string& out, const PageFacts& p) {
  const std::string& u = p.base_url;
  out +=
      "<h2 id=\"tools\">3. Python tools, containers and CI</h2>\n"
      "<p>Many Python tools ship their own list of trusted CAs and ignore the system's. "
      "Below, <code>PEM bundle</code> means a file of trusted CAs: after step 2 that is "
      "<code>/etc/ssl/certs/ca-certificates.crt</code> (Debian, Ubuntu) or "
      "<code>/etc/pki/tls/certs/ca-bundle.crt</code> (RHEL, Fedora); elsewhere use "
      "<code>pipgate-ca.pem</code> itself. A bundle replaces the tool's own list: with "
      "<code>pipgate-ca.pem</code> alone, only the names this appliance serves verify, and "
      "other package indexes fail.</p>\n";

  out +=
      "<h3 id=\"pip\">pip</h3>\n"
      "<p>pip 24.2 and later on Python 3.10 and later use the system store (through "
      "<code>truststore</code>) in addition to their own: step 2 is all they need. "
      "Check:</p>\n";
  command(out, "python3 -m pip --version    # want: pip 24.2 or later ... (python 3.10 or later)");
  out +=
      "<p>Older pip or Python: give pip a bundle, for one shell or for good (the second "
      "writes your user's pip config file):</p>\n";
  command(out,
          "export PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
          "python3 -m pip config set global.cert /etc/ssl/certs/ca-certificates.crt");
  out += "<p>On Windows (in a Command Prompt), without a system bundle file:</p>\n";
  command(out, fmt::format("curl.exe -fsSL -o %USERPROFILE%\\pipgate-ca.pem {}/ca.pem\n"
                           "py -m pip config set global.cert %USERPROFILE%\\pipgate-ca.pem",
                           u));
  out +=
      "<p class=\"note\">Upgrading pip once with the bundle set makes the setting "
      "unnecessary on Python 3.10+: <code>python3 -m pip install --upgrade pip</code>.</p>\n";

  out +=
      "<h3 id=\"uv\">uv</h3>\n"
      "<p>uv uses its bundled Mozilla roots unless told otherwise. Use the system store "
      "(after step 2):</p>\n";
  command(out,
          "export UV_SYSTEM_CERTS=true    # or per command: uv pip install --system-certs ...");
  out +=
      "<p class=\"note\">uv releases from before the option's rename call it "
      "<code>UV_NATIVE_TLS=true</code> and <code>--native-tls</code>.</p>\n";
  out += "<p>or a PEM bundle:</p>\n";
  command(out, "export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt");
  out +=
      "<p class=\"note\"><code>system-certs = true</code> in <code>uv.toml</code> does the "
      "same as the variable.</p>\n";

  out +=
      "<h3 id=\"conda\">conda</h3>\n"
      "<p><code>conda install</code> downloads from conda's own channels, which this "
      "appliance does not serve: nothing to do for it. <code>pip</code> inside a conda "
      "environment is a pip like any other, except that on Linux its Python reads the "
      "environment's own CA file, not the system's, so give it the bundle:</p>\n";
  command(out,
          "conda activate myenv\n"
          "conda env config vars set PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
          "conda deactivate && conda activate myenv");
  out +=
      "<p class=\"note\">Or once for every environment: <code>pip config set global.cert "
      "...</code> as under <a href=\"#pip\">pip</a>.</p>\n";

  out +=
      "<h3 id=\"docker\">Docker builds</h3>\n"
      "<p>Build containers trust only their image's CAs. Download the CA next to the "
      "Dockerfile:</p>\n";
  command(out, fmt::format("curl -fsSL -o pipgate-ca.crt {}/ca.pem", u));
  out +=
      "<p>and add it before the first <code>pip install</code> (Debian and Ubuntu based "
      "images such as <code>python:3.12-slim</code>):</p>\n";
  command(out,
          "COPY pipgate-ca.crt /usr/local/share/ca-certificates/pipgate-ca.crt\n"
          "RUN update-ca-certificates\n"
          "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\\n"
          "    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt");
  out +=
      "<p class=\"note\">Images without the <code>ca-certificates</code> package (e.g. "
      "<code>debian:bookworm-slim</code>) need <code>apt-get install -y ca-certificates</code> "
      "first; Alpine: <code>apk add --no-cache ca-certificates &amp;&amp; "
      "update-ca-certificates</code>. Builds resolve names through the Docker host's DNS (or "
      "<code>\"dns\"</code> in <code>/etc/docker/daemon.json</code>), which must lead to this "
      "appliance. To keep the CA out of the final image, do this in a build stage.</p>\n";

  out +=
      "<h3 id=\"ci\">CI runners</h3>\n"
      "<p>Only runners inside the office network can use the appliance. Install the CA on "
      "the runner machine (step 2), then hand the bundle to jobs.</p>\n"
      "<p>GitHub Actions self-hosted runner: add to the <code>.env</code> file in the "
      "runner's directory, then restart the runner service:</p>\n";
  command(out,
          "PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
          "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt");
  out +=
      "<p>GitLab Runner: in <code>/etc/gitlab-runner/config.toml</code>, under the "
      "runner's <code>[[runners]]</code> (jobs in containers also need the Docker steps "
      "above, or the file mounted in with <code>volumes</code> under "
      "<code>[runners.docker]</code>):</p>\n";
  command(out,
          "environment = [\"PIP_CERT=/etc/ssl/certs/ca-certificates.crt\",\n"
          "               \"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt\"]");
}

void dns_section(std::string& out, const PageFacts& p) {
  std::string addr = p.address.empty() ? "APPLIANCE-ADDRESS" : p.address;
  bool std_port = p.dns_port == 53;
  std::string port = std::to_string(p.dns_port);
  out += "<h2 id=\"dns\">4. Point DNS at the appliance</h2>\n";
  fmt::format_to(
      std::back_inserter(out),
      "<p>Clients reach the appliance because DNS answers <strong>{}</strong> with "
      "<strong>{}</strong>{}. No URL changes anywhere. Two ways:</p>\n",
      e(joined(p.intercept, " and ")), e(addr),
      p.address6.empty() ? std::string() : " and <strong>" + e(p.address6) + "</strong>");
  if (!std_port)
    fmt::format_to(std::back_inserter(out),
                   "<p class=\"note\">This appliance answers DNS on port {}, not 53: most "
                   "clients and Windows Server can only use port 53.</p>\n",
                   p.dns_port);
  out += "<h3 id=\"dns-resolver\">a. The appliance as the office resolver</h3>\n";
  fmt::format_to(std::back_inserter(out),
                 "<p>Hand out <strong>{}</strong> as the DNS server by DHCP (or set it on each "
                 "machine). The appliance answers the names above itself and forwards every "
                 "other name to its upstream resolvers (<code>[dns] upstream</code>). It answers "
                 "only clients in <code>[dns] allow</code>.</p>\n",
                 e(addr));
  out +=
      "<h3 id=\"dns-forwarders\">b. Conditional forwarders on your DNS server</h3>\n"
      "<p>Keep your resolver and forward just these names to the appliance; your DNS "
      "server's address must be in the appliance's <code>[dns] allow</code>.</p>\n";
  std::string dnsmasq, unbound, bind, windows;
  for (const auto& n : p.intercept) {
    dnsmasq += fmt::format("server=/{}/{}{}\n", n, addr, std_port ? "" : "#" + port);
    unbound += fmt::format("forward-zone:\n    name: \"{}\"\n    forward-addr: {}{}\n", n, addr,
                           std_port ? "" : "@" + port);
    bind += fmt::format("zone \"{}\" {{ type forward; forward only; forwarders {{ {}{}; }}; }};\n",
                        n, addr, std_port ? "" : " port " + port);
    windows += fmt::format("Add-DnsServerConditionalForwarderZone -Name \"{}\" -MasterServers {}\n",
                           n, addr);
  }
  auto trim = [](std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  };
  out += "<p>dnsmasq (also Pi-hole, in a file under <code>/etc/dnsmasq.d/</code>):</p>\n";
  command(out, trim(dnsmasq));
  out += "<p>Unbound (<code>unbound.conf</code>):</p>\n";
  command(out, trim(unbound));
  out += "<p>BIND (<code>named.conf</code>):</p>\n";
  command(out, trim(bind));
  out += "<p>Windows Server DNS (PowerShell):</p>\n";
  command(out, trim(windows));
  out +=
      "<p class=\"note\">A forwarder for a name also covers its subdomains; the appliance "
      "forwards those on unchanged. If your resolver validates DNSSEC and rejects the "
      "appliance's answers, exempt these names (Unbound <code>domain-insecure</code>, BIND "
      "<code>validate-except</code>).</p>\n";

  out += "<h2 id=\"check\">5. Check it works</h2>\n";
  std::string first = p.intercept.empty() ? "pypi.org" : p.intercept.front();
  fmt::format_to(std::back_inserter(out), "<p>DNS should print {}:</p>\n", e(addr));
  command(out, fmt::format("nslookup {}\ndig +short {}{}", first, first,
                           std_port ? "" : fmt::format(" @{} -p {}", addr, p.dns_port)));
  out +=
      "<p>HTTPS should succeed with no certificate error, and the issuer should be the "
      "pipgate CA:</p>\n";
  command(out, fmt::format("curl -sS -o /dev/null -w '%{{http_code}}\\n' https://{}/simple/pip/\n"
                           "curl -sv -o /dev/null https://{}/simple/pip/ 2>&1 | grep issuer",
                           first, first));
  out +=
      "<p>Then install as always. The first install of a package fills the cache; later "
      "ones come from the office network, and keep working when the internet link is "
      "down.</p>\n";
  command(out, "python3 -m pip install --no-cache-dir requests");
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024;
  std::size_t i = 0;
  while (v >= 1024 && i + 1 < std::size(kUnits)) {
    v /= 1024;
    ++i;
  }
  return fmt::format("{:.1f} {}", v, kUnits[i]);
}

PageFacts page_facts(const Config& cfg, const CaDownloads& ca, std::string appliance_name) {
  PageFacts p;
  p.appliance_name = std::move(appliance_name);
  if (cfg.appliance.address) p.address = cfg.appliance.address->to_string();
  if (cfg.appliance.address6) p.address6 = cfg.appliance.address6->to_string();
  if (!cfg.dns.listen.empty()) p.dns_port = cfg.dns.listen.front().port;
  p.intercept = cfg.dns.intercept;
  p.ca_name = common_name(ca.info.subject);
  p.ca_fingerprint = ca.info.sha256_fingerprint;
  p.ca_not_after = ca.info.not_after;
  p.ca_pem = ca.pem;
  std::string host = p.address.empty() ? "APPLIANCE-ADDRESS" : p.address;
  std::uint16_t port = 80;
  if (!cfg.web.listen.empty()) {
    const auto& ep = cfg.web.listen.front();
    port = ep.port;
    if (!ep.address.is_unspecified())
      host = ep.address.to_string();
    else if (p.address.empty() && !p.address6.empty())
      host = p.address6;
  }
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  p.base_url = "http://" + host + (port == 80 ? "" : ":" + std::to_string(port));
  return p;
}

std::string render_onboarding_page(const PageFacts& p, const LiveFigures& f) {
  std::string out;
  out.reserve(48 * 1024);
  fmt::format_to(std::back_inserter(out),
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<title>pipgate on {}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
                 e(p.appliance_name), kStyle);
  fmt::format_to(std::back_inserter(out),
                 "<h1>pipgate on {}</h1>\n<p class=\"lead\">The office's PyPI cache. "
                 "<code>pip install</code>, <code>uv</code>, poetry and pdm fetch from "
                 "<strong>{}</strong> as always; this appliance answers for those names on the "
                 "office network, keeps every file it serves, and hands it out again from the "
                 "LAN, also when the internet link is down. Nothing changes on the clients "
                 "except trusting one CA (below), and DNS.</p>\n",
                 e(p.appliance_name), e(joined(p.intercept, " and ")));
  out +=
      "<nav><a href=\"#status\">Status</a><a href=\"#ca\">1. CA</a><a href=\"#os\">2. "
      "Per system</a><a href=\"#tools\">3. pip, uv, conda, Docker, CI</a><a "
      "href=\"#dns\">4. DNS</a><a href=\"#check\">5. Check</a></nav>\n";
  figures_section(out, f);
  ca_section(out, p);
  os_section(out, p);
  tools_section(out, p);
  dns_section(out, p);
  out +=
      "<footer>Prometheus metrics: <a href=\"/metrics\">/metrics</a> · health: <a "
      "href=\"/healthz\">/healthz</a></footer>\n</main>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace pipgate::web
