#!/usr/bin/env python3
"""PyTorch's answers for the `rsynth classify` and `rsynth saliency` parity tests.

Run from the repository root, after make_resnet_fixtures.py (needs PyTorch; the tests do not):
    /root/torch-venv/bin/python Tests/Fixtures/make_cli_fixtures.py

For each small fixture net, writes Tests/Fixtures/cli/<net>.png (an RGB image at the net's input
size, so rsynth uses it exactly: pixel / 255) and records in Tests/Fixtures/cli/expected.json
PyTorch's logits for it and the gradient of the cross-entropy for a target class with respect to
the [0, 1] pixels, for both normalisations the plugins use: the checkpoint's stored MadryLab
normaliser (robust-resnet50) and ImageNet's mean/std (resnet50 on torchvision/safetensors files).
"""
import json, os, struct, sys, zlib
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_resnet_fixtures as mrf  # the same hand-written nets

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def write_png(path, pixels):  # pixels: uint8 [H, W, 3]
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    out = os.path.join(HERE, "cli")
    os.makedirs(out, exist_ok=True)
    expected = {}
    rng = np.random.default_rng(7)
    for k, (name, block, blocks, widths, stem, classes, size, batch) in enumerate(mrf.NETS):
        if stem != "imagenet":
            continue
        net = mrf.Net(block, blocks, widths, stem, classes)
        sd = torch.load(os.path.join(HERE, "resnet", f"{name}_torchvision.pth"))
        net.load_state_dict(sd, strict=False)
        net.eval()
        pixels = rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)
        write_png(os.path.join(out, f"{name}.png"), pixels)
        x = torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1).unsqueeze(0).contiguous()
        target = int(rng.integers(0, classes))
        entry = {"target": target, "inputSize": size}
        for norm, (mean, std) in {"madry": (mrf.MEAN, mrf.STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD)}.items():
            xr = x.clone().requires_grad_(True)
            m = torch.tensor(mean).view(1, 3, 1, 1); s = torch.tensor(std).view(1, 3, 1, 1)
            logits = net((xr - m) / s)
            (dx,) = torch.autograd.grad(F.cross_entropy(logits, torch.tensor([target])), xr)
            entry[norm] = {"logits": [float("%.8g" % v) for v in logits[0].tolist()],
                           "dx": [float("%.7g" % v) for v in dx[0].flatten().tolist()]}
        expected[name] = entry
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
