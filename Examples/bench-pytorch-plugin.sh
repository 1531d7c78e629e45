#!/usr/bin/env bash
# The native engine against the pytorch plugin on the same ResNet-50: torchvision's ResNet-50 with
# random weights, saved once as a state dict, run by `rsynth bench` through the native `resnet50`
# plugin and through `pytorch` (PyTorch eager in the embedded Python, CPU), the two taking turns,
# ROUNDS times each; prints the medians of ms per image-step (forward + input gradient) and the
# ratio native / pytorch. Same process shape for both: rsynth, one plugin, one batch size.
#   bash Examples/bench-pytorch-plugin.sh PYTHON [ROUNDS] [BATCH] [RSYNTH]
# PYTHON: an interpreter or virtual environment with torch and torchvision (Tests/setup-torch-venv.sh
# makes one); ROUNDS default 3, BATCH default 8, RSYNTH default .build/release/rsynth.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:?usage: bench-pytorch-plugin.sh PYTHON [ROUNDS] [BATCH] [RSYNTH]}
[ -d "$python" ] && python=$python/bin/python
rounds=${2:-3}
batch=${3:-8}
rsynth=${4:-.build/release/rsynth}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -c "import torch, torchvision; torch.manual_seed(0); torch.save(torchvision.models.resnet50().state_dict(), '$tmp/resnet50.pt')"

ms() { python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_image_step"])'; }
native=() plugin=()
for round in $(seq "$rounds"); do
    native+=("$("$rsynth" bench --classifier resnet50 --weights "$tmp/resnet50.pt" --batch "$batch" --steps 5 --json | ms)")
    plugin+=("$("$rsynth" bench --classifier pytorch --weights "$tmp/resnet50.pt" --with model=torchvision.models:resnet50 \
        --with python="$python" --with device=cpu --batch "$batch" --steps 5 --json | ms)")
done
python3 - "$rounds" "$batch" "$("$python" -c 'import torch; print(torch.__version__, torch.get_num_threads())')" \
    "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "${native[@]}" "${plugin[@]}" <<'EOF'
import statistics, sys
rounds, batch, torch, cpu = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
values = [float(v) for v in sys.argv[5:]]
native, plugin = statistics.median(values[:rounds]), statistics.median(values[rounds:])
print(f"ResNet-50, 3x224x224, batch {batch}, float32, {cpu}, torch {torch.split()[0]} ({torch.split()[1]} threads); medians of {rounds}:")
print(f"  native engine (resnet50 plugin): {native:.1f} ms per image-step")
print(f"  pytorch plugin (PyTorch eager):  {plugin:.1f} ms per image-step")
print(f"  ratio native / pytorch plugin:   {native / plugin:.2f}")
EOF
