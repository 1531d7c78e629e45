"""Hyper-parameter sweep used to choose the shipped settings (not needed to rebuild the demo).
Trains several robust/standard variants in parallel processes (CUDA if present, else CPU), then
scores each with the acceptance experiment (5-NN judge) at a few synthesis radii.
Writes JSON lines to $OUT/results.jsonl (or ./sweep-out). Numbers from a GPU differ slightly
from the CPU-trained shipped models; use them only to pick settings."""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

BASE = dict(epochs=40, batch=64, lr=0.1, wd=5e-4, shift=1, eps=1.0, attack_steps=7,
            attack_lr_factor=2.5, widths="16,32,64", seed=0, adv=True, noise=0.0)
CONFIGS = {
    "std40": dict(adv=False), "std80": dict(adv=False, epochs=80),
    "r-e2-40": dict(eps=2.0), "r-e2-80": dict(eps=2.0, epochs=80),
    "r-e2-n.15-40": dict(eps=2.0, noise=0.15),   # the shipped setting
    "r-e1.5-80-as10": dict(eps=1.5, epochs=80, attack_steps=10),
    "r-e2.5-80": dict(eps=2.5, epochs=80), "r-e3-80-lr.05": dict(eps=3.0, epochs=80, lr=0.05),
    "r-e2-w32-60": dict(eps=2.0, epochs=60, widths="32,64,128"),
    "r-e3-w32-60": dict(eps=3.0, epochs=60, widths="32,64,128"),
    "r-e2-s0-60": dict(eps=2.0, epochs=60, shift=0), "r-e2-s2-60": dict(eps=2.0, epochs=60, shift=2),
    "r-e2-wd5e-3-60": dict(eps=2.0, epochs=60, wd=5e-3),
    "r-e2-lr.05-b32-60": dict(eps=2.0, epochs=60, lr=0.05, batch=32),
    "r-e4-w32-60": dict(eps=4.0, epochs=60, widths="32,64,128"),
    "r-e2-w24-60": dict(eps=2.0, epochs=60, widths="24,48,96"),
    "r-e1-40": dict(eps=1.0),
    "r-e3-120": dict(eps=3.0, epochs=120),
}
TR_EPS = [6, 8, 10, 12]
GEN_EPS = [12, 20, 30]


def work(item):
    name, over, out = item
    torch.set_num_threads(1)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    import train as T
    from digits_net import AttackerModel, DigitsResNet, InputNormalize, load_split
    from evaluate import KNNJudge, synthesize, uniform_seeds
    cfg = dict(BASE, **over)
    args = argparse.Namespace(**cfg)
    xtr, ytr, _ = load_split("train")
    xte, yte, _ = load_split("test")
    judge = KNNJudge(xtr, ytr)
    x64 = xtr.double()
    mean = x64.mean(dim=(0, 2, 3)).float()
    std = x64.permute(1, 0, 2, 3).reshape(3, -1).std(dim=1, unbiased=False).float()
    torch.manual_seed(0)
    net = DigitsResNet(tuple(int(v) for v in cfg["widths"].split(",")))
    model = torch.nn.Sequential(InputNormalize(mean, std), net).to(dev)
    t0 = time.time()
    T.train(name, model, xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev), args, adv=cfg["adv"])
    model.eval()
    res = dict(name=name, cfg=cfg, train_s=round(time.time() - t0, 1),
               acc=T.accuracy(model, xte.to(dev), yte.to(dev)))
    torch.save(net.state_dict(), os.path.join(out, name + ".pth"))
    gen = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(yte), generator=gen)[:200]
    x0, lab = xte[pick], yte[pick]
    target = (lab + torch.randint(1, 10, (200,), generator=gen)) % 10
    for e in TR_EPS:
        x, _ = synthesize(model, x0.to(dev), target.to(dev), e, 100, 2.5 * e / 100)
        with torch.no_grad():
            hit = (model(x).argmax(1).cpu() == target).float().mean().item()
        res[f"tr{e}"] = ((judge(x.cpu()) == target).float().mean().item(), hit)
    for kind in ("grey", "rgb"):
        gen = torch.Generator().manual_seed(1)
        u0, ut = uniform_seeds(20, gen, kind == "grey")
        for e in (GEN_EPS if kind == "grey" else [20]):
            x, _ = synthesize(model, u0.to(dev), ut.to(dev), e, 100, 2.5 * e / 100)
            res[f"gen-{kind}{e}"] = (judge(x.cpu()) == ut).float().mean().item()
    res["total_s"] = round(time.time() - t0, 1)
    with open(os.path.join(out, "results.jsonl"), "a") as f:
        f.write(json.dumps(res) + "\n")
    return res


def main():
    out = os.environ.get("OUT", "sweep-out")
    os.makedirs(out, exist_ok=True)
    names = sys.argv[1:] or list(CONFIGS)
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(len(names), 16)) as pool:
        for r in pool.imap_unordered(work, [(n, CONFIGS[n], out) for n in names]):
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
