#!/usr/bin/env bash
# Early stopping with full batches against the fixed-step run, on the quickstart spec at 200
# samples (robust digit model, 30 steps, batch 40): the judge's agreement, how many samples
# stopped, evaluations per sample (31 = every step) and the median wall time over ROUNDS runs of
# each, the rules taking turns within a round. Prints a Markdown table.
#   bash Examples/compare-early-stopping.sh [RSYNTH] [ROUNDS]   (default .build/release/rsynth, 3)
# OUT=DIR puts the run folders there instead of runs/compare-early-stopping (e.g. a RAM disk, to
# take the file system's cost of creating files out of the wall time). STEPS=N runs N steps
# instead of the quickstart's 30 (60: the generation task's default, the paper's).
set -euo pipefail
cd "$(dirname "$0")/.."
rsynth=${1:-.build/release/rsynth}
rounds=${2:-3}
out=${OUT:-runs/compare-early-stopping}
steps=${STEPS:-30}
mkdir -p "$out"
export RSYNTH_CACHE_DIR="${RSYNTH_CACHE_DIR:-$PWD/runs/.seed-cache}"

rules=(
  ""
  "stop: { patience: 3, min_delta: 0.01 }"
  "stop: { patience: 3, min_delta: 0.02 }"
  "stop: { patience: 3, min_delta: 0.05 }"
  "stop: { patience: 5, min_delta: 0.01 }"
  "stop: { probability: 0.5 }"
  "stop: { probability: 0.99 }"
)
declare -A times
for round in $(seq "$rounds"); do
    for i in "${!rules[@]}"; do
        rule=${rules[$i]}
        spec="Examples/.compare-stop-$$.yaml"
        sed -e 's/per_class: 8/per_class: 20/' -e "s/steps: 30,/steps: $steps,/" -e "s/seed: 0 }/seed: 0${rule:+, $rule} }/" \
            Examples/quickstart.yaml > "$spec"
        rm -rf "${out:?}/$i"
        start=$(date +%s%N)
        "$rsynth" run "$spec" --out "$out/$i" --quiet > /dev/null
        end=$(date +%s%N)
        rm -f "$spec"
        times[$i]="${times[$i]:-} $(( (end - start) / 1000000 ))"
    done
done
echo "| stop | judge agreement | samples stopped | evaluations per sample ($((steps + 1)) = all) | wall time (median of $rounds) |"
echo "| --- | --- | --- | --- | --- |"
for i in "${!rules[@]}"; do
    python3 - "$out/$i/manifest.json" "${rules[$i]:-none}" ${times[$i]} <<'EOF'
import json, statistics, sys
m = json.load(open(sys.argv[1]))
s = m["samples"]
steps = m["plan"]["optimizer"]["steps"]
stopped = [x.get("stopped_at") for x in s]
evals = sum((x if x is not None else steps) + 1 for x in stopped) / len(s)
t = statistics.median(float(v) for v in sys.argv[3:]) / 1000
print(f"| `{sys.argv[2]}` | {100 * m['judge']['agreement']:.1f}% | {sum(x is not None for x in stopped)} of {len(s)} | {evals:.1f} | {t:.2f} s |")
EOF
done
