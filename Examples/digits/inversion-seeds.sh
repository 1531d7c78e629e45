#!/usr/bin/env bash
# How much the inversion demo's judge rates move with the random start alone: runs
# inversion-robust.yaml and inversion-standard.yaml with optimizer seeds 0..N-1 (each seed draws
# other uniform-noise starts for the same 200 test digits) and prints each rate, then the mean and
# the standard deviation over seeds, next to the binomial spread of 200 samples, sqrt(p(1-p)/200).
#   bash Examples/digits/inversion-seeds.sh [N] [RSYNTH]   (N: default 10; RSYNTH: .build/release/rsynth)
#   MODELS=robust bash ...   only the robust model's rows (default: robust standard)
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-10}
rsynth=$(realpath "${2:-../../.build/release/rsynth}")
out=../../runs/inversion-seeds
mkdir -p "$out"
echo "| model | seed | 5-NN judge: the source digit | mean relative distance |"
echo "| --- | --- | --- | --- |"
for model in ${MODELS:-robust standard}; do
    for seed in $(seq 0 $((n - 1))); do
        spec=.inversion-seed$seed-$model.yaml
        sed "s/seed: 0/seed: $seed/" inversion-$model.yaml > "$spec"
        "$rsynth" run "$spec" --out "$out/$model-$seed" --quiet > /dev/null
        rm -f "$spec"
        python3 - "$out/$model-$seed/manifest.json" "$model" "$seed" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
d = [s["final_loss"] for s in run["samples"]]  # the task's loss: the relative distance
print(f"| {sys.argv[2]} | {sys.argv[3]} | {100 * run['judge']['agreement']:.1f}% | {sum(d) / len(d):.3f} |")
PY
    done
done | tee "$out/table.md"
python3 - "$out/table.md" <<'PY'
import statistics, sys
rows = [l.split("|") for l in open(sys.argv[1]) if l.startswith("| r") or l.startswith("| s")]
for model in ("robust", "standard"):
    r = [float(x[3].strip().rstrip("%")) for x in rows if x[1].strip() == model]
    if len(r) < 2:
        continue
    p = statistics.mean(r) / 100
    print(f"{model}: mean {statistics.mean(r):.1f}%, sd over seeds {statistics.stdev(r):.1f} points, "
          f"min {min(r):.1f}%, max {max(r):.1f}%; binomial sd of 200 samples {100 * (p * (1 - p) / 200) ** 0.5:.1f} points")
PY
