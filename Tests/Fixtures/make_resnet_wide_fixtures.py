#!/usr/bin/env python3
"""Fixtures for the wide and grouped (ResNeXt) bottleneck ResNets, beside make_resnet_fixtures.py
and reusing its helpers (randomise, madry_state_dict, MEAN/STD, the .f32 blob layout).

Run (from the repository root; needs PyTorch, numpy, dill -- NOT needed by the tests):
    /root/torch-venv/bin/python Tests/Fixtures/make_resnet_wide_fixtures.py

Writes into Tests/Fixtures/resnet/:
  wide_index.json                 as index.json (same keys per net, plus "groups", "outputs")
  <net>.f32                       state dict (torchvision layout), input, logits, dlogits, dx
  <net>_torchvision.pth           torchvision layout, torch zip format
  wide_bottleneck_madry.pt        MadryLab layout, legacy format pickled with dill, under 'model'
  resnext_bottleneck_madry.ckpt   MadryLab layout, legacy format pickled with dill, under
                                  'state_dict' (older robustness files and Salman et al.'s .ckpt)
The nets follow torchvision's Bottleneck exactly: width = int(planes * base_width / 64) * groups,
conv2 = Conv2d(width, width, 3, stride, 1, groups=groups), output planes * 4, stem 8 wide:
  wide_bottleneck     planes [8, 16], base_width 128 (x2: widths [16, 32]), groups 1
  resnext_bottleneck  planes [8, 16], base_width 16, groups 4 (widths [8, 16], 2 then 4 per group)
(WideResNet-50-2 is planes [64..512] with base_width 128; ResNeXt-50 32x4d groups 32, base_width 4.)
"""
import json, os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_resnet_fixtures import OUT, MEAN, STD, randomise, madry_state_dict  # noqa: E402


class Bottleneck(nn.Module):
    """torchvision.models.resnet.Bottleneck (v1.5: stride on conv2)."""
    expansion = 4

    def __init__(self, cin, planes, stride, groups, base_width):
        super().__init__()
        w = int(planes * (base_width / 64.0)) * groups
        o = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, w, 1, bias=False); self.bn1 = nn.BatchNorm2d(w)
        self.conv2 = nn.Conv2d(w, w, 3, stride, 1, groups=groups, bias=False); self.bn2 = nn.BatchNorm2d(w)
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
    """torchvision.models.resnet.ResNet with the ImageNet stem, `planes` per stage."""

    def __init__(self, blocks, planes, stem_width, groups, base_width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = stem_width
        self.widths, self.outputs = [], []
        for i, (n, p) in enumerate(zip(blocks, planes)):
            layers = []
            for j in range(n):
                layers.append(Bottleneck(c, p, 2 if (i > 0 and j == 0) else 1, groups, base_width))
                c = p * Bottleneck.expansion
            self.widths.append(layers[0].conv1.out_channels)
            self.outputs.append(c)
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.nstages = len(blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.nstages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


NETS = [
    # name, blocks, planes, stem width, groups, base width, classes, input size, batch, madry file, madry key
    ("wide_bottleneck", [1, 1], [8, 16], 8, 1, 128, 5, 32, 2, "wide_bottleneck_madry.pt", "model"),
    ("resnext_bottleneck", [1, 1], [8, 16], 8, 4, 16, 5, 32, 2, "resnext_bottleneck_madry.ckpt", "state_dict"),
]


def main():
    import dill
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    index = {"mean": MEAN, "std": STD, "nets": {}}
    for k, (name, blocks, planes, stem_width, groups, base_width, classes, size, batch, mfile, mkey) in enumerate(NETS):
        g = torch.Generator().manual_seed(2000 + k)
        net = Net(blocks, planes, stem_width, groups, base_width, classes)
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
        entry = {"block": "bottleneck", "blocksPerStage": blocks, "widths": net.widths, "outputs": net.outputs,
                 "groups": groups, "stemWidth": stem_width, "stem": "imagenet", "numClasses": classes,
                 "inputSize": size, "batch": batch, "targets": targets, "madryFile": mfile, "madryKey": mkey,
                 "arrays": {}}
        off = 0
        with open(os.path.join(OUT, f"{name}.f32"), "wb") as f:
            for an, v in arrays:
                a = np.ascontiguousarray(v.numpy().astype("<f4"))
                f.write(a.tobytes())
                entry["arrays"][an] = {"shape": list(a.shape), "offset": off}
                off += a.size
        index["nets"][name] = entry
        torch.save(sd, os.path.join(OUT, f"{name}_torchvision.pth"))
        msd = madry_state_dict(sd, MEAN, STD)
        torch.save({mkey: msd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}, "schedule": None,
                    "epoch": 90}, os.path.join(OUT, mfile), pickle_module=dill, _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "wide_index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
    for n in index["nets"]:
        for p in (f"{n}.f32", f"{n}_torchvision.pth", index["nets"][n]["madryFile"]):
            print(f"{p}: {os.path.getsize(os.path.join(OUT, p)) / 1e3:.0f} KB")


if __name__ == "__main__":
    sys.exit(main())
