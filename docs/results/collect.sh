#!/usr/bin/env bash
# Rebuild docs/results/ from complete runs, their analyses and evaluations.
#
#   docs/results/collect.sh RUNS
#
# RUNS holds the runs made with the commands in docs/results/README.md:
#   RUNS/L4_seed{1,2,3,4}, RUNS/L23_seed{2,3,4}                 (ann_L4.py, ann_L2_3.py)
#   RUNS/analysis/L4_seed{1,2,3,4}, RUNS/analysis/L23_seed{2,3,4} (analyze.py, full protocol)
#   RUNS/analysis/series_seed2/{0,100000,...,400000}               (analyze.py --quick)
#   RUNS/eval/L4_seed{1,2,3,4}/digits, RUNS/eval/L23_seed{2,3,4}/digits (evaluate.py)
# The figures redrawn here (ON − OFF grids, rates and weights over training, the
# development series, the tables across seeds) are computed from those files.
set -euo pipefail
RUNS=${1:?usage: docs/results/collect.sh RUNS}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
cd "$REPO"

for s in 1 2 3 4; do
  "$PY" rezeptiv.py "$RUNS/L4_seed$s" --step 400000 > /dev/null
  "$PY" -m training.plots "$RUNS/L4_seed$s" > /dev/null
done
"$PY" -m training.plots "$RUNS/L23_seed2" > /dev/null

# the headline: seed 2, the first healthy seed of the study
D=$HERE/L4_seed2_400k; mkdir -p "$D"
cp "$RUNS/L4_seed2/ONOFF/V1weight_400000_ONOFF.png" "$D/rf_grid_E.png"
cp "$RUNS/L4_seed2/ONOFF/InhibW_400000_ONOFF.png" "$D/rf_grid_I.png"
cp "$RUNS/L4_seed2/V1Layer/rates.png" "$RUNS/L4_seed2/V1Layer/weights.png" "$D/"
for f in tuning_summary_E contrast_invariance_E ringach_E bandwidth_E sparseness sta_E sta_correlation_E \
         gabor_fits_E gabor_fits_I tuning_summary_I; do
  cp "$RUNS/analysis/L4_seed2/$f.png" "$D/"
done
cp "$RUNS/analysis/L4_seed2/metrics.json" "$D/"
"$PY" -m analysis.series "$RUNS/L4_seed2" "$RUNS"/analysis/series_seed2/{0,100000,200000,300000,400000} \
  --out "$D" > /dev/null

# the other two healthy seeds and the failing one
for s in 3 4; do
  D=$HERE/L4_seed${s}_400k; mkdir -p "$D"
  cp "$RUNS/L4_seed$s/ONOFF/V1weight_400000_ONOFF.png" "$D/rf_grid_E.png"
  cp "$RUNS/analysis/L4_seed$s/metrics.json" "$D/"
done
D=$HERE/L4_seed1_400k_FAILED; mkdir -p "$D"
cp "$RUNS/L4_seed1/ONOFF/V1weight_400000_ONOFF.png" "$D/rf_grid_E.png"
cp "$RUNS/L4_seed1/V1Layer/rates.png" "$RUNS/analysis/L4_seed1/metrics.json" "$D/"
"$PY" -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['health'], indent=1))" \
  "$RUNS/L4_seed1/run.json" > "$D/health.json"

"$PY" -m analysis.across_seeds "$RUNS"/analysis/L4_seed{2,3,4} --failing "$RUNS/analysis/L4_seed1" \
  --out "$HERE" > /dev/null

# layer 2/3 on the headline layer 4
D=$HERE/L23_seed2_400k; mkdir -p "$D"
cp "$RUNS/L23_seed2/V2Layer/rates.png" "$RUNS/L23_seed2/V2Layer/weights.png" "$D/"
for f in sta_E2 tuning_summary_E2 contrast_invariance_E2 sparseness sta_correlation_E2; do
  cp "$RUNS/analysis/L23_seed2/$f.png" "$D/"
