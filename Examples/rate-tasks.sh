#!/usr/bin/env bash
# Rates every task of a demo for both of its models, with both independent judges: the spec's
# 5-NN on the real training images, and `rsynth judge`'s linear pixel classifier on the same
# images. Prints the Markdown table of Examples/<demo>/RESULTS.md.
#   bash Examples/rate-tasks.sh digits|fashion [RSYNTH]   (RSYNTH: default .build/release/rsynth)
# Each spec is run at 200 samples (generation: 20 per class) into runs/rate-<demo>/.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:?usage: rate-tasks.sh digits|fashion [rsynth]}
rsynth=${2:-.build/release/rsynth}
dir=Examples/$demo
robust=$(ls "$dir"/models/*-robust.pt | xargs -n1 basename)
standard=$(ls "$dir"/models/*-standard.pth | xargs -n1 basename)
out=runs/rate-$demo
mkdir -p "$out"
export RSYNTH_CACHE_DIR="${RSYNTH_CACHE_DIR:-$PWD/runs/.seed-cache}"

# task | spec (its robust form) | how to make it 200 samples (sed expression)
rows=(
  "generation from uniform noise|generation-uniform-robust.yaml|s/per_class: 8/per_class: 20/"
  "translation to another class|translation-robust.yaml|s/count: 200/count: 200/"
  "super-resolution|super-resolution.yaml|s/count: [0-9]*/count: 200/"
  "inpainting|inpainting.yaml|s/count: [0-9]*/count: 200/"
  "representation inversion|inversion-robust.yaml|s/count: 200/count: 200/"
)
# The digits have no generation spec of their own: the quickstart's, at the paper's 60 steps (as
# DigitsDemoTests runs it; the quickstart itself runs 30 steps at eps 12).
[ -f "$dir/generation-uniform-robust.yaml" ] || rows[0]="generation from uniform noise|../quickstart.yaml|s/per_class: 8/per_class: 20/;s/eps: 12/eps: 20/;s/steps: 30/steps: 60/"

judged() {  # judged METHOD RUN [--of start] -> "NN.N%", the share recognised as the target
    "$rsynth" judge "$2" --dataset "$dir/data/train" --method "$1" "${@:3}" --json \
        | python3 -c 'import json,sys; print("%.1f%%" % (100*json.load(sys.stdin)["agreement"]))'
}

echo "| task | model | 5-NN judge | linear judge | the start image (5-NN / linear) |"
echo "| --- | --- | --- | --- | --- |"
for row in "${rows[@]}"; do
    IFS='|' read -r task spec expr <<<"$row"
    for model in robust standard; do
        weights=$robust; [ "$model" = standard ] && weights=$standard
        tmp="$(dirname "$dir/$spec")/.rate-$model-$(basename "$spec")"
        sed -e "$expr" -e "s#[A-Za-z0-9_./-]*-robust\.pt#$(dirname "$(grep -o '[A-Za-z0-9_./-]*-robust\.pt' "$dir/$spec" | head -1)")/$weights#" "$dir/$spec" > "$tmp"
        grep -q 'judge:' "$tmp" || echo "judge:      { dataset: data/train, k: 5 }" >> "$tmp"
        name=$(basename "$spec" .yaml)-$model
        rm -rf "${out:?}/$name"
        "$rsynth" run "$tmp" --out "$out/$name" --quiet > /dev/null
        rm -f "$tmp"
        start="-"
        case "$spec" in super-resolution*|inpainting*) start="$(judged knn "$out/$name" --of start) / $(judged linear "$out/$name" --of start)";; esac
        echo "| $task | $model | $(judged knn "$out/$name") | $(judged linear "$out/$name") | $start |"
    done
done
