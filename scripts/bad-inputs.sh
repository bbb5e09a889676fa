#!/usr/bin/env bash
# bad-inputs.sh: regenerate docs/bad-inputs.md, the table of bad inputs
# (files, flags, bundles, datagrams, an interruption) with the exact message
# `spatgan` gives for each and its exit status. Every input is made here, in
# a temporary directory that the commands run in (so the messages show
# short relative names); a small bundle is trained for the bundle and
# resume cases (about a minute on two cores). Needs jq, gzip and a free
# UDP port 7499 on 127.0.0.1.
#
# Usage: scripts/bad-inputs.sh [OUT]   (default docs/bad-inputs.md)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out="${1:-$repo/docs/bad-inputs.md}"
command -v jq >/dev/null || { echo "bad-inputs: needs jq (apt-get install jq)" >&2; exit 1; }
cd "$repo"
make -s build >/dev/null
go build -o bin/badpeer ./scripts/badpeer
export TF_CPP_MIN_LOG_LEVEL=2
work=$(mktemp -d)
peer=""
trap '[ -n "$peer" ] && kill "$peer" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
sp="$repo/bin/spatgan"

rows=()
n=0
# row KIND INPUT -- COMMAND...: run COMMAND (20 s at most), record the last
# "spatgan:" line of its stderr (else its last line) and its exit status.
row() {
  local kind=$1 input=$2
  shift 3
  local rc=0
  timeout 20 "$@" >stdout.txt 2>stderr.txt || rc=$?
  local msg
  msg=$(grep -E '^spatgan: ' stderr.txt | tail -1 || true)
  if [ -z "$msg" ] && [ "$rc" = 0 ]; then msg=$(grep -v '^$' stdout.txt | head -1 || true); fi
  [ -n "$msg" ] || msg=$(grep -vE '^$|^[IWE][0-9]{4} |^WARNING: All log' stderr.txt | tail -1 || true)
  local shown=("$@") i
  for i in "${!shown[@]}"; do
    [ "${shown[$i]}" != "$sp" ] || shown[$i]=spatgan
  done
  n=$((n + 1))
  esc() { printf '%s' "$1" | sed 's/|/\\|/g'; }
  rows+=("| $n | $kind | $(esc "$input") | \`$(esc "${shown[*]}")\` | $(esc "$msg") | $rc |")
  echo "bad-inputs: $n $kind: rc $rc: $msg" >&2
}

# --- files -----------------------------------------------------------------
hdr="number,src,dst,size,clean_size,date,time"
good="1,10.0.0.1,10.0.0.2,100,42,2015-08-25,10:00:00"
: >empty.csv
printf '%s\n%s\n' "number,src,dst,clean_size,date,time" "1,10.0.0.1,10.0.0.2,42,2015-08-25,10:00:00" >nosize.csv
printf '%s\n%s\n%s\n' "$hdr" "$good" "2,10.0.0.2,10.0.0.1,abc,42,2015-08-25,10:00:01" >size.csv
printf '%s\n%s\n%s\n' "$hdr" "$good" "2,999.0.0.2,10.0.0.1,100,42,2015-08-25,10:00:01" >addr.csv
printf '%s\n%s\n%s\n' "$hdr" "$good" "2,10.0.0.2,10.0.0.1,100,42,3000-01-01,10:00:01" >y3000.csv
printf '%s\n%s\n%s\n' "$hdr" "$good" "2,10.0.0.2,10.0.0.1,100,42,1000-01-01,10:00:01" >y1000.csv
printf '%s\n%s\n%s\n' "$hdr" "$good" "2,10.0.0.2,10.0.0.1,100,42,2015-08-25,25:00:01" >hour.csv
printf '%s\n%s\n%s\n' "$hdr" "$good" "2,10.0.0.2" >short.csv
# classic pcap, microseconds, Ethernet: a file header and a record header cut short
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00' >cut.pcap
# a record whose microsecond field is 1,000,000
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x40\x42\x0f\x00\x00\x00\x00\x00\x00\x00\x00\x00' >frac.pcap
# link type 147 (private use)
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x93\x00\x00\x00' >link.pcap
head -c 64 /dev/zero | tr '\0' 'x' >junk.bin
# compact conversation whose first timestamp is -1 ns (zigzag varint 0x01)
printf 'SPC1\x01\x00\x04\x0a\x00\x00\x01\x00\x04\x0a\x00\x00\x02\x00\x03udp\x02\x01\x01' | gzip >negative.spc.gz

row file "missing file" -- "$sp" trace inspect missing.csv
row file "empty file" -- "$sp" trace inspect empty.csv
row file "CSV without a size column" -- "$sp" trace inspect nosize.csv
row file "CSV size \`abc\`" -- "$sp" trace inspect size.csv
row file "CSV address \`999.0.0.2\`" -- "$sp" trace inspect addr.csv
row file "CSV date \`3000-01-01\`" -- "$sp" trace inspect y3000.csv
row file "CSV date \`1000-01-01\`" -- "$sp" trace inspect y1000.csv
row file "CSV time \`25:00:01\`" -- "$sp" trace inspect hour.csv
row file "CSV row with two fields" -- "$sp" trace inspect short.csv
row file "pcap cut inside a record header" -- "$sp" trace inspect cut.pcap
row file "pcap microseconds = 1,000,000" -- "$sp" trace inspect frac.pcap
row file "pcap of link type 147" -- "$sp" trace inspect link.pcap
row file "not a capture (64 x \`x\`)" -- "$sp" trace inspect junk.bin
row file "compact conversation with a timestamp before 1970" -- "$sp" trace inspect negative.spc.gz

