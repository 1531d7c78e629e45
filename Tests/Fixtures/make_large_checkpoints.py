"""Write full-size ResNet-50 checkpoints (random weights) for the opt-in large-file test.

They are ~100-300 MB, so they are NOT committed. Run from the repository root:

    /root/torch-venv/bin/python Tests/Fixtures/make_large_checkpoints.py /tmp/large-checkpoints
    CHECKPOINTS_LARGE_DIR=/tmp/large-checkpoints swift test --filter CheckpointsTests.LargeCheckpointTests

Writes resnet50_zip.pth (torchvision layout, zip format, 320 keys), madry_resnet50_legacy.pt
(MadryLab layout, legacy format pickled with dill, 644 keys sharing storages, plus SGD momentum
buffers), resnet50.safetensors, and summary.json (per tensor: shape, dtype, float64 sum, first
values) computed by PyTorch. Seeds are fixed.
"""
import collections
import json
import os
import sys

import dill
import torch
from safetensors.torch import save_file


def resnet50_state_dict():
    torch.manual_seed(0)
    sd = collections.OrderedDict()

    def conv(name, cout, cin, k):
        sd[name + ".weight"] = torch.randn(cout, cin, k, k) * (2.0 / (cin * k * k)) ** 0.5

    def bn(name, c):
        sd[name + ".weight"] = torch.rand(c) + 0.5
        sd[name + ".bias"] = torch.randn(c) * 0.1
        sd[name + ".running_mean"] = torch.randn(c) * 0.1
        sd[name + ".running_var"] = torch.rand(c) + 0.5
        sd[name + ".num_batches_tracked"] = torch.tensor(1000)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    inplanes = 64
    for i, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=1):
        for b in range(blocks):
            p = f"layer{i}.{b}"
            conv(p + ".conv1", width, inplanes, 1); bn(p + ".bn1", width)
            conv(p + ".conv2", width, width, 3); bn(p + ".bn2", width)
            conv(p + ".conv3", width * 4, width, 1); bn(p + ".bn3", width * 4)
            if b == 0:
                conv(p + ".downsample.0", width * 4, inplanes, 1); bn(p + ".downsample.1", width * 4)
            inplanes = width * 4
    sd["fc.weight"] = torch.randn(1000, 2048) * 0.01
    sd["fc.bias"] = torch.zeros(1000)
    return sd


def summary(sd):
    return {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                "sum": float(v.double().sum()), "first": [float(x) for x in v.reshape(-1)[:3].float()]}
            for k, v in sd.items()}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sd = resnet50_state_dict()
    torch.save(sd, os.path.join(out, "resnet50_zip.pth"))
    save_file(sd, os.path.join(out, "resnet50.safetensors"))
    madry = collections.OrderedDict()
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(3, 1, 1)
    madry["module.normalizer.new_mean"], madry["module.normalizer.new_std"] = mean, std
    for k, v in sd.items():
        madry["module.model." + k] = v
    madry["module.attacker.normalize.new_mean"], madry["module.attacker.normalize.new_std"] = mean.detach(), std.detach()
    for k, v in sd.items():
        madry["module.attacker.model." + k] = v.detach()
    params = [k for k in sd if "running" not in k and "num_batches" not in k]
    optimizer = {"state": {i: {"momentum_buffer": torch.randn(sd[k].shape)} for i, k in enumerate(params)},
                 "param_groups": [{"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 1e-4,
                                   "nesterov": False, "params": list(range(len(params)))}]}
    with open(os.path.join(out, "madry_resnet50_legacy.pt"), "wb") as f:
        torch.save({"model": madry, "optimizer": optimizer, "schedule": None, "epoch": 90}, f,
                   pickle_module=dill, _use_new_zipfile_serialization=False)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"torchvision": summary(sd), "madry": summary(madry)}, f)
    print("wrote", sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
