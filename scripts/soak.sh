#!/usr/bin/env bash
# Soak test of issue 11: PAIRS live GAN pairs (default 1000) on loopback for
# DURATION (default 60s), server and client in one process sharing one model,
# then the figures the issue asks for: exit status, how every conversation
# ended, loss, pacing error quantiles and the peak resident memory. Both
# agents record a pcap and a CSV flow log, as the command does by default.
#
#   scripts/soak.sh BIN BUNDLE [PAIRS] [DURATION] [extra simulate flags...]
#
# Run it alone on the machine (it is CPU-bound on two cores); make soak
# builds the binary and runs it niced. Recordings go to a temporary
# directory, removed at the end unless KEEP=1.
set -u
bin=${1:?usage: soak.sh BIN BUNDLE [PAIRS] [DURATION]}
bundle=${2:?usage: soak.sh BIN BUNDLE [PAIRS] [DURATION]}
pairs=${3:-1000}
dur=${4:-60s}
shift $(( $# < 4 ? $# : 4 ))
dir=$(mktemp -d -t spatgan-soak-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$dir"' EXIT
echo "soak: $pairs pairs, $dur, bundle $bundle, output in $dir"
/usr/bin/time -f 'soak: peak resident memory %M KiB, wall %e s, user %U s, system %S s' \
  "$bin" simulate local --bundle "$bundle" --pairs "$pairs" --duration "$dur" \
  --server-pcap "$dir/server.pcap" --server-csv "$dir/server.csv" --client-pcap "$dir/client.pcap" --client-csv "$dir/client.csv" "$@" \
  >"$dir/report.txt" 2>"$dir/stderr.txt"
rc=$?
grep -v '^I0000\|^WARNING: All log\|oneDNN\|cpu_feature_guard\|^To enable' "$dir/stderr.txt"
cat "$dir/report.txt"
if command -v capinfos >/dev/null; then
  for f in "$dir"/server.pcap "$dir"/client.pcap; do
    echo "soak: $(basename "$f"): $(capinfos -M -c "$f" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}') packets recorded"
  done
fi
echo "soak: exit status $rc"
exit $rc
