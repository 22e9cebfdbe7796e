#!/usr/bin/env bash
# The two-process rule (DESIGN.md): Debian's ldns links OpenSSL 3, and BoringSSL exports the same
# unversioned symbol names, so no executable may load both. pipgate carries BoringSSL and must not
# load libssl.so.3/libcrypto.so.3; pipgate-dns carries ldns (and so OpenSSL 3) and must not load
# BoringSSL. Checked on what the loader really resolves (ldd), plus DT_NEEDED (readelf).
set -euo pipefail
pipgate="$1"
pipgate_dns="$2"
fail=0

check() {  # name path must_have... -- must_not_have...
  local name="$1" path="$2"; shift 2
  local libs needed
  libs="$(ldd "$path")"
  needed="$(readelf -d "$path" | grep NEEDED || true)"
  local mode=have
  for pat in "$@"; do
    if [ "$pat" = "--" ]; then mode=not; continue; fi
    if [ $mode = have ] && ! grep -q -- "$pat" <<<"$libs"; then
      echo "FAIL: $name does not load $pat (test would prove nothing)"; fail=1
    fi
    if [ $mode = not ] && grep -q -- "$pat" <<<"$libs"; then
      echo "FAIL: $name loads $pat:"; grep -- "$pat" <<<"$libs"; fail=1
    fi
  done
  if grep -q 'libssl.so.3\|libcrypto.so.3' <<<"$libs" && grep -q 'android/lib\(ssl\|crypto\).so.0' <<<"$libs"; then
    echo "FAIL: $name loads both OpenSSL 3 and BoringSSL"; fail=1
  fi
  echo "$name NEEDED:"; echo "$needed" | sed 's/^/  /'
}

check pipgate "$pipgate" 'android/libcrypto.so.0' -- 'libssl.so.3' 'libcrypto.so.3' 'libldns'
check pipgate-dns "$pipgate_dns" 'libldns' 'libcares' -- 'android/libssl.so.0' 'android/libcrypto.so.0'

if [ $fail -ne 0 ]; then echo "1 passed, 1 failed"; exit 1; fi
echo "two-process rule holds for pipgate and pipgate-dns"
