#!/usr/bin/env python3
"""Full-size parity, by hand (the files are too big to commit): ResNet-50 with random weights and
BN statistics in torchvision's zip layout and in MadryLab's legacy dill layout with optimizer
state, and ResNet-18 from safetensors. For each, PyTorch's logits and input gradient on a
224x224 PNG against `rsynth classify --json` and `rsynth saliency`.

Run from the repository root after `swift build -c release`:
    /root/torch-venv/bin/python Tests/Fixtures/check_full_size_parity.py [--keep DIR]
Prints max|dlogit| / max|logit| and the relative L2 error of the gradient (goal: 1e-3), and, as
the yardstick, how far PyTorch's own float32 gradient is from its float64 one: on a deep network
with random weights, single ReLU and max-pool decisions flip with rounding, so no float32
implementation is closer to the exact gradient than that.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_resnet_fixtures as mrf
from make_cli_fixtures import write_png, IMAGENET_MEAN, IMAGENET_STD

RSYNTH = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".build", "release", "rsynth")


def model(block, blocks, seed):
    """Random weights (PyTorch's default initialisation) with BatchNorm statistics measured on
    random images, as training would leave them, so activations and logits have realistic scales.
    (With arbitrary random statistics, activations explode and single float32 ReLU flips swamp
    any comparison.)"""
    torch.manual_seed(seed)
    net = mrf.Net(block, blocks, [64, 128, 256, 512], "imagenet", 1000)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average
            torch.nn.init.uniform_(m.weight, 0.5, 1.5); torch.nn.init.uniform_(m.bias, -0.1, 0.1)
    net.train()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _ in range(4):
            net(torch.rand(8, 3, 224, 224, generator=g) * 2 - 1)
    return net.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", default=None)
    a = ap.parse_args()
    d = a.keep or tempfile.mkdtemp()
    os.makedirs(d, exist_ok=True)
    import copy, dill
    from safetensors.torch import save_file
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)
    image = os.path.join(d, "input.png"); write_png(image, pixels)
    x = torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1).unsqueeze(0).contiguous()
    target = 574

    r50, r18 = model("bottleneck", [3, 4, 6, 3], 50), model("basic", [2, 2, 2, 2], 18)
    sd50 = r50.state_dict()
    torch.save(sd50, os.path.join(d, "resnet50.pth"))
    mean, std = [0.4850, 0.4560, 0.4060], [0.2290, 0.2240, 0.2250]
    msd = {}
    for k, v in sd50.items():
        msd["module.model." + k] = v
        msd["module.attacker.model." + k] = v
    msd["module.normalizer.new_mean"] = torch.tensor(mean).view(3, 1, 1)
    msd["module.normalizer.new_std"] = torch.tensor(std).view(3, 1, 1)
    msd["module.attacker.normalize.new_mean"] = torch.tensor(mean).view(3, 1, 1)
    msd["module.attacker.normalize.new_std"] = torch.tensor(std).view(3, 1, 1)
    # Optimizer state as MadryLab's checkpoints hold it (momentum buffers), from a throw-away copy.
    scratch = copy.deepcopy(r50)
    opt = torch.optim.SGD(scratch.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(scratch(torch.rand(2, 3, 64, 64)), torch.tensor([1, 2])).backward(); opt.step()
    torch.save({"model": msd, "optimizer": opt.state_dict(), "schedule": None, "epoch": 90},
               os.path.join(d, "robust50.pt"), pickle_module=dill, _use_new_zipfile_serialization=False)
    save_file({k: v.contiguous() for k, v in r18.state_dict().items() if not k.endswith("num_batches_tracked")},
              os.path.join(d, "resnet18.safetensors"))

    cases = [("robust-resnet50", "robust50.pt", r50, mean, std), ("resnet50", "resnet50.pth", r50, IMAGENET_MEAN, IMAGENET_STD),
             ("resnet50", "resnet18.safetensors", r18, IMAGENET_MEAN, IMAGENET_STD)]
    worst = 0.0
    for plugin, file, net, m, s in cases:
        xr = x.clone().requires_grad_(True)
        logits = net((xr - torch.tensor(m).view(1, 3, 1, 1)) / torch.tensor(s).view(1, 3, 1, 1))
        (dx,) = torch.autograd.grad(F.cross_entropy(logits, torch.tensor([target])), xr)
        n64 = copy.deepcopy(net).double(); x64 = x.double().clone().requires_grad_(True)
        l64 = n64((x64 - torch.tensor(m, dtype=torch.float64).view(1, 3, 1, 1)) / torch.tensor(s, dtype=torch.float64).view(1, 3, 1, 1))
        (dx64,) = torch.autograd.grad(F.cross_entropy(l64, torch.tensor([target])), x64)
        g64 = dx64[0].numpy()
        out = subprocess.run([RSYNTH, "classify", "--json", "--classifier", plugin, "--weights", os.path.join(d, file), image],
                             capture_output=True, text=True, check=True)
        ours = np.array(json.loads(out.stdout)["logits"])
        ref = logits.detach().numpy()[0]
        rl = np.abs(ours - ref).max() / np.abs(ref).max()
        npy = os.path.join(d, f"{file}.npy")
        subprocess.run([RSYNTH, "saliency", "--classifier", plugin, "--weights", os.path.join(d, file), "--target", str(target),
                        "--out", npy, image], capture_output=True, text=True, check=True)
        g = np.load(npy).astype(np.float64); gr = dx[0].numpy().astype(np.float64)
        rg = np.linalg.norm(g - gr) / np.linalg.norm(gr)
        worst = max(worst, rl, rg)
        floor = np.linalg.norm(gr - g64) / np.linalg.norm(g64)
        print(f"{plugin:16s} {file:22s} logits {rl:.2e}  input gradient {rg:.2e}  "
              f"(rsynth vs float64 {np.linalg.norm(g - g64) / np.linalg.norm(g64):.2e}; PyTorch float32 vs float64 {floor:.2e})", flush=True)
    print("ok" if worst <= 1e-3 else "ABOVE 1e-3")


if __name__ == "__main__":
    main()
