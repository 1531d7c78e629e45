"""Acceptance experiment for the digits demo, in PyTorch (the Swift port must reproduce it).

Judge: k-nearest-neighbour (k=5, Euclidean) on the raw pixels of the real TRAIN digits
(16x16 RGB in [0,1], flattened to 768 values). It never saw either classifier. Vote ties are
broken in favour of the tied class whose nearest member is closest.

Synthesis: the robustness library's targeted L2 PGD: loss = CE(model(x), target);
x <- x - alpha * g / (||g||_2 + 1e-10); delta = x - x0 renormed to ||delta||_2 <= eps; clamp [0,1];
use_best keeps each example's lowest-loss iterate. The same settings for both models.

Experiments (each for the robust and the standard model):
 a) translation: N real TEST digits, target = (label + k) % 10, k in 1..9 drawn per sample from a
    seeded generator; score = judge(result) == target.
 b) generation: per class N/10 seeds; uniform U[0,1) (grey, replicated to RGB, by default), and
    multivariate normal fitted per class on the train set at 8x8 (x = mu + D^T z / sqrt(n-1) +
    N(0, jitter^2 I), clamped to [0,1], nearest up-sampled to 16x16); score = judge == target.
Writes figures/*.png and prints a Markdown summary (also to figures/evaluate-log.txt).
Run: python Examples/digits/evaluate.py
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pngio  # noqa: E402
from digits_net import HERE, l2_pgd, load_robust, load_split, load_standard  # noqa: E402

OUT = []


def say(s=""):
    print(s, flush=True)
    OUT.append(s)


class KNNJudge:
    def __init__(self, x, y, k=5):
        self.x = x.flatten(1).double()
        self.y = y
        self.k = k

    def __call__(self, q):
        d = torch.cdist(q.flatten(1).double(), self.x)
        dist, idx = d.topk(self.k, dim=1, largest=False)
        lab = self.y[idx]
        pred = torch.empty(len(q), dtype=torch.int64)
        for i in range(len(q)):
            votes = torch.bincount(lab[i], minlength=10)
            tied = (votes == votes.max()).nonzero().flatten().tolist()
            # lab[i] is sorted by distance: the first label that is among the tied classes wins
            pred[i] = next(int(c) for c in lab[i].tolist() if c in tied)
        return pred


def synthesize(model, x0, target, eps, steps, alpha, batch=100):
    xs, losses = [], []
    for i in range(0, len(x0), batch):
        x, loss, _ = l2_pgd(model, x0[i:i + batch], target[i:i + batch], eps, alpha, steps,
                            targeted=True, use_best=True)
        xs.append(x)
        losses.append(loss)
    return torch.cat(xs), torch.cat(losses)


def uniform_seeds(n_per_class, gen, grey):
    n = 10 * n_per_class
    if grey:
        x = torch.rand((n, 1, 16, 16), generator=gen).repeat(1, 3, 1, 1)
    else:
        x = torch.rand((n, 3, 16, 16), generator=gen)
    return x, torch.arange(10).repeat_interleave(n_per_class)


def mvn_seeds(xtr, ytr, n_per_class, gen, jitter):
    """Fit per class at 8x8 (2x2 average of the 16x16 images = the exact 8x8 originals), sample
    x = mu + D^T z / sqrt(n-1) + jitter * N(0, I), clamp [0,1], nearest up-sample to 16x16."""
    x8 = F.avg_pool2d(xtr, 2).flatten(1).double()  # [N, 192]
    out = []
    for c in range(10):
        xc = x8[ytr == c]
        mu = xc.mean(0)
        D = xc - mu
        z = torch.randn((n_per_class, len(xc)), generator=gen, dtype=torch.float64)
        s = mu + z @ D / np.sqrt(len(xc) - 1)
        s = s + jitter * torch.randn(s.shape, generator=gen, dtype=torch.float64)
        out.append(s.clamp(0, 1).float().view(-1, 3, 8, 8))
    x = torch.cat(out).repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return x, torch.arange(10).repeat_interleave(n_per_class)


def tile(images, scale=2):
    """images: [N,3,16,16] in [0,1] -> uint8 HWC, nearest up-scaled."""
    a = (images.clamp(0, 1) * 255 + 0.5).floor().to(torch.uint8)
    return a.repeat_interleave(scale, 2).repeat_interleave(scale, 3).permute(0, 2, 3, 1).numpy()


def grid(columns, path, gap=2, scale=2):
    """columns: list of tensors [R,3,16,16] (or None for a wide gap); rows aligned."""
    rows = next(c for c in columns if c is not None).shape[0]
    s = 16 * scale
    widths = [s if c is not None else 3 * gap for c in columns]
    W = sum(widths) + gap * (len(columns) + 1)
    H = rows * s + gap * (rows + 1)
    canvas = np.full((H, W, 3), 255, np.uint8)
    x = gap
    for c, w in zip(columns, widths):
        if c is not None:
            t = tile(c, scale)
            for r in range(rows):
                y = gap + r * (s + gap)
                canvas[y:y + s, x:x + s] = t[r]
        x += w + gap
    pngio.write_rgb(path, canvas)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="samples per experiment")
    ap.add_argument("--tr-eps", type=float, default=10.0)
    ap.add_argument("--tr-steps", type=int, default=100)
    ap.add_argument("--tr-alpha", type=float, default=0.25)
    ap.add_argument("--gen-eps", type=float, default=16.0)
    ap.add_argument("--gen-steps", type=int, default=60)
    ap.add_argument("--gen-alpha", type=float, default=1.0)
    ap.add_argument("--seed-kind", choices=["grey", "rgb"], default="grey",
                    help="uniform seeds: one grey U[0,1) plane replicated to RGB, or 3 planes")
    ap.add_argument("--jitter", type=float, default=0.01, help="std of the MVN seeds' jitter")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--robust", default=None)
    ap.add_argument("--standard", default=None)
    ap.add_argument("--figures", default=os.path.join(HERE, "figures"))
    ap.add_argument("--all-seed-kinds", action="store_true",
                    help="also run uniform generation with the other seed kind")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()

    models = {"robust": load_robust(args.robust), "standard": load_standard(args.standard)}
    xtr, ytr, _ = load_split("train")
    xte, yte, _ = load_split("test")
    judge = KNNJudge(xtr, ytr)
    os.makedirs(args.figures, exist_ok=True)
    say(f"settings: {vars(args)}")
    say(f"judge (5-NN on train pixels) accuracy on real test digits: "
        f"{(judge(xte) == yte).float().mean().item():.4f}")
    for name, m in models.items():
        with torch.no_grad():
            say(f"{name} model clean test accuracy: {(m(xte).argmax(1) == yte).float().mean().item():.4f}")

    rows = []

    def run(exp, x0, target, eps, steps, alpha, fig):
        res = {}
        base = (judge(x0) == target).float().mean().item()
        for name, m in models.items():
            t = time.time()
            x, _ = synthesize(m, x0, target, eps, steps, alpha)
            with torch.no_grad():
                hit = (m(x).argmax(1) == target).float().mean().item()
            agree = (judge(x) == target).float().mean().item()
            dist = (x - x0).flatten(1).norm(dim=1).mean().item()
            res[name] = x
            rows.append((exp, name, eps, steps, alpha, len(x0), agree, hit, base, dist, time.time() - t))
            say(f"{exp:28s} {name:8s} judge==target {agree:.3f}  model==target {hit:.3f}  "
                f"(seed alone {base:.3f}; mean ||x-x0|| {dist:.2f}; {time.time() - t:.1f}s)")
        if fig:
            # 10 rows (one per target class), 4 samples: x0 | robust | standard
            sel = []
            for c in range(10):
                sel += (target == c).nonzero().flatten()[:4].tolist()
            sel = torch.tensor(sel)
            k = len(sel) // 10
            cols = []
            for name in ("seed", "robust", "standard"):
                src = x0 if name == "seed" else res[name]
                cols += [src[sel].view(10, k, 3, 16, 16)[:, j] for j in range(k)] + [None]
            grid(cols[:-1], os.path.join(args.figures, fig))
        return res

    # a) translation
    gen = torch.Generator().manual_seed(args.seed)
    pick = torch.randperm(len(yte), generator=gen)[:args.n]
    x0, lab = xte[pick], yte[pick]
    kshift = torch.randint(1, 10, (args.n,), generator=gen)
    target = (lab + kshift) % 10
    run("translation(test->other)", x0, target, args.tr_eps, args.tr_steps, args.tr_alpha,
        "translation.png")

    # b) generation from uniform seeds
    per = args.n // 10
    kinds = [args.seed_kind] + ([k for k in ("grey", "rgb") if k != args.seed_kind]
                                if args.all_seed_kinds else [])
    for kind in kinds:
        gen = torch.Generator().manual_seed(args.seed + 1)
        x0, target = uniform_seeds(per, gen, grey=(kind == "grey"))
        run(f"generation(uniform,{kind})", x0, target, args.gen_eps, args.gen_steps,
            args.gen_alpha, f"generation-uniform-{kind}.png" if kind == args.seed_kind else None)

    # c) generation from multivariate-normal seeds
    gen = torch.Generator().manual_seed(args.seed + 2)
    x0, target = mvn_seeds(xtr, ytr, per, gen, args.jitter)
    run("generation(mvn 8x8)", x0, target, args.gen_eps, args.gen_steps, args.gen_alpha,
        "generation-mvn.png")

    say("")
    say("| experiment | model | eps | steps | step size | n | judge == target | model == target | seed alone | mean L2 change |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for e, nme, eps, st, al, n, ag, hit, base, dist, _ in rows:
        say(f"| {e} | {nme} | {eps:g} | {st} | {al:g} | {n} | {100 * ag:.1f}% | {100 * hit:.1f}% | "
            f"{100 * base:.1f}% | {dist:.2f} |")
    say(f"\ntotal time {time.time() - t_start:.1f}s")
    with open(os.path.join(args.figures, "evaluate-log.txt"), "w") as f:
        f.write("\n".join(OUT) + "\n")


if __name__ == "__main__":
    main()
