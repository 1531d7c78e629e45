#!/usr/bin/env bash
# The README's pictures of the representation tasks, on the shipped digit models: runs each
# Examples/digits spec (inversion with 20 samples, two of each digit, instead of 200) with the
# release build and copies its grid to Examples/results/. Run from anywhere after
# `swift build -c release`.
set -euo pipefail
cd "$(dirname "$0")/../.."
rsynth=${RSYNTH:-.build/release/rsynth}   # the debug build gives the same pictures, slower
out=runs/figures
rm -rf "$out"; mkdir -p "$out"
for spec in sketch-to-image paint-with-features feature-visualization inversion-robust inversion-standard; do
    src=Examples/digits/$spec.yaml
    copy=Examples/digits/.figure-$spec.yaml
    sed 's/count: 200/count: 20/' "$src" > "$copy"
    "$rsynth" run "$copy" --out "$out/$spec" --quiet
    rm -f "$copy"
    cp "$out/$spec/grid.png" "Examples/results/$spec.png"
    echo "Examples/results/$spec.png" >&2
done
