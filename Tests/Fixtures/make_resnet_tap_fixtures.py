#!/usr/bin/env python3
"""PyTorch fixtures for the ResNet engine's taps (named intermediate outputs and their gradients).

Run (from the repository root, after make_resnet_fixtures.py; needs PyTorch and numpy):
    /root/torch-venv/bin/python Tests/Fixtures/make_resnet_tap_fixtures.py

Reads the committed fixture nets (the state dict and input from resnet/<net>.f32 via index.json,
so the nets and inputs are exactly the ones the other parity tests use; nothing there is
rewritten) and writes, separately:
  resnet/taps.json           per net: the tap arrays' shapes and float32 offsets into <net>_taps.f32,
                             and which taps the loss uses
  resnet/<net>_taps.f32      raw little-endian float32:
    tap/<name>               the value of each tap, from forward hooks on the torchvision-named
                             modules: every stage layer1..layerN, one block layerS.I (the block's
                             output after its final ReLU, what model.layerS[I] returns) and
                             representation (the pooled vector that feeds fc)
    r/<name>                 fixed random weights for the loss taps
    dx_taps                  d/dx of L = sum(cross-entropy) + sum_t sum(tap_t * r_t) over the loss taps
                             (through the normalisation), i.e. the VJP with dlogits (the net's
                             stored "dlogits") and tap gradients r_t
"""
import json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_resnet_fixtures import NETS, OUT, Net  # noqa: E402

# The block tap recorded per net, and the taps the loss weights (a non-final block of a stage
# where the net has one, a stage, and the representation).
BLOCK_TAP = {"basic_imagenet": "layer1.0", "bottleneck_imagenet": "layer1.0", "digits": "layer2.0"}
LOSS_TAPS = {"basic_imagenet": ["layer1.0", "layer2", "representation"],
             "bottleneck_imagenet": ["layer1.0", "layer2", "representation"],
             "digits": ["layer2", "representation"]}


def main():
    with open(os.path.join(OUT, "index.json")) as f:
        index = json.load(f)
    mean = torch.tensor(index["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(index["std"]).view(1, 3, 1, 1)
    out = {"nets": {}}
    for k, (name, block, blocks, widths, stem, classes, size, batch) in enumerate(NETS):
        entry = index["nets"][name]
        blob = np.fromfile(os.path.join(OUT, f"{name}.f32"), dtype="<f4")

        def arr(key):
            a = entry["arrays"][key]
            n = int(np.prod(a["shape"])) if a["shape"] else 1
            return torch.from_numpy(blob[a["offset"]:a["offset"] + n].reshape(a["shape"]).copy())

        net = Net(block, blocks, widths, stem, classes)
        sd = {kk[3:]: arr(kk) for kk in entry["arrays"] if kk.startswith("sd/")}
        missing, unexpected = net.load_state_dict(sd, strict=False)
        assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (missing, unexpected)
        net.eval()
        x = arr("input")
        targets = torch.tensor(entry["targets"])

        # Forward hooks on the torchvision-named modules; representation = fc's input.
        taps = {}
        mods = dict(net.named_modules())
        names = [f"layer{s + 1}" for s in range(len(blocks))] + [BLOCK_TAP[name]]
        for tn in names:
            mods[tn].register_forward_hook(lambda m, i, o, tn=tn: taps.__setitem__(tn, o))
        net.fc.register_forward_hook(lambda m, i, o: taps.__setitem__("representation", i[0]))

        xr = x.clone().requires_grad_(True)
        logits = net((xr - mean) / std)
        # Same logits as the stored ones (so these are the same net and input).
        assert torch.allclose(logits, arr("logits"), rtol=0, atol=1e-5), name
        g = torch.Generator().manual_seed(2000 + k)
        # 0.1: each tap term then moves dx by about as much as the cross-entropy does (printed below)
        rs = {tn: 0.1 * torch.randn(taps[tn].shape, generator=g) for tn in LOSS_TAPS[name]}
        loss = F.cross_entropy(logits, targets, reduction="sum")
        for tn, r in rs.items():
            loss = loss + (taps[tn] * r).sum()
        (dx,) = torch.autograd.grad(loss, xr)
        # How much of dx each term makes (a test that dropped one must fail).
        for tn in ["cross-entropy"] + LOSS_TAPS[name]:
            taps.clear()
            lg = net((xr - mean) / std)
            term = F.cross_entropy(lg, targets, reduction="sum") if tn == "cross-entropy" else (taps[tn] * rs[tn]).sum()
            (d,) = torch.autograd.grad(term, xr)
            print(f"{name}: |dx of the {tn} term| / |dx| = {float(d.norm() / dx.norm()):.3f}")

        arrays = [(f"tap/{tn}", taps[tn].detach()) for tn in names + ["representation"]]
        arrays += [(f"r/{tn}", r) for tn, r in rs.items()] + [("dx_taps", dx)]
        e = {"lossTaps": LOSS_TAPS[name], "blockTap": BLOCK_TAP[name], "arrays": {}}
        off = 0
        with open(os.path.join(OUT, f"{name}_taps.f32"), "wb") as f:
            for an, v in arrays:
                a = np.ascontiguousarray(v.numpy().astype("<f4"))
                f.write(a.tobytes())
                e["arrays"][an] = {"shape": list(a.shape), "offset": off}
                off += a.size
        out["nets"][name] = e
    with open(os.path.join(OUT, "taps.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT) if "taps" in p)
    print(f"wrote {OUT}/taps.json and <net>_taps.f32: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
