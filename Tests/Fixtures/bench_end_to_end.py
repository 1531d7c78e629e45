#!/usr/bin/env python3
"""Time to a finished image, whole process against whole process: the paper's generation
(ResNet-50 with random weights, uniform seeds, L2 eps 40, 60 steps of 1, use_best, batch 8, a PNG
per sample) as a PyTorch eager loop with the `robustness` library's L2 PGD semantics and as
`rsynth run` of the same spec on the same weights, alternating in one run on the same machine.

Run from the repository root after `swift build -c release` (PyTorch in a virtual environment
outside the repository, e.g. /root/torch-venv; the tests never need it):
    /root/torch-venv/bin/python Tests/Fixtures/bench_end_to_end.py [--rounds 2] [--steps 60] [--batch 8]

The PyTorch side (`--child`) is what a user of the library writes: torchvision's resnet50 in eval
mode with the ImageNet normalisation inside, per step the per-example cross-entropy to the
target, the best (lowest-loss) iterate kept per example, x - step * g / (||g|| + 1e-10), then
x0 + renorm(x - x0, 2, 0, eps) clamped to [0, 1]; after the loop one more evaluation for the
best; each result saved as a PNG. Both sides start from nothing (a fresh process that loads the
same state dict); the time is the process's wall time, start to exit. Prints a Markdown table
with the medians and the ratio rsynth / PyTorch.
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
    x0 = torch.rand(b, 3, 224, 224)
    target = torch.arange(b) % 1000
    x = x0.clone()
    best = x0.clone()
    best_loss = torch.full((b,), float("inf"))
    ce = torch.nn.CrossEntropyLoss(reduction="none")

    def losses_and_grad(x):
        x = x.clone().requires_grad_(True)
        losses = ce(net((x - mean) / std), target)
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
        losses = ce(net((x - mean) / std), target)
    better = losses < best_loss
    best[better] = x[better]
    os.makedirs(args.out, exist_ok=True)
    for i in range(b):
        a = (best[i].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        Image.fromarray(a).save(os.path.join(args.out, "%06d.png" % i))


def spec(weights, args):
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
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--eps", type=float, default=40)
    ap.add_argument("--step-size", type=float, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    import torch, torchvision
    rsynth = os.path.join(ROOT, ".build", "release", "rsynth")
    work = tempfile.mkdtemp(prefix="rsynth-e2e-")
    weights = os.path.join(work, "resnet50.pt")
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet50().state_dict(), weights)
    spec_path = os.path.join(work, "spec.yaml")
    with open(spec_path, "w") as f:
        f.write(spec(weights, args))
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"load before {os.getloadavg()[0]:.1f}", flush=True)
    times = {"pytorch": [], "rsynth": []}
    for r in range(args.rounds):
        out = os.path.join(work, f"pytorch-{r}")
        times["pytorch"].append(timed([sys.executable, __file__, "--child", "--weights", weights, "--out", out,
                                       "--steps", str(args.steps), "--batch", str(args.batch), "--eps", str(args.eps),
                                       "--step-size", str(args.step_size), "--seed", str(args.seed)]))
        times["rsynth"].append(timed([rsynth, "run", spec_path, "--out", os.path.join(work, f"rsynth-{r}"), "--quiet"]))
        print(f"round {r + 1}: PyTorch {times['pytorch'][-1]:.1f} s, rsynth {times['rsynth'][-1]:.1f} s", flush=True)
    with open(os.path.join(work, "rsynth-0", "manifest.json")) as f:
        assert len(json.load(f)["samples"]) == args.batch
    assert len([n for n in os.listdir(os.path.join(work, "pytorch-0")) if n.endswith(".png")]) == args.batch
    p, s = statistics.median(times["pytorch"]), statistics.median(times["rsynth"])
    print(f"\ngeneration, ResNet-50 random weights, {args.batch} samples, {args.steps} steps, batch {args.batch}, "
          f"medians of {args.rounds} rounds, load after {os.getloadavg()[0]:.1f}:\n")
    print("| PyTorch eager loop, whole process | rsynth run, whole process | ratio rsynth / PyTorch |")
    print("|---|---|---|")
    print(f"| {p:.1f} s | {s:.1f} s | {s / p:.2f} |")


if __name__ == "__main__":
    main()
