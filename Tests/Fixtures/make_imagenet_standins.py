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
import copy, os, sys
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_resnet_fixtures as mrf

OUT = os.path.join(HERE, "imagenet-standins")


def main():
    import dill
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1000)
    net = mrf.Net("basic", [1], [8], "imagenet", 1000).eval()
    sd = net.state_dict()
    torch.save(sd, os.path.join(OUT, "resnet50-11ad3fa6.pth"))
    madry = {}
    for k, v in sd.items():
        madry["module.model." + k] = v
        madry["module.attacker.model." + k] = v
    for prefix in ("module.normalizer", "module.attacker.normalize"):
        madry[prefix + ".new_mean"] = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
        madry[prefix + ".new_std"] = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    scratch = copy.deepcopy(net).train()
    opt = torch.optim.SGD(scratch.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(scratch(torch.rand(2, 3, 64, 64)), torch.tensor([1, 2])).backward()
    opt.step()
    torch.save({"model": madry, "optimizer": opt.state_dict(), "schedule": None, "epoch": 90},
               os.path.join(OUT, "imagenet_l2_3_0.pt"), pickle_module=dill, _use_new_zipfile_serialization=False)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)), "bytes")


if __name__ == "__main__":
    main()
