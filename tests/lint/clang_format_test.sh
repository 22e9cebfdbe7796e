#!/usr/bin/env bash
# The tree is formatted with the repository's .clang-format (Google base).
set -uo pipefail
root="$1"
cd "$root"
command -v clang-format >/dev/null || { echo "clang-format missing: run deploy/install-deps.sh"; exit 1; }
mapfile -t files < <(git ls-files '*.cc' '*.h' 2>/dev/null || find common certs dns proxy store app tests -name '*.cc' -o -name '*.h')
bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "Not clang-formatted (run: clang-format -i FILE):"; printf '  %s\n' "${bad[@]}"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed (${#files[@]} files)"
