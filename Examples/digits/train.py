"""Trains the two digits classifiers shipped with RobustSynth's demo (standard + L2-robust).

Deterministic: fixed seeds, torch.use_deterministic_algorithms(True), 2 CPU threads, a seeded
torch.Generator for shuffling/augmentation. Reads the image folder written by make_data.py.

Writes models/digits-standard.pth (torchvision layout, zip format) + models/digits-standard.json,
models/digits-robust.pt (MadryLab robustness layout, legacy format, dill) + models/digits-robust.json,
and models/train-log.txt.
Run: python Examples/digits/train.py
"""
import argparse
import json
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from digits_net import (MODELS, AttackerModel, DigitsResNet, InputNormalize, l2_pgd,  # noqa: E402
                        legacy_save, load_robust, load_standard, load_split,
                        zip_save_deterministic)

LOG = []


def log(*a):
    s = " ".join(str(v) for v in a)
    print(s, flush=True)
    LOG.append(s)


def augment(x, gen, max_shift):
    """Random integer translation by up to max_shift pixels (zero fill), per example."""
    if max_shift == 0:
        return x
    n, _, H, W = x.shape
    s = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=gen).to(x.device)
    p = max_shift
    xp = F.pad(x, (p, p, p, p))
    iy = (s[:, 0] + p).view(n, 1, 1) + torch.arange(H, device=x.device).view(1, H, 1)
    ix = (s[:, 1] + p).view(n, 1, 1) + torch.arange(W, device=x.device).view(1, 1, W)
    out = xp[torch.arange(n, device=x.device).view(n, 1, 1), :, iy, ix].permute(0, 3, 1, 2)
    return out


def off_subspace_noise(shape, std, gen, block=2):
    """Gaussian noise with every block x block square's mean over the three channels removed: zero
    in the subspace the images live in (grey; for the digits also 2x2 blocks, 64 dims), so the
    robust model learns to ignore what the data never varies and its input gradient spends PGD's
    L2 budget on the picture. block 1 removes only the grey component (Fashion-MNIST)."""
    n = std * torch.randn(shape, generator=gen)
    m = F.avg_pool2d(n.mean(dim=1, keepdim=True), block)
    return n - F.interpolate(m, scale_factor=block, mode="nearest")


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(name, model, xtr, ytr, xte, yte, args, adv):
    """SGD + momentum, cosine LR, weight decay; adv: L2 PGD (untargeted) on every batch, the
    attack run with BatchNorm in eval mode, the update on the adversarial batch only (eq. 1)."""
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.wd)
    steps_per_epoch = (len(ytr) + args.batch - 1) // args.batch
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + np.cos(np.pi * min(t, total) / total)))
    alpha = args.attack_lr_factor * args.eps / args.attack_steps
    if getattr(args, "channels_last", False):
        model.to(memory_format=torch.channels_last)
    t0 = time.time()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(ytr), generator=gen)
        tot_loss, correct = 0.0, 0
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            xb, yb = augment(xtr[idx], gen, args.shift), ytr[idx]
            if adv and args.noise > 0:  # robust model only: Gaussian noise augmentation
                xb = torch.clamp(xb + args.noise * torch.randn(xb.shape, generator=gen).to(xb.device), 0, 1)
            if adv and getattr(args, "off_subspace_noise", 0) > 0:
                noise = off_subspace_noise(xb.shape, args.off_subspace_noise, gen, getattr(args, "off_subspace_block", 2))
                xb = torch.clamp(xb + noise.to(xb.device), 0, 1)
            if getattr(args, "channels_last", False):  # channels-last: faster on CPU (see --channels-last)
                xb = xb.contiguous(memory_format=torch.channels_last)
            if adv:
                model.eval()
                xb, _, _ = l2_pgd(model, xb, yb, args.eps, alpha, args.attack_steps,
                                  targeted=False, use_best=False)
            model.train()
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
        model.eval()
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            log(f"[{name}] epoch {epoch + 1:3d} loss {tot_loss / len(ytr):.4f} "
                f"train-acc({'adv' if adv else 'clean'}) {correct / len(ytr):.4f} "
                f"test-acc {accuracy(model, xte, yte):.4f}  {time.time() - t0:.0f}s")
    return opt, time.time() - t0


def robust_accuracy(model, x, y, eps, steps, factor):
    model.eval()
    xa, _, _ = l2_pgd(model, x, y, eps, factor * eps / steps, steps, targeted=False, use_best=True)
    return accuracy(model, xa, y)


def training_arguments(**defaults):
    """The options of the training loop, shared with ../fashion/train.py, which passes its own
    defaults (any key of the dict below)."""
    d = dict(epochs=40, batch=64, lr=0.1, wd=5e-4, shift=1, noise=0.15, off_subspace_noise=0.0, off_subspace_block=2, threads=2,
             eps=2.0, attack_steps=7, attack_lr_factor=2.5, widths="16,32,64", seed=0, out=MODELS)
    d.update(defaults)
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=d["epochs"])
    ap.add_argument("--batch", type=int, default=d["batch"])
    ap.add_argument("--lr", type=float, default=d["lr"])
    ap.add_argument("--wd", type=float, default=d["wd"])
    ap.add_argument("--shift", type=int, default=d["shift"], help="max random translation (pixels)")
    ap.add_argument("--noise", type=float, default=d["noise"], help="std of Gaussian input noise added before the attack (robust model only)")
    ap.add_argument("--off-subspace-noise", type=float, default=d["off_subspace_noise"],
                    help="std of Gaussian noise with zero 2x2-block grey mean added before the attack (robust model only)")
    ap.add_argument("--off-subspace-block", type=int, default=d["off_subspace_block"],
                    help="side of the squares whose grey mean the off-subspace noise removes (2: digits, 1: grey only)")
    ap.add_argument("--channels-last", action="store_true",
                    help="train in channels-last memory order (faster on CPU; results differ in the last bits)")
    ap.add_argument("--threads", type=int, default=d["threads"])
    ap.add_argument("--eps", type=float, default=d["eps"], help="L2 radius of the training attack")
    ap.add_argument("--attack-steps", type=int, default=d["attack_steps"])
    ap.add_argument("--attack-lr-factor", type=float, default=d["attack_lr_factor"], help="alpha = factor*eps/steps")
    ap.add_argument("--widths", type=str, default=d["widths"])
    ap.add_argument("--seed", type=int, default=d["seed"])
    ap.add_argument("--out", type=str, default=d["out"])
    ap.add_argument("--only", choices=["both", "standard", "robust"], default="both")
    return ap


