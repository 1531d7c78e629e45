#!/usr/bin/env bash
# Step rules and schedules against the paper's step on the quickstart spec (robust digit model,
# 80 generations, L2 eps 12, step size 1): the paper-default run at 60 steps, then each rule or
# schedule at 30 steps, half as many. Prints a Markdown table: the mean final loss over the 80
# samples (the lowest loss each reached, with use_best), the judge's agreement, and the wall time.
#   bash Examples/compare-step-rules.sh [RSYNTH]   (RSYNTH: default .build/release/rsynth)
set -euo pipefail
cd "$(dirname "$0")/.."
rsynth=${1:-.build/release/rsynth}
out=runs/compare-step-rules
mkdir -p "$out"

# name | steps | extra optimizer settings
rows=(
  "plain (the paper's)|60|"
  "plain (the paper's)|30|"
  "momentum 0.9|30|, rule: momentum, momentum: 0.9"
  "adam|30|, rule: adam"
  "cosine schedule|30|, schedule: cosine"
  "cosine schedule, step size 2|30|, schedule: cosine, step_size: 2"
  "cosine schedule, step size 4|30|, schedule: cosine, step_size: 4"
  "linear schedule, step size 3|30|, schedule: linear, step_size: 3"
  "momentum 0.9 + cosine|30|, rule: momentum, momentum: 0.9, schedule: cosine"
)
echo "| step | steps | mean final loss | judge agreement (5-NN) | wall time |"
echo "| --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do
    IFS='|' read -r name steps extra <<<"$row"
    spec="Examples/.compare-$$.yaml"
    # The quickstart's step_size is replaced where a row sets its own.
    sed -e "s/steps: 30, step_size: 1,/steps: $steps,$( [[ "$extra" == *step_size* ]] || echo ' step_size: 1,')/" \
        -e "s/seed: 0 }/seed: 0$extra }/" Examples/quickstart.yaml > "$spec"
    dir="$out/$(echo "$name-$steps" | tr -c 'A-Za-z0-9\n' '-')"
    rm -rf "$dir"
    start=$(date +%s.%N)
    "$rsynth" run "$spec" --out "$dir" --quiet > /dev/null
    end=$(date +%s.%N)
    rm -f "$spec"
    python3 - "$dir/manifest.json" "$name" "$steps" "$start" "$end" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
loss = sum(s["final_loss"] for s in m["samples"]) / len(m["samples"])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {loss:.4f} | {100 * m['judge']['agreement']:.1f}% | {float(sys.argv[5]) - float(sys.argv[4]):.1f} s |")
EOF
done
