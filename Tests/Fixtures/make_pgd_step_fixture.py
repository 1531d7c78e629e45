#!/usr/bin/env python3
"""One targeted L2 PGD step of MadryLab's robustness library, computed in PyTorch with the
library's formulas (attack_steps.L2Step.step / .project and attacker.py's targeted sign), on the
shipped robust digit model, for PGDStepFixtureTests.

Run from the repository root (PyTorch only here; the tests do not need it):
    /root/torch-venv/bin/python Tests/Fixtures/make_pgd_step_fixture.py

The input normalisation is applied without the library's clamp: inputs are in [0, 1] anyway, and
PyTorch >= 2 gives the clamp a zero gradient at exactly 0 and 1 where PyTorch 1.x (the library's)
gave 1; RobustSynth follows the latter (README, "What the quickstart shows").
Writes Tests/Fixtures/pgd/step.json: x0 (two test digits), targets, eps, alpha, x1 after one step
and projection, x3 after three.
"""
import json, os, sys
import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Examples", "digits"))
import digits_net as dn


def main():
    model = dn.load_robust()
    model.eval()
    norm, net = model[0], model[1]
    xte, yte, ids = dn.load_split("test")
    pick = [0, 200]
    x0 = xte[pick].clone()
    targets = torch.tensor([(int(yte[i]) + 3) % 10 for i in pick])
    eps, alpha = 2.0, 0.5

    def step(x):  # targeted: m = -1; L2Step.step: x + m * alpha * g / (||g|| + 1e-10)
        x = x.clone().requires_grad_(True)
        losses = F.cross_entropy(net((x - norm.new_mean) / norm.new_std), targets, reduction="none")
        (g,) = torch.autograd.grad(losses.sum(), x)  # per-example gradients, as rsynth
        with torch.no_grad():
            gn = g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            x = x - alpha * g / (gn + 1e-10)
            d = (x - x0).renorm(p=2, dim=0, maxnorm=eps)      # L2Step.project
            return torch.clamp(x0 + d, 0, 1)

    x1 = step(x0)
    x3 = step(step(x1))
    out = os.path.join(ROOT, "Tests", "Fixtures", "pgd")
    os.makedirs(out, exist_ok=True)
    json.dump({"images": [f"{int(yte[i])}/{ids[i]:04d}.png" for i in pick], "targets": targets.tolist(),
               "eps": eps, "alpha": alpha, "x1": x1.flatten().tolist(), "x3": x3.flatten().tolist()},
              open(os.path.join(out, "step.json"), "w"))


if __name__ == "__main__":
    main()