def main():
    ap = training_arguments()
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    widths = tuple(int(v) for v in args.widths.split(","))
    os.makedirs(args.out, exist_ok=True)

    xtr, ytr, _ = load_split("train")
    xte, yte, _ = load_split("test")
    # per-channel mean/std over all train pixels (population std), float64 then float32
    x64 = xtr.double()
    mean = x64.mean(dim=(0, 2, 3)).float()
    std = x64.permute(1, 0, 2, 3).reshape(3, -1).std(dim=1, unbiased=False).float()
    log(f"train {tuple(xtr.shape)} test {tuple(xte.shape)} mean {mean.tolist()} std {std.tolist()}")
    log(f"args {vars(args)}")
    classes = [str(d) for d in range(10)]
    meta = dict(arch="resnet-digits", block="BasicBlock", blocks=[1, 1, 1], widths=list(widths),
                stem="conv3x3-stride1-no-maxpool", input=[3, 16, 16], input_range=[0, 1],
                mean=mean.tolist(), std=std.tolist(), classes=classes)

    if args.only in ("both", "standard"):
        torch.manual_seed(args.seed)
        net = DigitsResNet(widths)
        model = torch.nn.Sequential(InputNormalize(mean, std), net)
        _, secs = train("standard", model, xtr, ytr, xte, yte, args, adv=False)
        acc = accuracy(model.eval(), xte, yte)
        racc = robust_accuracy(model, xte, yte, args.eps, args.attack_steps, args.attack_lr_factor)
        log(f"[standard] test acc {acc:.4f}  acc under L2 PGD eps {args.eps} "
            f"({args.attack_steps} steps): {racc:.4f}  train time {secs:.0f}s")
        path = os.path.join(args.out, "digits-standard.pth")
        # torchvision layout only: extra normalizer.* keys would make a strict
        # torchvision load_state_dict fail ("Unexpected key(s)"), so mean/std go to the JSON.
        zip_save_deterministic(net.state_dict(), path)
        json.dump(dict(meta, kind="standard", test_accuracy=round(acc, 4),
                       test_accuracy_l2_pgd=round(racc, 4)),
                  open(os.path.join(args.out, "digits-standard.json"), "w"), indent=1)
        m2 = load_standard(path)
        assert abs(accuracy(m2, xte, yte) - acc) < 1e-9

    if args.only in ("both", "robust"):
        torch.manual_seed(args.seed)
        net = DigitsResNet(widths)
        am = AttackerModel(net, mean, std)
        opt, secs = train("robust", am, xtr, ytr, xte, yte, args, adv=True)
        acc = accuracy(am.eval(), xte, yte)
        racc = robust_accuracy(am, xte, yte, args.eps, args.attack_steps, args.attack_lr_factor)
        racc20 = robust_accuracy(am, xte, yte, args.eps, 20, args.attack_lr_factor)
        log(f"[robust] test acc {acc:.4f}  acc under L2 PGD eps {args.eps}: "
            f"{args.attack_steps} steps {racc:.4f}, 20 steps {racc20:.4f}  train time {secs:.0f}s")
        sd = OrderedDict(("module." + k, v) for k, v in am.state_dict().items())
        ck = {"model": sd, "optimizer": opt.state_dict(), "schedule": None, "epoch": args.epochs}
        path = os.path.join(args.out, "digits-robust.pt")
        import dill
        legacy_save(ck, path, dill)
        json.dump(dict(meta, kind="robust", adversarial_training=dict(
            norm="L2", eps=args.eps, steps=args.attack_steps,
            step_size=args.attack_lr_factor * args.eps / args.attack_steps,
            gaussian_noise_augmentation_std=args.noise,
            off_subspace_noise_augmentation_std=args.off_subspace_noise, epochs=args.epochs),
            test_accuracy=round(acc, 4), test_accuracy_l2_pgd=round(racc, 4),
            test_accuracy_l2_pgd_20steps=round(racc20, 4)),
            open(os.path.join(args.out, "digits-robust.json"), "w"), indent=1)
        # check: torch.load reads it; storages shared; same predictions
        ck2 = torch.load(path, pickle_module=dill, weights_only=False)
        s2 = ck2["model"]
        assert list(s2.keys()) == list(sd.keys())
        for k in sd:
            assert torch.equal(s2[k], sd[k]), k
        assert (s2["module.model.conv1.weight"].untyped_storage().data_ptr()
                == s2["module.attacker.model.conv1.weight"].untyped_storage().data_ptr())
        assert abs(accuracy(load_robust(path), xte, yte) - acc) < 1e-9

    with open(os.path.join(args.out, "train-log.txt"), "w") as f:
        f.write("\n".join(LOG) + "\n")


if __name__ == "__main__":
    main()
