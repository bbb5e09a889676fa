#!/usr/bin/env bash
# provision-tf.sh: make a libtensorflow (C API) available to the Go build.
#
# Order of preference:
#   1. LIBTENSORFLOW_DIR, if set: a directory with lib/ (libtensorflow.so or
#      libtensorflow_cc.so.2) and include/tensorflow/c/c_api.h. Use this to
#      point the build at your own or a GPU build of libtensorflow.
#   2. Otherwise a libtensorflow on the system linker path (ldconfig) with
#      its headers in /usr/include or /usr/local/include.
#   3. Otherwise the pinned tensorflow-cpu wheel from PyPI, fetched once with
#      `pip download --no-deps` into a versioned cache outside the repository
#      (SPATGAN_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/spatgan), verified
#      by sha256, from which only the two shared libraries and the C headers
#      are extracted.
#
# Then every C symbol the Go bindings call (shared/tf/required-c-symbols.txt,
# copied into scripts/) must be exported, and a tiny C probe prints
# TF_Version(). Idempotent: a second run checks the cache and says so.
#
# Usage: scripts/provision-tf.sh           provision and verify
#        scripts/provision-tf.sh --dir     print the directory that would be used
#                                          (empty for a system library: no flags needed)
set -euo pipefail

TF_VERSION=2.18.1
PY_VERSION=3.11
PLATFORM=manylinux2014_x86_64
WHEEL=tensorflow_cpu-${TF_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
WHEEL_SHA256=810c75d7149d2da0cb2092187817b0dcabb80728ca9f9cf3a61f3f42fadd1298

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
symbols="$here/required-c-symbols.txt"
cache_root=${SPATGAN_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/spatgan}
default_dir="$cache_root/tensorflow-$TF_VERSION"
# system_prefix prints the prefix (/usr or /usr/local) of a system
# libtensorflow with headers, if there is one.
system_prefix() {
  local lib p
  lib=$(ldconfig -p 2>/dev/null | awk '/libtensorflow\.so( |$)/ {print $NF; exit}')
  [ -n "$lib" ] || return 1
  for p in /usr/local /usr; do
    if [ -f "$p/include/tensorflow/c/c_api.h" ]; then printf '%s\n' "$p"; return 0; fi
  done
  return 1
}

dir=${LIBTENSORFLOW_DIR:-$default_dir}
if [ -z "${LIBTENSORFLOW_DIR:-}" ] && [ ! -f "$default_dir/.complete" ] && sysp=$(system_prefix); then
  dir=$sysp
  system=1
fi

log() { printf 'provision-tf: %s\n' "$*" >&2; }
die() { printf 'provision-tf: error: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = "--dir" ]; then
  # A system library needs no -I/-L flags: print nothing.
  [ -n "${system:-}" ] || printf '%s\n' "$dir"
  exit 0
fi

# find_lib prints the C-API library inside $1/lib, if any.
find_lib() {
  local d=$1/lib f
  for f in libtensorflow.so libtensorflow.so.2 libtensorflow_cc.so.2; do
    if [ -e "$d/$f" ]; then printf '%s\n' "$d/$f"; return 0; fi
  done
  return 1
}

verify() {
  local d=$1 lib missing tmp
  lib=$(find_lib "$d") || die "no libtensorflow.so in $d/lib (LIBTENSORFLOW_DIR must hold lib/libtensorflow.so and include/tensorflow/c/c_api.h; unset it to fetch the pinned CPU build)"
  [ -f "$d/include/tensorflow/c/c_api.h" ] || die "no include/tensorflow/c/c_api.h in $d"
  [ -e "$d/lib/libtensorflow.so" ] || die "$d/lib/libtensorflow.so is missing (the Go bindings link -ltensorflow); add a symlink to $(basename "$lib")"
  command -v nm >/dev/null || die "nm (binutils) is needed to check the library's symbols"
  missing=$(comm -23 <(sort -u "$symbols") \
    <(nm -D --defined-only "$(readlink -f "$d/lib/libtensorflow.so")" | awk '{print $3}' | sed 's/@.*//' | sort -u))
  if [ -n "$missing" ]; then
    die "$(readlink -f "$d/lib/libtensorflow.so") does not export $(printf '%s\n' "$missing" | wc -l) C symbols the Go bindings need, first: $(printf '%s\n' "$missing" | head -3 | tr '\n' ' ')"
  fi
  log "all $(wc -l <"$symbols") required C symbols are exported"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  cat >"$tmp/probe.c" <<'C'
#include <stdio.h>
#include <tensorflow/c/c_api.h>
int main(void) {
  TF_Status *s = TF_NewStatus();
  TF_Graph *g = TF_NewGraph();
  TF_SessionOptions *o = TF_NewSessionOptions();
  TF_Session *sess = TF_NewSession(g, o, s);
  if (TF_GetCode(s) != TF_OK) { fprintf(stderr, "TF_NewSession: %s\n", TF_Message(s)); return 1; }
  TF_CloseSession(sess, s); TF_DeleteSession(sess, s);
  TF_DeleteSessionOptions(o); TF_DeleteGraph(g); TF_DeleteStatus(s);
  printf("TF_Version() = %s\n", TF_Version());
  return 0;
}
C
  cc -o "$tmp/probe" "$tmp/probe.c" -I"$d/include" -L"$d/lib" -ltensorflow -Wl,-rpath,"$d/lib" \
    || die "the C probe does not compile or link against $d"
  TF_CPP_MIN_LOG_LEVEL=2 "$tmp/probe" || die "the C probe failed to run against $d"
}

if [ -n "${LIBTENSORFLOW_DIR:-}" ]; then
  log "using LIBTENSORFLOW_DIR=$LIBTENSORFLOW_DIR"
  verify "$LIBTENSORFLOW_DIR"
  exit 0
fi

if [ -n "${system:-}" ]; then
  log "using the system libtensorflow under $dir"
  verify "$dir"
  exit 0
fi

if [ -f "$dir/.complete" ]; then
  log "libtensorflow $TF_VERSION already provisioned in $dir; nothing to do"
  verify "$dir"
  exit 0
fi

command -v python3 >/dev/null || die "python3 with pip is needed to fetch the tensorflow-cpu wheel (or set LIBTENSORFLOW_DIR)"
mkdir -p "$cache_root"
wheel_path="$cache_root/wheels/$WHEEL"
if [ ! -f "$wheel_path" ] || ! echo "$WHEEL_SHA256  $wheel_path" | sha256sum -c --status; then
  log "downloading tensorflow-cpu==$TF_VERSION (about 230 MB) with pip"
  mkdir -p "$cache_root/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform "$PLATFORM" --python-version "$PY_VERSION" \
    -d "$cache_root/wheels" "tensorflow-cpu==$TF_VERSION" >&2 \
    || die "pip could not download tensorflow-cpu==$TF_VERSION; set LIBTENSORFLOW_DIR to an existing libtensorflow instead"
fi
echo "$WHEEL_SHA256  $wheel_path" | sha256sum -c --status \
  || die "sha256 of $wheel_path does not match the pinned $WHEEL_SHA256"
log "wheel sha256 verified"

stage=$(mktemp -d "$cache_root/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# Extract only the two libraries and the C API headers (python's zipfile:
# python3 is needed for pip anyway).
python3 - "$wheel_path" "$stage/x" <<'PY' || die "could not extract $wheel_path"
import fnmatch, sys, zipfile
keep = ["tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2",
        "tensorflow/include/tensorflow/c/*", "tensorflow/include/tensorflow/core/platform/ctstring*",
        "tensorflow/include/tsl/platform/ctstring*", "tensorflow/include/xla/tsl/c/*"]
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if any(fnmatch.fnmatch(n, k) for k in keep)]
    if not any(n.endswith("libtensorflow_cc.so.2") for n in names):
        sys.exit("the wheel has no libtensorflow_cc.so.2")
    z.extractall(sys.argv[2], names)
PY
mkdir -p "$stage/out/lib"
mv "$stage/x/tensorflow/include" "$stage/out/include"
mv "$stage/x/tensorflow/libtensorflow_cc.so.2" "$stage/x/tensorflow/libtensorflow_framework.so.2" "$stage/out/lib/"
ln -s libtensorflow_cc.so.2 "$stage/out/lib/libtensorflow.so"
ln -s libtensorflow_cc.so.2 "$stage/out/lib/libtensorflow.so.2"
ln -s libtensorflow_framework.so.2 "$stage/out/lib/libtensorflow_framework.so"
echo "$TF_VERSION $WHEEL_SHA256" >"$stage/out/.complete"
rm -rf "$dir"
mv "$stage/out" "$dir"
log "extracted libtensorflow $TF_VERSION into $dir"
verify "$dir"
