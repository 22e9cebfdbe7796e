#!/usr/bin/env bash
# The point of the name-constrained CA, checked with the clients people run: a certificate that
# the CA's own key signs for any name outside [dns] intercept is rejected by Debian's OpenSSL
# (`openssl verify`, `openssl s_client -verify_return_error` against a live server) and by
# Python's ssl (Debian's /usr/bin/python3: what pip uses), while a leaf for an intercepted name,
# signed the same way, is accepted (so the rejections are for the name, nothing else).
# The CA comes from `pipgate ca export`; the leaves are signed with <data_dir>/ca/ca.key.
# usage: name_constraints_test.sh PIPGATE
source "$(dirname "$0")/../lib.sh"
PIPGATE="$(realpath "${1:?usage: $0 PIPGATE}")"
PY=/usr/bin/python3
cd "$WORK" || exit 1
pipgate_config "$WORK/pipgate.toml" "$WORK/data" 127.0.0.1:1 127.0.0.1:1 127.0.0.1:1
expect "pipgate ca export writes the CA" bash -c "'$PIPGATE' ca export --config '$WORK/pipgate.toml' >ca.pem"
expect "the CA key is in the data dir" [ -s "$WORK/data/ca/ca.key" ]

# leaf FILE SUBJECT SAN: a P-256 leaf for SAN (e.g. DNS:example.com), signed with the CA's key.
leaf() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" -keyout "$1.key" \
    -out "$1.csr" 2>/dev/null &&
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$1.ext" &&
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey "$WORK/data/ca/ca.key" -CAcreateserial \
      -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

# verify FILE NAME: `openssl verify` output for FILE as NAME (a host name or an IP address).
verify() {
  local how=-verify_hostname
  [[ $2 =~ ^[0-9.]+$ ]] && how=-verify_ip
  openssl verify -CAfile ca.pem "$how" "$2" "$1.pem" 2>&1
}

# live FILE NAME: serves FILE with openssl s_server (readiness probe and two handshakes); prints what s_client
# (-verify_return_error) and Python's ssl say, one line each: "ok" or the verification error.
live() {
  local port pid out
  port=$(free_port)
  openssl s_server -quiet -naccept 3 -accept "127.0.0.1:$port" -cert "$1.pem" -key "$1.key" \
    </dev/null >/dev/null 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_until 5 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null" || { echo "no server"; return; }
  local how=-verify_hostname
  [[ $2 =~ ^[0-9.]+$ ]] && how=-verify_ip
  out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$2" "$how" "$2" \
    -CAfile ca.pem -verify_return_error </dev/null 2>&1)
  if [ $? = 0 ] && grep -q 'Verify return code: 0 (ok)' <<<"$out"; then echo "s_client ok"
  else echo "s_client $(grep -m1 -oE 'verify error:.*' <<<"$out")"; fi
  timeout 10 "$PY" - "$port" "$2" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile="ca.pem")
try:
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5),
                         server_hostname=sys.argv[2]):
        print("python ok")
except ssl.SSLCertVerificationError as e:
    print("python %s" % e.verify_message)
PYEOF
  wait "$pid" 2>/dev/null
}

# case_ LABEL SUBJECT SAN NAME ok|rejected
case_() {
  local label="$1" subject="$2" san="$3" name="$4" want="$5" v out
  expect "$label: leaf for $san signed with the CA's key" leaf "$label" "$subject" "$san"
  v=$(verify "$label" "$name")
  out=$(live "$label" "$name")
  if [ "$want" = ok ]; then
    expect "$label: openssl verify accepts it ($(tail -1 <<<"$v"))" contains "$v" ': OK$'
    expect "$label: openssl s_client -verify_return_error accepts it ($(head -1 <<<"$out"))" \
      [ "$(head -1 <<<"$out")" = "s_client ok" ]
    expect "$label: Python's ssl accepts it ($(tail -1 <<<"$out"))" [ "$(tail -1 <<<"$out")" = "python ok" ]
  else
    expect "$label: openssl verify rejects it ($(grep -m1 error <<<"$v"))" \
      contains "$v" 'subtree violation'
    expect "$label: openssl s_client -verify_return_error rejects it ($(head -1 <<<"$out"))" \
      contains "$(head -1 <<<"$out")" 'subtree violation'
    expect "$label: Python's ssl rejects it ($(tail -1 <<<"$out"))" \
      contains "$(tail -1 <<<"$out")" 'subtree violation'
  fi
}

case_ pypi /CN=pypi.org DNS:pypi.org pypi.org ok
case_ files /CN=files.pythonhosted.org DNS:files.pythonhosted.org files.pythonhosted.org ok
case_ other /CN=example.com DNS:example.com example.com rejected
case_ suffix /CN=evilpypi.org DNS:evilpypi.org evilpypi.org rejected
case_ prefix /CN=pypi.org.example.com DNS:pypi.org.example.com pypi.org.example.com rejected
case_ both "/CN=pypi.org" "DNS:pypi.org,DNS:example.com" example.com rejected
# An IP address: the constraints must exclude every address, not only permit DNS names.
case_ address /O=evil IP:127.0.0.1 127.0.0.1 rejected
finish
