#!/usr/bin/env bash
# Debian's real pip in a client namespace that resolves through pipgate-dns and has no route to
# the origins, default index (no URL option), trusting only the CA from `pipgate ca export`:
# a cold install of a package with three dependencies (four wheels, resolved from PEP 691 JSON
# and PEP 658 .metadata), then a warm install with both origins stopped. Prints both wall times,
# and the request fields pip sends (captured by a direct install in the origin namespace) next to
# what pipgate sends upstream.
# usage: install_test.sh PIPGATE PIPGATE_DNS
source "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2119 # no blobs needed
setup_world

# --- the closed world is closed
expect "client: no route to the fake pypi.org ($PYPI_IP)" bash -c "! ip netns exec $NS_CLI ip route get $PYPI_IP >/dev/null 2>&1"
expect "client: origin address unreachable" bash -c "! ip netns exec $NS_CLI curl -s --max-time 3 -k https://$FILES_IP/ >/dev/null 2>&1"
expect "appliance does not forward packets" [ "$(in_app sysctl -n net.ipv4.ip_forward)" = 0 ]
got=$(in_cli getent ahostsv4 files.pythonhosted.org | awk 'NR == 1 {print $1}')
expect "client's resolver (getaddrinfo) sends files.pythonhosted.org to the appliance ($got)" [ "$got" = "$APP_IP" ]

# --- baseline: the same install straight from the origins (origin namespace, test public CA).
# It proves the fake PyPI is good enough for pip, and records exactly what pip sends.
t0=$(now)
pip_install "$NS_ORG" "$WORK/pki/ca.pem" "$WORK/site-direct" "$WORK/pip-direct.log" app-pkg
rc=$?
direct=$(since "$t0")
expect "direct pip install from the fake origins (no pipgate) succeeds" [ $rc = 0 ]
expect "direct install: app-pkg, lib-a, lib-b, tiny-pkg import" installed_ok "$WORK/site-direct"
"$PY" "$E2E/request_headers.py" "what Debian's pip sends (at the origin, no proxy between)" \
  "$WORK/origin-pypi.jsonl" "$WORK/origin-files.jsonl"
skip_pypi=$(wc -l <"$WORK/origin-pypi.jsonl")
skip_files=$(wc -l <"$WORK/origin-files.jsonl")

# --- cold: through pipgate, nothing cached
t0=$(now)
pip_install "$NS_CLI" "$CA" "$WORK/site-cold" "$WORK/pip-cold.log" app-pkg
rc=$?
cold=$(since "$t0")
expect "cold pip install through pipgate succeeds (${cold} s)" [ $rc = 0 ]
expect "cold install: app-pkg, lib-a, lib-b, tiny-pkg import" installed_ok "$WORK/site-cold"
n=$(($(wc -l <"$WORK/origin-pypi.jsonl") - skip_pypi))
expect "cold install: the index came from the fake pypi.org through pipgate ($n requests)" [ "$n" -gt 0 ]
n=$(($(wc -l <"$WORK/origin-files.jsonl") - skip_files))
expect "cold install: the wheels came from the fake files host through pipgate ($n log lines)" [ "$n" -gt 0 ]
tail -n +$((skip_pypi + 1)) "$WORK/origin-pypi.jsonl" >"$WORK/cold-pypi.jsonl"
expect "pip asked pipgate for the PEP 691 JSON simple API" \
  grep -q '"path":"/simple/app-pkg/".*vnd\.pypi\.simple\.v1+json' "$WORK/cold-pypi.jsonl"
"$PY" "$E2E/request_headers.py" "what pipgate sends upstream during the cold install" \
  "$WORK/origin-pypi.jsonl:$skip_pypi" "$WORK/origin-files.jsonl:$skip_files"

# --- warm: both origins stopped (connections refused); everything must come from the cache
stop_origin pypi
stop_origin files
expect "origins stopped" ns_port_closed "$NS_ORG" "$FILES_IP" 443
t0=$(now)
pip_install "$NS_CLI" "$CA" "$WORK/site-warm" "$WORK/pip-warm.log" app-pkg
rc=$?
warm=$(since "$t0")
expect "warm pip install with the origins stopped succeeds (${warm} s)" [ $rc = 0 ]
expect "warm install: app-pkg, lib-a, lib-b, tiny-pkg import" installed_ok "$WORK/site-warm"
if [ $rc != 0 ]; then echo "--- pip-warm.log (tail)"; tail -15 "$WORK/pip-warm.log"; fi

t0=$(now)
in_cli env "${CLEAN_ENV[@]}" "$PY" -m pip --version >/dev/null 2>&1
figure "pip itself (python3 -m pip --version), for scale:           $(since "$t0") s"
figure "origins: ${ORIGIN_LATENCY_MS} ms before each answer, uplink $ORIGIN_RATE"
figure "pip install app-pkg (4 wheels), direct from the origins:   ${direct} s"
figure "pip install app-pkg (4 wheels), cold through pipgate:      ${cold} s"
figure "pip install app-pkg (4 wheels), warm, origins stopped:     ${warm} s$([ $rc = 0 ] || echo ' (FAILED)')"
e2e_finish
