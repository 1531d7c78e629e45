"""Representation inversion of the digits demo done in PyTorch, as `robust_representations` does it,
to compare with `rsynth run inversion-{robust,standard}.yaml` (the same 200 test digits, 20 per
class; uniform-noise starts; loss ||R(x) - R(x_t)||_2 / ||R(x_t)||_2 on the pooled 64-value
representation; the robustness library's L2 step: x - a g/||g||, renorm to eps 1000, clamp to
[0, 1]; 600 steps of 0.5; use_best), judged by the same 5-NN on the training digits.

    python3 Examples/digits/inversion_reference.py [--seeds N] [--fake-relu]

--seeds N runs N noise draws per model (default 3) and prints each rate and the mean.
--models robust inverts only the robust model (default: robust,standard).
--fake-relu passes the gradient through the last ReLU unchanged, as the library's `fake_relu=True`.
Needs torch (Tests/setup-torch-venv.sh makes a virtual environment with it).
"""
import argparse
import os
import statistics
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import digits_net as D  # noqa: E402
from evaluate import KNNJudge  # noqa: E402

EPS, STEPS, STEP_SIZE, PER_CLASS = 1000.0, 600, 0.5, 20


class FakeReLU(torch.autograd.Function):
    """ReLU forward; the gradient passes unchanged (robustness.tools.custom_modules.FakeReLU)."""

    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        return g


def representation(model, x, fake_relu):
    """The pooled output of the last block: x [n,3,16,16] -> [n,64]."""
    normalize, net = model[0], model[1]
    h = net.relu(net.bn1(net.conv1(normalize(x))))
    h = net.layer2(net.layer1(h))
    block = net.layer3[0]
    identity = h if block.downsample is None else block.downsample(h)
    out = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(h))))) + identity
    out = FakeReLU.apply(out) if fake_relu else F.relu(out)
    return torch.flatten(net.avgpool(out), 1)


def invert(model, source, seed, fake_relu):
    """Returns (best x [n,3,16,16], its relative distance [n])."""
    with torch.no_grad():
        target = representation(model, source, False)
    x0 = torch.rand(source.shape, generator=torch.Generator().manual_seed(seed))
    x, best, best_loss = x0.clone(), x0.clone(), torch.full((len(x0),), float("inf"))
    for step in range(STEPS + 1):
        x = x.detach().requires_grad_(True)
        loss = (representation(model, x, fake_relu) - target).norm(dim=1) / target.norm(dim=1)
        better = loss.detach() < best_loss
        best_loss = torch.where(better, loss.detach(), best_loss)
        best[better] = x.detach()[better]
        if step == STEPS:
            break
        g, = torch.autograd.grad(loss.sum(), x)
        with torch.no_grad():
            x = x - STEP_SIZE * g / (g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-10)
            x = torch.clamp(x0 + (x - x0).renorm(p=2, dim=0, maxnorm=EPS), 0, 1)
    return best, best_loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--fake-relu", action="store_true")
    ap.add_argument("--models", default="robust,standard", help="which of robust,standard to invert")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    xtr, ytr, _ = D.load_split("train")
    xte, yte, _ = D.load_split("test")
    judge = KNNJudge(xtr, ytr, 5)
    pick = torch.cat([(yte == c).nonzero().flatten()[:PER_CLASS] for c in range(D.NUM_CLASSES)])
    source, labels = xte[pick], yte[pick]
    print("| model | seed | 5-NN judge: the source digit | mean relative distance |")
    print("| --- | --- | --- | --- |")
    loaders = {"robust": D.load_robust, "standard": D.load_standard}
    for name in args.models.split(","):
        model = loaders[name]()
        rates = []
        for seed in range(args.seeds):
            x, d = invert(model, source, seed, args.fake_relu)
            rates.append(100 * (judge(x) == labels).float().mean().item())
            print(f"| {name} | {seed} | {rates[-1]:.1f}% | {d.mean().item():.3f} |", flush=True)
        spread = f", sd {statistics.stdev(rates):.1f} points" if len(rates) > 1 else ""
        print(f"{name}: mean {statistics.mean(rates):.1f}% over {len(rates)} seeds{spread}", file=sys.stderr)


if __name__ == "__main__":
    main()
