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
and projection, x3 after three; and the same for the library's other two geometries,
pgd/step-linf.json (LinfStep: x + m * alpha * sign(g), x0 + clamp(x - x0, -eps, eps)) and
pgd/step-unconstrained.json (UnconstrainedStep: x + m * alpha * g, clamp only), each on the
per-example gradient as rsynth steps (the library's unconstrained step is on the batch mean's).
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

    def grad(x):
        x = x.clone().requires_grad_(True)
        losses = F.cross_entropy(net((x - norm.new_mean) / norm.new_std), targets, reduction="none")
        (g,) = torch.autograd.grad(losses.sum(), x)
        return g

    def linf_step(x, eps, alpha):  # LinfStep.step with m = -1, then LinfStep.project
        g = grad(x)
        with torch.no_grad():
            x = x - alpha * torch.sign(g)
            return torch.clamp(x0 + torch.clamp(x - x0, -eps, eps), 0, 1)

    def unconstrained_step(x, alpha):  # UnconstrainedStep.step with m = -1, then .project
        g = grad(x)
        with torch.no_grad():
            return torch.clamp(x - alpha * g, 0, 1)

    out = os.path.join(ROOT, "Tests", "Fixtures", "pgd")
    os.makedirs(out, exist_ok=True)
    images = [f"{int(yte[i])}/{ids[i]:04d}.png" for i in pick]
    x1 = step(x0)
    x3 = step(step(x1))
    json.dump({"images": images, "targets": targets.tolist(),
               "eps": eps, "alpha": alpha, "x1": x1.flatten().tolist(), "x3": x3.flatten().tolist()},
              open(os.path.join(out, "step.json"), "w"))
    leps, lalpha = 0.1, 0.02
    l1 = linf_step(x0, leps, lalpha)
    l3 = linf_step(linf_step(l1, leps, lalpha), leps, lalpha)
    json.dump({"images": images, "targets": targets.tolist(), "eps": leps, "alpha": lalpha,
               "x1": l1.flatten().tolist(), "x3": l3.flatten().tolist()},
              open(os.path.join(out, "step-linf.json"), "w"))
    ualpha = 0.5
    u1 = unconstrained_step(x0, ualpha)
    u3 = unconstrained_step(unconstrained_step(u1, ualpha), ualpha)
    json.dump({"images": images, "targets": targets.tolist(), "alpha": ualpha,
               "x1": u1.flatten().tolist(), "x3": u3.flatten().tolist()},
              open(os.path.join(out, "step-unconstrained.json"), "w"))


if __name__ == "__main__":
    main()
