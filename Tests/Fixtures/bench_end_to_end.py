#!/usr/bin/env python3
"""Time to a finished image, whole process against whole process: the paper's generation
(ResNet-50 with random weights, uniform seeds, L2 eps 40, 60 steps of 1, use_best, batch 8, a PNG
per sample) as a PyTorch eager loop with the `robustness` library's L2 PGD semantics and as
`rsynth run` of the same spec on the same weights, alternating in one run on the same machine.

Run from the repository root after `swift build -c release` (PyTorch in a virtual environment
outside the repository, e.g. /root/torch-venv; the tests never need it):
    /root/torch-venv/bin/python Tests/Fixtures/bench_end_to_end.py [--rounds 2] [--steps 60] [--batch 8]
    /root/torch-venv/bin/python Tests/Fixtures/bench_end_to_end.py --task inpainting [--rounds 1] [--batch 2]

`--task inpainting` is the paper's inpainting instead (Table 1: eps 21, 720 steps of 0.1; a 60x60
patch filled with the image's per-channel mean, the masked penalty lambda * mean(((x0 - x)(1 -
mask))^2) with lambda 10 added to the cross-entropy to the image's own class), on random 224x224
images written as PNGs into an image folder that rsynth's dataset-image reads and PyTorch
reads with PIL; the patch is at a random place on each side (the same work, other places).

The PyTorch side (`--child`) is what a user of the library writes: torchvision's resnet50 in eval
mode with the ImageNet normalisation inside, per step the per-example cross-entropy to the
target, the best (lowest-loss) iterate kept per example, x - step * g / (||g|| + 1e-10), then
x0 + renorm(x - x0, 2, 0, eps) clamped to [0, 1]; after the loop one more evaluation for the
best; each result saved as a PNG. Both sides start from nothing (a fresh process that loads the
same state dict); the time is the process's wall time, start to exit. Prints a Markdown table
with the medians, their ratio rsynth / PyTorch and the median of each round's own ratio.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

from bench_vs_pytorch import cpu_name   # the same machine line as the step benchmark

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def child(args):
    import torch, torchvision
    from PIL import Image
    torch.manual_seed(args.seed)
    net = torchvision.models.resnet50()
    net.load_state_dict(torch.load(args.weights, map_location="cpu"))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    b = args.batch
    if args.task == "inpainting":
        import numpy as np
        images = [np.asarray(Image.open(os.path.join(args.images, str(i), "0.png")).convert("RGB")) for i in range(b)]
        source = torch.tensor(np.stack(images)).permute(0, 3, 1, 2).float() / 255
        keep = torch.ones(b, 1, 224, 224)
        x0 = source.clone()
        for i in range(b):
            top, left = torch.randint(0, 224 - args.patch + 1, (2,)).tolist()
            keep[i, :, top:top + args.patch, left:left + args.patch] = 0
            x0[i] = torch.where(keep[i].bool(), source[i], source[i].mean(dim=(1, 2), keepdim=True))
        target = torch.arange(b)
    else:
        x0 = torch.rand(b, 3, 224, 224)
        target = torch.arange(b) % 1000
    x = x0.clone()
    best = x0.clone()
    best_loss = torch.full((b,), float("inf"))
    ce = torch.nn.CrossEntropyLoss(reduction="none")

    def objective(x):
        losses = ce(net((x - mean) / std), target)
        if args.task == "inpainting":
            losses = losses + args.penalty * (((x0 - x) * keep) ** 2).flatten(1).mean(dim=1)
        return losses

    def losses_and_grad(x):
        x = x.clone().requires_grad_(True)
        losses = objective(x)
        (g,) = torch.autograd.grad(losses.sum(), x)
        return losses.detach(), g

    for _ in range(args.steps):
        losses, g = losses_and_grad(x)
        better = losses < best_loss
        best[better], best_loss[better] = x[better], losses[better]
        norm = g.view(b, -1).norm(dim=1).view(b, 1, 1, 1)
        x = x - args.step_size * g / (norm + 1e-10)
        x = torch.clamp(x0 + torch.renorm(x - x0, p=2, dim=0, maxnorm=args.eps), 0, 1)
    with torch.no_grad():
        losses = objective(x)
    better = losses < best_loss
    best[better] = x[better]
    os.makedirs(args.out, exist_ok=True)
    for i in range(b):
        a = (best[i].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        Image.fromarray(a).save(os.path.join(args.out, "%06d.png" % i))


def spec(weights, args, images):
    if args.task == "inpainting":
        return f"""version: 1
classifier: {{ plugin: resnet50, with: {{ weights: "{weights}" }} }}
seed:       {{ plugin: dataset-image, with: {{ dataset: "{images}", labels: "1000", transform: resize }} }}
task:       {{ plugin: inpainting, with: {{ count: {args.batch}, patch: {args.patch} }} }}
constraints:
  - {{ plugin: l2-ball, with: {{ eps: {args.eps} }} }}
  - {{ plugin: masked-penalty, with: {{ lambda: {args.penalty} }} }}
