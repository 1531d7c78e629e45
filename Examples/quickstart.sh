#!/usr/bin/env bash
# The README's first command: on a fresh machine, install what is missing, build rsynth and its
# plugins, and show the paper's central claim on the models the project ships (digits and
# Fashion-MNIST): PGD from noise on a robust classifier gives pictures a person (and an independent
# judge) recognises; the same on a standard classifier mostly adds noise. Prints where they are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Examples/install-dependencies.sh
echo "Building rsynth and its plugins (release)..." >&2
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" || true
rsynth=.build/release/rsynth
mkdir -p runs
export RSYNTH_CACHE_DIR="${RSYNTH_CACHE_DIR:-$PWD/runs/.seed-cache}"

summary=()
for spec in Examples/quickstart.yaml \
            Examples/digits/generation-uniform-standard.yaml \
            Examples/digits/generation-multivariate-robust.yaml \
            Examples/digits/generation-multivariate-standard.yaml \
            Examples/fashion/generation-uniform-robust.yaml \
            Examples/fashion/generation-uniform-standard.yaml; do
    demo=$(basename "$(dirname "$spec")")
    [ "$spec" = Examples/quickstart.yaml ] && demo=digits
    name=$demo-$(basename "$spec" .yaml)
    [ "$spec" = Examples/quickstart.yaml ] && name=digits-generation-uniform-robust
    echo "== $name" >&2
    out="runs/quickstart/$name"
    "$rsynth" run "$spec" --out "$out" | tee "runs/.last-run.txt"
    judge=$(grep '^judge:' runs/.last-run.txt | sed 's/^judge: //; s/ recognised.*//; s/ results//')
    linear=$("$rsynth" judge "$out" --dataset "Examples/$demo/data/train" | sed 's/^judge: //; s/ recognised.*//; s/ results//')
    summary+=("$(printf '%-44s %-18s %-18s %s' "$name" "$judge" "$linear" "$out/grid.png")")
done
echo
echo "Generation of 8 images of each digit and of each kind of clothing (Fashion-MNIST), judged by two"
echo "classifiers that never saw either model: a 5-nearest-neighbour and a linear classifier on grey"
echo "pixels, both trained on the real training images."
printf '%-44s %-18s %-18s %s\n' "" "5-NN judge" "linear judge" "pictures"
printf '%s\n' "${summary[@]}"
echo
echo "Robust and standard side by side: compare the grid.png files above (robust first), or in a browser:"
echo "  $rsynth studio     (then open the address it prints: the runs, side by side, and New run to compose more)"
echo "More: Examples/digits/*.yaml and Examples/fashion/*.yaml (every task), Examples/imagenet/ (bring your own weights)."
