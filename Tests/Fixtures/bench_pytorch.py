#!/usr/bin/env python3
"""Times one PGD step of ResNet-50 (or --arch wide_resnet50_2 / _4, resnext50_32x4d) in PyTorch eager on the CPU: forward + torch.autograd.grad of
the cross-entropy w.r.t. the input (224x224, float32, random weights, model.eval(), input
normalisation inside as in the robustness library). For comparison with the Swift engine
(`rsynth bench`; Tests/Fixtures/bench_vs_pytorch.py runs both). Not needed by the tests.

Run:
    /root/torch-venv/bin/python Tests/Fixtures/bench_pytorch.py [--batches 1,4,8] [--steps 5]
        [--formats contiguous,channels_last] [--threads N] [--precision float32|bfloat16]
Prints, per batch size and memory format (default contiguous, channels_last), the median ms per
image-step (wall clock; also the best, and the median process CPU time, which other load on a
shared machine disturbs less), and the peak RSS of a fresh process per configuration (each configuration runs in
its own subprocess so the peaks do not mix).
"""
import argparse, json, os, resource, subprocess, sys, time


# torchvision constructor name -> (groups, width per group at planes 64)
ARCHS = {"resnet50": (1, 64), "wide_resnet50_2": (1, 128), "wide_resnet50_4": (1, 256), "resnext50_32x4d": (32, 4)}


def one(batch, fmt, steps, threads, precision="float32", arch="resnet50"):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    if threads:
        torch.set_num_threads(threads)

    groups, base_width = ARCHS[arch]

    class Bottleneck(nn.Module):   # torchvision's: width = int(planes * base_width / 64) * groups
        def __init__(self, cin, planes, stride):
            super().__init__()
            o = 4 * planes
            w = int(planes * base_width / 64) * groups
            self.conv1 = nn.Conv2d(cin, w, 1, bias=False); self.bn1 = nn.BatchNorm2d(w)
            self.conv2 = nn.Conv2d(w, w, 3, stride, 1, groups=groups, bias=False); self.bn2 = nn.BatchNorm2d(w)
            self.conv3 = nn.Conv2d(w, o, 1, bias=False); self.bn3 = nn.BatchNorm2d(o)
            self.downsample = None
            if stride != 1 or cin != o:
                self.downsample = nn.Sequential(nn.Conv2d(cin, o, 1, stride, bias=False), nn.BatchNorm2d(o))

        def forward(self, x):
            idt = x if self.downsample is None else self.downsample(x)
            y = F.relu(self.bn1(self.conv1(x)))
            y = F.relu(self.bn2(self.conv2(y)))
            return F.relu(self.bn3(self.conv3(y)) + idt)

    class ResNet50(nn.Module):   # torchvision's resnet50 (v1.5) / wide / resnext, written out (no torchvision needed)
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False); self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            layers, c = [], 64
            for i, (n, w) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
                blocks = []
                for j in range(n):
                    blocks.append(Bottleneck(c, w, 2 if i > 0 and j == 0 else 1)); c = 4 * w
                layers.append(nn.Sequential(*blocks))
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.fc = nn.Linear(2048, 1000)
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

        def forward(self, x):
            x = (x - self.mean) / self.std
            x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    torch.manual_seed(0)
    model = ResNet50().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(batch, 3, 224, 224)
    if fmt == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, 1000, (batch,))

    def step():
        xr = x.detach().requires_grad_(True)
        # bfloat16: PyTorch's own mixed precision (autocast runs convolutions in bfloat16)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            logits = model(xr)
        loss = F.cross_entropy(logits.float(), target)
        (g,) = torch.autograd.grad(loss, xr)
        return g

    step()   # warm-up
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
    times.sort(); cpu.sort()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"batch": batch, "format": fmt, "ms_per_image_step": 1000 * times[len(times) // 2] / batch,
            "best_ms": 1000 * times[0] / batch, "cpu_ms": 1000 * cpu[len(cpu) // 2] / batch,
            "peak_rss_mb": peak_mb, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "precision": precision, "arch": arch}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--formats", default="contiguous,channels_last")
    ap.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                    help="bfloat16: under torch.autocast (PyTorch's mixed precision)")
    ap.add_argument("--arch", choices=sorted(ARCHS), default="resnet50")
    ap.add_argument("--child", default=None)
    a = ap.parse_args()
    if a.child:
        b, fmt = a.child.split(":")
        print(json.dumps(one(int(b), fmt, a.steps, a.threads, a.precision, a.arch)))
        return
    print(f"load average before: {os.getloadavg()}")
    for b in [int(s) for s in a.batches.split(",")]:
        best = None
        for fmt in a.formats.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", f"{b}:{fmt}", "--steps", str(a.steps),
                                  "--threads", str(a.threads), "--precision", a.precision, "--arch", a.arch],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"batch {b} {fmt:13s}: {r['ms_per_image_step']:.1f} ms per image-step (best {r['best_ms']:.1f}, "
                  f"CPU {r['cpu_ms']:.1f} ms), peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"({r['threads']} threads, torch {r['torch']})", flush=True)
            if best is None or r["ms_per_image_step"] < best["ms_per_image_step"]:
                best = r
        print(f"batch {b} best: {best['format']} {best['ms_per_image_step']:.1f} ms per image-step, "
              f"peak RSS {best['peak_rss_mb']:.0f} MB", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
