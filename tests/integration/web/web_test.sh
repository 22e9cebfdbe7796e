#!/usr/bin/env bash
# The onboarding page and /metrics for real: pipgate-web-test-server on loopback, checked with
#   - curl: /ca.pem and /ca.der byte for byte against `pipgate ca export` (same data dir), types;
#   - Python plistlib: /ca.mobileconfig is a plist with a com.apple.security.root payload whose
#     data is the CA's DER (plutil is not on Debian);
#   - prometheus_client's text parser (python3-prometheus-client): /metrics families and values;
#   - headless Chromium: a screenshot of / (a PNG of non-trivial size) and its DOM (fingerprint,
#     the /ca.pem link, which is then fetched and compared with `pipgate ca export`).
# Usage: web_test.sh SERVER PIPGATE   (PIPGATE_SCREENSHOT=FILE keeps the screenshot there)
# Needs: chromium, python3-prometheus-client, curl, openssl (deploy/packages/web.txt).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK_PREFIX=pipgate-web-test source "$here/../lib.sh"
server="$1"
pipgate="$2"
PY=/usr/bin/python3 # Debian's python3 with python3-prometheus-client: not a pyenv shim
cd "$WORK"

port="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
cat >cfg.toml <<CONF
[appliance]
address = "127.0.0.1"
data_dir = "$WORK/data"
log_level = "debug"
[dns]
upstream = ["127.0.0.1:9"]
[web]
listen = ["127.0.0.1:$port"]
CONF

"$server" --config cfg.toml >server.log 2>&1 &
PIDS+=($!)
healthy() { [ "$(curl -fsS "$base/healthz" 2>/dev/null)" = ok ]; }
if ! wait_until 20 healthy; then
  not_ok "server answers /healthz"
  finish server.log
  exit 1
fi
ok "server answers /healthz"

# 1. The CA files are what `pipgate ca export` prints for the same data dir.
"$pipgate" ca export --config cfg.toml >export.pem 2>export.log
"$pipgate" ca export --config cfg.toml --der >export.der 2>>export.log
expect "pipgate ca export works" test -s export.pem -a -s export.der
curl -fsS -D pem.h -o ca.pem "$base/ca.pem"
curl -fsS -D der.h -o ca.der "$base/ca.der"
curl -fsS -D mc.h -o ca.mobileconfig "$base/ca.mobileconfig"
expect "/ca.pem is pipgate ca export" cmp -s ca.pem export.pem
expect "/ca.der is pipgate ca export --der" cmp -s ca.der export.der
expect "/ca.der is application/x-x509-ca-cert" grep -qi '^content-type: application/x-x509-ca-cert' der.h
expect "/ca.mobileconfig is application/x-apple-aspen-config" \
  grep -qi '^content-type: application/x-apple-aspen-config' mc.h
