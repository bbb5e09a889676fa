#!/usr/bin/env bash
# fuzz.sh [DURATION]: run every fuzz target of the module, one after the
# other (never in parallel: the machine is shared), each for DURATION
# (a go test -fuzztime value, default 60s). `make fuzz` calls it with
# FUZZTIME and the cgo flags the tf/ package needs. Exits non-zero on the
# first failing target; the failing input is kept under the package's
# testdata/fuzz/ for `go test -run` to replay.
set -euo pipefail
dur="${1:-60s}"
cd "$(dirname "$0")/.."
failed=0
ran=0
# Packages whose test files declare fuzz targets.
mapfile -t files < <(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . || true)
declare -A seen=()
for f in "${files[@]}"; do
  dir="$(dirname "$f")"
  pkg="./${dir#./}"
  for t in $(grep -hoE '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    key="$pkg $t"
    [ -n "${seen[$key]:-}" ] && continue
    if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $t "* ]]; then continue; fi
    seen[$key]=1
    echo "== fuzz $pkg $t for $dur"
    start=$(date +%s)
    log=$(mktemp)
    if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$dur" -parallel "${FUZZ_PARALLEL:-1}" "$pkg" 2>&1 | tee "$log"; then
      echo "== ok $pkg $t ($(( $(date +%s) - start )) s): $(grep -o 'elapsed: .*execs: [0-9]*' "$log" | tail -1)"
      rm -f "$log"
    else
      rm -f "$log"
      echo "== FAIL $pkg $t" >&2
      failed=1
      break
    fi
    ran=$((ran + 1))
  done
  [ "$failed" = 1 ] && break
done
echo "fuzz: $ran targets run for $dur each"
exit "$failed"
