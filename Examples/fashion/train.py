"""Trains the two Fashion-MNIST classifiers of RobustSynth's second demo (standard + L2-robust)
on the full 60,000-image training set of Debian's dataset-fashion-mnist package.

Same network, training loop, checkpoint layouts and determinism as the digits models
(../digits/digits_net.py, ../digits/train.py): a CIFAR-style small ResNet with torchvision key
names, input 3x28x28 in [0,1] (grey replicated), the standard model as a torchvision state dict
(zip) + JSON, the robust one as a MadryLab robustness checkpoint (legacy format, dill).
Writes models/fashion-{standard.pth,standard.json,robust.pt,robust.json} and models/train-log.txt.
Run: python Examples/fashion/train.py
"""
import argparse
import json
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "digits"))
import fashion_data  # noqa: E402
import train as digits_train  # noqa: E402  (the shared loop: SGD, cosine LR, L2 PGD training)
from digits_net import (AttackerModel, DigitsResNet, InputNormalize, legacy_save,  # noqa: E402
                        zip_save_deterministic)

MODELS = os.path.join(HERE, "models")
log = digits_train.log


def tensors(part):
    x, y = fashion_data.load(part)
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1).repeat(1, 3, 1, 1)
    return x.contiguous(), torch.from_numpy(y)


def main():
    ap = digits_train.training_arguments(epochs=6, batch=128, shift=0, noise=0.1, eps=2.5, attack_steps=3, out=MODELS)
    ap.add_argument("--standard-epochs", type=int, default=6)
    ap.add_argument("--eval-count", type=int, default=2000, help="test images for the accuracy under attack")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    widths = tuple(int(v) for v in args.widths.split(","))
    os.makedirs(args.out, exist_ok=True)
    xtr, ytr = tensors("train")
    xte, yte = tensors("t10k")
    x64 = xtr[:, 0].double()
    mean = [float(x64.mean())] * 3
    std = [float(x64.std(unbiased=False))] * 3
    log(f"train {tuple(xtr.shape)} test {tuple(xte.shape)} mean {mean[0]:.8f} std {std[0]:.8f}")
    log(f"args {vars(args)}")
    meta = dict(arch="resnet-small", block="BasicBlock", blocks=[1, 1, 1], widths=list(widths),
                stem="conv3x3-stride1-no-maxpool", input=[3, 28, 28], input_range=[0, 1],
                mean=mean, std=std, classes=fashion_data.CLASSES,
                data="Fashion-MNIST (Zalando, MIT), Debian dataset-fashion-mnist, 60,000 train images")
    xa, ya = xte[:args.eval_count], yte[:args.eval_count]

    def finish(name, model, secs, epochs):
        acc = digits_train.accuracy(model.eval(), xte, yte)
        racc = digits_train.robust_accuracy(model, xa, ya, args.eps, 7, 2.5)
        log(f"[{name}] test acc {acc:.4f} (10,000)  acc under 7-step L2 PGD eps {args.eps} "
            f"(first {len(ya)} test images): {racc:.4f}  train time {secs:.0f}s ({epochs} epochs)")
        return acc, racc

    if args.only in ("both", "standard"):
        torch.manual_seed(args.seed)
        net = DigitsResNet(widths)
        model = torch.nn.Sequential(InputNormalize(mean, std), net)
        a = argparse.Namespace(**{**vars(args), "epochs": args.standard_epochs})
        _, secs = digits_train.train("standard", model, xtr, ytr, xte, yte, a, adv=False)
        acc, racc = finish("standard", model, secs, args.standard_epochs)
        zip_save_deterministic(net.state_dict(), os.path.join(args.out, "fashion-standard.pth"))
        json.dump(dict(meta, kind="standard", epochs=args.standard_epochs, test_accuracy=round(acc, 4),
                       test_accuracy_l2_pgd=round(racc, 4)),
                  open(os.path.join(args.out, "fashion-standard.json"), "w"), indent=1)

    if args.only in ("both", "robust"):
        torch.manual_seed(args.seed)
        net = DigitsResNet(widths)
        am = AttackerModel(net, mean, std)
        opt, secs = digits_train.train("robust", am, xtr, ytr, xte, yte, args, adv=True)
        acc, racc = finish("robust", am, secs, args.epochs)
        sd = OrderedDict(("module." + k, v) for k, v in am.state_dict().items())
        # No optimizer state: the momentum buffers would double the committed file for nothing.
        ck = {"model": sd, "optimizer": None, "schedule": None, "epoch": args.epochs}
        import dill
        legacy_save(ck, os.path.join(args.out, "fashion-robust.pt"), dill)
        json.dump(dict(meta, kind="robust", adversarial_training=dict(
            norm="L2", eps=args.eps, steps=args.attack_steps,
            step_size=args.attack_lr_factor * args.eps / args.attack_steps,
            gaussian_noise_augmentation_std=args.noise,
            off_subspace_noise_augmentation_std=args.off_subspace_noise,
            off_subspace_block=args.off_subspace_block, epochs=args.epochs),
            test_accuracy=round(acc, 4), test_accuracy_l2_pgd=round(racc, 4)),
            open(os.path.join(args.out, "fashion-robust.json"), "w"), indent=1)

    with open(os.path.join(args.out, "train-log.txt"), "a") as f:
        f.write("\n".join(digits_train.LOG) + "\n")


if __name__ == "__main__":
    main()
