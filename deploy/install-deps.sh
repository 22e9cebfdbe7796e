#!/usr/bin/env bash
# Installs every build, test and run dependency of pipgate from Debian 12's archive.
# Idempotent and non-interactive: packages already installed are left alone, and apt runs only
# when something is missing. Lists: deploy/packages/*.txt (one package a line, # comments);
# `--with bench,fuzz` adds deploy/packages/extra/{bench,fuzz}.txt for benchmarks and fuzzing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

lists=("$here"/packages/*.txt)
while [ $# -gt 0 ]; do
  case "$1" in
    --with)
      IFS=, read -ra extras <<<"${2:?--with needs a list, e.g. bench,fuzz}"
      for x in "${extras[@]}"; do
        [ -f "$here/packages/extra/$x.txt" ] || { echo "install-deps: no list '$x' in $here/packages/extra" >&2; exit 2; }
        lists+=("$here/packages/extra/$x.txt")
      done
      shift 2 ;;
    *) echo "usage: $0 [--with bench,fuzz]" >&2; exit 2 ;;
  esac
done

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "${lists[@]}" | grep -v '^$' | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
