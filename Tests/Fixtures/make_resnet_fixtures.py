#!/usr/bin/env python3
"""Deterministic PyTorch fixtures for the ResNet engine parity tests.

Run (from the repository root; needs PyTorch, numpy, safetensors, dill -- NOT needed by the tests):
    /root/torch-venv/bin/python Tests/Fixtures/make_resnet_fixtures.py

Writes Tests/Fixtures/resnet/:
  index.json                 one entry per net: architecture, mean/std, targets, and for every
                             array (weights "sd/<key>", "input", "logits", "dlogits", "dx") its
                             shape and float32 offset into <net>.f32
  <net>.f32                  raw little-endian float32 blob (the state dict in torchvision layout,
                             then input x in [0,1], logits, dlogits = softmax - onehot(target),
                             dx = d(sum of cross-entropies)/dx through the normalisation)
  <net>_torchvision.pth      torchvision layout, torch zip format
  <net>_madry.pt             MadryLab layout, legacy non-zip format pickled with dill:
                             {'model': {module.model.*, module.attacker.model.*,
                              module.normalizer.new_mean/new_std, module.attacker.normalize.*},
                              'optimizer': {...}, 'epoch': ...}
  <net>.safetensors          torchvision layout, safetensors
(the digits net, the biggest, gets only <net>.f32 and <net>_torchvision.pth, to keep the folder small)
The nets are written out by hand (torchvision is not needed) with torchvision's key names and
torchvision's ResNet v1.5 semantics; BN statistics are random and non-trivial; model.eval().
"""
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resnet")