# --- flags -----------------------------------------------------------------
row flag "unknown command" -- "$sp" frobnicate
row flag "unknown configuration" -- "$sp" train --config huge --out x
row flag "zero layer width" -- "$sp" train --gen-widths 0 --out x
row flag "training fraction above 1" -- "$sp" train --train-frac 1.5 --out x
row flag "validation part as large as the training part" -- "$sp" train --val-frac 0.9 --out x
row flag "unknown condition feature" -- "$sp" train --packet-cond opp_colour --out x
row flag "calibrate neither true nor false" -- "$sp" train --calibrate maybe --out x
row flag "unknown weight selection" -- "$sp" train --select best --out x
row flag "in-burst-dt neither true nor false" -- "$sp" train --in-burst-dt maybe --out x
row flag "mismatch weight outside [0, 1)" -- "$sp" train --mismatch 1 --out x
row flag "first-given feature not in the condition" -- "$sp" train --packet-first-given own_count_avg --out x
row flag "calibration damping outside [0, 1]" -- "$sp" train --calib-damp 2 --out x
row flag "time-given feature not in the condition" -- "$sp" train --burst-time-given last_dt_us --out x
row flag "unknown transport" -- "$sp" simulate client --net sctp
row flag "prime neither true nor false" -- "$sp" bench fidelity --prime=maybe
printf 'number,src,dst,size,clean_size,date,time\n1,10.0.0.1,10.0.0.2,100,42,2020-01-01,00:00:00.000\n' >oneway.csv
row flag "continue a capture with no two-way conversation" -- "$sp" generate --continue --trace oneway.csv --packets 10 --out x.pcap

# --- resume ----------------------------------------------------------------
small=(--steps 40 --gen-widths 8 --critic-widths 8 --eval-every 20 --checkpoint-every 20 --quiet)
"$sp" train "${small[@]}" --out b >/dev/null 2>&1
"$sp" generate --packets 3000 --out other.pcap >/dev/null 2>&1
row resume "same directory, another seed" -- "$sp" train "${small[@]}" --seed 2 --resume --out b
row resume "same directory, another learning rate" -- "$sp" train "${small[@]}" --lr 0.001 --resume --out b
row resume "same directory, another trace" -- "$sp" train "${small[@]}" --trace other.pcap --resume --out b
row resume "resume of a finished run (exit 0, nothing written)" -- "$sp" train "${small[@]}" --steps 20 --resume --out b

# --- bundles ---------------------------------------------------------------
damage() { # damage NAME JQ-FILTER: a copy of bundle b with its manifest edited
  cp -r b "$1"
  jq "$2" b/manifest.json >"$1/manifest.json"
}
damage unknown '. + {colour: "blue"}'
damage v1 '.format_version = 1'
damage permuted '.models["client-packet"].cond_scaler.names |= [.[1], .[0]] + .[2:]'
damage wide '.models["server-burst"].config.gen_widths = [1048576]'
damage escape '.models["server-packet"].weights = "../server-packet.weights"'
cp -r b cut && head -c 100 b/client-burst.weights >cut/client-burst.weights
cp -r b nomanifest && rm nomanifest/manifest.json
gen=(generate --packets 20 --out g.pcap)
row bundle "manifest with an unknown field" -- "$sp" "${gen[@]}" --bundle unknown
row bundle "manifest of format version 1" -- "$sp" "${gen[@]}" --bundle v1
row bundle "condition names permuted" -- "$sp" "${gen[@]}" --bundle permuted
row bundle "layer width 1,048,576" -- "$sp" "${gen[@]}" --bundle wide
row bundle "weights file outside the bundle" -- "$sp" "${gen[@]}" --bundle escape
row bundle "weights file cut to 100 bytes" -- "$sp" "${gen[@]}" --bundle cut
row bundle "directory without a manifest" -- "$sp" "${gen[@]}" --bundle nomanifest

# --- datagrams: a misbehaving server answers the client's handshake ----------
cli=(simulate client --connect 127.0.0.1:7499 --packets 10 --connect-timeout 1s)
for mode in version fingerprint limit time magic; do
  "$repo/bin/badpeer" -listen 127.0.0.1:7499 -mode "$mode" &
  peer=$!
  sleep 0.3
  case $mode in
    version) what="answer of protocol version 2" ;;
    fingerprint) what="acceptance for another model" ;;
    limit) what="acceptance with a duration limit of 2^63 ns" ;;
    time) what="acceptance sent in the year 2300 (dropped)" ;;
    magic) what="answer that is not the protocol's (dropped)" ;;
  esac
  row datagram "$what" -- "$sp" "${cli[@]}"
  kill "$peer" 2>/dev/null || true
  wait "$peer" 2>/dev/null || true
  peer=""
done

# --- an interruption -------------------------------------------------------
row signal "SIGINT (Ctrl-C) 4 s into training" -- timeout --preserve-status -s INT 4 "$sp" train --steps 100000 --gen-widths 8 --critic-widths 8 --quiet --out c

{
  echo "# Bad inputs and what spatgan says"
  echo
  echo "Generated by \`scripts/bad-inputs.sh\` (do not edit by hand; run it again after"
  echo "changing a message). Each row is one command run in a scratch directory on"
  echo "inputs the script makes; the message is the last \`spatgan:\` line of standard"
  echo "error (or, for a success, the first line of standard output), the status is"
  echo "the exit status (130: interrupted, resumable with \`--resume\`; 124 would be"
  echo "the script's 20 s timeout)."
  echo
  echo "| # | kind | input | command | message | exit |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$out"
echo "bad-inputs: $n rows written to $out" >&2
