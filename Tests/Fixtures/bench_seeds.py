#!/usr/bin/env python3
"""The README's seed-fitting numbers: fit 1,000 images at 56x56 with `rsynth seeds fit` and draw
100 multivariate-normal seeds with `rsynth seeds sample`, timing both and the fit's peak memory.

Run from the repository root after `swift build -c release` (needs python3 with numpy and GNU time,
/usr/bin/time; no PyTorch):
    python3 Tests/Fixtures/bench_seeds.py [--per-class 100] [--keep DIR]

The images are 426x320 PNGs (Imagenette's size) of smooth random patterns in 10 class folders named
by WordNet id; PNG rather than JPEG because Python's standard library writes PNG.
"""
import argparse, os, re, subprocess, sys, tempfile, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Examples", "digits"))
from pngio import write_rgb as write_png  # Python's standard library only

WNIDS = ["n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
         "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"]
RSYNTH = os.path.join(ROOT, ".build", "release", "rsynth")


def timed(args):
    out = subprocess.run(["/usr/bin/time", "-v"] + args, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", out.stderr)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024
    return seconds, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--keep", default=None)
    a = ap.parse_args()
    d = a.keep or tempfile.mkdtemp()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:320, 0:426]
    for w in WNIDS:
        os.makedirs(os.path.join(d, "data", w), exist_ok=True)
        for i in range(a.per_class):
            path = os.path.join(d, "data", w, f"{i:04d}.png")
            if os.path.exists(path):
                continue
            c = rng.random((3, 3)) * 0.05 + 0.01
            img = 0.5 + 0.45 * np.sin(xx[..., None] * c[0] + yy[..., None] * c[1] + c[2] * 50)
            write_png(path, (img * 255).astype(np.uint8))
    n = len(WNIDS) * a.per_class
    model = os.path.join(d, "seeds.rsm")
    fit_s, fit_mb = timed([RSYNTH, "seeds", "fit", "--dataset", os.path.join(d, "data"), "--resolution", "56", "--out", model])
    t0 = time.perf_counter()
    subprocess.run([RSYNTH, "seeds", "sample", "--model", model, "--class", "tench", "--count", "100",
                    "--sampler", "multivariate-normal", "--out", os.path.join(d, "seeds.npy")], check=True, capture_output=True)
    sample_s = time.perf_counter() - t0
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"fit {n} images (426x320 PNG) at 56x56: {fit_s:.1f} s, peak resident {fit_mb:.0f} MB; "
          f"model file {os.path.getsize(model) / 1e6:.0f} MB")
    print(f"rsynth seeds sample, 100 multivariate-normal seeds (n = {a.per_class} per class), "
          f"whole command including reading the model: {sample_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