optimizer:  {{ steps: {args.steps}, step_size: {args.step_size}, use_best: true, batch_size: {args.batch}, seed: {args.seed} }}
"""
    classes = ", ".join(str(c) for c in range(args.batch))
    return f"""version: 1
classifier: {{ plugin: resnet50, with: {{ weights: "{weights}" }} }}
seed:       {{ plugin: uniform }}
task:       {{ plugin: generation, with: {{ classes: [{classes}], per_class: 1 }} }}
constraints:
  - {{ plugin: l2-ball, with: {{ eps: {args.eps} }} }}
optimizer:  {{ steps: {args.steps}, step_size: {args.step_size}, use_best: true, batch_size: {args.batch}, seed: {args.seed} }}
"""


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["generation", "inpainting"], default="generation")
    ap.add_argument("--rounds", type=int, default=None, help="default 2 (generation), 1 (inpainting)")
    ap.add_argument("--steps", type=int, default=None, help="default 60 (generation), 720 (inpainting)")
    ap.add_argument("--batch", type=int, default=None, help="default 8 (generation), 2 (inpainting)")
    ap.add_argument("--eps", type=float, default=None, help="default 40 (generation), 21 (inpainting)")
    ap.add_argument("--step-size", type=float, default=None, help="default 1 (generation), 0.1 (inpainting)")
    ap.add_argument("--patch", type=int, default=60)
    ap.add_argument("--penalty", type=float, default=10, help="inpainting: the masked penalty's lambda")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    paper = {"generation": dict(rounds=2, steps=60, batch=8, eps=40, step_size=1),
             "inpainting": dict(rounds=1, steps=720, batch=2, eps=21, step_size=0.1)}[args.task]
    for k, v in paper.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.child:
        return child(args)

    import torch, torchvision
    rsynth = os.path.join(ROOT, ".build", "release", "rsynth")
    work = tempfile.mkdtemp(prefix="rsynth-e2e-")
    weights = os.path.join(work, "resnet50.pt")
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50().state_dict(), weights)
    images = os.path.join(work, "images")
    if args.task == "inpainting":   # one random image per class folder 0 ... batch-1
        from PIL import Image
        g = torch.Generator().manual_seed(1)
        for i in range(args.batch):
            os.makedirs(os.path.join(images, str(i)))
            a = (torch.rand(224, 224, 3, generator=g) * 255).to(torch.uint8).numpy()
            Image.fromarray(a).save(os.path.join(images, str(i), "0.png"))
    spec_path = os.path.join(work, "spec.yaml")
    with open(spec_path, "w") as f:
        f.write(spec(weights, args, images))
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"load before {os.getloadavg()[0]:.1f}", flush=True)
    times = {"pytorch": [], "rsynth": []}
    for r in range(args.rounds):
        out = os.path.join(work, f"pytorch-{r}")
        times["pytorch"].append(timed([sys.executable, __file__, "--child", "--weights", weights, "--out", out,
                                       "--steps", str(args.steps), "--batch", str(args.batch), "--eps", str(args.eps),
                                       "--step-size", str(args.step_size), "--seed", str(args.seed), "--task", args.task,
                                       "--images", images, "--patch", str(args.patch), "--penalty", str(args.penalty)]))
        times["rsynth"].append(timed([rsynth, "run", spec_path, "--out", os.path.join(work, f"rsynth-{r}"), "--quiet"]))
        print(f"round {r + 1}: PyTorch {times['pytorch'][-1]:.1f} s, rsynth {times['rsynth'][-1]:.1f} s, "
              f"ratio {times['rsynth'][-1] / times['pytorch'][-1]:.3f}", flush=True)
    with open(os.path.join(work, "rsynth-0", "manifest.json")) as f:
        assert len(json.load(f)["samples"]) == args.batch
    assert len([n for n in os.listdir(os.path.join(work, "pytorch-0")) if n.endswith(".png")]) == args.batch
    p, s = statistics.median(times["pytorch"]), statistics.median(times["rsynth"])
    print(f"\n{args.task}, ResNet-50 random weights, {args.batch} samples, {args.steps} steps, batch {args.batch}, "
          f"medians of {args.rounds} rounds, load after {os.getloadavg()[0]:.1f}:\n")
    # A shared machine's speed drifts between rounds (both programs alike), so the ratio within each
    # round (the two runs back to back) is the steadier figure; both are printed.
    per_round = statistics.median(b / a for a, b in zip(times["pytorch"], times["rsynth"]))
    print("| PyTorch eager loop, whole process | rsynth run, whole process | ratio of the medians | median of the rounds' ratios |")
    print("|---|---|---|---|")
    print(f"| {p:.1f} s | {s:.1f} s | {s / p:.2f} | {per_round:.2f} |")


if __name__ == "__main__":
    main()
