#!/usr/bin/env bash
# Every picture the README shows (Examples/results/), remade from the shipped digit and Fashion-MNIST models with
# the release build: the generation grids of both models, the task table's grids and loss plots,
# and (Examples/digits/make-representation-figures.sh) the representation tasks. Run from
# anywhere after `swift build -c release`; the runs are left in runs/readme-figures/.
set -euo pipefail
cd "$(dirname "$0")/.."
rsynth=${RSYNTH:-.build/release/rsynth}
out=runs/readme-figures
results=Examples/results
rm -rf "$out"; mkdir -p "$out" "$results"
export RSYNTH_CACHE_DIR="${RSYNTH_CACHE_DIR:-$PWD/runs/.seed-cache}"

# run NAME SPEC: the spec into runs/readme-figures/NAME.
run() { "$rsynth" run "$2" --out "$out/$1" --quiet > /dev/null; }
# grid NAME FILE: NAME's grid as Examples/results/FILE.
grid() { cp "$out/$1/grid.png" "$results/$2"; echo "$results/$2" >&2; }
# plot NAME PLOT FILE: NAME's loss plot PLOT (a pattern matching one) as Examples/results/FILE.
plot() { cp "$out/$1"/$2 "$results/$3"; echo "$results/$3" >&2; }

run generation-uniform-robust Examples/quickstart.yaml
grid generation-uniform-robust generation-uniform-robust.png
plot generation-uniform-robust loss-03-3.svg loss-generation-robust-3.svg
run generation-uniform-standard Examples/digits/generation-uniform-standard.yaml
grid generation-uniform-standard generation-uniform-standard.png
plot generation-uniform-standard loss-03-3.svg loss-generation-standard-3.svg
for model in robust standard; do
    run generation-multivariate-$model Examples/digits/generation-multivariate-$model.yaml
    grid generation-multivariate-$model generation-multivariate-$model.png
    run translation-$model Examples/digits/translation-$model.yaml
    grid translation-$model translation-$model.png
done
for task in inpainting super-resolution translation-3-to-8; do
    run "$task" "Examples/digits/$task.yaml"
    grid "$task" "$task.png"
    plot "$task" "loss-00-*.svg" "loss-$task.svg"
done
# The Fashion-MNIST demo: both models' generation, and the robust model's translation and restorations.
for model in robust standard; do
    run fashion-generation-uniform-$model Examples/fashion/generation-uniform-$model.yaml
    grid fashion-generation-uniform-$model fashion-generation-uniform-$model.png
done
for task in translation-sneaker-to-ankle-boot translation-shirt-to-dress inpainting super-resolution; do
    run "fashion-$task" "Examples/fashion/$task.yaml"
    grid "fashion-$task" "fashion-$task.png"
done
RSYNTH="$rsynth" bash Examples/digits/make-representation-figures.sh
