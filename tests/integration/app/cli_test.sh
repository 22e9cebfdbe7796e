#!/usr/bin/env bash
# The pipgate command-line forms that scripts outside this repo rely on, run for real.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
pipgate="$1"
example="$2"
cd "$WORK"

out="$("$pipgate" version)"
expect "version prints a version" contains "$out" "^pipgate [0-9]"

out="$("$pipgate" --help)"
for cmd in run config ca version Examples; do expect "--help mentions $cmd" contains "$out" "$cmd"; done
out="$("$pipgate" ca export --help)"
expect "ca export --help has --der and an example" contains "$out" "pipgate ca export --der"
"$pipgate" frobnicate >/dev/null 2>&1
expect "unknown command exits non-zero" test $? -ne 0

# config check: the example file is valid and every key is echoed back.
out="$("$pipgate" config check --config "$example")"
expect "config check accepts the example" test $? -eq 0
expect "config check prints the effective max_size" contains "$out" 'max_size = "20GiB"'
expect "config check fills the detected address" contains "$out" 'address = "[0-9]'

printf '[appliance]\ndata_dir = "%s/data"\n\n[cache]\nmax_size = "20XB"\n' "$WORK" >bad.toml
err="$("$pipgate" config check --config bad.toml 2>&1 >/dev/null)"
rc=$?
expect "config check on a bad value exits 1" test $rc -eq 1
expect "error names file:line, key, value, what is allowed" \
  contains "$err" 'bad.toml:5: \[cache\] max_size: got "20XB"; expected a size like "20GiB"'
"$pipgate" config check --config missing.toml >/dev/null 2>&1
expect "config check on a missing file exits non-zero" test $? -ne 0

# ca export creates the CA on first use; later calls print the same certificate.
cat >good.toml <<CONF
[appliance]
data_dir = "$WORK/data"
[dns]
upstream = ["192.0.2.53"]
CONF
"$pipgate" ca export --config good.toml >ca.pem
expect "ca export exits 0" test $? -eq 0
expect "ca export prints a PEM certificate" grep -q 'BEGIN CERTIFICATE' ca.pem
"$pipgate" ca export --config good.toml >ca2.pem
expect "ca export is stable" cmp -s ca.pem ca2.pem
text="$(openssl x509 -in ca.pem -noout -text)"
expect "CA has critical name constraints" contains "$text" "X509v3 Name Constraints: critical"
expect "CA permits pypi.org" contains "$text" "DNS:pypi.org"
expect "CA permits files.pythonhosted.org" contains "$text" "DNS:files.pythonhosted.org"
expect "CA is CA:TRUE pathlen:0" contains "$text" "CA:TRUE, pathlen:0"
expect "CA key is 0600" test "$(stat -c %a data/ca/ca.key)" = 600
"$pipgate" ca export --config good.toml --der >ca.der
expect "ca export --der is the same certificate in DER" \
  test "$(openssl x509 -inform der -in ca.der -outform pem)" = "$(openssl x509 -in ca.pem)"

out="$("$pipgate" ca show --config good.toml)"
fp="$(openssl x509 -in ca.pem -noout -fingerprint -sha256 | cut -d= -f2)"
expect "ca show prints the SHA-256 fingerprint" contains "$out" "sha256: *${fp:-missing}"
expect "ca show prints the permitted names" contains "$out" "pypi.org, files.pythonhosted.org"

# Changing the intercepted names no longer fits the CA: a clear error, then `ca rotate`.
cat >more.toml <<CONF
[appliance]
data_dir = "$WORK/data"
[dns]
upstream = ["192.0.2.53"]
intercept = ["pypi.org", "files.pythonhosted.org", "test.pypi.org"]
CONF
err="$("$pipgate" ca export --config more.toml 2>&1 >/dev/null)"
expect "intercept change is refused" test $? -eq 1
expect "refusal says to run pipgate ca rotate" contains "$err" "pipgate ca rotate"
expect "refusal leaves the CA untouched" cmp -s ca.pem data/ca/ca.pem
"$pipgate" ca rotate --config more.toml 2>rotate.log
expect "ca rotate exits 0" test $? -eq 0
expect "ca rotate keeps the old CA" test -n "$(ls -d data/ca/retired-* 2>/dev/null)"
"$pipgate" ca export --config more.toml >ca3.pem
expect "rotated CA differs" test "$(cat ca3.pem)" != "$(cat ca.pem)"
expect "rotated CA permits test.pypi.org" contains "$(openssl x509 -in ca3.pem -noout -text)" "DNS:test.pypi.org"

# Embedded defaults: no --config; data lands in ./var/pipgate.
"$pipgate" ca export >default-ca.pem
expect "ca export on embedded defaults creates ./var/pipgate/ca" test -f var/pipgate/ca/ca.pem

finish
