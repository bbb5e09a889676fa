#!/usr/bin/env bash
# soak-resume.sh [KILLS]: the kill/resume soak of `spatgan train`.
#
# Trains a small model set once without interruption (the reference), then
# trains the same run with --resume again and again, killing it with
# SIGKILL at a random moment (uniform 0.5 to 4 s after it starts; seeded by
# SOAK_SEED, default 1) until KILLS (default 20) kills have landed during
# training, and finally resumes it to the end. Every resume reads and
# verifies every checkpoint (checksums, identity), so a corrupt or foreign
# file fails the soak. At the end the soak's manifest must give the same
# weights SHA-256, kept steps and validation scores as the reference, no
# temporary file may be left, and the loss log must be whole.
#
# Cheap on purpose (16-unit layers, 12,000 steps, the embedded trace unless
# TRACE is set): about 3 minutes on two cores. Run it niced on a shared
# machine: nice -n 15 scripts/soak-resume.sh 20
set -euo pipefail
kills="${1:-20}"
RANDOM="${SOAK_SEED:-1}"
cd "$(dirname "$0")/.."
make -s build >/dev/null
export TF_CPP_MIN_LOG_LEVEL=2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--steps 12000 --gen-widths 16,16 --critic-widths 16,16 --eval-every 200 --checkpoint-every 20 --quiet)
if [ -n "${TRACE:-}" ]; then flags+=(--trace "$TRACE"); fi
echo "soak: reference run: bin/spatgan train ${flags[*]}"
bin/spatgan train "${flags[@]}" --out "$work/ref" >"$work/ref.log" 2>&1

n=0 starts=0
while [ "$n" -lt "$kills" ]; do
  starts=$((starts + 1))
  bin/spatgan train "${flags[@]}" --resume --out "$work/soak" >>"$work/soak.log" 2>&1 &
  pid=$!
  delay=$(( 500 + RANDOM % 3501 ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    n=$((n + 1))
    steps=$(ls "$work/soak/checkpoints" 2>/dev/null | tr '\n' ' ')
    echo "soak: kill $n after ${delay} ms (checkpoints: ${steps:-none})"
  else
    if ! wait "$pid"; then
      echo "soak: FAIL: resume $starts exited with an error:" >&2
      tail -5 "$work/soak.log" >&2
      exit 1
    fi
    # A resume runs to the end unless killed: training is complete.
    echo "soak: FAIL: training finished after only $n kills; raise --steps" >&2
    exit 1
  fi
done
echo "soak: final resume"
if ! bin/spatgan train "${flags[@]}" --resume --out "$work/soak" >"$work/final.log" 2>&1; then
  echo "soak: FAIL: final resume:" >&2
  tail -5 "$work/final.log" >&2
  exit 1
fi

fail=0
fields() { grep -oE '"(weights_sha256|selected_step|steps|ks_mean|c2st_accuracy|score|step)": ("[0-9a-f]+"|[0-9.e+-]+)' "$1/manifest.json"; }
if ! diff <(fields "$work/ref") <(fields "$work/soak") >"$work/diff"; then
  echo "soak: FAIL: the resumed bundle differs from the uninterrupted one:" >&2
  cat "$work/diff" >&2
  fail=1
fi
tmp=$(find "$work/soak" -name '.*.tmp*' | wc -l)
if [ "$tmp" -ne 0 ]; then
  echo "soak: FAIL: $tmp temporary files left" >&2
  fail=1
fi
bad=$(awk -F, 'NR == 1 && $0 != "model,step,g_loss,critic_real,critic_fake,wasserstein,penalty,val_ks,val_c2st" {print "header"} NR > 1 && NF != 9 {print NR}' "$work/soak/loss.csv" | head -3)
if [ -n "$bad" ]; then
  echo "soak: FAIL: loss log damaged at: $bad" >&2
  fail=1
fi
grep -o '"weights_sha256": "[0-9a-f]*"' "$work/soak/manifest.json" | sed 's/^/soak: /'
if [ "$fail" = 0 ]; then
  echo "soak: PASS: $n hard kills during training ($starts starts), every resume verified the checkpoints, final bundle bit-identical to the uninterrupted run (weights SHA-256, kept steps, validation scores)"
fi
exit "$fail"