done
cp "$RUNS/analysis/L23_seed2/metrics.json" "$D/"
for s in 3 4; do
  "$PY" -m training.plots "$RUNS/L23_seed$s" > /dev/null
  mkdir -p "$HERE/L23_seed${s}_400k"
  cp "$RUNS/analysis/L23_seed$s/metrics.json" "$RUNS/analysis/L23_seed$s/sta_E2.png" "$HERE/L23_seed${s}_400k/"
done
"$PY" -m analysis.across_seeds "$RUNS"/analysis/L23_seed{2,3,4} --out "$HERE" > /dev/null

# object recognition (digits): layer 4 across seeds, and layers 4 + 2/3 of the headline run
D=$HERE/evaluation_digits; mkdir -p "$D"
"$PY" -m evaluation.compare "$RUNS"/eval/L4_seed{2,3,4}/digits --failing "$RUNS/eval/L4_seed1/digits" \
  --out "$D" > /dev/null
mkdir -p "$D/L2_3"
"$PY" -m evaluation.compare "$RUNS"/eval/L23_seed{2,3,4}/digits --out "$D/L2_3" > /dev/null
for f in metrics.json accuracy.png confusion.png; do
  cp "$RUNS/eval/L23_seed2/digits/$f" "$D/L23_seed2_$f"
done
# the records name the runs' folders: written relative to RUNS and the shared data
RUNS_ABS=$(cd "$RUNS" && pwd)
SHARED_ABS=$(cd "$REPO/../shared" 2>/dev/null && pwd || echo "/nonexistent")
find "$HERE" -name '*.json' -print0 | xargs -0 sed -i -e "s#$RUNS_ABS#RUNS#g" -e "s#$SHARED_ABS#../shared#g"
echo "docs/results rebuilt from $RUNS"

# object recognition (Fashion-MNIST): layer 4 in full (60,000 / 10,000; seed 4 without the
# untrained baseline), layer 4 and layers 4 + 2/3 on the 2,000 / 2,000 subset
D=$HERE/evaluation_fashion_mnist; mkdir -p "$D"
"$PY" -m evaluation.compare "$RUNS"/eval_fm/L4_seed{2,3,4}/fashion-mnist --label L4_seed{2,3,4} --out "$D" > /dev/null
for s in 2 3 4; do cp "$RUNS/eval_fm/L4_seed$s/fashion-mnist/metrics.json" "$D/L4_seed${s}_metrics.json"; done
for f in accuracy.png confusion.png rdm.png tsne.png; do cp "$RUNS/eval_fm/L4_seed2/fashion-mnist/$f" "$D/L4_seed2_$f"; done
D=$HERE/evaluation_fashion_mnist_2000; mkdir -p "$D"
"$PY" -m evaluation.compare "$RUNS"/eval_fm2000/L4_seed{2,3,4}/fashion-mnist \
  --failing "$RUNS/eval_fm2000/L4_seed1/fashion-mnist" --out "$D" > /dev/null
for s in 2 3 4; do cp "$RUNS/eval_fm2000/L4_seed$s/fashion-mnist/metrics.json" "$D/L4_seed${s}_metrics.json"; done
cp "$RUNS/eval_fm2000/L4_seed1/fashion-mnist/metrics.json" "$D/L4_seed1_FAILED_metrics.json"
for f in accuracy.png confusion.png rdm.png tsne.png; do cp "$RUNS/eval_fm2000/L4_seed2/fashion-mnist/$f" "$D/L4_seed2_$f"; done
mkdir -p "$D/L2_3"
"$PY" -m evaluation.compare "$RUNS"/eval_fm2000/L23_seed{2,3,4}/fashion-mnist --label L23_seed{2,3,4} \
  --out "$D/L2_3" > /dev/null
for s in 3 4; do cp "$RUNS/eval_fm2000/L23_seed$s/fashion-mnist/metrics.json" "$D/L2_3/L23_seed${s}_metrics.json"; done
for f in metrics.json accuracy.png confusion.png rdm.png tsne.png report.md; do
  cp "$RUNS/eval_fm2000/L23_seed2/fashion-mnist/$f" "$D/L2_3/L23_seed2_$f"
done
find "$HERE" -name '*.json' -print0 | xargs -0 sed -i -e "s#$RUNS_ABS#RUNS#g" -e "s#$SHARED_ABS#../shared#g"
