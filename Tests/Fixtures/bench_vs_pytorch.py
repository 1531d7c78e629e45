#!/usr/bin/env python3
"""The README's speed table: one ResNet-50 (or --arch wide_resnet50_2 / _4, resnext50_32x4d) PGD step (forward + input gradient, 224x224, float32 or
bfloat16, random weights) in PyTorch eager and in `rsynth bench`, alternating on the same machine in one run.

Run from the repository root after `swift build -c release` (PyTorch in a virtual environment
outside the repository, e.g. /root/torch-venv; the tests never need it):
    /root/torch-venv/bin/python Tests/Fixtures/bench_vs_pytorch.py [--batches 1,4,8] [--steps 5] [--rounds 2] [--precision float32|bfloat16] [--arch resnet50]

For each batch size and round it runs PyTorch in a fresh process for each memory format
(contiguous and channels_last, keeping the faster: "its best") and `rsynth bench` in a fresh
process, then prints the medians over rounds and the ratios rsynth / PyTorch for time per
image-step and peak resident memory, as a Markdown table.
"""
import argparse, json, os, platform, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def pytorch(batch, fmt, steps, precision, arch):
    out = subprocess.run([sys.executable, os.path.join(HERE, "bench_pytorch.py"), "--child", f"{batch}:{fmt}",
                          "--steps", str(steps), "--precision", precision, "--arch", arch],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rsynth(batch, steps, precision, arch):
    exe = os.path.join(ROOT, ".build", "release", "rsynth")
    out = subprocess.run([exe, "bench", "--classifier", "robust-resnet50", "--batch", str(batch), "--steps", str(steps),
                          "--precision", precision, "--arch", arch, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                    help="bfloat16: rsynth --precision bfloat16 against PyTorch under torch.autocast(bfloat16)")
    ap.add_argument("--arch", choices=["resnet50", "wide_resnet50_2", "wide_resnet50_4", "resnext50_32x4d"], default="resnet50")
    a = ap.parse_args()
    import torch
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; torch {torch.__version__}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; {a.arch}, {a.precision}; load before {os.getloadavg()[0]:.1f}")
    rows = []
    for b in [int(s) for s in a.batches.split(",")]:
        pt_ms, pt_mem, rs_ms, rs_mem, fmts = [], [], [], [], []
        for _ in range(a.rounds):
            best = min((pytorch(b, f, a.steps, a.precision, a.arch) for f in ("contiguous", "channels_last")),
                       key=lambda r: r["ms_per_image_step"])
            pt_ms.append(best["ms_per_image_step"]); pt_mem.append(best["peak_rss_mb"]); fmts.append(best["format"])
            r = rsynth(b, a.steps, a.precision, a.arch)
            rs_ms.append(r["ms_per_image_step"]); rs_mem.append(r["peak_rss_mb"])
        p, s = statistics.median(pt_ms), statistics.median(rs_ms)
        pm, sm = statistics.median(pt_mem), statistics.median(rs_mem)
        rows.append((b, p, pm, "/".join(sorted(set(fmts))), s, sm, s / p, sm / pm))
        print(f"batch {b}: PyTorch {pt_ms} ms, rsynth {rs_ms} ms", flush=True)
    print(f"load after {os.getloadavg()[0]:.1f}\n")
    print("| batch | PyTorch eager ms/image-step (format) | PyTorch peak MB | rsynth ms/image-step | rsynth peak MB | time ratio | memory ratio |")
    print("|---|---|---|---|---|---|---|")
    for b, p, pm, f, s, sm, tr, mr in rows:
        print(f"| {b} | {p:.1f} ({f}) | {pm:.0f} | {s:.1f} | {sm:.0f} | {tr:.2f} | {mr:.2f} |")


if __name__ == "__main__":
    main()