class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, w, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, w, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(w)
        self.conv2 = nn.Conv2d(w, w, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != w:
            self.downsample = nn.Sequential(nn.Conv2d(cin, w, 1, stride, bias=False), nn.BatchNorm2d(w))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, w, stride):
        super().__init__()
        o = w * 4
        self.conv1 = nn.Conv2d(cin, w, 1, bias=False); self.bn1 = nn.BatchNorm2d(w)
        self.conv2 = nn.Conv2d(w, w, 3, stride, 1, bias=False); self.bn2 = nn.BatchNorm2d(w)
        self.conv3 = nn.Conv2d(w, o, 1, bias=False); self.bn3 = nn.BatchNorm2d(o)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != o:
            self.downsample = nn.Sequential(nn.Conv2d(cin, o, 1, stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + idt)


class Net(nn.Module):
    def __init__(self, block, blocks, widths, stem, classes, cin=3):
        super().__init__()
        B = Basic if block == "basic" else Bottleneck
        w0 = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(cin, w0, 7, 2, 3, bias=False)
        else:
            self.conv1 = nn.Conv2d(cin, w0, 3, 1, 1, bias=False)
        self.stem = stem
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = w0
        for i, (n, w) in enumerate(zip(blocks, widths)):
            layers = []
            for j in range(n):
                layers.append(B(c, w, 2 if (i > 0 and j == 0) else 1))
                c = w * B.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.nstages = len(blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        if self.stem == "imagenet":
            x = self.maxpool(x)
        for i in range(self.nstages):
            x = getattr(self, f"layer{i + 1}")(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def madry_state_dict(sd, mean, std):
    """A torchvision state dict in MadryLab's layout: the model under module.model.*, the attacker's
    copy under module.attacker.model.*, and both input normalisers."""
    msd = {}
    for k, v in sd.items():
        msd["module.model." + k] = v
    for k, v in sd.items():
        msd["module.attacker.model." + k] = v
    for prefix in ("module.normalizer", "module.attacker.normalize"):
        msd[prefix + ".new_mean"] = torch.tensor(mean).view(3, 1, 1)
        msd[prefix + ".new_std"] = torch.tensor(std).view(3, 1, 1)
    return msd


def save_madry_checkpoint(net, path, mean, std):
    """Saves `net` as MadryLab's robustness library does: legacy format pickled with dill,
    {'model', 'optimizer' (momentum buffers, from one SGD step on a throw-away copy), 'schedule',
    'epoch'}."""
    import copy
    import dill
    scratch = copy.deepcopy(net).train()
    opt = torch.optim.SGD(scratch.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(scratch(torch.rand(2, 3, 64, 64)), torch.tensor([1, 2])).backward()
    opt.step()
    torch.save({"model": madry_state_dict(net.state_dict(), mean, std), "optimizer": opt.state_dict(),
                "schedule": None, "epoch": 90}, path, pickle_module=dill, _use_new_zipfile_serialization=False)


NETS = [
    # name, block, blocks per stage, widths, stem, classes, input size, batch
    ("basic_imagenet", "basic", [2, 1, 1, 1], [8, 12, 16, 24], "imagenet", 7, 32, 3),
    ("bottleneck_imagenet", "bottleneck", [2, 2], [8, 16], "imagenet", 5, 40, 2),
    ("digits", "basic", [1, 1, 1], [16, 32, 64], "cifar", 10, 16, 3),
]
MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2023, 0.1994, 0.2010]


def randomise(net, g):
    for name, p in net.named_parameters():
        if "conv" in name or "downsample.0" in name:
            fan_in = p[0].numel()
            p.data = torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif name.endswith("weight") and p.dim() == 1:      # BN gamma
            p.data = 0.5 + torch.rand(p.shape, generator=g)
        elif name.endswith("bias") and p.dim() == 1 and not name.startswith("fc"):
            p.data = 0.2 * torch.randn(p.shape, generator=g)
        elif name.startswith("fc"):
            p.data = torch.randn(p.shape, generator=g) * (1.0 / p.shape[-1]) ** 0.5
    for name, b in net.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(0.3 * torch.randn(b.shape, generator=g))
        elif name.endswith("running_var"):
            b.copy_(0.5 + torch.rand(b.shape, generator=g))


def main():
    import dill
    from safetensors.torch import save_file
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    index = {"mean": MEAN, "std": STD, "nets": {}}
    for k, (name, block, blocks, widths, stem, classes, size, batch) in enumerate(NETS):
        g = torch.Generator().manual_seed(1000 + k)
        net = Net(block, blocks, widths, stem, classes)
        randomise(net, g)
        net.eval()
        sd = {kk: v.detach().clone().float() for kk, v in net.state_dict().items()
              if not kk.endswith("num_batches_tracked")}
        x = torch.rand((batch, 3, size, size), generator=g)
        targets = [int(t) for t in torch.randint(0, classes, (batch,), generator=g)]
        mean = torch.tensor(MEAN).view(1, 3, 1, 1); std = torch.tensor(STD).view(1, 3, 1, 1)
        xr = x.clone().requires_grad_(True)
        logits = net((xr - mean) / std)
        loss = F.cross_entropy(logits, torch.tensor(targets), reduction="sum")
        (dx,) = torch.autograd.grad(loss, xr)
        dlogits = torch.softmax(logits, 1) - F.one_hot(torch.tensor(targets), classes).float()
        arrays = [(f"sd/{kk}", v) for kk, v in sd.items()]
        arrays += [("input", x), ("logits", logits.detach()), ("dlogits", dlogits.detach()), ("dx", dx)]
        entry = {"block": block, "blocksPerStage": blocks, "widths": widths, "stem": stem,
                 "numClasses": classes, "inputSize": size, "batch": batch, "targets": targets,
                 "arrays": {}}
        off = 0
        with open(os.path.join(OUT, f"{name}.f32"), "wb") as f:
            for an, v in arrays:
                a = np.ascontiguousarray(v.numpy().astype("<f4"))
                f.write(a.tobytes())
                entry["arrays"][an] = {"shape": list(a.shape), "offset": off}
                off += a.size
        index["nets"][name] = entry
        # Checkpoint files (for the Checkpoints integration tests).
        torch.save(sd, os.path.join(OUT, f"{name}_torchvision.pth"))
        if name == "digits":
            continue  # size budget: the digits net gets the raw blob and the zip .pth only
        save_file({kk: v.contiguous() for kk, v in sd.items()}, os.path.join(OUT, f"{name}.safetensors"))
        msd = madry_state_dict(sd, MEAN, STD)
        torch.save({"model": msd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}, "epoch": 90},
                   os.path.join(OUT, f"{name}_madry.pt"), pickle_module=dill,
                   _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"wrote {OUT}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
