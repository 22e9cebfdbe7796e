#!/usr/bin/env bash
# The real pip (Debian's), default index URL https://pypi.org/simple/, names resolved to the proxy
# (a private /etc/hosts, as pipgate-dns would answer), trusting only the pipgate CA: pip download
# and pip install of a small package from a fake simple index, uncached, with the index and the
# file on an h2-only origin and an HTTP/1.1-only origin, then the other way round.
# usage: pip_test.sh PROXY_TEST_SERVER
source "$(dirname "$0")/lib.sh"
PROXY_BIN="$1"

make_pki
make_htdocs
# A real wheel under a files.pythonhosted.org-style path, and a PEP 503 page linking to it
# with its sha256 (pip verifies it).
"$PY" - "$WORK/htdocs" <<'PYEOF'
import base64, hashlib, io, os, sys, zipfile
root = sys.argv[1]
files = {
    "tinypkg/__init__.py": b"VERSION = '1.0'\n",
    "tinypkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
    "tinypkg-1.0.dist-info/WHEEL":
        b"Wheel-Version: 1.0\nGenerator: pipgate-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += f"{name},sha256={digest},{len(data)}\n"
record += "tinypkg-1.0.dist-info/RECORD,,\n"
files["tinypkg-1.0.dist-info/RECORD"] = record.encode()
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
wheel = buf.getvalue()
sha = hashlib.sha256(wheel).hexdigest()
rel = f"packages/{sha[:2]}/{sha[2:4]}/{sha[4:]}/tinypkg-1.0-py3-none-any.whl"
os.makedirs(os.path.join(root, os.path.dirname(rel)))
open(os.path.join(root, rel), "wb").write(wheel)
html = (f'<!DOCTYPE html><html><body><a href="https://files.pythonhosted.org/{rel}#sha256={sha}">'
        f"tinypkg-1.0-py3-none-any.whl</a></body></html>\n")
open(os.path.join(root, "simple/tinypkg/index.html"), "w").write(html)
PYEOF

# requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override pip's --cert, and PIP_* settings
# (find-links, cert, index) would let pip bypass the index under test.
CLEAN_ENV=(-u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR -u PIP_CERT
  -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONFIG_FILE -u PIP_NO_INDEX
  -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy)
pip_run() {  # pip_run LABEL: pip download + pip install through the proxy
  local out="$WORK/pip-$1"
  mkdir -p "$out"
  in_names env "${CLEAN_ENV[@]}" "$PY" -m pip download --isolated \
    --no-cache-dir --disable-pip-version-check --no-deps --cert "$WORK/data/ca/ca.pem" \
    --index-url https://pypi.org/simple/ -d "$out/dl" tinypkg >"$out/download.log" 2>&1
  expect "$1: pip download succeeds" [ $? = 0 ]
  expect "$1: wheel downloaded" test -s "$out/dl/tinypkg-1.0-py3-none-any.whl"
  in_names env "${CLEAN_ENV[@]}" "$PY" -m pip install --isolated \
    --no-cache-dir --disable-pip-version-check --no-deps --cert "$WORK/data/ca/ca.pem" \
    --index-url https://pypi.org/simple/ --target "$out/site" tinypkg >"$out/install.log" 2>&1
  expect "$1: pip install succeeds" [ $? = 0 ]
  v=$(PYTHONPATH="$out/site" "$PY" -c 'import tinypkg; print(tinypkg.VERSION)' 2>&1)
  expect "$1: installed package imports ($v)" [ "$v" = 1.0 ]
  if [ "$FAILED" -ne 0 ]; then tail -20 "$out/download.log" "$out/install.log"; fi
}

expect "h2 origin up" start_h2_origin
expect "h1 origin up" start_h1_origin "$H1_IP" origin
expect "dnsmasq up (index on h2 origin, files on h1 origin)" start_dns "$H2_IP" "$H1_IP"
expect "proxy up" start_proxy
pip_run "index via h2, files via h1"
expect "index came from the h2 origin" grep -q 'TLS pypi.org' "$WORK/proxy.log"
expect "the wheel came from the h1 origin" grep -q 'GET /packages/.*tinypkg' "$WORK/origin-$H1_IP.log"

stop_pid "$PROXY_PID"
: >"$WORK/origin-$H1_IP.log"
expect "dnsmasq up (index on h1 origin, files on h2 origin)" start_dns "$H1_IP" "$H2_IP"
expect "proxy up again" start_proxy
pip_run "index via h1, files via h2"
expect "the index came from the h1 origin" grep -q 'GET /simple/tinypkg/' "$WORK/origin-$H1_IP.log"
proxy_finish
