#!/usr/bin/env bash
# fidelity-all.sh: the fidelity protocol on every evaluation capture. For
# each capture it trains a bundle with the default command
#   bin/spatgan train --trace TRACE --out $BUNDLES/NAME
# unless $BUNDLES/NAME already holds one (about ten minutes per capture on
# two cores at the default 8,000 steps), then runs
#   bin/spatgan bench fidelity --trace TRACE --bundle $BUNDLES/NAME --json $FIDELITY/NAME.json > $FIDELITY/NAME.md
# and collects the reports into one table, $FIDELITY/summary.md (noise
# floor, gan, markov, bootstrap: C2ST on packets and windows, max KS and max
# KS ratio to the floor, ACF errors, dependence error, timeline ratio).
#
# Captures (NAME: TRACE):
#   skype5       the embedded Skype call (default)
#   skype1       ../shared/data/skype_eth_1.csv (its busiest conversation)
#   skype2       ../shared/data/skype_eth_2.csv (its busiest conversation)
#   pgbench      bench/testdata/captures/pgbench.spc
#   redis        bench/testdata/captures/redis.spc
#   pgbench-wan  bench/testdata/captures/pgbench-wan.spc
# A capture whose file is missing is skipped with a message.
#
# Environment:
#   CAPTURES   names to run (default: all of the above)
#   STEPS      generator steps per model for bundles trained here (default:
#              the configuration's); existing bundles are used as they are,
#              so give another BUNDLES for a quick trial, e.g.
#              STEPS=300 CAPTURES="skype5 redis" BUNDLES=out/bundles-300 FIDELITY=out/fidelity-300
#   BUNDLES    bundle root (default out/bundles), one directory per capture;
#              BenchmarkFidelity reads the same layout (SPATGAN_BUNDLES)
#   FIDELITY   report directory (default out/fidelity)
#   SHARED     the shared data directory (default ../shared/data, or
#              $SPATGAN_SHARED_DATA)
#   NICE       niceness of training and evaluation (default 15: the machine
#              is shared)
#   SEED       seed of training and evaluation (default 1)
#   DRAW_SEED  seed of the generators' draws in the evaluation (bench
#              fidelity --draw-seed; default: SEED), with FIDELITY set apart
#              per draw seed to see how much the draws alone move a score
set -euo pipefail
cd "$(dirname "$0")/.."
CAPTURES=${CAPTURES:-skype5 skype1 skype2 pgbench redis pgbench-wan}
STEPS=${STEPS:-}
BUNDLES=${BUNDLES:-out/bundles}
FIDELITY=${FIDELITY:-out/fidelity}
SHARED=${SHARED:-${SPATGAN_SHARED_DATA:-../shared/data}}
NICE=${NICE:-15}
SEED=${SEED:-1}
DRAW_SEED=${DRAW_SEED:-0}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

log() { echo "fidelity-all: $*" >&2; }

make build >/dev/null
TF=$(scripts/provision-tf.sh --dir)
export CGO_ENABLED=1 CGO_CFLAGS="-I$TF/include" CGO_LDFLAGS="-L$TF/lib -Wl,-rpath,$TF/lib"
mkdir -p "$BUNDLES" "$FIDELITY"

trace_of() {
  case $1 in
    skype5) echo default ;;
    skype1) echo "$SHARED/skype_eth_1.csv" ;;
    skype2) echo "$SHARED/skype_eth_2.csv" ;;
    *) echo "bench/testdata/captures/$1.spc" ;;
  esac
}

done_reports=()
for name in $CAPTURES; do
  tr=$(trace_of "$name")
  if [ "$tr" != default ] && [ ! -f "$tr" ]; then
    log "$name: $tr not found, skipped"
    continue
  fi
  b=$BUNDLES/$name
  if [ -f "$b/manifest.json" ]; then
    log "$name: using the bundle in $b"
  else
    log "$name: training $b${STEPS:+ ($STEPS steps per model)}"
    steps=()
    # Fewer steps than the default validation and checkpoint period: check
    # and checkpoint four times and at the end.
    [ -n "$STEPS" ] && steps=(--steps "$STEPS" --eval-every $(( STEPS < 2000 ? (STEPS + 3) / 4 : 500 )) --checkpoint-every "$STEPS")
    start=$SECONDS
    nice -n "$NICE" bin/spatgan train --trace "$tr" --out "$b" --seed "$SEED" --quiet "${steps[@]}"
    log "$name: trained in $(( SECONDS - start )) s"
  fi
  log "$name: bench fidelity"
  start=$SECONDS
  nice -n "$NICE" bin/spatgan bench fidelity --trace "$tr" --bundle "$b" --seed "$SEED" --draw-seed "$DRAW_SEED" --quiet \
    --json "$FIDELITY/$name.json" >"$FIDELITY/$name.md"
  log "$name: report in $FIDELITY/$name.md (${FIDELITY}/$name.json), $(( SECONDS - start )) s"
  done_reports+=("$FIDELITY/$name.json")
done
if [ ${#done_reports[@]} -eq 0 ]; then
  log "no capture evaluated"
  exit 1
fi
go run ./bench/internal/fidelitysummary "${done_reports[@]}" >"$FIDELITY/summary.md"
log "summary of ${#done_reports[@]} captures in $FIDELITY/summary.md"
