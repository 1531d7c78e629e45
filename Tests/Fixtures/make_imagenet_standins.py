#!/usr/bin/env python3
"""Stand-ins for the ImageNet checkpoints, so that the tests can run every spec of
Examples/imagenet end to end (the real imagenet_l2_3_0.pt and resnet50-11ad3fa6.pth are 100-200 MB
downloads the tests cannot have). Same formats and layouts as the real files, much smaller nets:
ImageNet stem, one basic block of width 8, 1000 classes.

    /root/torch-venv/bin/python Tests/Fixtures/make_imagenet_standins.py

Writes Tests/Fixtures/imagenet-standins/:
  imagenet_l2_3_0.pt       MadryLab layout (module.model.*, module.attacker.model.*, normaliser),
                           torch's legacy non-zip format pickled with dill, with optimizer state
  resnet50-11ad3fa6.pth    torchvision layout, torch's zip format
"""
import os, sys
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_resnet_fixtures as mrf

OUT = os.path.join(HERE, "imagenet-standins")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1000)
    net = mrf.Net("basic", [1], [8], "imagenet", 1000).eval()
    torch.save(net.state_dict(), os.path.join(OUT, "resnet50-11ad3fa6.pth"))
    mrf.save_madry_checkpoint(net, os.path.join(OUT, "imagenet_l2_3_0.pt"), [0.485, 0.456, 0.406],
                              [0.229, 0.224, 0.225])
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")


if __name__ == "__main__":
    main()