fingerprint="$(openssl x509 -in export.pem -noout -fingerprint -sha256 | sed 's/^.*=//')"
expect "openssl reads a SHA-256 fingerprint" test ${#fingerprint} -eq 95

mobileconfig_ok() {
  $PY - ca.mobileconfig export.der <<'PY'
import plistlib, re, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
der = open(sys.argv[2], "rb").read()
uuid = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
assert p["PayloadType"] == "Configuration", p["PayloadType"]
assert p["PayloadVersion"] == 1
assert uuid.match(p["PayloadUUID"]), p["PayloadUUID"]
assert p["PayloadIdentifier"].startswith("org.pipgate.appliance.")
assert p["PayloadRemovalDisallowed"] is False
(root,) = p["PayloadContent"]
assert root["PayloadType"] == "com.apple.security.root", root["PayloadType"]
assert root["PayloadContent"] == der, "payload is not the CA's DER"
assert uuid.match(root["PayloadUUID"]) and root["PayloadUUID"] != p["PayloadUUID"]
assert root["PayloadIdentifier"].startswith(p["PayloadIdentifier"] + ".")
PY
}
expect "/ca.mobileconfig is a plist with a com.apple.security.root payload of the DER" mobileconfig_ok

# 2. /metrics through the reference Prometheus text-format parser.
curl -fsS -D metrics.h -o metrics.txt "$base/metrics"
expect "/metrics is text/plain; version=0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' metrics.h
metrics_ok() {
  $PY - metrics.txt <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
# The parser names a counter family without its _total suffix (OpenMetrics style); the samples
# keep the name as exposed.
def family(name):
    return fams.get(name[:-len("_total")] if name.endswith("_total") else name) or fams[name]
def sample(metric, name=None, **labels):
    for s in family(metric).samples:
        if s.name == (name or metric) and s.labels == labels:
            return s.value
    raise AssertionError(f"no sample {name or metric}{labels} in {family(metric).samples}")
want_types = {
    "pipgate_http_requests_total": "counter",
    "pipgate_bytes_served_total": "counter",
    "pipgate_upstream_latency_seconds": "histogram",
    "pipgate_store_bytes": "gauge",
    "pipgate_store_objects": "gauge",
    "pipgate_store_budget_bytes": "gauge",
    "pipgate_store_evictions_total": "counter",
    "pipgate_coalesced_followers_total": "counter",
    "pipgate_integrity_failures_total": "counter",
}
for name, typ in want_types.items():
    try:
        f = family(name)
    except KeyError:
        raise AssertionError(f"{name} missing; have {sorted(fams)}")
    assert f.type == typ, f"{name}: {f.type} != {typ}"
    assert f.documentation, f"{name} has no HELP"
r = "pipgate_http_requests_total"
assert sample(r, host="pypi.org", status="200", cache="hit") == 30
assert sample(r, host="pypi.org", status="200", cache="miss") == 10
assert sample(r, host="files.pythonhosted.org", status="200", cache="hit") == 50
assert sample(r, host="files.pythonhosted.org", status="404", cache="miss") == 2
assert sample(r, host="pypi.org", status="200", cache="pass") == 1
assert sample("pipgate_bytes_served_total", source="cache") == 123456789
assert sample("pipgate_bytes_served_total", source="upstream") == 2345678
h = "pipgate_upstream_latency_seconds"
assert sample(h, h + "_bucket", le="0.025") == 1
assert sample(h, h + "_bucket", le="0.25") == 3
assert sample(h, h + "_bucket", le="2.5") == 3
assert sample(h, h + "_bucket", le="5") == 4
assert sample(h, h + "_bucket", le="+Inf") == 4
assert sample(h, h + "_count") == 4
assert abs(sample(h, h + "_sum") - 3.42) < 1e-9
assert sample("pipgate_store_bytes") == 3 * 2**30
assert sample("pipgate_store_objects") == 4321
assert sample("pipgate_store_budget_bytes") == 20 * 2**30
assert sample("pipgate_store_evictions_total") == 7
assert sample("pipgate_coalesced_followers_total") == 5
assert sample("pipgate_integrity_failures_total") == 1
assert sample("pipgate_test_escaping_total", value='back\\slash "quoted"\nnewline') == 2
PY
}
expect "/metrics parses with prometheus_client, with every family and value" metrics_ok

# 3. The page in a real browser. Chromium runs as root here, hence --no-sandbox; its profile and
# caches stay in the work dir.
chrome() {
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$WORK/chrome" --window-size=1200,2400 "$@" 2>>chrome.log
}
shot="${PIPGATE_SCREENSHOT:-$WORK/page.png}"
rm -f "$shot"
chrome --screenshot="$shot" "$base/" >/dev/null
png_ok() {
  $PY - "$shot" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1200, 2400), (w, h)
assert len(data) > 50_000, f"only {len(data)} bytes: a blank page?"
PY
}
expect "headless Chromium took a 1200x2400 screenshot of / with content" png_ok
chrome --dump-dom "$base/" >dom.html
expect "the rendered DOM shows the CA fingerprint" grep -q "id=\"fingerprint\">$fingerprint<" dom.html
expect "the rendered DOM links /ca.pem" grep -q 'href="/ca.pem"' dom.html
expect "the page's script ran (copy buttons)" grep -q 'class="copy"' dom.html
expect "a top project name is text, not markup" grep -q '&lt;b&gt;not-bold&lt;/b&gt;' dom.html
expect "the live figures are on the page" grep -q '87.0%' dom.html
ca_link_ok() {
  local href
  href="$($PY - dom.html "$base/" <<'PY'
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin
class Links(HTMLParser):
    href = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("id") == "ca-pem":
            self.href = a.get("href")
p = Links()
p.feed(open(sys.argv[1]).read())
print(urljoin(sys.argv[2], p.href))
PY
)" || return 1
  curl -fsS -o link.pem "$href" && cmp -s link.pem export.pem
}
expect "the page's CA link, fetched, is pipgate ca export" ca_link_ok

finish server.log
